// HTTP requests, behind an interface: the engine transport (vo/transfer_engine.h) talks to the
// network; tests substitute an in-memory transport (tests/support/fake_transport.h) or a
// failing decorator.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/cancel.h"
#include "common/error.h"

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
  // Deadline of this one request when shorter than the transport's own total timeout (the
  // retry loop passes what is left of its operation's deadline); 0 = the transport's.
  std::chrono::milliseconds timeout{0};
  // When nonzero (and below the transport's body cap): receive at most this many body bytes.
  // A longer body is cut there and the answer returned with body_truncated set (its connection
  // is closed, not reused): a size probe or a range read answered with a whole multi-GB file
  // stops after the first bytes instead of downloading it. 0 = the whole body, up to the cap.
  std::uint64_t body_limit = 0;
  // What the answer is ("registry", "Sesame", "cone search", "DataLink", "index page") and the
  // cap of that kind (vo/body_caps.h): a longer body fails the request with EFBIG and one warn
  // line. 0 = the transport's own cap (max_body_bytes).
  std::uint64_t max_body = 0;
  const char* answer_kind = "answer";
  // The filesystem call (or background job) this request serves: its deadline bounds the
  // request together with `timeout`, and cancelling its token ends the request (ECANCELED).
  // Transports that predate the engine ignore the token.
  CallContext call;
};

struct HttpResponse {
  long status = 0;
  std::string effective_url;                                 // after redirects
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased, in order
  std::string body;
  bool body_truncated = false;  // the body went past the request's body_limit and was cut there

  // The last header of that (lower-case) name, if any.
  std::optional<std::string> header(const std::string& lower_name) const;
};

// Parsed "Content-Range: bytes first-last/total" (total may be "*": unknown), or the
// "bytes */total" of a 416 answer (satisfied = false; first and last are then 0).
struct ContentRange {
  std::uint64_t first = 0;
  std::uint64_t last = 0;
  std::optional<std::uint64_t> total;
  bool satisfied = true;
};
std::optional<ContentRange> parse_content_range(const std::string& value);

// RFC 7231 HTTP-date ("Sun, 06 Nov 1994 08:49:37 GMT"; also the obsolete RFC 850 and asctime
// forms) to seconds since the epoch.
std::optional<std::int64_t> parse_http_date(const std::string& value);

// An hfs::Error a new attempt may well not meet, whatever its errno (see HttpTransport::perform):
// perform_with_retries retries it within the deadline; everyone else sees an hfs::Error.
class TransientError : public Error {
 public:
  using Error::Error;
};

class HttpTransport {
 public:
  virtual ~HttpTransport() = default;

  // Performs one request and returns whatever HTTP status came back; throws hfs::Error only
  // when no complete HTTP answer arrived (ETIMEDOUT on the deadline or a stall, EHOSTUNREACH/
  // ECONNREFUSED when no connection could be made, EIO on a reset or truncated body, ELOOP on
  // too many redirects, EFBIG on a body over the size cap; a body over the request's own
  // body_limit is no error). Failures that say nothing about the next attempt although their
  // errno would (a stall mid-body: ETIMEDOUT with the request's time not spent) are thrown as
  // TransientError. Thread-safe.
  virtual HttpResponse perform(const HttpRequest& request) = 0;
};

struct CurlTransportOptions {
  std::chrono::milliseconds connect_timeout{10000};
  std::chrono::milliseconds timeout{60000};  // whole request; 0 = none
  std::string user_agent = "heasarcfs";
  // An answer that has started (headers arriving) and then brings no byte for this long is
  // aborted (ETIMEDOUT) even under the total timeout: a server that stalls mid-body must not
  // hold a FUSE thread for a minute. Waiting for the first byte is bounded by `timeout` only
  // (a large cone search may take a while to start). 0 = no stall check.
  std::chrono::milliseconds stall_timeout{15000};
  long max_redirects = 5;                      // more -> ELOOP
  std::uint64_t max_body_bytes = 64ull << 20;  // a larger body -> EFBIG (bounds memory)
  unsigned connections_per_host = 8;           // kept alive and reused
  std::string ca_info;                         // PEM file of CAs for HTTPS; "" = the system's
};

// A libcurl-backed transport with a transfer engine of its own (make_curl_engine plus
// make_engine_transport, vo/transfer_engine.h): for a client used alone (tests, tools). A mount
// builds one engine and shares it instead. Honours http_proxy/https_proxy/no_proxy like curl.
std::unique_ptr<HttpTransport> make_curl_transport(const CurlTransportOptions& options);

// The time the retry loop reads and waits on. The real one (used when a RetryPolicy names
// none) is the steady clock, the system clock and a sleep; tests give a clock that moves only
// when the loop waits (tests/support/manual_clock.h), so backoff, Retry-After and the deadline
// are checked without real waits. Implementations must be thread-safe.
class RetryClock {
 public:
  virtual ~RetryClock() = default;
  virtual SteadyClock::time_point now() = 0;                       // the operation's deadline
  virtual std::chrono::system_clock::time_point wall_now() = 0;    // a Retry-After HTTP-date
  virtual void sleep_for(std::chrono::milliseconds duration) = 0;  // the wait before a retry
};

// How the VO and archive clients retry transient failures: 5xx (but 501/505) and 429 answers,
// honouring Retry-After, transport errors EIO/ECONNRESET and TransientErrors (a body stalled
// mid-way or a connect timed out). Not ECONNREFUSED or EHOSTUNREACH: a host that is down
// fails the call at once. Never 4xx, never the ETIMEDOUT of a request that used up its time (the
// deadline is spent), never anything after the operation's deadline.
struct RetryPolicy {
  unsigned max_attempts = 4;                       // the first try plus 3 retries
  std::chrono::milliseconds initial_backoff{250};  // doubled per retry, jittered in [b/2, b]
  std::chrono::milliseconds max_backoff{8000};     // caps the backoff and Retry-After
  std::chrono::milliseconds deadline{120000};      // whole operation, retries included
  std::shared_ptr<RetryClock> clock{};             // null: the real clock
};

// A Retry-After value (delta-seconds, capped at a day, or an HTTP-date) as a wait from
// `wall_now`; nullopt when absent or unreadable.
std::optional<std::chrono::milliseconds> parse_retry_after(const std::optional<std::string>& value,
                                                           std::chrono::system_clock::time_point wall_now);
bool is_retryable_status(long status);
bool is_retryable_errno(int errnum);

// Performs the request, retrying per the policy; each attempt's timeout is cut to what is left
// of the deadline. Returns the last answer (possibly still a 5xx once the retries are spent) or
// throws the last transport error. `component` names the caller in retry log lines.
HttpResponse perform_with_retries(HttpTransport& transport, HttpRequest request, const RetryPolicy& policy,
                                  std::string_view component);

}  // namespace hfs::vo
