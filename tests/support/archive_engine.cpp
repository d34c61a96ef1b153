#include "tests/support/archive_engine.h"

#include <ctime>
#include <tuple>

#include "common/error.h"
#include "common/text.h"

namespace hfs::test {

ArchiveEngine::ArchiveEngine(std::shared_ptr<vo::ArchiveClient> metadata, std::shared_ptr<vo::ArchiveClient> reads)
    : metadata_(std::move(metadata)), reads_(std::move(reads)), worker_([this] { run(); }) {}

ArchiveEngine::~ArchiveEngine() {
  {
    MutexLock lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  worker_.join();
}

vo::TransferEngine::Id ArchiveEngine::submit(vo::HttpRequest request, vo::TransferOptions options,
                                             vo::TransferCallbacks callbacks) {
  MutexLock lock(mutex_);
  const Id id = ++next_id_;
  queued_.emplace(id, Transfer{std::move(request), std::move(options), std::move(callbacks)});
  changed_.notify_all();
  return id;
}

void ArchiveEngine::cancel(Id id) {
  MutexLock lock(mutex_);
  if (auto it = queued_.find(id); it != queued_.end()) it->second.cancelled = true;
  changed_.notify_all();
}

void ArchiveEngine::promote(Id id) {
  MutexLock lock(mutex_);
  if (auto it = queued_.find(id); it != queued_.end()) it->second.options.priority = vo::Priority::interactive;
}

unsigned ArchiveEngine::queued_count() const {
  MutexLock lock(mutex_);
  return static_cast<unsigned>(queued_.size());
}

vo::TransferStats ArchiveEngine::stats() const {
  MutexLock lock(mutex_);
  vo::TransferStats stats = stats_;
  stats.queued = static_cast<unsigned>(queued_.size());
  return stats;
}

void ArchiveEngine::wait_idle() {
  MutexLock lock(mutex_);
  while (!queued_.empty() || busy_) changed_.wait(mutex_);
}

void ArchiveEngine::run() {
  for (;;) {
    Transfer transfer;
    {
      MutexLock lock(mutex_);
      busy_ = false;
      changed_.notify_all();
      while (queued_.empty() && !stopping_) changed_.wait(mutex_);
      if (queued_.empty()) return;
      // A cancelled transfer ends first; otherwise the lowest (priority, order, submission).
      auto rank = [](const auto& entry) {
        return std::make_tuple(entry.second.options.priority, entry.second.options.order, entry.first);
      };
      auto next = queued_.end();
      for (auto it = queued_.begin(); it != queued_.end(); ++it) {
        if (it->second.cancelled) {
          next = it;
          break;
        }
        if (next == queued_.end() || rank(*it) < rank(*next)) next = it;
      }
      transfer = std::move(next->second);
      queued_.erase(next);
      busy_ = true;
      if (stopping_) transfer.cancelled = true;
      ++stats_.started;
    }
    if (transfer.cancelled) {
      transfer.callbacks.on_done(std::make_exception_ptr(Error(ECANCELED, "transfer cancelled")));
      continue;
    }
    serve(transfer);
  }
}

void ArchiveEngine::serve(Transfer& transfer) {
  std::exception_ptr error;
  try {
    const auto& request = transfer.request;
    if (!request.range) throw Error(EINVAL, "ArchiveEngine serves ranged GETs only");
    const vo::ObjectInfo info = metadata_->stat(request.url, CallContext{});
    const std::uint64_t length = request.range->last - request.range->first + 1;
    std::string body = reads_->read(info, request.range->first, length);
    vo::ResponseHead head;
    head.status = 206;
    head.effective_url = request.url;
    head.headers.emplace_back("content-range", "bytes " + std::to_string(request.range->first) + "-" +
                                                   std::to_string(request.range->last) + "/" +
                                                   std::to_string(info.size));
    if (!info.etag.empty()) head.headers.emplace_back("etag", info.etag);
    if (info.mtime) head.headers.emplace_back("last-modified", text::utc_text(info.mtime, "%a, %d %b %Y %H:%M:%S GMT"));
    if (!transfer.callbacks.on_headers(head) || !transfer.callbacks.on_body(body)) {
      error = std::make_exception_ptr(Error(EIO, "aborted by its sink"));
    } else {
      MutexLock lock(mutex_);
      stats_.bytes_received += body.size();
    }
  } catch (...) {
    error = std::current_exception();
  }
  {
    MutexLock lock(mutex_);
    if (error) ++stats_.failed;
    else ++stats_.completed;
  }
  transfer.callbacks.on_done(error);
}

}  // namespace hfs::test
