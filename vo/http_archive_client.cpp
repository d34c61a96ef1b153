// ArchiveClient over HTTP (the Apache-served /FTP/ tree): autoindex pages for listings, HEAD
// (or a one-byte ranged GET) for exact metadata, ranged GETs checked byte for byte for reads.
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <thread>

#include "common/error.h"
#include "common/parallel.h"
#include "vo/archive_client.h"
#include "vo/body_caps.h"
#include "vo/range_answer.h"

namespace hfs::vo {
namespace {

constexpr const char* kComponent = "archive";
// What a size probe reads of a server that ignores its Range and sends the whole object: enough
// for a small object's complete body (its size when no Content-Length says it), and no more.
constexpr std::uint64_t kProbeBodyLimit = 64 * 1024;

bool is_success(long status) { return status >= 200 && status < 300; }

// Errors for answers that are not what the operation needs: 404 -> ENOENT, the rest EIO.
[[noreturn]] void throw_for_status(const char* what, const std::string& url, long status) {
  std::string message = std::string(what) + " " + url + ": HTTP " + std::to_string(status);
  throw Error(status == 404 || status == 410 ? ENOENT : EIO, message);
}

std::optional<std::uint64_t> parse_length(const std::string& text) {
  if (text.empty() || !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  try {
    return std::stoull(text);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// An encoded body's Content-Length is not the object's size (rclone#2247); "identity" is no encoding.
bool has_content_encoding(const HttpResponse& response) {
  auto encoding = response.header("content-encoding");
  return encoding && !encoding->empty() && *encoding != "identity";
}

void take_validators(const HttpResponse& response, ObjectInfo& info) {
  info.etag = response.header("etag").value_or("");
  if (auto modified = response.header("last-modified")) {
    if (auto seconds = parse_http_date(*modified)) info.mtime = *seconds;
  }
}

class HttpArchiveClient final : public ArchiveClient {
 public:
  HttpArchiveClient(std::shared_ptr<HttpTransport> transport, RetryPolicy retry)
      : transport_(std::move(transport)), retry_(retry) {}

  std::vector<IndexEntry> list(const std::string& dir_url, const CallContext& call) override {
    HttpRequest request;
    request.url = dir_url;
    request.max_body = body_cap::index_page;
    request.answer_kind = "index page";
    request.call = call;
    auto response = perform(request);
    if (!is_success(response.status)) throw_for_status("listing", dir_url, response.status);
    // Entries resolve against the page's final URL (a redirect may have added the '/').
    const std::string& base = response.effective_url.empty() ? dir_url : response.effective_url;
    try {
      return parse_autoindex(response.body, base);
    } catch (const Error& error) {
      throw Error(error.errnum(), std::string(error.what()) + " (listing " + dir_url + ")");
    }
  }

  ObjectInfo stat(const std::string& url, const CallContext& call) override {
    HttpRequest head;
    head.method = HttpRequest::Method::head;
    head.url = url;
    head.call = call;
    auto response = perform(head);
    // 405/501: no HEAD here; 403: CDNs and signed URLs refuse HEAD where GET works (the range
    // request then tells whether GET is forbidden too).
    bool head_refused = response.status == 405 || response.status == 501 || response.status == 403;
    if (!is_success(response.status) && !head_refused) throw_for_status("HEAD", url, response.status);
    if (!head_refused && !has_content_encoding(response)) {
      if (auto length = parse_length(response.header("content-length").value_or(""))) {
        ObjectInfo info;
        info.url = url;
        info.size = *length;
        take_validators(response, info);
        return info;
      }
    }
    // HEAD refused, without a length or with an encoded one: one byte with a Range tells the
    // total in Content-Range.
    return stat_by_range(url, call);
  }

  std::vector<StatResult> stat_many(const std::vector<std::string>& urls, unsigned max_parallel,
                                    const CallContext& call) override {
    std::vector<StatResult> results(urls.size());
    parallel_for(urls.size(), max_parallel, [&](std::size_t i) {
      try {
        results[i].info = stat(urls[i], call);
      } catch (const Error& error) {
        results[i].errnum = error.errnum();
        results[i].message = error.what();
      } catch (const std::exception& error) {
        results[i].errnum = EIO;
        results[i].message = error.what();
      }
    });
    return results;
  }

  std::string read(const ObjectInfo& expected, std::uint64_t offset, std::uint64_t length) override {
    if (offset >= expected.size || length == 0) return "";
    length = std::min(length, expected.size - offset);
    auto response = perform(range_request(expected, offset, length));
    // The same checks the streaming fetcher applies to its parts (vo/range_answer.h); a 5xx
    // that outlasted the retries is the read's EIO.
    try {
      check_range_head(expected, offset, length,
                       ResponseHead{response.status, response.effective_url, response.headers});
    } catch (const RetryableStatusError& error) {
      throw Error(EIO, error.what());
    }
    if (response.body.size() != length || response.body_truncated) {
      throw Error(EIO, expected.url + " bytes " + std::to_string(offset) + "-" + std::to_string(offset + length - 1) +
                           ": body of " + (response.body_truncated ? "more than " : "") +
                           std::to_string(response.body.size()) + " bytes, expected " + std::to_string(length));
    }
    return std::move(response.body);
  }

 private:
  ObjectInfo stat_by_range(const std::string& url, const CallContext& call) {
    HttpRequest request;
    request.url = url;
    request.call = call;
    request.range = ByteRange{0, 0};
    request.body_limit = kProbeBodyLimit;
    auto response = perform(request);
    ObjectInfo info;
    info.url = url;
    take_validators(response, info);
    auto content_range = parse_content_range(response.header("content-range").value_or(""));
    if (response.status == 206 || response.status == 416) {
      // The total counts stored bytes even under a Content-Encoding (Apache labels .gz files
      // x-gzip); curl never decodes. 416 "bytes */0": an empty object has no byte 0.
      if (content_range && content_range->total && (response.status == 206 || !content_range->satisfied)) {
        info.size = *content_range->total;
        return info;
      }
      throw Error(EIO, "GET " + url + " bytes 0-0: HTTP " + std::to_string(response.status) +
                           " without a usable Content-Range total");
    }
    if (response.status == 200 && !has_content_encoding(response)) {
      // Range ignored: the whole object is coming; it was cut after kProbeBodyLimit bytes.
      if (auto length = parse_length(response.header("content-length").value_or(""))) {
        info.size = *length;
        return info;
      }
      if (!response.body_truncated) {
        info.size = response.body.size();  // all of it came, without a length
        return info;
      }
      throw Error(EIO, "GET " + url + " bytes 0-0: server ignored the Range and sends more than " +
                           std::to_string(kProbeBodyLimit) + " bytes without a Content-Length: size unknown");
    }
    if (!is_success(response.status)) throw_for_status("GET", url + " bytes 0-0", response.status);
    throw Error(EIO, "GET " + url + " bytes 0-0: HTTP " + std::to_string(response.status) +
                         " gives no size (encoded body, no Content-Range)");
  }

  // Every archive request asks for the stored bytes, never an encoded variant.
  HttpResponse perform(HttpRequest request) {
    const bool has_encoding = std::any_of(request.headers.begin(), request.headers.end(),
                                          [](const auto& header) { return header.first == "Accept-Encoding"; });
    if (!has_encoding) request.headers.emplace_back("Accept-Encoding", "identity");
    return perform_with_retries(*transport_, std::move(request), retry_, kComponent);
  }

  const std::shared_ptr<HttpTransport> transport_;
  const RetryPolicy retry_;
};

}  // namespace

std::string ObjectInfo::validator() const {
  if (!etag.empty()) return etag;
  if (mtime != 0) return "lm:" + std::to_string(mtime);
  if (listed_at != 0) return "size:" + std::to_string(size) + "@" + std::to_string(listed_at);
  return "size:" + std::to_string(size);
}

std::unique_ptr<ArchiveClient> make_http_archive_client(std::shared_ptr<HttpTransport> transport, RetryPolicy retry) {
  return std::make_unique<HttpArchiveClient>(std::move(transport), retry);
}

}  // namespace hfs::vo
