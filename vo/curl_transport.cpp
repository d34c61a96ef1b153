// HttpTransport over libcurl's easy interface.
//
// Connections: each easy handle keeps its own connection cache, so the transport keeps a pool
// of idle handles and hands the most recently used one to the next request (LIFO): a request
// from any thread then reuses a kept-alive connection. The connection cache is deliberately not
// put in the CURLSH share: libcurl documents sharing connections between concurrent threads as
// unsupported. DNS answers and TLS sessions are shared (with per-kind mutexes).
//
// Errors are mapped from the CURLcode only (never from curl's message text), see errno_for().
#include <curl/curl.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/error.h"
#include "vo/http_transport.h"
#include "common/thread_annotations.h"

namespace hfs::vo {
namespace {

// curl_global_init is not thread-safe and must run before any other thread uses libcurl;
// a function-local static gives exactly one call, made by whoever creates the first transport.
void ensure_curl_global_init() {
  static const CURLcode result = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (result != CURLE_OK) throw Error(EIO, std::string("curl_global_init failed: ") + curl_easy_strerror(result));
}

int errno_for(CURLcode code) {
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT: return ETIMEDOUT;  // also the low-speed (stall) limit
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

struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using Slist = std::unique_ptr<curl_slist, SlistDeleter>;

void append(Slist& list, const std::string& line) {
  curl_slist* extended = curl_slist_append(list.get(), line.c_str());
  if (!extended) throw Error(ENOMEM, "curl_slist_append failed");
  list.release();
  list.reset(extended);
}

using Clock = std::chrono::steady_clock;

// What the callbacks of one transfer write into.
struct Transfer {
  HttpResponse response;
  std::uint64_t max_body_bytes = 0;
  bool body_too_large = false;
  std::uint64_t body_limit = 0;  // the request's soft limit (0 = none): cut there, no error
  bool body_cut = false;
  std::chrono::milliseconds stall_timeout{0};
  bool answer_started = false;
  Clock::time_point last_activity;  // the last header line or body bytes
  bool stalled = false;
};

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  size_t bytes = size * count;
  std::string& body = transfer->response.body;
  if (transfer->body_limit > 0 && body.size() + bytes > transfer->body_limit) {
    body.append(data, static_cast<size_t>(transfer->body_limit - body.size()));
    transfer->body_cut = true;
    return 0;  // aborts the transfer with CURLE_WRITE_ERROR; perform() returns what came
  }
  if (body.size() + bytes > transfer->max_body_bytes) {
    transfer->body_too_large = true;
    return 0;  // aborts the transfer with CURLE_WRITE_ERROR
  }
  transfer->response.body.append(data, bytes);
  transfer->last_activity = Clock::now();
  return bytes;
}

// Called by curl about once a second while waiting, and on progress.
int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* transfer = static_cast<Transfer*>(user);
  if (!transfer->answer_started || transfer->stall_timeout.count() <= 0) return 0;
  if (Clock::now() - transfer->last_activity < transfer->stall_timeout) return 0;
  transfer->stalled = true;
  return 1;  // aborts the transfer with CURLE_ABORTED_BY_CALLBACK
}

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  size_t bytes = size * count;
  transfer->answer_started = true;
  transfer->last_activity = Clock::now();
  std::string_view line(data, bytes);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  if (line.starts_with("HTTP/")) {
    // A new response starts (after a redirect or a 100 Continue): only the final one's count.
    transfer->response.headers.clear();
    return bytes;
  }
  auto colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) return bytes;
  std::string name(line.substr(0, colon));
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  transfer->response.headers.emplace_back(std::move(name), std::string(value));
  return bytes;
}

class CurlTransport final : public HttpTransport {
 public:
  explicit CurlTransport(CurlTransportOptions options) : options_(std::move(options)) {
    ensure_curl_global_init();
    share_ = curl_share_init();
    if (!share_) throw Error(ENOMEM, "curl_share_init failed");
    curl_share_setopt(share_, CURLSHOPT_LOCKFUNC, &CurlTransport::lock_share);
    curl_share_setopt(share_, CURLSHOPT_UNLOCKFUNC, &CurlTransport::unlock_share);
    curl_share_setopt(share_, CURLSHOPT_USERDATA, this);
    curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
  }

  ~CurlTransport() override {
    // No request is running any more (the owner outlives its users), so no lock is needed.
    for (CURL* handle : idle_handles_) curl_easy_cleanup(handle);
    curl_share_cleanup(share_);
  }

  CurlTransport(const CurlTransport&) = delete;
  CurlTransport& operator=(const CurlTransport&) = delete;

  HttpResponse perform(const HttpRequest& request) override {
    HandleLease lease(*this);
    CURL* curl = lease.handle;
    Transfer transfer;
    transfer.max_body_bytes = options_.max_body_bytes;
    transfer.stall_timeout = options_.stall_timeout;
    if (request.body_limit > 0 && request.body_limit <= options_.max_body_bytes) {
      transfer.body_limit = request.body_limit;
    }
    char error_buffer[CURL_ERROR_SIZE] = {};
    Slist headers;
    configure(curl, request, transfer, headers, error_buffer);

    CURLcode code = curl_easy_perform(curl);
    // On any failure curl has already closed that connection; the handle stays reusable.
    if (code == CURLE_WRITE_ERROR && transfer.body_too_large) {
      throw Error(EFBIG, describe(request) + ": body larger than " + std::to_string(options_.max_body_bytes) +
                             " bytes");
    }
    if (code == CURLE_ABORTED_BY_CALLBACK && transfer.stalled) {
      // Not the request's deadline: a new attempt (on a new connection) may well go through.
      throw TransientError(ETIMEDOUT, describe(request) + ": no data for " +
                                          std::to_string(options_.stall_timeout.count()) + " ms mid-answer");
    }
    if (code == CURLE_OPERATION_TIMEDOUT && ended_before_its_timeout(curl, request)) {
      // The connect timeout (a SYN or the DNS answer lost), not the request's deadline.
      std::string detail = error_buffer[0] ? error_buffer : curl_easy_strerror(code);
      throw TransientError(ETIMEDOUT, describe(request) + ": " + detail);
    }
    if (code == CURLE_WRITE_ERROR && transfer.body_cut) {
      transfer.response.body_truncated = true;  // the caller asked for no more than that
    } else if (code != CURLE_OK) {
      std::string detail = error_buffer[0] ? error_buffer : curl_easy_strerror(code);
      throw Error(errno_for(code), describe(request) + ": " + detail);
    }
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &transfer.response.status);
    char* effective_url = nullptr;
    curl_easy_getinfo(curl, CURLINFO_EFFECTIVE_URL, &effective_url);
    transfer.response.effective_url = effective_url ? effective_url : request.url;
    return std::move(transfer.response);
  }

 private:
  // Takes an idle handle (or makes one) and gives it back when the request is done.
  struct HandleLease {
    explicit HandleLease(CurlTransport& owner) : owner(owner), handle(owner.acquire_handle()) {}
    ~HandleLease() { owner.release_handle(handle); }
    HandleLease(const HandleLease&) = delete;
    HandleLease& operator=(const HandleLease&) = delete;
    CurlTransport& owner;
    CURL* handle;
  };

  static std::string describe(const HttpRequest& request) {
    switch (request.method) {
      case HttpRequest::Method::head: return "HEAD " + request.url;
      case HttpRequest::Method::post: return "POST " + request.url;
      case HttpRequest::Method::get: break;
    }
    return "GET " + request.url;
  }

  // The whole request's timeout: the transport's, or the request's own when shorter; 0 = none.
  std::chrono::milliseconds timeout_of(const HttpRequest& request) const {
    auto timeout = options_.timeout;
    if (request.timeout.count() > 0 && (timeout.count() == 0 || request.timeout < timeout)) timeout = request.timeout;
    return timeout;
  }

  // Whether a CURLE_OPERATION_TIMEDOUT came well before the request's own timeout: then it was
  // the connect timeout, and the request's time is not spent.
  bool ended_before_its_timeout(CURL* curl, const HttpRequest& request) const {
    auto timeout = timeout_of(request);
    curl_off_t elapsed_us = 0;
    if (curl_easy_getinfo(curl, CURLINFO_TOTAL_TIME_T, &elapsed_us) != CURLE_OK) return false;
    auto elapsed = std::chrono::milliseconds(elapsed_us / 1000);
    return timeout.count() == 0 || elapsed + std::max(timeout / 10, std::chrono::milliseconds(50)) < timeout;
  }

  void configure(CURL* curl, const HttpRequest& request, Transfer& transfer, Slist& headers,
                 char* error_buffer) const {
    curl_easy_setopt(curl, CURLOPT_SHARE, share_);
    curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);  // no SIGALRM for DNS timeouts in threads
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer);
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(curl, CURLOPT_MAXREDIRS, options_.max_redirects);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, options_.user_agent.c_str());
    curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.connect_timeout.count()));
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_of(request).count()));
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, &on_progress);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &transfer);
    // CURLOPT_ACCEPT_ENCODING stays unset: no Accept-Encoding is sent, bodies arrive as stored.

    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &transfer);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &transfer);

    switch (request.method) {
      case HttpRequest::Method::head: curl_easy_setopt(curl, CURLOPT_NOBODY, 1L); break;
      case HttpRequest::Method::post:
        curl_easy_setopt(curl, CURLOPT_POST, 1L);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
        if (!request.content_type.empty()) append(headers, "Content-Type: " + request.content_type);
        append(headers, "Expect:");  // no 100-continue round trip for large forms
        break;
      case HttpRequest::Method::get: curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L); break;
    }
    std::string range;
    if (request.range) {
      range = std::to_string(request.range->first) + "-" + std::to_string(request.range->last);
      append(headers, "Range: bytes=" + range);
    }
    for (const auto& [name, value] : request.headers) append(headers, name + ": " + value);
    if (headers) curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers.get());
  }

  CURL* acquire_handle() {
    {
      MutexLock lock(pool_mutex_);
      if (!idle_handles_.empty()) {
        CURL* handle = idle_handles_.back();
        idle_handles_.pop_back();
        // Keeps live connections, DNS and TLS session caches; forgets every option.
        curl_easy_reset(handle);
        return handle;
      }
    }
    CURL* handle = curl_easy_init();
    if (!handle) throw Error(ENOMEM, "curl_easy_init failed");
    return handle;
  }

  void release_handle(CURL* handle) {
    // The options point into the finished request's buffers; clear the dangling ones now.
    curl_easy_setopt(handle, CURLOPT_HTTPHEADER, nullptr);
    curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, nullptr);
    curl_easy_setopt(handle, CURLOPT_WRITEDATA, nullptr);
    curl_easy_setopt(handle, CURLOPT_HEADERDATA, nullptr);
    curl_easy_setopt(handle, CURLOPT_XFERINFODATA, nullptr);
    {
      MutexLock lock(pool_mutex_);
      if (idle_handles_.size() < options_.max_idle_handles) {
        idle_handles_.push_back(handle);
        return;
      }
    }
    curl_easy_cleanup(handle);
  }

  // libcurl takes a share lock in one callback and releases it in the other, and the analysis
  // only follows a lock within one function: these two are exempt from it.
  static void lock_share(CURL*, curl_lock_data data, curl_lock_access, void* user) NO_THREAD_SAFETY_ANALYSIS {
    static_cast<CurlTransport*>(user)->share_mutexes_.at(static_cast<size_t>(data)).lock();
  }
  static void unlock_share(CURL*, curl_lock_data data, void* user) NO_THREAD_SAFETY_ANALYSIS {
    static_cast<CurlTransport*>(user)->share_mutexes_.at(static_cast<size_t>(data)).unlock();
  }

  const CurlTransportOptions options_;
  CURLSH* share_ = nullptr;
  // One mutex per kind of shared data, taken only by libcurl through lock_share/unlock_share;
  // never held together with pool_mutex_.
  std::array<Mutex, CURL_LOCK_DATA_LAST> share_mutexes_;
  Mutex pool_mutex_;
  std::vector<CURL*> idle_handles_ GUARDED_BY(pool_mutex_);  // most recently used last
};

}  // namespace

std::unique_ptr<HttpTransport> make_curl_transport(const CurlTransportOptions& options) {
  return std::make_unique<CurlTransport>(options);
}

}  // namespace hfs::vo
