// The one transfer engine every HTTP request of a mount goes through: a libcurl multi handle
// driven by one thread, with a fixed number of connections per host, kept alive and reused.
//
// Why one engine: the archive is far away (50 ms and 8 MiB/s per connection is typical), so
// speed comes from keeping `connections` requests in flight on warm connections, and fairness
// comes from one scheduler seeing every request: what a reader is blocked on goes before
// read-ahead, read-ahead nearest its reader goes first, and no stream starves.
//
// Scheduling (the contract the fetcher and the tests rely on):
// - At most `connections_per_host` transfers run per host (scheme://host:port); the rest wait
//   in the engine's queue, never inside libcurl (so the engine, not curl, picks who goes next).
// - When a slot frees, the queued transfer that goes next is the one with the lowest
//   (priority, order, submission sequence): interactive before prefetch; among prefetch, the
//   smallest `order` (the fetcher passes how far ahead of its reader the part starts) first.
//   To keep one busy stream from starving another, equal-priority transfers of different
//   `stream`s take turns: the next pick prefers a stream other than the one picked last when
//   both have a transfer of the same priority queued.
// - promote() moves a queued transfer to interactive (a reader now waits for that part).
// - Each transfer has an absolute deadline and may have a CancelToken. When either fires the
//   transfer ends with ETIMEDOUT or ECANCELED (queued or running), and the engine thread is
//   woken at once for it (curl_multi_wakeup), not at its next poll.
// - Callbacks run on the engine thread and must be quick (no blocking, no network): they write
//   to the cache and notify waiters. on_headers and on_body return false to abort the transfer
//   (then on_done gets EIO), or throw to abort it with that error (on_done gets what they
//   threw: this is how a sink sets its reason, e.g. EFBIG over a size cap). on_done runs exactly once per submitted
//   transfer, including transfers cancelled before they started and those still queued when
//   the engine is destroyed (ECANCELED).
// - Body bytes are handed over as libcurl receives them (no user-space buffering in the
//   engine): memory is bounded by connections x curl's receive buffer, not by the request size.
// - HTTP/1.1 only, keep-alive, "Accept-Encoding: identity" unless the request sets its own.
#pragma once

#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/cancel.h"
#include "vo/http_transport.h"

namespace hfs::vo {

enum class Priority : std::uint8_t { interactive = 0, prefetch = 1 };

struct TransferOptions {
  Priority priority = Priority::interactive;
  std::uint64_t order = 0;   // among equal priority: smaller goes first (bytes ahead of the reader)
  std::uint64_t stream = 0;  // fairness group (0 = none): equal-priority streams take turns
  SteadyClock::time_point deadline = SteadyClock::time_point::max();
  std::shared_ptr<CancelToken> cancel;  // may be null
};

// The status line and headers of the final answer (after redirects), names lower-cased.
struct ResponseHead {
  long status = 0;
  std::string effective_url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::optional<std::string> header(const std::string& lower_name) const;
};

struct TransferCallbacks {
  // Once, before any body byte. Return false to abort.
  std::function<bool(const ResponseHead&)> on_headers;
  // Body bytes, in order, as they arrive. Return false to abort.
  std::function<bool(std::string_view)> on_body;
  // Exactly once. nullptr: the whole answer arrived. Else an hfs::Error (errno as in
  // HttpTransport::perform: ETIMEDOUT, ECANCELED, ECONNREFUSED, EHOSTUNREACH, EIO, ...; a
  // TransientError for a stall mid-body), or whatever the sink's abort reason was.
  std::function<void(std::exception_ptr error)> on_done;
};

struct TransferStats {
  std::uint64_t started = 0;          // transfers handed to libcurl
  std::uint64_t completed = 0;        // ended with a whole answer
  std::uint64_t failed = 0;           // ended with an error (cancellations included)
  std::uint64_t bytes_received = 0;   // body bytes
  unsigned running = 0;               // in libcurl now
  unsigned queued = 0;                // waiting for a connection slot
  unsigned max_running_per_host = 0;  // the most that ever ran at once against one host
  std::uint64_t bytes_in_flight = 0;  // bytes of range requests asked for (queued or running), not yet received
  std::map<std::string, unsigned> running_by_host;  // connections in use now, by scheme://host:port
  std::map<std::string, unsigned> queued_by_host;   // transfers waiting for one
};

class TransferEngine {
 public:
  using Id = std::uint64_t;
  virtual ~TransferEngine() = default;
  virtual Id submit(HttpRequest request, TransferOptions options, TransferCallbacks callbacks) = 0;
  // Ends a queued or running transfer with ECANCELED (no-op once it has ended).
  virtual void cancel(Id id) = 0;
  // A queued prefetch becomes interactive (no-op when it is running or has ended).
  virtual void promote(Id id) = 0;
  virtual TransferStats stats() const = 0;
  // Transfers waiting for a connection now (stats().queued without building the rest: the
  // fetcher asks it on every prefetch it schedules).
  virtual unsigned queued_count() const = 0;
};

struct EngineOptions {
  // Per host. 8: the ceiling a long link gives (each connection is capped, like a per-flow
  // shaper or a per-connection server limit), polite to one archive, and what the kernel's
  // FUSE background queue can keep busy; see the README's connections= option.
  unsigned connections_per_host = 8;
  std::chrono::milliseconds connect_timeout{10000};
  // An answer that has started and then brings no byte for this long ends with a
  // TransientError(ETIMEDOUT). 0 = no stall check.
  std::chrono::milliseconds stall_timeout{15000};
  long max_redirects = 5;
  std::string user_agent = "heasarcfs";
  // A host that refused a connection or could not be resolved is remembered down this long:
  // transfers to it fail at once with that errno instead of trying (vo/down_hosts.h). Long
  // enough that a walk with the services down costs one attempt, short enough that a service
  // that comes back is used again soon. 0 = off.
  std::chrono::milliseconds down_host_hold{5000};
  std::string ca_info;  // PEM file of CAs HTTPS servers are verified against; "" = the system's
  // Forward proxies with failover (vo/proxy_list.h); empty: libcurl's environment handling.
  std::vector<std::string> proxies;
  std::string no_proxy;  // the no_proxy variable's value, applied with `proxies`
};

std::shared_ptr<TransferEngine> make_curl_engine(const EngineOptions& options);

// The synchronous HttpTransport (used by the VO and archive clients) over an engine: each
// perform() is one interactive transfer whose body is collected (up to max_body_bytes, EFBIG
// beyond; cut at the request's body_limit), with the request's timeout as its deadline.
std::unique_ptr<HttpTransport> make_engine_transport(std::shared_ptr<TransferEngine> engine,
                                                     std::chrono::milliseconds default_timeout,
                                                     std::uint64_t max_body_bytes = 64ull << 20);

}  // namespace hfs::vo
