// A TransferEngine over an ArchiveClient, for tests of the layers above the engine (the
// filesystem) without sockets: each ranged GET is answered by stat() (for the ETag and
// Last-Modified of the 206 head) and read() of the client -- typically a FakeArchiveClient,
// or a FailingArchiveClient around it so that read faults reach the fetcher as transfer
// errors with their errno. One worker thread runs the transfers in the real engine's order
// (priority, then order, then submission), one at a time; callbacks run on it.
#pragma once

#include <condition_variable>
#include <map>
#include <memory>
#include <thread>

#include "common/thread_annotations.h"
#include "vo/archive_client.h"
#include "vo/transfer_engine.h"

namespace hfs::test {

class ArchiveEngine : public vo::TransferEngine {
 public:
  // `metadata` answers stat() for the heads, `reads` the bytes (may be the same client).
  ArchiveEngine(std::shared_ptr<vo::ArchiveClient> metadata, std::shared_ptr<vo::ArchiveClient> reads);
  ~ArchiveEngine() override;

  Id submit(vo::HttpRequest request, vo::TransferOptions options, vo::TransferCallbacks callbacks) override;
  void cancel(Id id) override;
  void promote(Id id) override;
  vo::TransferStats stats() const override;
  unsigned queued_count() const override;
  // Blocks until no transfer is queued or running.
  void wait_idle();

 private:
  struct Transfer {
    vo::HttpRequest request;
    vo::TransferOptions options;
    vo::TransferCallbacks callbacks;
    bool cancelled = false;
  };
  void run();
  void serve(Transfer& transfer);

  const std::shared_ptr<vo::ArchiveClient> metadata_;
  const std::shared_ptr<vo::ArchiveClient> reads_;
  mutable Mutex mutex_;
  std::condition_variable_any changed_;
  std::map<Id, Transfer> queued_ GUARDED_BY(mutex_);
  std::map<Id, bool> cancelled_running_ GUARDED_BY(mutex_);
  Id next_id_ GUARDED_BY(mutex_) = 0;
  bool stopping_ GUARDED_BY(mutex_) = false;
  bool busy_ GUARDED_BY(mutex_) = false;
  vo::TransferStats stats_ GUARDED_BY(mutex_);
  std::thread worker_;  // last: starts after everything above exists
};

}  // namespace hfs::test
