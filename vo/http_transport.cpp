// The transport-independent parts of vo/http_transport.h: header lookup, Content-Range and
// HTTP-date parsing, and the retry loop the clients share. The libcurl transport itself is the
// transfer engine (vo/curl_engine.cpp) and vo/engine_transport.cpp.
#include "vo/http_transport.h"
#include "common/text.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <random>
#include <thread>

#include "common/error.h"
#include "common/log.h"

namespace hfs::vo {
namespace {

using text::trim;

// A whole run of decimal digits (no sign, no spaces) that fits in 64 bits.
std::optional<std::uint64_t> parse_decimal(std::string_view text) {
  if (text.empty() || !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  std::uint64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

using text::iequals;

class RealRetryClock final : public RetryClock {
 public:
  SteadyClock::time_point now() override { return SteadyClock::now(); }
  std::chrono::system_clock::time_point wall_now() override { return std::chrono::system_clock::now(); }
  void sleep_for(std::chrono::milliseconds duration) override { std::this_thread::sleep_for(duration); }
};

const char* method_name(HttpRequest::Method method) {
  switch (method) {
    case HttpRequest::Method::get: return "GET";
    case HttpRequest::Method::head: return "HEAD";
    case HttpRequest::Method::post: return "POST";
  }
  return "?";
}

}  // namespace

std::optional<std::string> HttpResponse::header(const std::string& lower_name) const {
  for (auto it = headers.rbegin(); it != headers.rend(); ++it) {
    if (it->first == lower_name) return it->second;
  }
  return std::nullopt;
}

std::optional<ContentRange> parse_content_range(const std::string& value) {
  std::string_view text = trim(value);
  if (text.size() < 6 || !iequals(text.substr(0, 5), "bytes") || (text[5] != ' ' && text[5] != '\t')) {
    return std::nullopt;
  }
  text = trim(text.substr(6));
  auto slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  std::string_view span = trim(text.substr(0, slash));
  std::string_view total_text = trim(text.substr(slash + 1));

  ContentRange range;
  if (total_text != "*") {
    range.total = parse_decimal(total_text);
    if (!range.total) return std::nullopt;
  }
  if (span == "*") {
    // "bytes */N" answers an unsatisfiable range; "bytes */*" says nothing at all.
    if (!range.total) return std::nullopt;
    range.satisfied = false;
    return range;
  }
  auto dash = span.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  auto first = parse_decimal(span.substr(0, dash));
  auto last = parse_decimal(span.substr(dash + 1));
  if (!first || !last || *first > *last) return std::nullopt;
  if (range.total && *last >= *range.total) return std::nullopt;
  range.first = *first;
  range.last = *last;
  return range;
}

std::optional<std::int64_t> parse_http_date(const std::string& value) {
  std::string_view text = trim(value);
  // curl_getdate is lenient; an HTTP-date always has a letter (day or month name) and a digit.
  bool has_alpha =
      std::any_of(text.begin(), text.end(), [](char c) { return std::isalpha(static_cast<unsigned char>(c)); });
  bool has_digit =
      std::any_of(text.begin(), text.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
  if (!has_alpha || !has_digit) return std::nullopt;
  std::time_t seconds = curl_getdate(std::string(text).c_str(), nullptr);
  if (seconds == static_cast<std::time_t>(-1)) return std::nullopt;
  return static_cast<std::int64_t>(seconds);
}

// Retry-After is either delta-seconds or an HTTP-date (RFC 7231 7.1.3).
std::optional<std::chrono::milliseconds> parse_retry_after(const std::optional<std::string>& value,
                                                           std::chrono::system_clock::time_point wall_now) {
  if (!value) return std::nullopt;
  if (auto seconds = parse_decimal(trim(*value))) {
    return std::chrono::milliseconds(std::min<std::uint64_t>(*seconds, 86400) * 1000);
  }
  if (auto when = parse_http_date(*value)) {
    // Clamped as delta-seconds are, before the multiplication: a date centuries ahead (curl
    // reads years up to 2^63 s) must not overflow (found by fuzz_http_head).
    auto now = std::chrono::duration_cast<std::chrono::seconds>(wall_now.time_since_epoch()).count();
    const std::int64_t ahead = *when > now ? std::min<std::int64_t>(*when - now, 86400) : 0;
    return std::chrono::milliseconds(ahead * 1000);
  }
  return std::nullopt;
}

bool is_retryable_status(long status) {
  // 501 Not Implemented and 505 HTTP Version Not Supported will say the same thing again.
  return status == 429 || (status >= 500 && status <= 599 && status != 501 && status != 505);
}

// Not ECONNREFUSED or EHOSTUNREACH: a host that refuses connections or has no address is down
// now, and a retry in a second rarely finds it up; failing at once lets a stale answer be
// served at once (fs/remote_view.h), and the engine remembers the host (vo/down_hosts.h).
bool is_retryable_errno(int errnum) { return errnum == EIO || errnum == ECONNRESET; }

HttpResponse perform_with_retries(HttpTransport& transport, HttpRequest request, const RetryPolicy& policy,
                                  std::string_view component) {
  using std::chrono::milliseconds;
  RealRetryClock real_clock;  // stateless
  RetryClock& clock = policy.clock ? *policy.clock : real_clock;
  const bool has_deadline = policy.deadline.count() > 0;
  const auto deadline = clock.now() + policy.deadline;
  const milliseconds requested_timeout = request.timeout;
  const unsigned max_attempts = std::max(1u, policy.max_attempts);
  milliseconds backoff = std::max(milliseconds(1), policy.initial_backoff);
  std::optional<std::minstd_rand> jitter;  // seeded on the first retry only: retries are rare

  for (unsigned attempt = 1;; ++attempt) {
    // No attempt starts on time the call no longer has (a chain's earlier step spent it).
    if (request.call.cancelled())
      throw Error(ECANCELED, std::string(method_name(request.method)) + " " + request.url + ": interrupted");
    if (request.call.expired())
      throw Error(ETIMEDOUT, std::string(method_name(request.method)) + " " + request.url +
                                 ": the call's deadline (timeout=) has passed");
    if (has_deadline) {
      auto remaining = std::chrono::ceil<milliseconds>(deadline - clock.now());
      if (remaining.count() <= 0) remaining = milliseconds(1);
      request.timeout = requested_timeout.count() > 0 ? std::min(requested_timeout, remaining) : remaining;
    }
    std::optional<HttpResponse> response;
    std::optional<Error> failure;
    try {
      response = transport.perform(request);
    } catch (const TransientError& error) {
      failure = Error(error.errnum(), error.what());  // whatever its errno; the deadline still bounds it
    } catch (const Error& error) {
      if (!is_retryable_errno(error.errnum())) throw;
      failure = error;
    }
    if (response && !is_retryable_status(response->status)) return std::move(*response);

    auto give_up = [&]() -> HttpResponse {
      if (response) return std::move(*response);
      throw *failure;
    };
    if (attempt >= max_attempts) return give_up();

    if (!jitter) jitter.emplace(std::random_device{}());
    std::uniform_int_distribution<long long> spread(backoff.count() / 2, backoff.count());
    milliseconds wait(spread(*jitter));
    if (response) {
      if (auto retry_after = parse_retry_after(response->header("retry-after"), clock.wall_now())) {
        wait = std::min(*retry_after, policy.max_backoff);
      }
    }
    if (has_deadline && clock.now() + wait >= deadline) return give_up();
    // The call this request serves may end sooner (its own deadline, or an interrupt).
    if (request.call.cancelled() || clock.now() + wait >= request.call.deadline) return give_up();

    std::string what = response ? "HTTP " + std::to_string(response->status) : std::string(failure->what());
    log::warn(component, std::string("retry ") + std::to_string(attempt) + "/" + std::to_string(max_attempts - 1) +
                             " of " + method_name(request.method) + " " + request.url + " in " +
                             std::to_string(wait.count()) + " ms after " + what);
    if (request.call.cancel) {
      // Interruptible: slices, so that an interrupted call stops waiting within 50 ms.
      for (milliseconds left = wait; left.count() > 0 && !request.call.cancelled();) {
        const milliseconds slice = std::min(left, milliseconds(50));
        clock.sleep_for(slice);
        left -= slice;
      }
      if (request.call.cancelled()) return give_up();
    } else {
      clock.sleep_for(wait);
    }
    backoff = std::min(backoff * 2, std::max(policy.max_backoff, milliseconds(1)));
  }
}

}  // namespace hfs::vo
