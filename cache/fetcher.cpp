// The fetcher (contract in cache/fetcher.h): readers, their waits and retries, prefetch
// scheduling. Parts and their streaming into the cache are in cache/part_download.cpp; reads
// that bypass the cache in cache/direct_read.cpp.
#include "cache/fetcher.h"

#include <algorithm>
#include <map>
#include <set>
#include <vector>

#include "cache/direct_read.h"
#include "cache/fetch_retry.h"
#include "cache/part_download.h"
#include "common/log.h"
#include "vo/range_answer.h"

namespace hfs::cache {
namespace {

constexpr std::string_view kLog = "fetch";

struct Shared {
  std::shared_ptr<vo::TransferEngine> engine;
  FetcherConfig config;
  std::shared_ptr<FetchCounters> counters;
};

// A reply's blocks that failed their check right after landing this many times in a row mean
// something is wrong with the cache disk, not the download: the read fails instead of looping.
constexpr unsigned kMaxCacheReadRounds = 3;
// Part size in an object's last `connections` x 1 MiB. With 4 MiB parts the connections finish
// a large file up to a part's time apart and idle meanwhile; on the benchmark's link (8 MiB/s
// per connection) that is 0.5 s per file, 1 MiB parts make it 0.13 s (cold copy of the big
// obsid: 5.89x -> 6.05x wget, docs/benchmarks.md). 512 KiB parts measured no better.
constexpr std::uint64_t kTailPartBytes = 1ull << 20;

class Reader final : public FileReader {
 public:
  Reader(std::shared_ptr<const Shared> shared, std::shared_ptr<ObjectState> state, std::uint64_t stream)
      : shared_(std::move(shared)), state_(std::move(state)), stream_(stream), policy_(shared_->config.readahead) {}
  ~Reader() override { cancel_unanswered_prefetch(); }

  ReadReply read(std::uint64_t offset, std::uint64_t length, const CallContext& call) override;

 private:
  // Waits until blocks [first, end) are all present, fetching what nobody is fetching.
  // Returns false when the cache cannot take them (the caller reads around the cache).
  // `after_claim` runs once, after this read's own parts were handed to the engine and before
  // it waits (that is where read() schedules its prefetch).
  bool ensure_blocks(std::uint64_t first, std::uint64_t end, const CallContext& call,
                     const std::function<void()>& after_claim);
  void schedule_prefetch(const ReadaheadDecision& decision, std::uint64_t read_end);
  void cancel_unanswered_prefetch();
  ReadReply reply_from_cache(std::uint64_t offset, std::uint64_t length, const CallContext& call);
  ReadReply reply_direct(std::uint64_t offset, std::uint64_t length, const CallContext& call);

  const std::shared_ptr<const Shared> shared_;
  const std::shared_ptr<ObjectState> state_;
  const std::uint64_t stream_;

  // LOCK ORDER: policy_mutex_ is taken alone (never with state_->mutex held, and released
  // before the engine is called).
  Mutex policy_mutex_;
  ReadaheadPolicy policy_ GUARDED_BY(policy_mutex_);
  std::vector<std::weak_ptr<Part>> prefetch_parts_ GUARDED_BY(policy_mutex_);
};

// Waits for a change of the object's state, at most until `deadline` (no timeout for "never":
// a wait_until(time_point::max()) may overflow inside the library and spin).
void wait_for_change(ObjectState& state, SteadyClock::time_point deadline) REQUIRES(state.mutex) {
  if (deadline == SteadyClock::time_point::max()) state.changed.wait(state.mutex);
  else state.changed.wait_until(state.mutex, deadline);
}

[[noreturn]] void throw_interrupted(const CallContext& call, const std::string& what) {
  if (call.cancelled()) throw Error(ECANCELED, what + ": interrupted");
  throw Error(ETIMEDOUT, what + ": deadline passed");
}

ReadReply Reader::read(std::uint64_t offset, std::uint64_t length, const CallContext& call) {
  const std::uint64_t size = state_->info.size;
  if (length == 0 || offset >= size) return {};
  length = std::min(length, size - offset);
  const std::uint64_t end = offset + length;

  ReadaheadDecision decision;
  {
    MutexLock lock(policy_mutex_);
    decision = policy_.on_read(offset, length, size);
  }
  if (decision.seek) cancel_unanswered_prefetch();
  if (!state_->cached) return reply_direct(offset, length, call);
  // The window ahead: what of it is cached is read from the disk in the background (a warm
  // re-read then finds its blocks in memory); what is not is fetched by schedule_prefetch.
  if (decision.prefetch_end > decision.prefetch_begin)
    state_->cached->will_need(decision.prefetch_begin, decision.prefetch_end - decision.prefetch_begin);

  // Small objects come whole on their first read; others block by block.
  const bool whole = size <= shared_->config.whole_file_bytes;
  const std::uint64_t first = whole ? 0 : state_->block_of(offset);
  const std::uint64_t last_end = whole ? state_->block_count() : state_->block_of(end - 1) + 1;
  for (unsigned round = 0; round < kMaxCacheReadRounds; ++round) {
    // The read's own parts go to the engine before its prefetch, so they take the free
    // connections first; the prefetch is scheduled once, in the first round.
    auto prefetch = [&] {
      if (round == 0 && decision.prefetch_end > decision.prefetch_begin) schedule_prefetch(decision, end);
    };
    if (!ensure_blocks(first, last_end, call, prefetch)) return reply_direct(offset, length, call);
    ReadReply reply = reply_from_cache(offset, length, call);
    if (reply.length == length) return reply;
    // A block was evicted, or failed its check (and is gone): fetch it again.
  }
  throw Error(EIO, state_->info.url + " bytes " + std::to_string(offset) + "+" + std::to_string(length) +
                       ": cached blocks failed their checks " + std::to_string(kMaxCacheReadRounds) +
                       " times in a row (is the cache disk failing?)");
}

ReadReply Reader::reply_from_cache(std::uint64_t offset, std::uint64_t length, const CallContext&) {
  CachedObject& cached = *state_->cached;
  ReadReply reply;
  if (cached.verified(offset, length)) {
    if (auto pin = cached.pin(offset, length)) {
      reply.pin = std::move(pin);
      reply.offset = offset;
      reply.length = length;
      return reply;
    }
    return reply;
  }
  // First use in this mount: read() verifies the blocks, and its bytes are the reply.
  reply.bytes.resize(length);
  if (!cached.read(offset, length, reply.bytes.data())) return ReadReply{};
  reply.offset = offset;
  reply.length = length;
  return reply;
}

ReadReply Reader::reply_direct(std::uint64_t offset, std::uint64_t length, const CallContext& call) {
  ++shared_->counters->direct_reads;
  // Around the cache altogether: every block is a miss (else ensure_blocks counted them).
  if (!state_->cached) shared_->counters->block_misses += (offset + length - 1) / kBlockSize - offset / kBlockSize + 1;
  ReadReply reply;
  reply.offset = offset;
  reply.bytes = read_range_direct(*shared_->engine, state_->info, offset, length, call, shared_->config);
  reply.length = reply.bytes.size();
  return reply;
}

bool Reader::ensure_blocks(std::uint64_t first, std::uint64_t end, const CallContext& call,
                           const std::function<void()>& after_claim) {
  bool claimed = false;
  auto claim_done = [&] {
    if (claimed) return;
    claimed = true;
    after_claim();
  };
  ObjectState& state = *state_;
  // The common case of a warm read, first and cheaply: every block is there already.
  {
    bool all_present = true;
    {
      MutexLock lock(state.mutex);
      for (std::uint64_t b = first; b < end && all_present; ++b) all_present = state.cached->has_block(b);
    }
    if (all_present) {
      shared_->counters->block_hits += end - first;
      claim_done();
      return true;
    }
  }
  const FetcherConfig& config = shared_->config;
  const std::string what = state.info.url + " blocks " + std::to_string(first) + "-" + std::to_string(end - 1);
  std::shared_ptr<ObjectState> keep = state_;
  CancelRegistration wake(call.cancel, [keep] {
    MutexLock lock(keep->mutex);
    keep->changed.notify_all();
  });
  const std::uint64_t max_part_blocks = std::max<std::uint64_t>(1, config.max_interactive_part_bytes / kBlockSize);
  unsigned failures = 0;
  Backoff backoff(config.initial_backoff, config.max_backoff);
  std::set<std::shared_ptr<Part>> watched;  // parts this read waited on, until they end
  bool joined_other = false;
  bool counted = false;  // hits and misses are counted on the first look only

  for (;;) {
    std::vector<std::shared_ptr<Part>> to_submit, to_promote;
    std::exception_ptr failure;
    bool all_present_now = false;
    {
      MutexLock lock(state.mutex);
      for (;;) {
        // A part this read waited on ended without its blocks: that is this read's failure.
        for (auto it = watched.begin(); it != watched.end();) {
          if (!(*it)->done) {
            ++it;
            continue;
          }
          if ((*it)->error) {
            bool still_needed = false;
            for (std::uint64_t b = std::max(first, (*it)->first); b < std::min(end, (*it)->end); ++b)
              still_needed |= !state.cached->has_block(b) && !state.in_flight.count(b);
            if (still_needed && !failure) failure = (*it)->error;
          }
          it = watched.erase(it);
        }
        if (failure) break;

        bool all_present = true;
        std::vector<std::uint64_t> missing;
        std::uint64_t present = 0;
        for (std::uint64_t b = first; b < end; ++b) {
          if (state.cached->has_block(b)) {
            ++present;
            continue;
          }
          all_present = false;
          if (auto it = state.in_flight.find(b); it != state.in_flight.end()) {
            auto& part = it->second;
            if (watched.insert(part).second && part->stream != 0) joined_other = true;
            if (part->priority == vo::Priority::prefetch) {
              part->priority = vo::Priority::interactive;
              to_promote.push_back(part);
            }
          } else {
            missing.push_back(b);
          }
        }
        if (!counted) {
          counted = true;
          shared_->counters->block_hits += present;
          shared_->counters->block_misses += (end - first) - present;
        }
        if (all_present) {
          all_present_now = true;
          break;
        }
        for (std::size_t i = 0; i < missing.size();) {
          auto part = std::make_shared<Part>();
          part->first = missing[i];
          part->end = missing[i] + 1;
          ++i;
          while (i < missing.size() && missing[i] == part->end && part->end - part->first < max_part_blocks) {
            ++part->end;
            ++i;
          }
          part->priority = vo::Priority::interactive;
          register_part_locked(state, part);
          watched.insert(part);
          to_submit.push_back(part);
        }
        if (!to_submit.empty() || !to_promote.empty() || !claimed) break;
        if (call.cancelled() || call.expired()) throw_interrupted(call, what);
        wait_for_change(state, call.deadline);
      }
    }
    for (auto& part : to_promote) {
      ++shared_->counters->promoted_parts;
      vo::TransferEngine::Id id;
      {
        MutexLock lock(state.mutex);
        id = part->id;
      }
      if (id) shared_->engine->promote(id);  // else submit_part() promotes it itself
    }
    for (auto& part : to_submit) {
      ++shared_->counters->interactive_parts;
      submit_part(state_, part, *shared_->engine, shared_->counters, SteadyClock::now() + config.part_timeout);
    }
    claim_done();
    if (!failure) {
      if (all_present_now) {
        if (joined_other) ++shared_->counters->collapsed_waits;
        return true;
      }
      continue;
    }

    const FailureVerdict verdict = judge_failure(failure);
    if (verdict.uncacheable) return false;
    if (!verdict.retry || ++failures >= config.max_attempts) std::rethrow_exception(failure);
    const std::chrono::milliseconds wait = backoff.next(verdict.retry_after);
    const auto resume = SteadyClock::now() + wait;
    if (resume >= call.deadline) std::rethrow_exception(failure);
    try {
      std::rethrow_exception(failure);
    } catch (const std::exception& e) {
      log::warn(kLog, "retry " + std::to_string(failures) + "/" + std::to_string(config.max_attempts - 1) + " of " +
                          what + " in " + std::to_string(wait.count()) + " ms after: " + e.what());
    }
    ++shared_->counters->retries;
    MutexLock lock(state.mutex);
    while (SteadyClock::now() < resume && !call.cancelled()) wait_for_change(state, resume);
    if (call.cancelled()) throw_interrupted(call, what);
  }
}

void Reader::schedule_prefetch(const ReadaheadDecision& decision, std::uint64_t read_end) {
  ObjectState& state = *state_;
  std::uint64_t part_bytes = decision.part_bytes;
  if (shared_->engine->queued_count() >= shared_->config.connections)
    part_bytes = std::max(part_bytes, shared_->config.readahead.max_part_bytes);
  const std::uint64_t part_blocks = std::max<std::uint64_t>(1, part_bytes / kBlockSize);
  const std::uint64_t first = state.block_of(decision.prefetch_begin);
  const std::uint64_t end = std::min(state.block_count(), state.block_of(decision.prefetch_end - 1) + 1);
  // The object's last stretch (kTailPartBytes): no part crosses into it, none inside is larger.
  const std::uint64_t tail_part_blocks = std::max<std::uint64_t>(1, std::min(part_blocks, kTailPartBytes / kBlockSize));
  const std::uint64_t tail_blocks = tail_part_blocks * shared_->config.connections;
  const std::uint64_t tail_first = state.block_count() > tail_blocks ? state.block_count() - tail_blocks : 0;
  std::vector<std::shared_ptr<Part>> parts;
  {
    MutexLock lock(state.mutex);
    std::shared_ptr<Part> current;
    for (std::uint64_t b = first; b < end; ++b) {
      const bool free = !state.in_flight.count(b) && !state.cached->has_block(b);
      const std::uint64_t limit = b >= tail_first ? tail_part_blocks : part_blocks;
      if (free && current && current->end == b && current->end - current->first < limit && b != tail_first) {
        ++current->end;
        continue;
      }
      if (current) parts.push_back(std::move(current));
      current.reset();
      if (!free) continue;
      current = std::make_shared<Part>();
      current->first = b;
      current->end = b + 1;
      current->priority = vo::Priority::prefetch;
      current->stream = stream_;
    }
    if (current) parts.push_back(std::move(current));
    for (auto& part : parts) register_part_locked(state, part);
  }
  (void)read_end;  // order is the part's offset: nearest the reader goes first within its stream
  {
    MutexLock lock(policy_mutex_);
    std::erase_if(prefetch_parts_, [](const std::weak_ptr<Part>& part) { return part.expired(); });
    for (auto& part : parts) prefetch_parts_.push_back(part);
  }
  for (auto& part : parts) {
    ++shared_->counters->prefetch_parts;
    submit_part(state_, part, *shared_->engine, shared_->counters, SteadyClock::now() + shared_->config.part_timeout);
  }
}

void Reader::cancel_unanswered_prefetch() {
  std::vector<std::shared_ptr<Part>> parts;
  {
    MutexLock lock(policy_mutex_);
    for (auto& weak : prefetch_parts_)
      if (auto part = weak.lock()) parts.push_back(std::move(part));
    prefetch_parts_.clear();
  }
  std::vector<vo::TransferEngine::Id> to_cancel;
  {
    MutexLock lock(state_->mutex);
    for (auto& part : parts)
      if (!part->done && !part->answered && part->priority == vo::Priority::prefetch && part->id)
        to_cancel.push_back(part->id);
  }
  for (auto id : to_cancel) {
    ++shared_->counters->cancelled_parts;
    shared_->engine->cancel(id);
  }
}

class FetcherImpl final : public Fetcher {
 public:
  FetcherImpl(ObjectStore& store, std::shared_ptr<vo::TransferEngine> engine, FetcherConfig config) : store_(store) {
    auto shared = std::make_shared<Shared>();
    shared->engine = std::move(engine);
    shared->config = config;
    shared->counters = std::make_shared<FetchCounters>();
    shared_ = std::move(shared);
  }

  std::unique_ptr<FileReader> open(const vo::ObjectInfo& info) override {
    std::uint64_t stream = 0;
    {
      MutexLock lock(mutex_);
      stream = ++next_stream_;
    }
    return std::make_unique<Reader>(shared_, state_of(info), stream);
  }

  void prefetch_whole(const vo::ObjectInfo& info) override {
    if (info.size == 0 || info.size > shared_->config.whole_file_bytes) return;
    auto state = state_of(info);
    if (!state->cached) return;
    auto part = std::make_shared<Part>();
    {
      MutexLock lock(state->mutex);
      for (std::uint64_t b = 0; b < state->block_count(); ++b)
        if (state->in_flight.count(b) || state->cached->has_block(b)) return;  // there or on its way
      part->first = 0;
      part->end = state->block_count();
      part->priority = vo::Priority::prefetch;
      part->stream = small_files_stream_;
      register_part_locked(*state, part);
    }
    ++shared_->counters->prefetch_parts;
    submit_part(state, part, *shared_->engine, shared_->counters, SteadyClock::now() + shared_->config.part_timeout);
  }

  std::shared_ptr<ObjectState> state_of(const vo::ObjectInfo& info) {
    const std::string key = info.url + '\n' + info.validator();
    std::shared_ptr<ObjectState> state;
    {
      MutexLock lock(mutex_);
      if (auto it = states_.find(key); it != states_.end()) state = it->second.lock();
      if (!state) {
        // Forget versions nobody reads any more, now and then, so the map stays small.
        if (states_.size() >= 2 * live_after_sweep_ + 64) {
          std::erase_if(states_, [](const auto& entry) { return entry.second.expired(); });
          live_after_sweep_ = states_.size();
        }
        state = std::make_shared<ObjectState>(info, store_.open(ObjectKey{info.url, info.validator()}, info.size));
        if (!state->cached) log::warn(kLog, info.url + ": not cacheable here; reads go straight to the archive");
        states_[key] = state;
      }
    }
    return state;
  }

  FetcherStats stats() const override {
    const FetchCounters& c = *shared_->counters;
    FetcherStats stats;
    stats.interactive_parts = c.interactive_parts;
    stats.prefetch_parts = c.prefetch_parts;
    stats.promoted_parts = c.promoted_parts;
    stats.cancelled_parts = c.cancelled_parts;
    stats.failed_parts = c.failed_parts;
    stats.bytes_received = c.bytes_received;
    stats.blocks_committed = c.blocks_committed;
    stats.retries = c.retries;
    stats.direct_reads = c.direct_reads;
    stats.collapsed_waits = c.collapsed_waits;
    stats.block_hits = c.block_hits;
    stats.block_misses = c.block_misses;
    return stats;
  }

  std::uint64_t cached_bytes(const vo::ObjectInfo& info) const override {
    return store_.cached_bytes(ObjectKey{info.url, info.validator()}, info.size);
  }

 private:
  ObjectStore& store_;
  std::shared_ptr<const Shared> shared_;
  // LOCK ORDER: a leaf (the store's open() runs under it; the store never calls back).
  Mutex mutex_;
  std::map<std::string, std::weak_ptr<ObjectState>> states_ GUARDED_BY(mutex_);
  std::size_t live_after_sweep_ GUARDED_BY(mutex_) = 0;
  std::uint64_t next_stream_ GUARDED_BY(mutex_) = 1;
  // The fairness group of small-file prefetch: it takes turns with the readers' streams.
  const std::uint64_t small_files_stream_ = 1;
};

}  // namespace

std::unique_ptr<Fetcher> make_fetcher(ObjectStore& store, std::shared_ptr<vo::TransferEngine> engine,
                                      FetcherConfig config) {
  return std::make_unique<FetcherImpl>(store, std::move(engine), config);
}

}  // namespace hfs::cache
