#include "vo/curl_request.h"

#include <cctype>
#include <cerrno>

#include "common/error.h"
#include "common/text.h"

namespace hfs::vo::curl {
namespace {

void append(Slist& list, const std::string& line) {
  curl_slist* extended = curl_slist_append(list.get(), line.c_str());
  if (!extended) throw Error(ENOMEM, "curl_slist_append failed");
  list.release();
  list.reset(extended);
}

bool has_header(const HttpRequest& request, std::string_view lower_name) {
  for (const auto& [name, value] : request.headers) {
    if (text::iequals(name, lower_name)) return true;
  }
  return false;
}

struct UrlDeleter {
  void operator()(CURLU* url) const { curl_url_cleanup(url); }
};

std::string url_part(CURLU* url, CURLUPart what, unsigned flags) {
  char* part = nullptr;
  if (curl_url_get(url, what, &part, flags) != CURLUE_OK || !part) return "";
  std::string value(part);
  curl_free(part);
  return value;
}

}  // namespace

void ensure_global_init() {
  // curl_global_init is not thread-safe and must run before any other thread uses libcurl;
  // a function-local static gives exactly one call, made by whoever creates the first engine.
  static const CURLcode result = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (result != CURLE_OK) throw Error(EIO, std::string("curl_global_init failed: ") + curl_easy_strerror(result));
}

int errno_for(CURLcode code) {
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT: return ETIMEDOUT;
    case CURLE_COULDNT_CONNECT: return ECONNREFUSED;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY: return EHOSTUNREACH;
    case CURLE_TOO_MANY_REDIRECTS: return ELOOP;
    case CURLE_FILESIZE_EXCEEDED: return EFBIG;
    case CURLE_OUT_OF_MEMORY: return ENOMEM;
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL: return EINVAL;
    case CURLE_PEER_FAILED_VERIFICATION: return EACCES;  // a bad certificate is not transient
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_BAD_CONTENT_ENCODING: return EPROTO;
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    default: return EIO;
  }
}

std::string describe(const HttpRequest& request) {
  std::string url = text::redact_urls(request.url);
  switch (request.method) {
    case HttpRequest::Method::head: return "HEAD " + url;
    case HttpRequest::Method::post: return "POST " + url;
    case HttpRequest::Method::get: break;
  }
  return "GET " + url;
}

bool is_https(std::string_view url) { return url.size() >= 8 && text::iequals(url.substr(0, 8), "https://"); }

std::string host_key(const std::string& url) {
  std::unique_ptr<CURLU, UrlDeleter> parsed(curl_url());
  if (!parsed || curl_url_set(parsed.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) return "";
  std::string scheme = url_part(parsed.get(), CURLUPART_SCHEME, 0);
  std::string host = url_part(parsed.get(), CURLUPART_HOST, 0);
  std::string port = url_part(parsed.get(), CURLUPART_PORT, CURLU_DEFAULT_PORT);
  if (scheme.empty() || host.empty()) return "";
  for (char& c : host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return scheme + "://" + host + ":" + port;
}

Slist configure_request(CURL* easy, const HttpRequest& request, const EasySettings& settings) {
  Slist headers;
  curl_easy_setopt(easy, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  // No https -> http redirect: what TLS protects must not be handed over to plain text.
  curl_easy_setopt(easy, CURLOPT_REDIR_PROTOCOLS_STR, is_https(request.url) ? "https" : "http,https");
  // NULL restores the system's store on a reused handle.
  curl_easy_setopt(easy, CURLOPT_CAINFO, settings.ca_info.empty() ? nullptr : settings.ca_info.c_str());
  curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);  // no SIGALRM for DNS timeouts in threads
  curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(easy, CURLOPT_MAXREDIRS, settings.max_redirects);
  curl_easy_setopt(easy, CURLOPT_USERAGENT, settings.user_agent.c_str());
  curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(settings.connect_timeout.count()));
  curl_easy_setopt(easy, CURLOPT_BUFFERSIZE, settings.receive_buffer_bytes);
  // The total deadline is not curl's (no CURLOPT_TIMEOUT_MS): the engine enforces it, so a
  // CURLE_OPERATION_TIMEDOUT from curl is always the connect timeout.

  switch (request.method) {
    case HttpRequest::Method::head: curl_easy_setopt(easy, CURLOPT_NOBODY, 1L); break;
    case HttpRequest::Method::post:
      curl_easy_setopt(easy, CURLOPT_POST, 1L);
      curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
      curl_easy_setopt(easy, CURLOPT_POSTFIELDS, request.body.data());
      if (!request.content_type.empty()) append(headers, "Content-Type: " + request.content_type);
      append(headers, "Expect:");  // no 100-continue round trip for large forms
      break;
    case HttpRequest::Method::get: curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L); break;
  }
  // Bodies as stored: a compressed answer would not match the byte ranges the cache asks for.
  // (CURLOPT_ACCEPT_ENCODING stays unset, so curl decodes nothing either.)
  if (!has_header(request, "accept-encoding")) append(headers, "Accept-Encoding: identity");
  if (request.range) {
    append(headers, "Range: bytes=" + std::to_string(request.range->first) + "-" + std::to_string(request.range->last));
  }
  for (const auto& [name, value] : request.headers) append(headers, name + ": " + value);
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers.get());
  return headers;
}

void collect_header_line(std::string_view line, std::vector<std::pair<std::string, std::string>>& headers) {
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  if (line.starts_with("HTTP/")) {
    headers.clear();
    return;
  }
  auto colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) return;
  std::string name(line.substr(0, colon));
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  headers.emplace_back(std::move(name), std::string(value));
}

}  // namespace hfs::vo::curl
