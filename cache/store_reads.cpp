// The object store's read path: pinning blocks, first-use verification, drops of blocks that
// fail it, and the one pread of a verified range (the rest of StoreCore: store_core.cpp).
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include "cache/store_core.h"
#include "cache/store_io.h"
#include "common/log.h"

namespace hfs::cache {
namespace {

using store_io::block_length;
using store_io::kBlock;
constexpr std::string_view kLog = "cache";
// A read refreshes the sidecar's mtime (the recency a remount sees) at most this often per
// object: one futimens a minute instead of one per read; LRU order after a remount is only
// approximate within that minute, which is harmless.
constexpr auto kTouchInterval = std::chrono::seconds(60);

struct Unverified {
  std::uint64_t index;
  std::uint32_t crc;
};

// A block that could not be served: read error (errno), short file (-1) or CRC mismatch (0).
struct Failed {
  std::uint64_t index;
  int read_error;
  std::uint32_t crc_found;
  std::uint32_t crc_expected;
  bool corrupt() const { return read_error <= 0; }
  std::string problem() const {
    if (read_error > 0) return std::string("read error: ") + std::strerror(read_error);
    if (read_error < 0) return "the data file is shorter than the block";
    char text[64];
    std::snprintf(text, sizeof text, "CRC %08x, the sidecar says %08x", crc_found, crc_expected);
    return text;
  }
};

}  // namespace

bool StoreCore::has_block(const ObjectInfo& info, std::uint64_t index) const {
  MutexLock lock(mutex_);
  const BlockSlot* slot = blocks_.find({info.hash, index});
  return slot && slot->state == BlockState::present;
}

bool StoreCore::verified(const ObjectInfo& info, std::uint64_t offset, std::uint64_t length) const {
  if (offset > info.size || length > info.size - offset) return false;
  if (length == 0) return true;
  const std::uint64_t first = offset / kBlock, last = (offset + length - 1) / kBlock;
  MutexLock lock(mutex_);
  for (std::uint64_t index = first; index <= last; ++index) {
    const BlockSlot* slot = blocks_.find({info.hash, index});
    if (!slot || slot->state != BlockState::present || !slot->verified) return false;
  }
  return true;
}

StoreCore::Acquired StoreCore::acquire(const ObjectInfo& info, std::uint64_t offset, std::uint64_t length, char* out) {
  Acquired result;
  if (length == 0 || offset > info.size || length > info.size - offset) return result;
  const std::uint64_t first = offset / kBlock, last = (offset + length - 1) / kBlock;
  std::vector<Unverified> unverified;  // allocates only on a block's first use in this process
  bool touch = false;
  timespec touch_time{};
  {
    MutexLock lock(mutex_);
    std::uint64_t absent = 0;
    try {
      for (std::uint64_t index = first; index <= last; ++index) {
        const BlockSlot* slot = blocks_.find({info.hash, index});
        if (!slot || slot->state != BlockState::present) ++absent;
        else if (!slot->verified) unverified.push_back({index, slot->crc});
      }
    } catch (...) {
      return result;  // nothing pinned yet
    }
    if (absent > 0) {
      counters_.misses += absent;
      return result;
    }
    // Pinned: neither eviction nor another reader's drop frees these ranges under the reads below.
    for (std::uint64_t index = first; index <= last; ++index) {
      const BlockSlot* slot = blocks_.find({info.hash, index});
      ++slot->pins;
      blocks_.promote(*slot);
    }
    ObjectRecord& record = record_locked(info);
    const auto now = options_.clock();
    if (!record.touched || now - *record.touched >= kTouchInterval) {
      record.touched = now;
      ::clock_gettime(CLOCK_REALTIME, &record.mtime);
      touch_time = record.mtime;
      touch = true;
    }
  }

  int open_error = 0;
  std::vector<std::uint64_t> checked;  // verified now
  std::vector<Failed> failed;
  bool gave_up = false;  // no descriptors, or out of memory: nothing is dropped
  try {
    result.fds = files(info, open_error);
    gave_up = !result.fds;
    const int data = result.fds ? result.fds->data.get() : -1;
    std::unique_ptr<char[]> scratch;
    for (const auto& block : unverified) {
      if (gave_up) break;
      // The whole block is read and checked; when the request covers it, straight into `out`.
      const std::uint64_t start = block.index * kBlock, size = block_length(info.size, block.index);
      const bool whole = out && offset <= start && start + size <= offset + length;
      if (!whole && !scratch) scratch.reset(new char[kBlock]);
      char* target = whole ? out + (start - offset) : scratch.get();
      const int read_error = store_io::pread_all(data, target, size, start);
      const std::uint32_t crc = read_error == 0 ? block_checksum(info.checksum, target, size) : 0;
      if (read_error != 0 || crc != block.crc) {
        failed.push_back({block.index, read_error, crc, block.crc});
        continue;
      }
      checked.push_back(block.index);
      if (out && !whole) {
        const std::uint64_t from = std::max(offset, start), to = std::min(offset + length, start + size);
        std::memcpy(out + (from - offset), target + (from - start), to - from);
      }
    }
    // Verified blocks: one pread per run of them; usually the run is the whole request.
    if (out && !gave_up && failed.empty()) {
      std::size_t next_unverified = 0;
      for (std::uint64_t index = first; index <= last;) {
        if (next_unverified < unverified.size() && unverified[next_unverified].index == index) {
          ++next_unverified;
          ++index;
          continue;
        }
        std::uint64_t run_last = index;
        while (run_last < last &&
               !(next_unverified < unverified.size() && unverified[next_unverified].index == run_last + 1))
          ++run_last;
        const std::uint64_t from = std::max(offset, index * kBlock);
        const std::uint64_t to = std::min(offset + length, (run_last + 1) * kBlock);
        if (int read_error = store_io::pread_all(data, out + (from - offset), to - from, from); read_error != 0) {
          for (std::uint64_t bad = index; bad <= run_last; ++bad) failed.push_back({bad, read_error, 0, 0});
          break;
        }
        index = run_last + 1;
      }
    }
  } catch (...) {
    gave_up = true;
    open_error = ENOMEM;
  }

  std::vector<bool> dropped_here(failed.size(), false);
  {
    MutexLock lock(mutex_);
    for (std::uint64_t index : checked) {
      const BlockSlot* slot = blocks_.find({info.hash, index});
      if (slot->state == BlockState::present) slot->verified = true;
    }
    for (std::size_t i = 0; i < failed.size(); ++i) {
      const BlockSlot* slot = blocks_.find({info.hash, failed[i].index});
      if (slot->state != BlockState::present) continue;  // another reader dropped it first
      retire_block_locked(*slot, result.fds.get());
      if (failed[i].corrupt()) ++counters_.corrupt_blocks;
      dropped_here[i] = true;
    }
    result.ok = !gave_up && failed.empty();
    if (result.ok) counters_.hits += last - first + 1;
    else counters_.misses += gave_up ? last - first + 1 : failed.size();
    if (!result.ok || out) unpin_locked(info, first, last);
  }
  if (gave_up)
    log::warn(kLog, "cannot read cached " + shown(info, ".data") + ": " + std::strerror(open_error) +
                        " (read from the archive instead)");
  for (std::size_t i = 0; i < failed.size(); ++i) {
    if (!dropped_here[i]) continue;
    log::warn(kLog, "dropping block " + std::to_string(failed[i].index) + " of " + info.key.url + " (" +
                        shown(info, ".data") + "): " + failed[i].problem());
  }
  if (touch && result.fds) {
    const timespec times[2] = {{0, UTIME_OMIT}, touch_time};
    ::futimens(result.fds->meta.get(), times);  // best effort: only recency after a remount
  }
  if (!result.ok) result.fds.reset();
  return result;
}

void StoreCore::will_need(const ObjectInfo& info, std::uint64_t offset, std::uint64_t length) {
  if (length == 0 || offset >= info.size) return;
  length = std::min(length, info.size - offset);
  const std::uint64_t first = offset / kBlock, last = (offset + length - 1) / kBlock;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> runs;  // [first, end) of present blocks
  {
    MutexLock lock(mutex_);
    for (std::uint64_t index = first; index <= last; ++index) {
      const BlockSlot* slot = blocks_.find({info.hash, index});
      if (!slot || slot->state != BlockState::present) continue;
      if (!runs.empty() && runs.back().second == index) ++runs.back().second;
      else runs.emplace_back(index, index + 1);
    }
  }
  if (runs.empty()) return;
  int open_error = 0;
  FdCache::Entry fds = files(info, open_error);
  if (!fds) return;
  for (const auto& [begin, end] : runs)
    ::posix_fadvise(fds->data.get(), static_cast<off_t>(begin * kBlock), static_cast<off_t>((end - begin) * kBlock),
                    POSIX_FADV_WILLNEED);
}

void StoreCore::unpin(const ObjectInfo& info, std::uint64_t first, std::uint64_t last) {
  MutexLock lock(mutex_);
  unpin_locked(info, first, last);
}

void StoreCore::unpin_locked(const ObjectInfo& info, std::uint64_t first, std::uint64_t last) {
  for (std::uint64_t index = first; index <= last; ++index) {
    const BlockSlot* slot = blocks_.find({info.hash, index});
    --slot->pins;
    if (slot->state == BlockState::dropped && slot->pins == 0) {
      blocks_.erase(*slot);
      --record_locked(info).slots;
    }
  }
  remove_if_unused_locked(info.hash);
}

}  // namespace hfs::cache
