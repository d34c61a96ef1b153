// HTTP requests, behind an interface: CurlTransport talks to the network; tests substitute an
// in-memory transport (tests/support/fake_transport.h) or a failing decorator.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace hfs::vo {

struct ByteRange {
  std::uint64_t first = 0;  // inclusive
  std::uint64_t last = 0;   // inclusive, as in "Range: bytes=first-last"
};

struct HttpRequest {
  enum class Method { get, head, post };
  Method method = Method::get;
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;  // extra request headers
  std::string body;                                          // POST body, sent as given
  std::string content_type;                                  // of the POST body
  std::optional<ByteRange> range;
};

struct HttpResponse {
  long status = 0;
  std::string effective_url;                                 // after redirects
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased, in order
  std::string body;

  // The last header of that (lower-case) name, if any.
  std::optional<std::string> header(const std::string& lower_name) const;
};

// Parsed "Content-Range: bytes first-last/total" (total may be "*": unknown).
struct ContentRange {
  std::uint64_t first = 0;
  std::uint64_t last = 0;
  std::optional<std::uint64_t> total;
};
std::optional<ContentRange> parse_content_range(const std::string& value);

// RFC 7231 HTTP-date ("Sun, 06 Nov 1994 08:49:37 GMT") to seconds since the epoch.
std::optional<std::int64_t> parse_http_date(const std::string& value);

class HttpTransport {
 public:
  virtual ~HttpTransport() = default;

  // Performs one request and returns whatever HTTP status came back; throws hfs::Error only
  // when no complete HTTP answer arrived (ETIMEDOUT on the deadline, EHOSTUNREACH/ECONNREFUSED
  // when no connection could be made, EIO on a reset or truncated body). Thread-safe.
  virtual HttpResponse perform(const HttpRequest& request) = 0;
};

struct CurlTransportOptions {
  std::chrono::milliseconds connect_timeout{10000};
  std::chrono::milliseconds timeout{60000};  // whole request; 0 = none
  std::string user_agent = "heasarcfs";
};

// libcurl-backed transport. Keeps a pool of easy handles (so connections are reused with
// keep-alive) shared by all threads; honours http_proxy/https_proxy/no_proxy like curl does.
std::unique_ptr<HttpTransport> make_curl_transport(const CurlTransportOptions& options);

}  // namespace hfs::vo
