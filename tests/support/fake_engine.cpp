#include "tests/support/fake_engine.h"

#include <algorithm>
#include <stdexcept>
#include <tuple>

#include "common/error.h"

namespace hfs::test {

FakeEngine::~FakeEngine() {
  std::vector<Transfer> left;
  {
    MutexLock lock(mutex_);
    for (auto& [id, transfer] : transfers_) left.push_back(std::move(transfer));
    transfers_.clear();
  }
  for (auto& transfer : left) transfer.callbacks.on_done(std::make_exception_ptr(Error(ECANCELED, "engine destroyed")));
}

void FakeEngine::add_object(const std::string& url, std::string bytes, std::string etag) {
  MutexLock lock(mutex_);
  objects_[url] = {std::move(bytes), std::move(etag)};
}

void FakeEngine::replace_object(const std::string& url, std::string bytes, std::string etag) {
  add_object(url, std::move(bytes), std::move(etag));
}

vo::TransferEngine::Id FakeEngine::submit(vo::HttpRequest request, vo::TransferOptions options,
                                          vo::TransferCallbacks callbacks) {
  MutexLock lock(mutex_);
  Transfer transfer;
  transfer.info.id = ++next_id_;
  transfer.info.url = request.url;
  if (request.range) {
    transfer.info.first = request.range->first;
    transfer.info.last = request.range->last;
  }
  transfer.info.priority = options.priority;
  transfer.info.order = options.order;
  transfer.info.stream = options.stream;
  transfer.seq = transfer.info.id;
  transfer.callbacks = std::move(callbacks);
  submitted_.push_back(transfer.info);
  const Id id = transfer.info.id;
  transfers_.emplace(id, std::move(transfer));
  start_queued_locked();
  changed_.notify_all();
  return id;
}

void FakeEngine::start_queued_locked() {
  while (running_count_ < connections_) {
    Transfer* next = nullptr;
    for (auto& [id, transfer] : transfers_) {
      if (transfer.info.running) continue;
      auto rank = [](const Transfer& t) { return std::make_tuple(t.info.priority, t.info.order, t.seq); };
      if (!next || rank(transfer) < rank(*next)) next = &transfer;
    }
    if (!next) return;
    next->info.running = true;
    ++running_count_;
    ++stats_.started;
    max_running_ = std::max(max_running_, running_count_);
  }
}

std::optional<FakeEngine::Transfer> FakeEngine::take_locked(Id id) {
  auto it = transfers_.find(id);
  if (it == transfers_.end()) return std::nullopt;
  Transfer transfer = std::move(it->second);
  transfers_.erase(it);
  if (transfer.info.running) --running_count_;
  start_queued_locked();
  changed_.notify_all();
  return transfer;
}

void FakeEngine::cancel(Id id) {
  std::optional<Transfer> transfer;
  {
    MutexLock lock(mutex_);
    transfer = take_locked(id);
    if (transfer) ++stats_.failed;
  }
  // The real engine calls on_done on its own thread; here the canceller's thread stands in,
  // outside every lock of the fake.
  if (transfer) transfer->callbacks.on_done(std::make_exception_ptr(Error(ECANCELED, "transfer cancelled")));
}

void FakeEngine::promote(Id id) {
  MutexLock lock(mutex_);
  auto it = transfers_.find(id);
  if (it == transfers_.end() || it->second.info.running) return;
  it->second.info.priority = vo::Priority::interactive;
  for (auto& info : submitted_)
    if (info.id == id) info.priority = vo::Priority::interactive;
  start_queued_locked();
}

unsigned FakeEngine::queued_count() const {
  MutexLock lock(mutex_);
  return static_cast<unsigned>(transfers_.size()) - running_count_;
}

vo::TransferStats FakeEngine::stats() const {
  MutexLock lock(mutex_);
  vo::TransferStats stats = stats_;
  stats.running = running_count_;
  stats.queued = static_cast<unsigned>(transfers_.size()) - running_count_;
  stats.max_running_per_host = max_running_;
  stats.bytes_received = bytes_sent_;
  return stats;
}

std::vector<FakeEngine::Info> FakeEngine::running() const {
  MutexLock lock(mutex_);
  std::vector<Info> out;
  for (auto& [id, transfer] : transfers_)
    if (transfer.info.running) out.push_back(transfer.info);
  return out;
}

std::vector<FakeEngine::Info> FakeEngine::queued() const {
  MutexLock lock(mutex_);
  std::vector<Info> out;
  for (auto& [id, transfer] : transfers_)
    if (!transfer.info.running) out.push_back(transfer.info);
  return out;
}

std::vector<FakeEngine::Info> FakeEngine::all_submitted() const {
  MutexLock lock(mutex_);
  return submitted_;
}

std::optional<FakeEngine::Info> FakeEngine::find(Id id) const {
  MutexLock lock(mutex_);
  auto it = transfers_.find(id);
  if (it == transfers_.end()) return std::nullopt;
  return it->second.info;
}

void FakeEngine::wait_for_submissions(std::size_t count) {
  MutexLock lock(mutex_);
  while (submitted_.size() < count) changed_.wait(mutex_);
}

void FakeEngine::deliver(Id id, std::uint64_t bytes) {
  vo::TransferCallbacks* callbacks = nullptr;
  bool send_headers = false;
  vo::ResponseHead head;
  std::string body;
  {
    MutexLock lock(mutex_);
    auto it = transfers_.find(id);
    if (it == transfers_.end() || !it->second.info.running) throw std::logic_error("deliver: transfer not running");
    Transfer& transfer = it->second;
    auto object = objects_.find(transfer.info.url);
    if (object == objects_.end()) throw std::logic_error("deliver: no object " + transfer.info.url);
    const std::string& data = object->second.first;
    if (!transfer.headers_sent) {
      send_headers = true;
      transfer.headers_sent = true;
      head.status = 206;
      head.effective_url = transfer.info.url;
      head.headers = {{"content-range", "bytes " + std::to_string(transfer.info.first) + "-" +
                                            std::to_string(transfer.info.last) + "/" + std::to_string(data.size())},
                      {"etag", object->second.second}};
    }
    const std::uint64_t length = transfer.info.last - transfer.info.first + 1;
    const std::uint64_t take = std::min(bytes, length - transfer.info.delivered);
    body = data.substr(transfer.info.first + transfer.info.delivered, take);
    transfer.info.delivered += take;
    bytes_sent_ += take;
    callbacks = &transfer.callbacks;  // stays valid: only this (driving) thread ends the transfer
  }
  if (send_headers && !callbacks->on_headers(head)) {
    fail(id, nullptr);
    return;
  }
  if (!body.empty() && !callbacks->on_body(body)) fail(id, nullptr);
}

void FakeEngine::finish(Id id) {
  std::uint64_t left = 0;
  {
    MutexLock lock(mutex_);
    auto it = transfers_.find(id);
    if (it == transfers_.end()) return;
    left = it->second.info.last - it->second.info.first + 1 - it->second.info.delivered;
  }
  deliver(id, left);
  std::optional<Transfer> transfer;
  {
    MutexLock lock(mutex_);
    transfer = take_locked(id);
    if (transfer) ++stats_.completed;
  }
  if (transfer) transfer->callbacks.on_done(nullptr);
}

void FakeEngine::fail(Id id, std::exception_ptr error) {
  std::optional<Transfer> transfer;
  {
    MutexLock lock(mutex_);
    transfer = take_locked(id);
    if (transfer) ++stats_.failed;
  }
  if (!error) error = std::make_exception_ptr(Error(EIO, "aborted by its sink"));
  if (transfer) transfer->callbacks.on_done(error);
}

void FakeEngine::answer_status(Id id, long status, std::vector<std::pair<std::string, std::string>> headers) {
  vo::TransferCallbacks* callbacks = nullptr;
  vo::ResponseHead head;
  {
    MutexLock lock(mutex_);
    auto it = transfers_.find(id);
    if (it == transfers_.end()) return;
    head.status = status;
    head.effective_url = it->second.info.url;
    head.headers = std::move(headers);
    it->second.headers_sent = true;
    callbacks = &it->second.callbacks;
  }
  if (!callbacks->on_headers(head)) {
    fail(id, nullptr);
    return;
  }
  std::optional<Transfer> transfer;
  {
    MutexLock lock(mutex_);
    transfer = take_locked(id);
  }
  if (transfer) transfer->callbacks.on_done(nullptr);
}

void FakeEngine::finish_all() {
  for (;;) {
    auto now_running = running();
    if (now_running.empty()) return;
    for (auto& info : now_running) finish(info.id);
  }
}

unsigned FakeEngine::max_running() const {
  MutexLock lock(mutex_);
  return max_running_;
}

std::uint64_t FakeEngine::bytes_sent() const {
  MutexLock lock(mutex_);
  return bytes_sent_;
}

}  // namespace hfs::test
