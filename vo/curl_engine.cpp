// The transfer engine of vo/transfer_engine.h over a libcurl multi handle.
//
// Threads: one engine thread runs the multi handle (curl_multi_perform / curl_multi_poll) and
// every callback. submit/cancel/promote/stats come from any thread: they change the queue
// under the engine's mutex and wake the loop with curl_multi_wakeup. What runs in libcurl
// (the `running_` map, the easy handles) belongs to the engine thread alone.
//
// Connections: the multi handle owns the connection cache, so a connection outlives the easy
// handle that opened it and is reused by the next transfer to its host. The cache holds
// connections_per_host x kHostsKept connections, so idle ones are not closed while a mount
// moves between a few hosts. Transfers wait in the engine's own queue (TransferQueue) until
// their host has a free slot; libcurl never queues (CURLMOPT_MAX_HOST_CONNECTIONS is set to the
// same number only for redirects to another host, which count against the original one).
//
// Deadlines, stalls and cancellation are the engine's, not curl's: the loop sleeps until the
// nearest deadline or stall check, and a CancelToken wakes it through curl_multi_wakeup.
#include <curl/curl.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/error.h"
#include "common/log.h"
#include "common/thread_annotations.h"
#include "vo/curl_request.h"
#include "vo/curl_transfer.h"
#include "vo/down_hosts.h"
#include "vo/proxy_list.h"
#include "vo/transfer_engine.h"
#include "vo/transfer_queue.h"

namespace hfs::vo {
namespace {

using Id = TransferEngine::Id;
using Clock = SteadyClock;

constexpr unsigned kHostsKept = 8;  // hosts whose idle connections the cache keeps warm
constexpr std::size_t kMaxIdleEasyHandles = 64;
constexpr char kComponent[] = "transfer";

// Wakes the engine thread from any thread. Token callbacks hold it by shared_ptr: a token may
// fire while the engine is being destroyed, so the multi handle is detached (under the mutex)
// before it is cleaned up, and a late wake is then a no-op.
class Waker {
 public:
  explicit Waker(CURLM* multi) : multi_(multi) {}
  void wake() EXCLUDES(mutex_) {
    MutexLock lock(mutex_);
    if (multi_) curl_multi_wakeup(multi_);
  }
  // A CancelToken of some transfer fired: the engine looks at every transfer's tokens.
  void token_fired() {
    tokens_fired_.store(true);
    wake();
  }
  bool take_tokens_fired() { return tokens_fired_.exchange(false); }
  void detach() EXCLUDES(mutex_) {
    MutexLock lock(mutex_);
    multi_ = nullptr;
  }

 private:
  Mutex mutex_;  // a leaf: nothing is locked while it is held
  CURLM* multi_ GUARDED_BY(mutex_);
  std::atomic<bool> tokens_fired_{false};
};

// The shared state and the loop. CurlEngine (below) is the handle users hold; the engine
// thread holds this core too, so a handle dropped from inside a callback can let the thread
// finish on its own.
class EngineCore {
 public:
  explicit EngineCore(const EngineOptions& options)
      : connections_per_host_(std::max(1u, options.connections_per_host)),
        stall_timeout_(options.stall_timeout),
        proxies_(options.proxies, options.no_proxy),
        down_hosts_(options.down_host_hold) {
    curl::ensure_global_init();
    settings_.connect_timeout = options.connect_timeout;
    settings_.max_redirects = options.max_redirects;
    settings_.user_agent = options.user_agent;
    settings_.ca_info = options.ca_info;
    multi_ = curl_multi_init();
    if (!multi_) throw Error(ENOMEM, "curl_multi_init failed");
    curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, static_cast<long>(connections_per_host_ * kHostsKept));
    curl_multi_setopt(multi_, CURLMOPT_MAX_HOST_CONNECTIONS, static_cast<long>(connections_per_host_));
    // TLS sessions resumed across easy handles; every handle is used on the engine thread
    // only, so the share needs no lock callbacks.
    share_ = curl_share_init();
    if (share_) curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    waker_ = std::make_shared<Waker>(multi_);
  }

  ~EngineCore() {
    // The engine thread has finished (it holds this core), so what is left was submitted
    // after its last look: it ends here, on the destroying thread.
    fail_everything_left();
    waker_->detach();
    for (CURL* easy : idle_easy_) curl_easy_cleanup(easy);
    curl_multi_cleanup(multi_);
    if (share_) curl_share_cleanup(share_);
  }

  EngineCore(const EngineCore&) = delete;
  EngineCore& operator=(const EngineCore&) = delete;

  Id submit(HttpRequest request, const TransferOptions& options, TransferCallbacks callbacks) EXCLUDES(mutex_) {
    auto transfer = std::make_unique<curl::Transfer>();
    transfer->host = curl::host_key(request.url);
    transfer->deadline = std::min(options.deadline, request.call.deadline);
    transfer->cancel = options.cancel;
    transfer->call_cancel = request.call.cancel;
    transfer->request = std::move(request);
    transfer->callbacks = std::move(callbacks);
    transfer->bytes_received = &bytes_received_;
    transfer->bytes_in_flight = &bytes_in_flight_;
    if (transfer->request.range) {
      transfer->range_bytes_left = transfer->request.range->last - transfer->request.range->first + 1;
      bytes_in_flight_.fetch_add(transfer->range_bytes_left, std::memory_order_relaxed);
    }
    // Registered before the transfer is visible to the engine thread (which may end it at
    // once); a token that fires before it is queued is caught by the check below.
    auto fired = [waker = waker_] { waker->token_fired(); };
    if (transfer->cancel) transfer->cancel_registration = std::make_unique<CancelRegistration>(transfer->cancel, fired);
    if (transfer->call_cancel && transfer->call_cancel != transfer->cancel) {
      transfer->call_registration = std::make_unique<CancelRegistration>(transfer->call_cancel, fired);
    }
    Id id = 0;
    {
      MutexLock lock(mutex_);
      id = ++last_id_;
      transfer->id = id;
      queue_.push({.id = id,
                   .host = transfer->host,
                   .priority = options.priority,
                   .order = options.order,
                   .stream = options.stream,
                   .deadline = transfer->deadline});
      // Ends before it starts: the cancel requests are handled before any pick.
      if (transfer->cancelled()) cancel_requests_.push_back(id);
      queued_.emplace(id, std::move(transfer));
    }
    waker_->wake();
    return id;
  }

  void cancel(Id id) EXCLUDES(mutex_) {
    {
      MutexLock lock(mutex_);
      cancel_requests_.push_back(id);
    }
    waker_->wake();
  }

  void promote(Id id) EXCLUDES(mutex_) {
    // No wake: a queued transfer waits for a slot, and a freed slot makes the next pick.
    MutexLock lock(mutex_);
    queue_.promote(id);
  }

  unsigned queued_count() const EXCLUDES(mutex_) {
    MutexLock lock(mutex_);
    return static_cast<unsigned>(queue_.size());
  }

  TransferStats stats() const EXCLUDES(mutex_) {
    TransferStats stats;
    {
      MutexLock lock(mutex_);
      stats = stats_;
      stats.queued = static_cast<unsigned>(queue_.size());
      stats.running = running_count_;
      for (const auto& [host, running] : running_per_host_)
        if (running > 0) stats.running_by_host[host] = running;
      for (Id id : queue_.ids()) ++stats.queued_by_host[queued_.at(id)->host];
    }
    stats.bytes_received = bytes_received_.load(std::memory_order_relaxed);
    stats.bytes_in_flight = bytes_in_flight_.load(std::memory_order_relaxed);
    return stats;
  }

  void request_stop() EXCLUDES(mutex_) {
    {
      MutexLock lock(mutex_);
      stopping_ = true;
    }
    waker_->wake();
  }

  // The engine thread.
  void run() {
    for (;;) {
      const bool tokens_fired = waker_->take_tokens_fired();
      Work work = take_work(Clock::now(), tokens_fired);
      if (work.stopping) break;
      bool slots_freed = false;
      for (auto& [transfer, error] : work.ended) finish(std::move(transfer), std::move(error));
      for (Id id : work.cancel_running) {
        auto found = running_.find(id);
        if (found != running_.end()) slots_freed |= abort(id, curl::cancelled_error(*found->second, "cancelled"));
      }
      slots_freed |= end_overdue_running(Clock::now(), tokens_fired);
      for (auto& transfer : work.to_start) slots_freed |= !start(std::move(transfer));
      int still_running = 0;
      curl_multi_perform(multi_, &still_running);
      slots_freed |= collect_completions();
      // A freed slot may start a queued transfer at once; otherwise sleep until libcurl, a
      // deadline or a stall check needs the loop, or someone wakes it.
      if (!slots_freed) curl_multi_poll(multi_, nullptr, 0, poll_timeout_ms(work.next_queued_deadline), nullptr);
    }
    shut_down();
  }

 private:
  struct Work {
    bool stopping = false;
    std::vector<std::pair<std::unique_ptr<curl::Transfer>, std::exception_ptr>> ended;  // never ran
    std::vector<Id> cancel_running;  // cancel requests for what was not queued
    std::vector<std::unique_ptr<curl::Transfer>> to_start;
    std::optional<Clock::time_point> next_queued_deadline;
  };

  std::unique_ptr<curl::Transfer> take_queued(Id id) REQUIRES(mutex_) {
    auto node = queued_.extract(id);
    return std::move(node.mapped());
  }

  // Under the lock: what the queue says happens next.
  Work take_work(Clock::time_point now, bool tokens_fired) EXCLUDES(mutex_) {
    Work work;
    MutexLock lock(mutex_);
    work.stopping = stopping_;
    if (work.stopping) return work;  // shut_down() ends the rest
    for (Id id : cancel_requests_) {
      if (queue_.remove(id)) {
        auto transfer = take_queued(id);
        auto error = curl::cancelled_error(*transfer, "cancelled");
        work.ended.emplace_back(std::move(transfer), error);
      } else {
        work.cancel_running.push_back(id);
      }
    }
    cancel_requests_.clear();
    for (Id id : queue_.pop_expired(now)) {
      auto transfer = take_queued(id);
      auto error = curl::deadline_error(*transfer);
      work.ended.emplace_back(std::move(transfer), error);
    }
    if (tokens_fired) {
      for (Id id : queue_.ids()) {
        if (!queued_.at(id)->cancelled()) continue;
        queue_.remove(id);
        auto transfer = take_queued(id);
        auto error = curl::cancelled_error(*transfer, "cancelled");
        work.ended.emplace_back(std::move(transfer), error);
      }
    }
    for (const std::string& host : queue_.hosts()) {
      if (auto down = down_hosts_.down(host, now)) {
        // Not reachable moments ago: fail at once rather than knock again (vo/down_hosts.h).
        while (auto id = queue_.pop_next(host)) {
          auto transfer = take_queued(*id);
          const auto left = std::chrono::ceil<std::chrono::seconds>(down->until - now).count();
          auto error =
              std::make_exception_ptr(Error(down->errnum, curl::describe(transfer->request) + ": not sent: " + host +
                                                              " was unreachable moments ago (" + down->reason +
                                                              "); tried again in " + std::to_string(left) + " s"));
          work.ended.emplace_back(std::move(transfer), error);
        }
        continue;
      }
      unsigned& running = running_per_host_[host];
      while (running < connections_per_host_) {
        auto id = queue_.pop_next(host);
        if (!id) break;
        ++running;
        ++running_count_;
        stats_.max_running_per_host = std::max(stats_.max_running_per_host, running);
        work.to_start.push_back(take_queued(*id));
      }
    }
    work.next_queued_deadline = queue_.next_deadline();
    return work;
  }

  void release_slot(const std::string& host) EXCLUDES(mutex_) {
    MutexLock lock(mutex_);
    auto found = running_per_host_.find(host);
    if (found != running_per_host_.end() && found->second > 0) --found->second;
    if (running_count_ > 0) --running_count_;
  }

  // on_done, outside the lock (it may submit the next transfer), then the transfer is gone.
  // The error is moved into on_done, so the engine keeps no reference to the exception: the
  // thread that rethrows it is the one that frees it.
  void finish(std::unique_ptr<curl::Transfer> transfer, std::exception_ptr error) EXCLUDES(mutex_) {
    {
      MutexLock lock(mutex_);
      if (error) {
        ++stats_.failed;
      } else {
        ++stats_.completed;
      }
    }
    bytes_in_flight_.fetch_sub(std::exchange(transfer->range_bytes_left, 0), std::memory_order_relaxed);
    transfer->cancel_registration.reset();
    transfer->call_registration.reset();
    transfer->sink_error = nullptr;  // on_done has it, if it was the reason
    if (transfer->callbacks.on_done) {
      try {
        transfer->callbacks.on_done(std::move(error));
      } catch (const std::exception& thrown) {
        log::error(kComponent, curl::describe(transfer->request) + ": on_done threw: " + thrown.what());
      } catch (...) {
        log::error(kComponent, curl::describe(transfer->request) + ": on_done threw");
      }
    }
  }

  CURL* take_easy_handle() {
    if (!idle_easy_.empty()) {
      CURL* easy = idle_easy_.back();
      idle_easy_.pop_back();
      return easy;
    }
    return curl_easy_init();
  }

  void give_back_easy_handle(CURL* easy) {
    // Forgets every option (they point into the finished transfer); the connection it used
    // stays in the multi handle's cache.
    curl_easy_reset(easy);
    if (idle_easy_.size() < kMaxIdleEasyHandles) {
      idle_easy_.push_back(easy);
    } else {
      curl_easy_cleanup(easy);
    }
  }

  // Hands the transfer to libcurl; false when that failed (it has then ended).
  bool start(std::unique_ptr<curl::Transfer> transfer) {
    CURL* easy = take_easy_handle();
    std::exception_ptr failure;
    if (!easy) {
      failure = std::make_exception_ptr(Error(ENOMEM, curl::describe(transfer->request) + ": curl_easy_init failed"));
    } else {
      try {
        curl::attach(*transfer, easy, settings_, share_);
        route(*transfer);
      } catch (...) {
        failure = std::current_exception();
      }
    }
    if (!failure) {
      transfer->last_activity = Clock::now();
      CURLMcode added = curl_multi_add_handle(multi_, easy);
      if (added != CURLM_OK) {
        failure = std::make_exception_ptr(
            Error(EIO, curl::describe(transfer->request) + ": curl_multi_add_handle: " + curl_multi_strerror(added)));
      }
    }
    if (failure) {
      if (easy) give_back_easy_handle(easy);
      release_slot(transfer->host);
      finish(std::move(transfer), std::move(failure));
      return false;
    }
    {
      MutexLock lock(mutex_);
      ++stats_.started;
    }
    Id id = transfer->id;
    running_.emplace(id, std::move(transfer));
    return true;
  }

  // With proxy=: through the proxy ProxyList chooses, or direct for a no_proxy host.
  void route(curl::Transfer& transfer) {
    if (proxies_.empty()) return;  // libcurl's environment handling
    transfer.proxy = proxies_.applies_to(transfer.request.url) ? proxies_.choose(transfer.proxies_tried) : std::nullopt;
    apply_proxy(transfer.easy, transfer.proxy ? proxies_.url(*transfer.proxy) : std::string());
  }

  // A transfer whose proxy could not be reached goes again, at once, through the next proxy
  // it has not tried (vo/proxy_list.h). True: it is running again.
  bool retry_through_next_proxy(curl::Transfer& transfer, CURLcode code) {
    if (!transfer.proxy || !is_proxy_connect_failure(code) || transfer.answer_started) return false;
    const std::size_t failed = *transfer.proxy;
    proxies_.mark_failed(failed);
    transfer.proxies_tried |= 1u << failed;
    const auto next = proxies_.choose(transfer.proxies_tried);
    log::warn(kComponent, "proxy " + proxies_.url(failed) + ": " + curl_easy_strerror(code) + " (skipped for " +
                              std::to_string(kProxySkip.count()) + " s); " +
                              (next ? "trying " + proxies_.url(*next) : std::string("no proxy left")) + " for " +
                              curl::describe(transfer.request));
    if (!next) return false;
    CURL* easy = transfer.easy;
    curl_multi_remove_handle(multi_, easy);
    curl_easy_reset(easy);
    transfer.error_buffer.fill(0);
    transfer.head = ResponseHead{};
    transfer.head_delivered = false;
    try {
      curl::attach(transfer, easy, settings_, share_);
    } catch (...) {
      return false;  // ends with the connect failure, as if no proxy were left
    }
    transfer.proxy = next;
    apply_proxy(easy, proxies_.url(*next));
    transfer.last_activity = Clock::now();
    return curl_multi_add_handle(multi_, easy) == CURLM_OK;
  }

  // Takes a running transfer out of libcurl (its connection is closed unless the answer was
  // complete) and ends it with `error`. True: a slot was freed.
  bool abort(Id id, std::exception_ptr error) {
    auto node = running_.extract(id);
    if (node.empty()) return false;
    std::unique_ptr<curl::Transfer> transfer = std::move(node.mapped());
    curl_multi_remove_handle(multi_, transfer->easy);
    give_back_easy_handle(transfer->easy);
    transfer->easy = nullptr;
    release_slot(transfer->host);
    finish(std::move(transfer), std::move(error));
    return true;
  }

  // Ends running transfers whose deadline passed, whose answer stalled or (when a token
  // fired) whose token is cancelled. True: a slot was freed.
  bool end_overdue_running(Clock::time_point now, bool tokens_fired) {
    std::vector<std::pair<Id, std::exception_ptr>> overdue;
    for (const auto& [id, transfer] : running_) {
      if (tokens_fired && transfer->cancelled()) {
        overdue.emplace_back(id, curl::cancelled_error(*transfer, "cancelled"));
      } else if (now >= transfer->deadline) {
        overdue.emplace_back(id, curl::deadline_error(*transfer));
      } else if (curl::stalled(*transfer, now, stall_timeout_)) {
        overdue.emplace_back(id, curl::stall_error(*transfer, stall_timeout_));
      }
    }
    for (auto& [id, error] : overdue) abort(id, std::move(error));
    return !overdue.empty();
  }

  // What libcurl finished. True: a slot was freed.
  bool collect_completions() {
    bool any = false;
    int left = 0;
    while (CURLMsg* message = curl_multi_info_read(multi_, &left)) {
      if (message->msg != CURLMSG_DONE) continue;
      CURL* easy = message->easy_handle;
      const CURLcode code = message->data.result;
      curl::Transfer* raw = nullptr;
      curl_easy_getinfo(easy, CURLINFO_PRIVATE, &raw);
      if (retry_through_next_proxy(*raw, code)) continue;
      auto node = running_.extract(raw->id);
      std::unique_ptr<curl::Transfer> transfer = std::move(node.mapped());
      std::exception_ptr error = curl::outcome(*transfer, code);
      note_reachability(*transfer, code);
      curl_multi_remove_handle(multi_, easy);
      give_back_easy_handle(easy);
      transfer->easy = nullptr;
      release_slot(transfer->host);
      finish(std::move(transfer), std::move(error));
      any = true;
    }
    return any;
  }

  // A host that refused the connection or could not be resolved is remembered down; one that
  // answered is forgotten. A connect timeout is not remembered: it is retried (a SYN may be
  // lost), within the call's deadline.
  void note_reachability(const curl::Transfer& transfer, CURLcode code) EXCLUDES(mutex_) {
    int errnum = 0;
    if (code == CURLE_COULDNT_CONNECT) errnum = ECONNREFUSED;
    else if (code == CURLE_COULDNT_RESOLVE_HOST) errnum = EHOSTUNREACH;
    MutexLock lock(mutex_);
    if (errnum == 0) {
      if (code == CURLE_OK) down_hosts_.note_answer(transfer.host);
      return;
    }
    std::string reason = transfer.error_buffer[0] ? transfer.error_buffer.data() : curl_easy_strerror(code);
    down_hosts_.note_unreachable(transfer.host, errnum, std::move(reason), Clock::now());
  }

  int poll_timeout_ms(std::optional<Clock::time_point> next_queued_deadline) const {
    long curl_ms = -1;
    curl_multi_timeout(multi_, &curl_ms);
    Clock::time_point wake = next_queued_deadline.value_or(Clock::time_point::max());
    for (const auto& [id, transfer] : running_) {
      wake = std::min(wake, transfer->deadline);
      if (stall_timeout_.count() > 0 && transfer->answer_started)
        wake = std::min(wake, transfer->last_activity + stall_timeout_);
    }
    // Without anything due the loop still looks round once a minute; every change of work
    // wakes it anyway.
    long long timeout = curl_ms >= 0 ? curl_ms : 60000;
    if (wake != Clock::time_point::max()) {
      auto until = std::chrono::ceil<std::chrono::milliseconds>(wake - Clock::now()).count();
      timeout = std::min<long long>(timeout, std::max<long long>(until, 0));
    }
    return static_cast<int>(std::clamp<long long>(timeout, 0, 60000));
  }

  // The engine thread's last act: everything running or queued ends with ECANCELED. on_done
  // may submit more (it is told nothing); those end here too.
  void shut_down() {
    for (;;) {
      std::vector<Id> running;
      for (const auto& [id, transfer] : running_) running.push_back(id);
      for (Id id : running) abort(id, curl::cancelled_error(*running_.at(id), "the transfer engine is shutting down"));
      if (!fail_queued()) break;
    }
  }

  // Ends every queued transfer with ECANCELED; false when there was none.
  bool fail_queued() EXCLUDES(mutex_) {
    std::vector<std::unique_ptr<curl::Transfer>> left;
    {
      MutexLock lock(mutex_);
      for (Id id : queue_.ids()) {
        queue_.remove(id);
        left.push_back(take_queued(id));
      }
      cancel_requests_.clear();
    }
    for (auto& transfer : left) {
      auto error = curl::cancelled_error(*transfer, "the transfer engine is shutting down");
      finish(std::move(transfer), std::move(error));
    }
    return !left.empty();
  }

  void fail_everything_left() {
    while (fail_queued()) {
    }
  }

  const unsigned connections_per_host_;
  const std::chrono::milliseconds stall_timeout_;
  ProxyList proxies_;  // the engine thread only
  curl::EasySettings settings_;
  CURLM* multi_ = nullptr;
  CURLSH* share_ = nullptr;
  std::shared_ptr<Waker> waker_;
  std::atomic<std::uint64_t> bytes_received_{0};
  std::atomic<std::uint64_t> bytes_in_flight_{0};

  // Lock order: mutex_, then a CancelToken's (cancelled() is asked under mutex_), then the
  // Waker's. No callback of a transfer runs with mutex_ held.
  mutable Mutex mutex_;
  bool stopping_ GUARDED_BY(mutex_) = false;
  Id last_id_ GUARDED_BY(mutex_) = 0;
  TransferQueue queue_ GUARDED_BY(mutex_);
  std::unordered_map<Id, std::unique_ptr<curl::Transfer>> queued_ GUARDED_BY(mutex_);  // what queue_ holds
  std::vector<Id> cancel_requests_ GUARDED_BY(mutex_);
  std::map<std::string, unsigned> running_per_host_ GUARDED_BY(mutex_);  // slots taken
  unsigned running_count_ GUARDED_BY(mutex_) = 0;
  TransferStats stats_ GUARDED_BY(mutex_);
  DownHosts down_hosts_ GUARDED_BY(mutex_);

  // The engine thread only.
  std::unordered_map<Id, std::unique_ptr<curl::Transfer>> running_;
  std::vector<CURL*> idle_easy_;
};

class CurlEngine final : public TransferEngine {
 public:
  explicit CurlEngine(const EngineOptions& options) : core_(std::make_shared<EngineCore>(options)) {
    thread_ = std::thread([core = core_] { core->run(); });
  }

  ~CurlEngine() override {
    core_->request_stop();
    // Dropped by a callback on the engine thread itself: that thread cannot be joined from
    // inside; it finishes the shutdown on its own and the core goes with its last reference.
    if (thread_.get_id() == std::this_thread::get_id()) {
      thread_.detach();
    } else {
      thread_.join();
    }
  }

  CurlEngine(const CurlEngine&) = delete;
  CurlEngine& operator=(const CurlEngine&) = delete;

  Id submit(HttpRequest request, TransferOptions options, TransferCallbacks callbacks) override {
    return core_->submit(std::move(request), options, std::move(callbacks));
  }
  void cancel(Id id) override { core_->cancel(id); }
  void promote(Id id) override { core_->promote(id); }
  TransferStats stats() const override { return core_->stats(); }
  unsigned queued_count() const override { return core_->queued_count(); }

 private:
  std::shared_ptr<EngineCore> core_;
  std::thread thread_;
};

}  // namespace

std::shared_ptr<TransferEngine> make_curl_engine(const EngineOptions& options) {
  return std::make_shared<CurlEngine>(options);
}

}  // namespace hfs::vo
