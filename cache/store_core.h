// The state behind an ObjectStore (contract in cache/object_store.h): which objects and blocks
// are on disk, the byte accounting, the LRU, the descriptor cache. The store, every
// CachedObject and every Pin share it (shared_ptr), so it lives until the last of them goes --
// and with it the directory lock.
//
// How the limit holds with file I/O outside the lock: reserve() accounts a block's bytes under
// the mutex (evicting least-recently-used unpinned blocks until used + reserved + the block fit)
// before any byte is written; a block's bytes stay accounted until its range is punched out of
// the data file (a block whose range cannot be punched stays accounted as "stuck" until its
// object's files are removed). So the allocated bytes of the data files and sidecars never
// exceed the limit, whatever runs concurrently.
//
// Why bytes are read and written without the mutex: a block is only written while reserved
// (nobody else touches its range) and only read while pinned (eviction and drops skip it), so
// no lock is needed around the pread/pwrite. Eviction punches holes and clears records under
// the mutex, so the index and the disk change together.
#pragma once

#include <time.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "cache/block_checksum.h"
#include "cache/block_lru.h"
#include "cache/fd_cache.h"
#include "cache/object_store.h"
#include "cache/object_store_options.h"
#include "common/thread_annotations.h"
#include "common/unique_fd.h"

namespace hfs::cache {

// What never changes about one object version in the store, and whether its files exist.
struct ObjectInfo {
  ObjectKey key;
  std::uint64_t size = 0;
  std::uint64_t hash = 0;
  std::string stem;                // "<2 hex>/<16 hex>", relative to <dir>/objects
  std::uint64_t sidecar_cost = 0;  // the sidecar's size rounded up to 4 KiB
  // Of its blocks' checksums: what its sidecar on disk was written with (format 1 objects keep
  // CRC-32 for their whole life), kCurrentChecksum for objects created now.
  ChecksumKind checksum = kCurrentChecksum;
  // Held while the files are created (by a reserver, without the store's mutex) or removed
  // (under the store's mutex). LOCK ORDER: after StoreCore::mutex_, before FdCache's mutex.
  mutable Mutex files_mutex;
  mutable bool files_exist GUARDED_BY(files_mutex) = false;
};

class StoreCore {
 public:
  StoreCore(std::filesystem::path dir, std::uint64_t byte_limit, ObjectStoreOptions options, UniqueFd lock_fd,
            UniqueFd objects_fd);

  // At open: the index from the sidecars (newest objects first), evicted down to the limit.
  void rebuild() EXCLUDES(mutex_);

  // The object's info with one more handle on it, or nullptr (see ObjectStore::open).
  std::shared_ptr<const ObjectInfo> open(const ObjectKey& key, std::uint64_t size) EXCLUDES(mutex_);
  // A handle from open() is gone.
  void close(const ObjectInfo& info) EXCLUDES(mutex_);
  StoreStats stats() const EXCLUDES(mutex_);
  std::uint64_t cached_bytes(const ObjectKey& key, std::uint64_t size) const EXCLUDES(mutex_);

  // CachedObject's methods (store_core.cpp: writing; store_reads.cpp: reading).
  bool has_block(const ObjectInfo& info, std::uint64_t index) const EXCLUDES(mutex_);
  bool reserve(const ObjectInfo& info, std::uint64_t index) EXCLUDES(mutex_);
  int write(const ObjectInfo& info, std::uint64_t offset, std::string_view bytes) EXCLUDES(mutex_);
  void commit(const ObjectInfo& info, std::uint64_t index, std::uint32_t crc) EXCLUDES(mutex_);
  void abandon(const ObjectInfo& info, std::uint64_t index) EXCLUDES(mutex_) {
    end_reservation(info, index, ReservationEnd::abandoned);
  }
  bool verified(const ObjectInfo& info, std::uint64_t offset, std::uint64_t length) const EXCLUDES(mutex_);

  // Pins the blocks under a non-empty range, verifying those not yet checked in this process.
  // With `out`, copies the range there and unpins; without, returns with the blocks pinned
  // (the caller unpins them). `fds` is set when ok.
  struct Acquired {
    bool ok = false;
    FdCache::Entry fds;
  };
  Acquired acquire(const ObjectInfo& info, std::uint64_t offset, std::uint64_t length, char* out) EXCLUDES(mutex_);
  // CachedObject::will_need: posix_fadvise(WILLNEED) over the runs of present blocks.
  void will_need(const ObjectInfo& info, std::uint64_t offset, std::uint64_t length) EXCLUDES(mutex_);
  void unpin(const ObjectInfo& info, std::uint64_t first, std::uint64_t last) EXCLUDES(mutex_);

 private:
  // What the store knows about one object beyond its info.
  struct ObjectRecord {
    std::shared_ptr<ObjectInfo> info;
    std::uint64_t handles = 0;      // CachedObjects given out and not yet destroyed
    std::uint64_t slots = 0;        // its slots in blocks_ (present, reserved, or dropped and pinned)
    std::uint64_t deciding = 0;     // reserve() calls making room for it right now
    bool on_disk = false;           // its files exist (or are being created): sidecar_cost is in used_
    std::uint64_t stuck_bytes = 0;  // gone blocks whose range could not be punched: in used_
    std::optional<std::chrono::steady_clock::time_point> touched;  // last recency update
    timespec mtime{};  // the sidecar's mtime as last set (restored after clearing a record)
  };

  std::shared_ptr<ObjectInfo> make_info(const ObjectKey& key, std::uint64_t size, std::uint64_t hash,
                                        ChecksumKind checksum = kCurrentChecksum) const;
  ObjectRecord& record_locked(const ObjectInfo& info) REQUIRES(mutex_);
  // The object's open descriptors (cached), or nullptr with `err`. Never throws.
  FdCache::Entry files(const ObjectInfo& info, int& err) noexcept;
  // Creates the object's files if they do not exist: 0 or an errno (failed_step says where).
  int ensure_files(const ObjectInfo& info, const char*& failed_step);
  enum class ReservationEnd {
    abandoned,          // bytes may have been written: punch them out
    record_failed,      // and the record write failed halfway, perhaps: clear it too
    files_not_created,  // nothing was written anywhere
  };
  void end_reservation(const ObjectInfo& info, std::uint64_t index, ReservationEnd how) EXCLUDES(mutex_);

  void unpin_locked(const ObjectInfo& info, std::uint64_t first, std::uint64_t last) REQUIRES(mutex_);
  bool make_room_locked(std::uint64_t incoming) REQUIRES(mutex_);
  // Takes a present block off the disk and out of the accounting; the slot becomes dropped
  // (erased by whoever holds its last pin, or at once by the caller when unpinned).
  void retire_block_locked(const BlockSlot& slot, const ObjectFds* fds) REQUIRES(mutex_);
  void evict_locked(const BlockSlot& slot) REQUIRES(mutex_);
  // Punches the block's range and clears its record: false when the range could not be punched.
  bool erase_block_from_disk_locked(ObjectRecord& record, const ObjectFds* fds, std::uint64_t index) REQUIRES(mutex_);
  // Removes the object's files when nothing of it is left, and forgets it when nobody holds it.
  void remove_if_unused_locked(std::uint64_t hash) REQUIRES(mutex_);
  // Counts a write error (rate-limited logging: the first ten, then every 1000th): whether
  // to log this one.
  bool count_write_error_locked() REQUIRES(mutex_);
  void report_write_error(const std::string& message) EXCLUDES(mutex_);
  std::string shown(const ObjectInfo& info, const char* suffix) const;

  const std::filesystem::path dir_;
  const std::filesystem::path objects_path_;
  const std::uint64_t limit_;
  const ObjectStoreOptions options_;
  const UniqueFd lock_fd_;  // holds the flock for the store's lifetime
  const UniqueFd objects_fd_;
  FdCache fds_;

  // LOCK ORDER: mutex_, then one ObjectInfo::files_mutex, then fds_'s mutex; never the
  // reverse. Guards the index, the accounting and the counters. Under it: no data-file I/O
  // except what eviction and drops must do together with the index change (punch a hole,
  // clear a record, restore the sidecar's mtime, remove an emptied object's files), and logging
  // of their rare failures; logging takes only stdio's or syslog's lock, which never calls back.
  mutable Mutex mutex_;
  std::unordered_map<std::uint64_t, ObjectRecord> records_ GUARDED_BY(mutex_);  // by hash
  BlockLru blocks_ GUARDED_BY(mutex_);
  std::uint64_t used_ GUARDED_BY(mutex_) = 0;      // present blocks + sidecars + stuck bytes
  std::uint64_t reserved_ GUARDED_BY(mutex_) = 0;  // reserved blocks
  std::uint64_t present_blocks_ GUARDED_BY(mutex_) = 0;
  std::uint64_t objects_on_disk_ GUARDED_BY(mutex_) = 0;
  StoreStats counters_ GUARDED_BY(mutex_);  // hits, misses, evictions, corrupt blocks, write errors
};

}  // namespace hfs::cache
