#include "tests/support/test_http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <optional>
#include <stdexcept>

namespace hfs::test {
namespace {

constexpr int kPollMillis = 50;  // how often blocked server threads look at the stop flag

std::string lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

std::string trim(const std::string& text) {
  auto begin = text.find_first_not_of(" \t\r");
  if (begin == std::string::npos) return "";
  auto end = text.find_last_not_of(" \t\r");
  return text.substr(begin, end - begin + 1);
}

bool send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t sent = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (sent <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(sent));
  }
  return true;
}

const char* reason(int status) {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 416: return "Range Not Satisfiable";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Status";
  }
}

// "bytes=a-b", "bytes=a-", "bytes=-n" against a body of `size` bytes: the inclusive span, or
// nullopt with unsatisfiable=true past the end. Anything else (several ranges, junk) is ignored
// like Apache does with what it cannot parse: nullopt, unsatisfiable=false.
std::optional<std::pair<std::uint64_t, std::uint64_t>> parse_range(const std::string& value, std::uint64_t size,
                                                                   bool& unsatisfiable) {
  unsatisfiable = false;
  std::string text = trim(value);
  if (text.rfind("bytes=", 0) != 0 || text.find(',') != std::string::npos) return std::nullopt;
  text = text.substr(6);
  auto dash = text.find('-');
  if (dash == std::string::npos) return std::nullopt;
  std::string first_text = text.substr(0, dash), last_text = text.substr(dash + 1);
  auto digits = [](const std::string& s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  if (first_text.empty()) {  // suffix: the last n bytes
    if (!digits(last_text)) return std::nullopt;
    std::uint64_t n = std::stoull(last_text);
    if (n == 0 || size == 0) {
      unsatisfiable = true;
      return std::nullopt;
    }
    return std::pair{size - std::min(n, size), size - 1};
  }
  if (!digits(first_text) || (!last_text.empty() && !digits(last_text))) return std::nullopt;
  std::uint64_t first = std::stoull(first_text);
  std::uint64_t last = last_text.empty() ? (size ? size - 1 : 0) : std::stoull(last_text);
  if (last < first) return std::nullopt;
  if (first >= size) {
    unsatisfiable = true;
    return std::nullopt;
  }
  return std::pair{first, std::min(last, size - 1)};
}

}  // namespace

void AnswerGate::release(int answers) {
  MutexLock lock(mutex_);
  permits_ += answers;
  changed_.notify_all();
}

void AnswerGate::open() {
  MutexLock lock(mutex_);
  open_ = true;
  changed_.notify_all();
}

int AnswerGate::held() const {
  MutexLock lock(mutex_);
  return held_;
}

bool AnswerGate::wait_until_held(int count, std::chrono::milliseconds limit) const {
  const auto give_up = std::chrono::steady_clock::now() + limit;
  MutexLock lock(mutex_);
  while (held_ < count) {
    if (changed_.wait_until(mutex_, give_up) == std::cv_status::timeout) return held_ >= count;
  }
  return true;
}

bool AnswerGate::pass() {
  MutexLock lock(mutex_);
  ++held_;
  changed_.notify_all();
  while (!open_ && !abandoned_ && permits_ == 0) changed_.wait(mutex_);
  --held_;
  changed_.notify_all();
  if (abandoned_) return false;
  if (!open_) --permits_;
  return true;
}

void AnswerGate::abandon() {
  MutexLock lock(mutex_);
  abandoned_ = true;
  changed_.notify_all();
}

TestHttpServer::TestHttpServer() {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) throw std::runtime_error("test server: socket failed");
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof address;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(listen_fd_, 128) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    ::close(listen_fd_);
    throw std::runtime_error("test server: cannot listen on 127.0.0.1");
  }
  port_ = ntohs(address.sin_port);
  accept_thread_ = std::thread([this] { accept_loop(); });
}

TestHttpServer::~TestHttpServer() { stop(); }

std::string TestHttpServer::base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }
std::string TestHttpServer::url(const std::string& target) const { return base_url() + target; }

void TestHttpServer::add(const std::string& target, Route route) {
  MutexLock lock(mutex_);
  routes_[target] = std::move(route);
}

void TestHttpServer::remove(const std::string& target) {
  MutexLock lock(mutex_);
  routes_.erase(target);
}

void TestHttpServer::set_faults(const std::string& target, Faults faults) {
  MutexLock lock(mutex_);
  if (faults.gate) gates_.push_back(faults.gate);
  faults_[target] = std::move(faults);
}

void TestHttpServer::set_gate(std::shared_ptr<Gate> gate) {
  MutexLock lock(mutex_);
  gate_ = std::move(gate);
}

std::vector<TestHttpServer::LoggedRequest> TestHttpServer::requests() const {
  MutexLock lock(mutex_);
  return log_;
}

std::size_t TestHttpServer::request_count() const {
  MutexLock lock(mutex_);
  return log_.size();
}

bool TestHttpServer::wait_for_requests(std::size_t count, std::chrono::milliseconds limit) const {
  const auto give_up = std::chrono::steady_clock::now() + limit;
  MutexLock lock(mutex_);
  while (requests_seen_ < count) {
    if (logged_cv_.wait_until(mutex_, give_up) == std::cv_status::timeout) return requests_seen_ >= count;
  }
  return true;
}

void TestHttpServer::clear_log() {
  MutexLock lock(mutex_);
  log_.clear();
}

int TestHttpServer::connections_accepted() const {
  MutexLock lock(mutex_);
  return connections_;
}

int TestHttpServer::max_in_flight() const {
  MutexLock lock(mutex_);
  return max_in_flight_;
}

void TestHttpServer::reset_max_in_flight() {
  MutexLock lock(mutex_);
  max_in_flight_ = in_flight_;
}

void TestHttpServer::stop() {
  std::vector<std::shared_ptr<AnswerGate>> gates;
  std::shared_ptr<test::Gate> gate;
  {
    MutexLock lock(mutex_);
    if (stopping_ && listen_fd_ < 0) return;
    stopping_ = true;
    for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
    gates = gates_;
    gate = gate_;
  }
  if (gate) gate->open();  // lets held answers end
  stopped_cv_.notify_all();
  for (const auto& gate : gates) gate->abandon();
  if (accept_thread_.joinable()) accept_thread_.join();
  std::vector<std::thread> threads;
  {
    MutexLock lock(mutex_);
    threads.swap(connection_threads_);
  }
  for (auto& thread : threads) thread.join();
  if (listen_fd_ >= 0) ::close(listen_fd_);
  MutexLock lock(mutex_);
  listen_fd_ = -1;
}

void TestHttpServer::accept_loop() {
  for (;;) {
    {
      MutexLock lock(mutex_);
      if (stopping_) return;
    }
    pollfd waiting{listen_fd_, POLLIN, 0};
    if (::poll(&waiting, 1, kPollMillis) <= 0) continue;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    MutexLock lock(mutex_);
    if (stopping_) {
      ::close(fd);
      return;
    }
    int connection = ++connections_;
    open_fds_.insert(fd);
    connection_threads_.emplace_back([this, fd, connection] { serve_connection(fd, connection); });
  }
}

bool TestHttpServer::sleep_unless_stopped(std::chrono::milliseconds duration) {
  const auto deadline = std::chrono::steady_clock::now() + duration;
  MutexLock lock(mutex_);
  // The predicate loop is written out (not a wait_until predicate lambda) so that the analysis
  // sees stopping_ read with mutex_ held; wait_until unlocks mutex_ while asleep, as usual.
  while (!stopping_) {
    if (stopped_cv_.wait_until(mutex_, deadline) == std::cv_status::timeout) return !stopping_;
  }
  return false;
}

void TestHttpServer::wait_until_stopped_or_closed(int fd) {
  for (;;) {
    {
      MutexLock lock(mutex_);
      if (stopping_) return;
    }
    pollfd waiting{fd, POLLIN, 0};
    if (::poll(&waiting, 1, kPollMillis) > 0) {
      char byte;
      if (::recv(fd, &byte, 1, MSG_PEEK) <= 0) return;               // the client gave up
      sleep_unless_stopped(std::chrono::milliseconds(kPollMillis));  // data: not ours to read
    }
  }
}

void TestHttpServer::serve_connection(int fd, int connection) {
  std::string buffer;
  auto read_more = [&]() {
    for (;;) {
      {
        MutexLock lock(mutex_);
        if (stopping_) return false;
      }
      pollfd waiting{fd, POLLIN, 0};
      int ready = ::poll(&waiting, 1, kPollMillis);
      if (ready < 0) return false;
      if (ready == 0) continue;
      char chunk[16384];
      ssize_t got = ::recv(fd, chunk, sizeof chunk, 0);
      if (got <= 0) return false;
      buffer.append(chunk, static_cast<std::size_t>(got));
      return true;
    }
  };

  bool keep_going = true;
  bool reset = false;  // end with an RST rather than a FIN
  while (keep_going) {
    std::size_t end;
    while ((end = buffer.find("\r\n\r\n")) == std::string::npos) {
      if (!read_more()) {
        keep_going = false;
        break;
      }
    }
    if (!keep_going) break;
    std::string head = buffer.substr(0, end + 4);
    buffer.erase(0, end + 4);

    // Content-Length and Expect, read before the body is.
    std::uint64_t content_length = 0;
    bool expect_continue = false;
    std::size_t line_start = head.find("\r\n") + 2;
    while (line_start < head.size()) {
      std::size_t line_end = head.find("\r\n", line_start);
      std::string line = head.substr(line_start, line_end - line_start);
      line_start = line_end + 2;
      auto colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string name = lower(line.substr(0, colon)), value = trim(line.substr(colon + 1));
      if (name == "content-length") content_length = std::stoull(value);
      if (name == "expect" && lower(value) == "100-continue") expect_continue = true;
    }
    if (expect_continue && content_length > 0) send_all(fd, "HTTP/1.1 100 Continue\r\n\r\n");
    while (buffer.size() < content_length) {
      if (!read_more()) {
        keep_going = false;
        break;
      }
    }
    if (!keep_going) break;
    std::string body = buffer.substr(0, content_length);
    buffer.erase(0, content_length);

    After after = answer(fd, connection, head, body);
    keep_going = after == After::keep_alive;
    reset = after == After::reset;
  }
  {
    MutexLock lock(mutex_);
    open_fds_.erase(fd);
  }
  if (reset) {
    linger hard{1, 0};  // close() now sends an RST instead of a FIN
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
  }
  ::close(fd);
}

TestHttpServer::After TestHttpServer::answer(int fd, int connection, const std::string& head, const std::string& body) {
  LoggedRequest request;
  request.connection = connection;
  request.body = body;
  std::string version;
  {
    std::size_t line_end = head.find("\r\n");
    std::string line = head.substr(0, line_end);
    std::size_t first_space = line.find(' '), second_space = line.rfind(' ');
    request.method = line.substr(0, first_space);
    request.target = line.substr(first_space + 1, second_space - first_space - 1);
    version = line.substr(second_space + 1);
    std::size_t start = line_end + 2;
    while (start < head.size()) {
      std::size_t end = head.find("\r\n", start);
      std::string header = head.substr(start, end - start);
      start = end + 2;
      auto colon = header.find(':');
      if (colon != std::string::npos) request.headers[lower(header.substr(0, colon))] = trim(header.substr(colon + 1));
    }
  }
  auto question = request.target.find('?');
  request.path = request.target.substr(0, question);
  request.query = question == std::string::npos ? "" : request.target.substr(question + 1);
  if (auto range = request.headers.find("range"); range != request.headers.end()) request.range = range->second;
  bool client_closes = version == "HTTP/1.0" || lower(request.headers["connection"]) == "close";

  std::optional<Route> route;
  Faults faults;
  bool failing = false;
  std::shared_ptr<Gate> gate;
  {
    MutexLock lock(mutex_);
    request.id = ++requests_seen_;
    log_.push_back(request);
    logged_cv_.notify_all();
    max_in_flight_ = std::max(max_in_flight_, ++in_flight_);
    gate = gate_;
    std::string key = routes_.count(request.target) ? request.target : request.path;
    if (auto found = routes_.find(key); found != routes_.end()) route = found->second;
    if (auto found = faults_.find(key); found != faults_.end()) {
      faults = found->second;
      if (found->second.fail_next > 0) {
        --found->second.fail_next;
        failing = true;
      } else if (found->second.times == 0) {
        faults.reset_mid_body = faults.truncate_body = faults.stall_mid_body = false;
        faults.ignore_range = faults.hang = false;
      } else if (found->second.times > 0) {
        --found->second.times;
      }
    }
  }
  int status = 0;
  std::uint64_t sent_body = 0;
  auto finish = [&](After after) {
    MutexLock lock(mutex_);
    --in_flight_;
    for (auto it = log_.rbegin(); it != log_.rend(); ++it) {
      if (it->id == request.id) {
        it->status = status;
        it->body_bytes = sent_body;
        break;
      }
    }
    return after;
  };

  if (gate) gate->pass();  // outside mutex_: the other requests must get in to open it
  if (faults.gate && !faults.gate->pass()) return finish(After::close);
  if (faults.delay.count() > 0 && !sleep_unless_stopped(faults.delay)) return finish(After::close);
  if (!failing && faults.hang) {
    wait_until_stopped_or_closed(fd);
    return finish(After::close);
  }

  std::vector<std::pair<std::string, std::string>> headers;
  std::string payload;
  bool is_head = request.method == "HEAD";
  bool send_length = true;
  if (failing) {
    status = faults.fail_status;
    payload = "failing on purpose\n";
    if (!faults.retry_after.empty()) headers.emplace_back("Retry-After", faults.retry_after);
  } else if (!route) {
    status = 404;
    payload = "no route " + request.path + "\n";
  } else if (is_head && !route->head_allowed) {
    status = 405;
    headers.emplace_back("Allow", "GET");
    payload.clear();
  } else if (is_head && route->head_status != 0) {
    status = route->head_status;
    payload.clear();
  } else {
    status = route->status;
    payload = route->body;
    headers.emplace_back("Content-Type", route->content_type);
    if (!route->etag.empty()) headers.emplace_back("ETag", route->etag);
    if (!route->last_modified.empty()) headers.emplace_back("Last-Modified", route->last_modified);
    headers.emplace_back("Accept-Ranges", "bytes");
    for (const auto& header : route->headers) headers.push_back(header);
    if (is_head && !route->head_content_length) send_length = false;
    if (status == 200 && !request.range.empty() && !faults.ignore_range) {
      bool unsatisfiable = false;
      auto span = parse_range(request.range, route->body.size(), unsatisfiable);
      if (span) {
        status = 206;
        headers.emplace_back("Content-Range", "bytes " + std::to_string(span->first) + "-" +
                                                  std::to_string(span->second) + "/" +
                                                  std::to_string(route->body.size()));
        payload = route->body.substr(span->first, span->second - span->first + 1);
      } else if (unsatisfiable) {
        status = 416;
        headers.emplace_back("Content-Range", "bytes */" + std::to_string(route->body.size()));
        payload.clear();
      }
    }
  }

  std::string wire = "HTTP/1.1 " + std::to_string(status) + " " + reason(status) + "\r\n";
  for (const auto& [name, value] : headers) wire += name + ": " + value + "\r\n";
  if (send_length) wire += "Content-Length: " + std::to_string(payload.size()) + "\r\n";
  if (client_closes) wire += "Connection: close\r\n";
  wire += "\r\n";
  bool cut = !is_head && !failing && route && (faults.reset_mid_body || faults.truncate_body || faults.stall_mid_body);
  if (!is_head) {
    sent_body = cut ? payload.size() / 2 : payload.size();
    wire.append(payload, 0, sent_body);
  }
  // The log and the in-flight count are settled before the last byte goes out: a client that
  // has its answer may look at them (or send its next request) at once.
  After after = client_closes ? After::close : After::keep_alive;
  if (cut) after = faults.reset_mid_body ? After::reset : After::close;
  finish(after);
  if (!send_all(fd, wire)) return After::close;
  if (cut && faults.stall_mid_body) wait_until_stopped_or_closed(fd);
  if (cut && faults.truncate_body) ::shutdown(fd, SHUT_WR);
  return after;
}

std::uint16_t closed_local_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return ntohs(address.sin_port);
}

void bypass_proxies_for_loopback() {
  std::string hosts = "127.0.0.1,localhost";
  for (const char* name : {"no_proxy", "NO_PROXY"}) {
    const char* current = std::getenv(name);
    std::string value = current && *current ? std::string(current) + "," + hosts : hosts;
    ::setenv(name, value.c_str(), 1);
  }
}

}  // namespace hfs::test
