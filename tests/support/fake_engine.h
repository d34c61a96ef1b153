// A TransferEngine for tests, with no network and no thread of its own: the test drives every
// transfer by hand (deliver some bytes, finish, fail), so it decides exactly when each block
// lands and can count what is in flight. Serves ranges of in-memory objects with 206 answers
// and their ETag, like the archive.
//
// Scheduling is the real engine's: at most `connections` run; the next to run is the queued one
// with the lowest (priority, order, submission). Callbacks run on the thread of the test call
// that drives them (the stand-in for the engine thread), never inside submit/cancel/promote.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/thread_annotations.h"
#include "vo/transfer_engine.h"

namespace hfs::test {

class FakeEngine : public vo::TransferEngine {
 public:
  explicit FakeEngine(unsigned connections = 8) : connections_(connections) {}
  ~FakeEngine() override;

  void add_object(const std::string& url, std::string bytes, std::string etag = "\"v1\"");
  // Replaces the bytes and ETag (the archive changed the file).
  void replace_object(const std::string& url, std::string bytes, std::string etag);

  Id submit(vo::HttpRequest request, vo::TransferOptions options, vo::TransferCallbacks callbacks) override;
  void cancel(Id id) override;
  void promote(Id id) override;
  vo::TransferStats stats() const override;
  unsigned queued_count() const override;

  struct Info {
    Id id = 0;
    std::string url;
    std::uint64_t first = 0, last = 0;  // the Range asked for
    vo::Priority priority = vo::Priority::interactive;
    std::uint64_t order = 0;
    std::uint64_t stream = 0;
    bool running = false;
    std::uint64_t delivered = 0;  // body bytes handed over so far
  };
  std::vector<Info> running() const;
  std::vector<Info> queued() const;
  std::vector<Info> all_submitted() const;  // every transfer ever submitted, in order
  std::optional<Info> find(Id id) const;

  // Blocks the calling (test) thread until at least `count` transfers were ever submitted.
  void wait_for_submissions(std::size_t count);
  // Blocks until nothing runs or is queued (with another thread driving).
  // Delivers the head (once) and the next `bytes` body bytes of a running transfer.
  void deliver(Id id, std::uint64_t bytes);
  // Delivers the rest and ends it successfully; then starts queued transfers.
  void finish(Id id);
  // Ends it with `error` (after whatever was delivered).
  void fail(Id id, std::exception_ptr error);
  // Answers it with this status and headers instead of the object's bytes, then ends it.
  void answer_status(Id id, long status, std::vector<std::pair<std::string, std::string>> headers = {});
  // Finishes running transfers (and those that start after them) until none is left.
  void finish_all();

  unsigned max_running() const;
  std::uint64_t bytes_sent() const;

 private:
  struct Transfer {
    Info info;
    vo::TransferCallbacks callbacks;
    bool headers_sent = false;
    std::uint64_t seq = 0;
  };
  void start_queued_locked() REQUIRES(mutex_);
  // Removes the transfer and returns it (the caller runs its callbacks unlocked).
  std::optional<Transfer> take_locked(Id id) REQUIRES(mutex_);

  const unsigned connections_;
  mutable Mutex mutex_;
  std::condition_variable_any changed_;
  std::map<std::string, std::pair<std::string, std::string>> objects_ GUARDED_BY(mutex_);  // url -> bytes, etag
  std::map<Id, Transfer> transfers_ GUARDED_BY(mutex_);                                    // not yet ended
  std::vector<Info> submitted_ GUARDED_BY(mutex_);
  Id next_id_ GUARDED_BY(mutex_) = 0;
  unsigned running_count_ GUARDED_BY(mutex_) = 0;
  unsigned max_running_ GUARDED_BY(mutex_) = 0;
  std::uint64_t bytes_sent_ GUARDED_BY(mutex_) = 0;
  vo::TransferStats stats_ GUARDED_BY(mutex_);
};

}  // namespace hfs::test
