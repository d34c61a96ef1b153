// Reads through the block cache (contract in cache/block_fetcher.h).
//
// One read():
//   1. takes the blocks it needs from the cache;
//   2. under the in-flight mutex, for every block still missing, either waits on the download
//      another read has in flight for it, or claims it (a promise other reads can wait on);
//   3. looks in the cache again for what it claimed: a download that finished between steps 1
//      and 2 put its blocks in the cache before it left the in-flight map, so a read arriving
//      just after it finds them there and does not download again;
//   4. downloads the remaining claims as runs of adjacent blocks, one range request per run
//      (split at max_request_bytes), up to max_parallel runs at a time on threads it joins
//      before returning; every block is length-checked, admitted to the cache, and handed to
//      its waiters;
//   5. waits for the blocks other reads are downloading, and assembles the answer.
// Every claim is resolved (bytes or error) before the read waits on anyone else, so two reads
// waiting on each other's blocks cannot deadlock.
//
// Read-ahead policy (simplest correct one: it runs inside the read, there are no background
// downloads). The missing read-ahead blocks extend the runs of a read that sends a request
// anyway, so a miss after a seek costs one round trip for both. A read served entirely from
// the cache tops the read-ahead up only when the first block it lacks starts within the first
// half of the read-ahead range, so a sequential reader refills the window in large requests
// (half a window at a time) instead of one block per read. Read-ahead blocks that another read
// already has in flight are skipped, not waited for, and a failed read-ahead-only request is
// logged, not reported to the reader.
#include <algorithm>
#include <atomic>
#include <future>
#include <map>
#include <thread>
#include <vector>

#include "cache/block_fetcher.h"
#include "common/error.h"
#include "common/log.h"
#include "common/thread_annotations.h"

namespace hfs::cache {
namespace {

using BlockBytes = std::shared_ptr<const std::string>;

struct InFlightKey {
  std::string object;  // url + '\n' + validator
  std::uint64_t index;
  auto operator<=>(const InFlightKey&) const = default;
};

// A block this read has promised to download; other reads wait on its future.
struct Claim {
  std::uint64_t index = 0;
  bool needed = false;  // part of the answer, not read-ahead
  std::promise<BlockBytes> promise;
  bool resolved = false;
};

struct Run {
  std::size_t first_claim = 0;
  std::size_t claims = 0;
  bool needed = false;
};

class Fetcher final : public BlockFetcher {
 public:
  Fetcher(BlockCache& cache, unsigned max_parallel, std::uint64_t max_request_bytes)
      : cache_(cache),
        max_parallel_(std::max(1u, max_parallel)),
        max_run_blocks_(std::max<std::uint64_t>(1, max_request_bytes / kBlockSize)) {}

  std::string read(const RemoteObject& object, std::uint64_t offset, std::uint64_t length,
                   std::uint64_t readahead_bytes) override;

  FetcherStats stats() const override {
    return FetcherStats{range_requests_.load(), bytes_downloaded_.load(), collapsed_waits_.load()};
  }

 private:
  // The claims of one read; whatever is left unresolved when it dies fails with EIO, so no
  // waiter can hang on a read that threw.
  class ClaimSet {
   public:
    ClaimSet(Fetcher& fetcher, const std::string& object) : fetcher_(fetcher), object_(object) {}
    ~ClaimSet();
    ClaimSet(const ClaimSet&) = delete;
    ClaimSet& operator=(const ClaimSet&) = delete;
    std::vector<Claim> claims;
    void resolve(Claim& claim, BlockBytes bytes);
    void fail(Claim& claim, std::exception_ptr error) noexcept;

   private:
    Fetcher& fetcher_;
    const std::string& object_;
  };

  // Steps 2-5 of read(): fills the empty slots of `blocks` (block `first` onwards).
  void fetch_missing(const RemoteObject& object, std::uint64_t first, std::uint64_t end,
                     const std::vector<std::uint64_t>& missing, const std::vector<std::uint64_t>& ahead,
                     std::uint64_t ahead_bytes, std::vector<BlockBytes>& blocks);
  void download_run(const RemoteObject& object, ClaimSet& claims, const Run& run, std::uint64_t first_needed,
                    std::vector<BlockBytes>& blocks);
  using Waits = std::vector<std::pair<std::uint64_t, std::shared_future<BlockBytes>>>;
  // Claims block `index` of object_id for this read; when another read has it in flight
  // already, adds that download to `waits` if the block is needed (read-ahead is not waited for).
  void claim_or_wait_locked(const std::string& object_id, std::uint64_t index, bool needed, std::vector<Claim>& claims,
                            Waits& waits) REQUIRES(in_flight_mutex_);
  void leave_in_flight(const std::string& object, std::uint64_t index) EXCLUDES(in_flight_mutex_);
  std::optional<BlockBytes> cached_block(const RemoteObject& object, std::uint64_t index);

  BlockCache& cache_;
  const unsigned max_parallel_;
  const std::uint64_t max_run_blocks_;
  std::atomic<std::uint64_t> range_requests_{0};
  std::atomic<std::uint64_t> bytes_downloaded_{0};
  std::atomic<std::uint64_t> collapsed_waits_{0};

  // Lock order: a leaf. Never held while calling the cache or a RangeSource.
  Mutex in_flight_mutex_;
  std::map<InFlightKey, std::shared_future<BlockBytes>> in_flight_ GUARDED_BY(in_flight_mutex_);
};

std::uint64_t block_length(const RemoteObject& object, std::uint64_t index) {
  return std::min(kBlockSize, object.size - index * kBlockSize);
}

Fetcher::ClaimSet::~ClaimSet() {
  for (auto& claim : claims)
    if (!claim.resolved) fail(claim, std::make_exception_ptr(Error(EIO, "download of a block was abandoned")));
}

void Fetcher::ClaimSet::resolve(Claim& claim, BlockBytes bytes) {
  claim.promise.set_value(std::move(bytes));
  claim.resolved = true;
  fetcher_.leave_in_flight(object_, claim.index);
}

void Fetcher::ClaimSet::fail(Claim& claim, std::exception_ptr error) noexcept {
  if (claim.resolved) return;
  claim.promise.set_exception(std::move(error));
  claim.resolved = true;
  fetcher_.leave_in_flight(object_, claim.index);
}

void Fetcher::claim_or_wait_locked(const std::string& object_id, std::uint64_t index, bool needed,
                                   std::vector<Claim>& claims, Waits& waits) {
  auto [it, inserted] = in_flight_.try_emplace(InFlightKey{object_id, index});
  if (!inserted) {
    if (needed) waits.emplace_back(index, it->second);
    return;
  }
  Claim& made = claims.emplace_back();
  made.index = index;
  made.needed = needed;
  it->second = made.promise.get_future().share();
}

void Fetcher::leave_in_flight(const std::string& object, std::uint64_t index) {
  MutexLock lock(in_flight_mutex_);
  in_flight_.erase(InFlightKey{object, index});
}

// A cached block of the right length (a block of another length cannot belong to this size).
std::optional<BlockBytes> Fetcher::cached_block(const RemoteObject& object, std::uint64_t index) {
  auto bytes = cache_.get(object.key, index);
  if (!bytes || bytes->size() != block_length(object, index)) return std::nullopt;
  return std::make_shared<const std::string>(std::move(*bytes));
}

std::string Fetcher::read(const RemoteObject& object, std::uint64_t offset, std::uint64_t length,
                          std::uint64_t readahead_bytes) {
  if (length == 0 || offset >= object.size) return {};
  const std::uint64_t end = offset + std::min(length, object.size - offset);
  const std::uint64_t first = offset / kBlockSize, last = (end - 1) / kBlockSize;
  const std::uint64_t ahead_bytes = std::min(readahead_bytes, object.size - end);
  const std::uint64_t ahead_last = ahead_bytes > 0 ? (end + ahead_bytes - 1) / kBlockSize : last;

  // 1. What the cache has.
  std::vector<BlockBytes> blocks(last - first + 1);
  std::vector<std::uint64_t> missing, ahead;
  for (std::uint64_t i = first; i <= last; ++i) {
    if (auto bytes = cached_block(object, i))
      blocks[i - first] = std::move(*bytes);
    else
      missing.push_back(i);
  }
  for (std::uint64_t i = last + 1; i <= ahead_last; ++i)
    if (!cache_.contains(object.key, i)) ahead.push_back(i);
  if (!missing.empty() || !ahead.empty()) fetch_missing(object, first, end, missing, ahead, ahead_bytes, blocks);

  std::string answer;
  answer.reserve(end - offset);
  for (std::uint64_t i = first; i <= last; ++i) {
    const std::string& block = *blocks[i - first];
    const std::uint64_t block_start = i * kBlockSize;
    const std::uint64_t from = std::max(offset, block_start) - block_start;
    const std::uint64_t to = std::min(end, block_start + block.size()) - block_start;
    answer.append(block, from, to - from);
  }
  return answer;
}

void Fetcher::fetch_missing(const RemoteObject& object, std::uint64_t first, std::uint64_t end,
                            const std::vector<std::uint64_t>& missing, const std::vector<std::uint64_t>& ahead,
                            std::uint64_t ahead_bytes, std::vector<BlockBytes>& blocks) {
  // 2. Claim or wait.
  const std::string object_id = object.key.url + '\n' + object.key.validator;
  ClaimSet claim_set(*this, object_id);
  auto& claims = claim_set.claims;
  Waits waits;
  {
    MutexLock lock(in_flight_mutex_);
    claims.reserve(missing.size() + ahead.size());
    for (auto index : missing) claim_or_wait_locked(object_id, index, true, claims, waits);
    const bool sending_anyway = !claims.empty();
    const bool near_edge = !ahead.empty() && ahead.front() * kBlockSize - end <= ahead_bytes / 2;
    if (sending_anyway || near_edge)
      for (auto index : ahead) claim_or_wait_locked(object_id, index, false, claims, waits);
  }

  // 3. Look again: a download may have finished since step 1.
  std::vector<std::size_t> to_download;
  for (std::size_t c = 0; c < claims.size(); ++c) {
    Claim& claim = claims[c];
    std::optional<BlockBytes> bytes;
    if (claim.needed || cache_.contains(object.key, claim.index)) bytes = cached_block(object, claim.index);
    if (!bytes) {
      to_download.push_back(c);
      continue;
    }
    if (claim.needed) blocks[claim.index - first] = *bytes;
    claim_set.resolve(claim, std::move(*bytes));
  }

  // 4. Download runs of adjacent claims. Claims are in increasing block order, so two claims
  // with adjacent indexes are also neighbours in `claims`, and a run is a range of claims.
  std::vector<Run> runs;
  for (std::size_t k = 0; k < to_download.size(); ++k) {
    const Claim& claim = claims[to_download[k]];
    bool extends = !runs.empty() && runs.back().claims < max_run_blocks_ &&
                   claims[to_download[k - 1]].index + 1 == claim.index;
    if (!extends) runs.push_back(Run{to_download[k], 0, false});
    ++runs.back().claims;
    runs.back().needed |= claim.needed;
  }
  std::vector<std::exception_ptr> errors(runs.size());
  std::atomic<std::size_t> next_run{0};
  auto work = [&] {
    for (std::size_t r; (r = next_run.fetch_add(1)) < runs.size();) {
      try {
        download_run(object, claim_set, runs[r], first, blocks);
      } catch (...) {
        errors[r] = std::current_exception();
        for (std::size_t c = runs[r].first_claim; c < runs[r].first_claim + runs[r].claims; ++c)
          claim_set.fail(claims[c], errors[r]);
      }
    }
  };
  {
    std::vector<std::jthread> helpers;  // joined at the end of this scope
    const std::size_t helper_count = std::min<std::size_t>(max_parallel_, runs.size());
    for (std::size_t h = 1; h < helper_count; ++h) {
      try {
        helpers.emplace_back(work);
      } catch (const std::system_error&) {
        break;  // no thread to be had: the remaining runs go out one after another
      }
    }
    work();
  }
  for (std::size_t r = 0; r < runs.size(); ++r) {
    if (!errors[r]) continue;
    if (runs[r].needed) std::rethrow_exception(errors[r]);
    try {
      std::rethrow_exception(errors[r]);
    } catch (const std::exception& e) {
      log::debug("fetch", "read-ahead of " + object.key.url + " failed: " + e.what());
    } catch (...) {
      log::debug("fetch", "read-ahead of " + object.key.url + " failed");
    }
  }

  // 5. Blocks other reads were downloading.
  for (auto& [index, future] : waits) {
    ++collapsed_waits_;
    blocks[index - first] = future.get();
  }
}

void Fetcher::download_run(const RemoteObject& object, ClaimSet& claim_set, const Run& run,
                           std::uint64_t first_needed, std::vector<BlockBytes>& blocks) {
  auto& claims = claim_set.claims;
  const std::uint64_t first_index = claims[run.first_claim].index;
  const std::uint64_t last_index = claims[run.first_claim + run.claims - 1].index;
  const std::uint64_t run_offset = first_index * kBlockSize;
  const std::uint64_t run_length = std::min((last_index + 1) * kBlockSize, object.size) - run_offset;

  ++range_requests_;
  std::string bytes = object.source(run_offset, run_length);
  bytes_downloaded_ += bytes.size();
  if (bytes.size() != run_length)
    throw Error(EIO, "range request for bytes " + std::to_string(run_offset) + "-" +
                         std::to_string(run_offset + run_length - 1) + " of " + object.key.url + " returned " +
                         std::to_string(bytes.size()) + " bytes, expected " + std::to_string(run_length));

  for (std::size_t c = run.first_claim; c < run.first_claim + run.claims; ++c) {
    Claim& claim = claims[c];
    const std::uint64_t at = (claim.index - first_index) * kBlockSize;
    auto block = std::make_shared<const std::string>(bytes, at, block_length(object, claim.index));
    // Into the cache before the block leaves the in-flight map (see step 3 in read()).
    cache_.put(object.key, claim.index, *block);
    if (claim.needed) blocks[claim.index - first_needed] = block;
    claim_set.resolve(claim, std::move(block));
  }
}

}  // namespace

std::unique_ptr<BlockFetcher> make_block_fetcher(BlockCache& cache, unsigned max_parallel,
                                                 std::uint64_t max_request_bytes) {
  return std::make_unique<Fetcher>(cache, max_parallel, max_request_bytes);
}

// Sequential means the read starts within one block of where the last one ended, forward or
// back (FUSE threads deliver the kernel's read-ahead slightly out of order). The first
// sequential read asks for twice its own length, so a few 4 KiB header reads stay inside the
// first block while 128 KiB kernel read-ahead reads reach 16 MiB after about a megabyte.
std::uint64_t ReadaheadWindow::on_read(std::uint64_t offset, std::uint64_t length) {
  const std::uint64_t end = offset + length;
  const bool sequential = started_ && offset + kBlockSize >= next_offset_ && offset <= next_offset_ + kBlockSize;
  started_ = true;
  if (!sequential) {
    window_ = 0;
    next_offset_ = end;
    return 0;
  }
  window_ = std::min(max_bytes_, std::max(window_ * 2, length * 2));
  next_offset_ = std::max(next_offset_, end);
  return window_;
}

}  // namespace hfs::cache
