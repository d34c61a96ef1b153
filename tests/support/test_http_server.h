// An in-process HTTP/1.1 server for unit tests: binds 127.0.0.1 on a free port, one thread per
// connection, keep-alive, in-memory routes with real Range and HEAD handling, a request log,
// counters (connections, requests in flight) and per-route fault switches (cf. the fault knobs
// of fsspec's HTTPTestHandler and CernVM-FS's silent_socket/http_400 helpers).
//
//   TestHttpServer server;
//   server.add("/FTP/a/file", {.body = "hello", .etag = "\"v1\""});
//   server.set_faults("/FTP/a/file", {.fail_next = 2, .retry_after = "0"});
//   transport->perform({.url = server.url("/FTP/a/file")});
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/thread_annotations.h"
#include "tests/support/gate.h"

namespace hfs::test {

// Holds answers at the server until the test lets them go: a request on a gated route is read,
// logged and counted as in flight, then waits here. A test learns what a client has in flight
// (held()) and releases answers one at a time or all at once, so concurrency and ordering are
// observed with latches, not with sleeps. Waits end early when the server stops.
class AnswerGate {
 public:
  void release(int answers = 1) EXCLUDES(mutex_);  // lets that many held (or later) answers go
  void open() EXCLUDES(mutex_);                    // lets every answer go, now and later
  int held() const EXCLUDES(mutex_);               // answers waiting now
  // Blocks until at least `count` answers wait; false after `limit` (a test failure, not a
  // measurement: the limit only turns a hang into a message).
  bool wait_until_held(int count, std::chrono::milliseconds limit = std::chrono::seconds(60)) const EXCLUDES(mutex_);

  // The server's side: waits for a permit; false when the server stops first.
  bool pass() EXCLUDES(mutex_);
  void abandon() EXCLUDES(mutex_);

 private:
  mutable Mutex mutex_;  // a leaf
  mutable std::condition_variable_any changed_;
  int permits_ GUARDED_BY(mutex_) = 0;
  int held_ GUARDED_BY(mutex_) = 0;
  bool open_ GUARDED_BY(mutex_) = false;
  bool abandoned_ GUARDED_BY(mutex_) = false;
};

class TestHttpServer {
 public:
  struct Route {
    std::string body{};
    int status = 200;
    std::string content_type = "application/octet-stream";
    std::string etag{};                                          // sent as is ("\"abc\""); "" = no ETag
    std::string last_modified{};                                 // an HTTP-date; "" = no Last-Modified
    std::vector<std::pair<std::string, std::string>> headers{};  // extra response headers
    bool head_allowed = true;                                    // false: HEAD is answered 405
    bool head_content_length = true;                             // false: HEAD is answered without Content-Length
    int head_status = 0;  // nonzero: HEAD is answered with it (a CDN's 403), no body
  };

  // Switches on one route; they stay until set again (fail_next counts down).
  struct Faults {
    int fail_next = 0;  // the next N requests are answered fail_status
    int fail_status = 503;
    std::string retry_after{};           // Retry-After of those answers; "" = none
    bool reset_mid_body = false;         // headers with the full length, half the body, then a TCP RST
    bool truncate_body = false;          // headers with the full length, half the body, then close
    bool stall_mid_body = false;         // headers with the full length, half the body, then silence
    bool ignore_range = false;           // answer 200 with the whole body whatever the Range
    bool hang = false;                   // read the request, never answer (until the client or stop())
    std::chrono::milliseconds delay{0};  // wait before answering
    int times = -1;                      // reset/truncate/stall/ignore_range/hang hit the next N answers only; -1: all
    std::shared_ptr<AnswerGate> gate{};  // every answer of the route waits for it (after the log)
  };

  struct LoggedRequest {
    std::string method{};
    std::string target{};  // path?query as sent
    std::string path{};
    std::string query{};
    std::map<std::string, std::string> headers;  // names lower-cased
    std::string body{};
    std::string range{};           // the Range header, "" when none
    int status = 0;                // 0 when no answer was sent (hang, stop)
    std::uint64_t body_bytes = 0;  // body bytes actually sent
    int connection = 0;            // 1-based number of the TCP connection it came on
    std::uint64_t id = 0;          // 1-based arrival number since the server started
  };

  TestHttpServer();
  ~TestHttpServer();  // stop()
  TestHttpServer(const TestHttpServer&) = delete;
  TestHttpServer& operator=(const TestHttpServer&) = delete;

  std::uint16_t port() const { return port_; }
  std::string base_url() const;                      // "http://127.0.0.1:<port>"
  std::string url(const std::string& target) const;  // base_url() + target

  // Routes match the exact target (path?query) first, then the path alone; else 404.
  void add(const std::string& target, Route route);  // replaces a route of that target
  void remove(const std::string& target);
  void set_faults(const std::string& target, Faults faults);
  // Every request, once counted in flight, passes this gate before it is answered (nullptr: no
  // gate). A Gate(n) holds the first requests until n are in flight at once: proof that a
  // client runs n in parallel, without delaying answers and hoping they overlap.
  void set_gate(std::shared_ptr<Gate> gate);

  std::vector<LoggedRequest> requests() const;
  std::size_t request_count() const;
  // Blocks until at least `count` requests have arrived since the server started (clear_log
  // does not reset the count); false after `limit`, see Gate.
  bool wait_for_requests(std::size_t count, std::chrono::milliseconds limit = std::chrono::seconds(60)) const;
  void clear_log();
  int connections_accepted() const;
  int max_in_flight() const;  // most requests being answered at once since the last reset
  void reset_max_in_flight();

  // Closes the listener and every connection (wakes hanging answers); idempotent.
  void stop();

 private:
  enum class After { keep_alive, close, reset };
  void accept_loop();
  void serve_connection(int fd, int connection);
  After answer(int fd, int connection, const std::string& head, const std::string& body);
  void wait_until_stopped_or_closed(int fd) EXCLUDES(mutex_);
  bool sleep_unless_stopped(std::chrono::milliseconds duration) EXCLUDES(mutex_);

  std::uint16_t port_ = 0;
  int listen_fd_ = -1;
  std::thread accept_thread_;

  // Lock order: mutex_ only (never held while sending or sleeping on a socket).
  mutable Mutex mutex_;
  std::condition_variable_any stopped_cv_;         // notified by stop(); waited on with mutex_ itself
  mutable std::condition_variable_any logged_cv_;  // notified when a request is logged
  std::vector<std::shared_ptr<AnswerGate>> gates_ GUARDED_BY(mutex_);  // abandoned by stop()
  bool stopping_ GUARDED_BY(mutex_) = false;
  std::map<std::string, Route> routes_ GUARDED_BY(mutex_);
  std::map<std::string, Faults> faults_ GUARDED_BY(mutex_);
  std::shared_ptr<Gate> gate_ GUARDED_BY(mutex_);
  std::vector<LoggedRequest> log_ GUARDED_BY(mutex_);
  std::set<int> open_fds_ GUARDED_BY(mutex_);  // connections to shut down on stop
  std::vector<std::thread> connection_threads_ GUARDED_BY(mutex_);
  int connections_ GUARDED_BY(mutex_) = 0;
  std::uint64_t requests_seen_ GUARDED_BY(mutex_) = 0;
  int in_flight_ GUARDED_BY(mutex_) = 0;
  int max_in_flight_ GUARDED_BY(mutex_) = 0;
};

// A local TCP port with nothing listening on it (bound, then closed): connections are refused.
std::uint16_t closed_local_port();

// Sets no_proxy so that a developer's http_proxy does not capture requests to 127.0.0.1.
// setenv is not thread-safe: call it before any thread runs (e.g. from a global fixture).
void bypass_proxies_for_loopback();

}  // namespace hfs::test
