// The shared state of one object version being read, and the parts (range requests) that fill
// its blocks in the cache. Internal to the fetcher (cache/fetcher.cpp); see cache/fetcher.h for
// the contract.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <map>
#include <memory>

#include "cache/object_store.h"
#include "common/error.h"
#include "common/thread_annotations.h"
#include "vo/archive_client.h"
#include "vo/transfer_engine.h"

namespace hfs::cache {

// Counters shared by the fetcher and the callbacks of its parts (which may outlive it inside
// the engine until their on_done).
struct FetchCounters {
  std::atomic<std::uint64_t> interactive_parts{0};
  std::atomic<std::uint64_t> prefetch_parts{0};
  std::atomic<std::uint64_t> promoted_parts{0};
  std::atomic<std::uint64_t> cancelled_parts{0};
  std::atomic<std::uint64_t> failed_parts{0};
  std::atomic<std::uint64_t> bytes_received{0};
  std::atomic<std::uint64_t> blocks_committed{0};
  std::atomic<std::uint64_t> retries{0};
  std::atomic<std::uint64_t> direct_reads{0};
  std::atomic<std::uint64_t> collapsed_waits{0};
  std::atomic<std::uint64_t> block_hits{0};    // blocks a read found in the cache
  std::atomic<std::uint64_t> block_misses{0};  // blocks a read had to wait for (fetched or on their way)
};

// The cache could not take a block of a part (full of pinned blocks, a write error): whoever
// needs those bytes reads them into memory instead.
class UncacheableError : public Error {
 public:
  using Error::Error;
};

// One range request for blocks [first, end) of an object version.
struct Part {
  std::uint64_t first = 0;
  std::uint64_t end = 0;
  // GUARDED_BY the ObjectState's mutex (not expressible across structs for the analysis):
  vo::Priority priority = vo::Priority::interactive;
  std::uint64_t stream = 0;       // the reader whose prefetch this is (0: interactive)
  vo::TransferEngine::Id id = 0;  // 0 until submitted
  bool answered = false;          // its answer's head arrived (it has started)
  bool done = false;
  std::exception_ptr error;  // when done: null = every block landed
};

// Everything the readers of one object version share.
struct ObjectState {
  ObjectState(vo::ObjectInfo object_info, std::shared_ptr<CachedObject> cache_object)
      : info(std::move(object_info)), cached(std::move(cache_object)) {}

  std::uint64_t block_of(std::uint64_t offset) const { return offset / kBlockSize; }
  std::uint64_t block_count() const { return (info.size + kBlockSize - 1) / kBlockSize; }

  const vo::ObjectInfo info;
  const std::shared_ptr<CachedObject> cached;  // null: this version cannot be cached

  // LOCK ORDER: mutex, then the CachedObject's own locks (has_block runs under it); never held
  // while calling the transfer engine (which takes its own lock and runs callbacks that take
  // this one).
  Mutex mutex;
  // Notified when a block lands, a part ends, or a waiter's call is cancelled.
  std::condition_variable_any changed;
  // Blocks with a part on the way: block -> its part, until the block lands or the part ends.
  std::map<std::uint64_t, std::shared_ptr<Part>> in_flight GUARDED_BY(mutex);
};

// Registers blocks [part->first, part->end) as in flight (the caller holds state.mutex), then
// -- after the caller released it -- submit_part() hands the part to the engine: its answer
// is checked, its bytes written to the cache block by block as they arrive (each block
// committed with its CRC and its waiters notified at once), and when it ends the blocks that
// did not land leave `in_flight` and the part records its error.
void register_part_locked(ObjectState& state, const std::shared_ptr<Part>& part) REQUIRES(state.mutex);
void submit_part(const std::shared_ptr<ObjectState>& state, const std::shared_ptr<Part>& part,
                 vo::TransferEngine& engine, const std::shared_ptr<FetchCounters>& counters,
                 SteadyClock::time_point deadline);

}  // namespace hfs::cache
