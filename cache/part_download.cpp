#include "cache/part_download.h"

#include <algorithm>
#include <string>

#include "cache/block_checksum.h"
#include "vo/range_answer.h"

namespace hfs::cache {
namespace {

// What the engine thread alone touches while a part's body streams in.
struct Receiver {
  std::uint64_t next = 0;                 // the block receiving bytes now
  std::uint64_t filled = 0;               // bytes of it received
  std::unique_ptr<BlockHasher> checksum;  // made at the first block, of the object's kind
  bool reserved = false;                  // `next` holds a reservation in the cache
  std::exception_ptr abort_reason;
};

std::string range_text(std::uint64_t first, std::uint64_t end) {
  return std::to_string(first) + "-" + std::to_string(end - 1);
}

}  // namespace

void register_part_locked(ObjectState& state, const std::shared_ptr<Part>& part) {
  for (std::uint64_t block = part->first; block < part->end; ++block) state.in_flight[block] = part;
}

void submit_part(const std::shared_ptr<ObjectState>& state, const std::shared_ptr<Part>& part,
                 vo::TransferEngine& engine, const std::shared_ptr<FetchCounters>& counters,
                 SteadyClock::time_point deadline) {
  const std::uint64_t offset = part->first * kBlockSize;
  const std::uint64_t length = std::min(part->end * kBlockSize, state->info.size) - offset;
  auto receiver = std::make_shared<Receiver>();
  receiver->next = part->first;

  vo::TransferOptions options;
  options.deadline = deadline;
  options.stream = part->stream;
  {
    MutexLock lock(state->mutex);
    options.priority = part->priority;
  }
  // Prefetch nearest its reader first: the part's distance from the start of its range is what
  // the reader will reach first. Interactive parts keep submission order.
  options.order = part->stream ? offset : 0;

  vo::TransferCallbacks callbacks;
  callbacks.on_headers = [state, part, receiver, offset, length](const vo::ResponseHead& head) {
    try {
      vo::check_range_head(state->info, offset, length, head);
    } catch (...) {
      receiver->abort_reason = std::current_exception();
      return false;
    }
    MutexLock lock(state->mutex);
    part->answered = true;
    return true;
  };
  callbacks.on_body = [state, part, receiver, counters](std::string_view bytes) {
    CachedObject& cached = *state->cached;
    while (!bytes.empty()) {
      if (receiver->next >= part->end) {
        receiver->abort_reason = std::make_exception_ptr(
            Error(EIO, state->info.url + ": more bytes than the asked blocks " + range_text(part->first, part->end)));
        return false;
      }
      if (!receiver->reserved) {
        if (!cached.reserve(receiver->next)) {
          receiver->abort_reason = std::make_exception_ptr(UncacheableError(
              ENOSPC, state->info.url + ": the cache cannot take block " + std::to_string(receiver->next)));
          return false;
        }
        receiver->reserved = true;
        receiver->filled = 0;
        if (!receiver->checksum) receiver->checksum = std::make_unique<BlockHasher>(cached.checksum_kind());
        receiver->checksum->reset();
      }
      const std::uint64_t block_length = cached.block_length(receiver->next);
      const std::size_t take =
          static_cast<std::size_t>(std::min<std::uint64_t>(bytes.size(), block_length - receiver->filled));
      const std::string_view piece = bytes.substr(0, take);
      if (int err = cached.write(receiver->next * kBlockSize + receiver->filled, piece); err != 0) {
        receiver->abort_reason = std::make_exception_ptr(UncacheableError(
            err, state->info.url + ": writing block " + std::to_string(receiver->next) + " to the cache failed"));
        return false;
      }
      receiver->checksum->update(piece);
      receiver->filled += take;
      counters->bytes_received += take;
      bytes.remove_prefix(take);
      if (receiver->filled == block_length) {
        cached.commit(receiver->next, receiver->checksum->value());
        receiver->reserved = false;
        ++counters->blocks_committed;
        {
          MutexLock lock(state->mutex);
          if (auto it = state->in_flight.find(receiver->next); it != state->in_flight.end() && it->second == part)
            state->in_flight.erase(it);
        }
        ++receiver->next;
        state->changed.notify_all();
      }
    }
    return true;
  };
  callbacks.on_done = [state, part, receiver, counters](std::exception_ptr error) {
    if (receiver->reserved) {
      state->cached->abandon(receiver->next);
      receiver->reserved = false;
    }
    if (receiver->abort_reason) error = receiver->abort_reason;
    if (!error && receiver->next < part->end)
      error = std::make_exception_ptr(Error(EIO, state->info.url + ": answer for blocks " +
                                                     range_text(part->first, part->end) + " ended at block " +
                                                     std::to_string(receiver->next)));
    if (error) ++counters->failed_parts;
    {
      MutexLock lock(state->mutex);
      for (std::uint64_t block = receiver->next; block < part->end; ++block) {
        if (auto it = state->in_flight.find(block); it != state->in_flight.end() && it->second == part)
          state->in_flight.erase(it);
      }
      part->done = true;
      part->error = error;
    }
    state->changed.notify_all();
  };

  const vo::Priority submitted_priority = options.priority;
  const auto id =
      engine.submit(vo::range_request(state->info, offset, length), std::move(options), std::move(callbacks));
  bool promote_now = false;
  {
    MutexLock lock(state->mutex);
    part->id = id;
    // A reader may have started waiting for it between the submission and now.
    promote_now = submitted_priority == vo::Priority::prefetch && part->priority == vo::Priority::interactive;
  }
  if (promote_now) engine.promote(id);
}

}  // namespace hfs::cache
