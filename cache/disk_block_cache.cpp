// The disk block cache (contract in cache/block_cache.h, file format in cache/block_file.h).
//
// How the limit holds with file I/O outside the lock: put() reserves its bytes under the mutex
// (evicting least-recently-used blocks, and unlinking their files, until the index plus all
// reservations plus the new block fit), writes its temp file without the lock, then renames it
// into place and turns the reservation into an index entry under the mutex. Every file under
// blocks/ is either indexed or a temp file covered by a reservation, so the bytes on disk never
// exceed the limit, even with concurrent puts.
//
// Why renames and unlinks of block names happen under the mutex (two cheap metadata calls per
// put, at network pace): then "indexed" and "a file under its name" change together. Were they
// outside, an eviction could unlink a file a concurrent put() of the same block had just
// renamed into place, leaving an index entry without a file, or a put() could rename over a
// name whose entry a failed get() was removing, leaving a file the index does not count.
// get() reads without the lock; when it finds a bad file it removes the entry only if it is
// still the admission it looked up (LruEntry::generation), so it never unlinks a newer block.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <random>
#include <utility>
#include <vector>

#include "cache/block_cache.h"
#include "cache/block_file.h"
#include "cache/lru_index.h"
#include "common/error.h"
#include "common/unique_fd.h"
#include "common/log.h"
#include "common/thread_annotations.h"

namespace hfs::cache {
namespace {

namespace stdfs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr std::string_view kLog = "cache";
// A hit rewrites the block file's mtime (the recency a remount sees) at most this often: one
// futimens per block per minute instead of one per hit; LRU order after a remount is only
// approximate within that minute, which is harmless.
constexpr auto kMtimeTouchInterval = std::chrono::seconds(60);

std::string errno_text(int errnum) { return std::strerror(errnum); }

class DiskBlockCache final : public BlockCache {
 public:
  DiskBlockCache(stdfs::path dir, std::uint64_t byte_limit, int lock_fd)
      : dir_(std::move(dir)), blocks_dir_(dir_ / "blocks"), limit_(byte_limit), lock_fd_(lock_fd),
        temp_seed_(std::random_device{}()) {}

  std::optional<std::string> get(const ObjectKey& object, std::uint64_t index) override;
  void put(const ObjectKey& object, std::uint64_t index, std::string_view payload) override;
  bool contains(const ObjectKey& object, std::uint64_t index) const override;
  BlockCacheStats stats() const override;

  // Rebuilds the index from the files on disk (recency = mtime) and evicts down to the limit.
  void rebuild_index();

 private:
  stdfs::path block_path(const BlockId& id) const { return blocks_dir_ / block_relative_path(id); }
  void put_or_throw(const ObjectKey& object, std::uint64_t index, std::string_view payload);
  // Writes the temp file for final_path: 0 or the errno (the temp file is then gone).
  // Allocates nothing (failed_step has room), so it cannot throw while put() holds a reservation.
  int write_temp(const stdfs::path& subdir, const stdfs::path& temp_path, std::string_view header,
                 std::string_view payload, std::string& failed_step);
  stdfs::path temp_path_for(const stdfs::path& final_path);
  // Evicts least-recently-used blocks until `incoming` more bytes fit; false if they cannot.
  bool make_room_locked(std::uint64_t incoming) REQUIRES(mutex_);
  void unlink_block_locked(const BlockId& id) REQUIRES(mutex_);
  // Counts a failed put and logs it (outside the lock): the first few, then every 1000th, since
  // a full or broken cache disk fails every put.
  void report_write_error(const std::string& message) EXCLUDES(mutex_);

  const stdfs::path dir_;
  const stdfs::path blocks_dir_;
  const std::uint64_t limit_;
  const UniqueFd lock_fd_;  // holds the flock for the cache's lifetime
  const std::uint64_t temp_seed_;
  std::atomic<std::uint64_t> temp_counter_{0};

  // Lock order: mutex_ is a leaf; nothing else is locked, and no caller code runs, under it.
  // Held for index changes and for the rename()s and unlink()s of block names (see the file
  // comment); opening, reading and writing block files run without it, and so does logging,
  // except the rare failed unlink() and the one-time scan in rebuild_index(); logging takes
  // only stdio's or syslog's internal lock, which never calls back, so this cannot deadlock.
  mutable Mutex mutex_;
  LruIndex index_ GUARDED_BY(mutex_);
  std::uint64_t reserved_bytes_ GUARDED_BY(mutex_) = 0;  // admitted puts still writing
  std::uint64_t next_generation_ GUARDED_BY(mutex_) = 1;
  BlockCacheStats counters_ GUARDED_BY(mutex_);  // hits, misses, evictions, corrupt, errors
};

std::optional<std::string> DiskBlockCache::get(const ObjectKey& object, std::uint64_t index) {
  const BlockId id = block_id(object, index);
  std::uint64_t generation = 0;
  bool touch_mtime = false;
  {
    MutexLock lock(mutex_);
    const LruEntry* entry = index_.promote(id);
    if (!entry) {
      ++counters_.misses;
      return std::nullopt;
    }
    generation = entry->generation;
    auto now = Clock::now();
    if (now - entry->mtime_touched >= kMtimeTouchInterval) {
      touch_mtime = true;
      entry->mtime_touched = now;
    }
  }

  const stdfs::path path = block_path(id);
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  BlockReadResult result;
  bool drop_block = true;
  if (fd.get() < 0) {
    int err = errno;
    if (err != ENOENT) result.problem = "cannot open: " + errno_text(err);  // ENOENT: a plain miss
    // Out of descriptors or memory says nothing about the block: keep it for the next get().
    drop_block = !(err == EMFILE || err == ENFILE || err == ENOMEM);
  } else {
    result = read_block(fd.get(), object, index);
  }
  if (result.ok) {
    if (touch_mtime) ::futimens(fd.get(), nullptr);  // best effort: only recency after remount
    MutexLock lock(mutex_);
    ++counters_.hits;
    return std::move(result.payload);
  }

  {
    MutexLock lock(mutex_);
    ++counters_.misses;
    if (result.corrupt) ++counters_.corrupt_blocks;
    // Only the admission we looked up is dropped; a put() since then owns the name now.
    if (drop_block && index_.erase_generation(id, generation)) unlink_block_locked(id);
  }
  if (!result.problem.empty())
    log::warn(kLog, std::string(drop_block ? "discarding" : "cannot read") + " cache block " + path.string() + " (" +
                        object.url + " block " + std::to_string(index) + "): " + result.problem);
  return std::nullopt;
}

void DiskBlockCache::put(const ObjectKey& object, std::uint64_t index, std::string_view payload) {
  // The read that produced the block must succeed whatever happens to the cache disk.
  try {
    put_or_throw(object, index, payload);
  } catch (...) {
    try {  // reporting allocates too: nothing may escape put()
      std::string what = "unknown exception";
      try {
        throw;
      } catch (const std::exception& e) {
        what = e.what();
      }
      report_write_error("cannot cache block " + std::to_string(index) + " of " + object.url + ": " + what);
    } catch (...) {
    }
  }
}

void DiskBlockCache::put_or_throw(const ObjectKey& object, std::uint64_t index, std::string_view payload) {
  if (payload.size() > kBlockSize) {
    log::warn(kLog, "not caching block " + std::to_string(index) + " of " + object.url + ": " +
                        std::to_string(payload.size()) + " bytes is more than a block");
    return;
  }
  const BlockId id = block_id(object, index);
  const std::string header = encode_block_header(object, index, payload);
  const std::uint64_t disk_bytes = round_up_to_allocation_unit(header.size() + payload.size());
  if (disk_bytes > limit_) {
    log::debug(kLog, "not caching a " + std::to_string(disk_bytes) + "-byte block in a cache of " +
                         std::to_string(limit_) + " bytes");
    return;
  }

  // Everything that allocates comes before the reservation, so nothing can throw while it is held.
  const stdfs::path final_path = block_path(id);
  const stdfs::path temp_path = temp_path_for(final_path);
  const stdfs::path subdir = final_path.parent_path();
  std::string failed_step;
  failed_step.reserve(16);

  // Admission. A block already indexed under this name keeps its bytes reserved until the
  // rename replaces its file.
  std::uint64_t reservation = disk_bytes;
  {
    MutexLock lock(mutex_);
    if (auto replaced = index_.erase(id)) reservation += replaced->disk_bytes;
    reserved_bytes_ += reservation - disk_bytes;
    if (!make_room_locked(disk_bytes)) {
      // Everything left is reserved by puts in flight: skip this block rather than overshoot.
      reserved_bytes_ -= reservation - disk_bytes;
      if (reservation != disk_bytes) unlink_block_locked(id);  // no longer indexed
      return;
    }
    reserved_bytes_ += disk_bytes;
  }

  int err = write_temp(subdir, temp_path, header, payload, failed_step);

  {
    MutexLock lock(mutex_);
    reserved_bytes_ -= reservation;
    if (err == 0 && ::rename(temp_path.c_str(), final_path.c_str()) != 0) {
      err = errno;
      failed_step = "rename";
      ::unlink(temp_path.c_str());
    }
    if (err == 0) {
      try {
        index_.insert_most_recent(LruEntry{id, disk_bytes, next_generation_++, Clock::now()});
      } catch (...) {
        unlink_block_locked(id);  // never a file the index does not count
        throw;
      }
      return;
    }
    // A replaced block's old file may still be there: drop it too, the index no longer has it.
    if (reservation != disk_bytes) unlink_block_locked(id);
  }
  report_write_error("cannot cache " + final_path.string() + ": " + failed_step + ": " + errno_text(err));
}

stdfs::path DiskBlockCache::temp_path_for(const stdfs::path& final_path) {
  char suffix[32];
  std::snprintf(suffix, sizeof suffix, ".tmp.%016llx",
                static_cast<unsigned long long>(temp_seed_ ^ (temp_counter_.fetch_add(1) * 0x9e3779b97f4a7c15ull)));
  stdfs::path temp_path = final_path;
  temp_path += suffix;
  return temp_path;
}

int DiskBlockCache::write_temp(const stdfs::path& subdir, const stdfs::path& temp_path, std::string_view header,
                               std::string_view payload, std::string& failed_step) {
  auto create = [&] { return ::open(temp_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644); };
  int raw_fd = create();
  if (raw_fd < 0 && errno == ENOENT) {
    // First block of this 2-hex subdirectory (created lazily: no syscall on the common path).
    if (::mkdir(subdir.c_str(), 0755) != 0 && errno != EEXIST) {
      int err = errno;
      failed_step = "mkdir";
      return err;
    }
    raw_fd = create();
  }
  UniqueFd fd(raw_fd);
  if (fd.get() < 0) {
    int err = errno;
    failed_step = "create";
    return err;
  }
  // No fdatasync: a flush per block would cost more than the download it saves, and a block
  // torn by a crash is harmless: its header or CRC no longer matches, so get() drops it.
  int err = write_block(fd.get(), header, payload);
  failed_step = "write";
  if (err == 0) {
    err = fd.close_checked();
    failed_step = "close";
  }
  if (err != 0) {
    fd.close_checked();
    ::unlink(temp_path.c_str());
  }
  return err;
}

bool DiskBlockCache::make_room_locked(std::uint64_t incoming) {
  while (index_.bytes() + reserved_bytes_ + incoming > limit_) {
    auto victim = index_.pop_least_recent();
    if (!victim) return false;
    unlink_block_locked(victim->id);
    ++counters_.evictions;
  }
  return true;
}

void DiskBlockCache::unlink_block_locked(const BlockId& id) {
  const stdfs::path path = block_path(id);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT)
    log::warn(kLog, "cannot remove cache block " + path.string() + ": " + errno_text(errno));
}

void DiskBlockCache::report_write_error(const std::string& message) {
  std::uint64_t n = 0;
  {
    MutexLock lock(mutex_);
    n = ++counters_.write_errors;
  }
  if (n <= 10 || n % 1000 == 0)
    log::warn(kLog, message + " (write error " + std::to_string(n) + "; the read itself is not affected)");
}

bool DiskBlockCache::contains(const ObjectKey& object, std::uint64_t index) const {
  const BlockId id = block_id(object, index);
  MutexLock lock(mutex_);
  return index_.contains(id);
}

BlockCacheStats DiskBlockCache::stats() const {
  MutexLock lock(mutex_);
  BlockCacheStats result = counters_;
  result.bytes_used = index_.bytes();
  result.byte_limit = limit_;
  result.blocks = index_.size();
  return result;
}

void DiskBlockCache::rebuild_index() {
  struct Found {
    BlockId id;
    std::uint64_t disk_bytes;
    timespec mtime;
  };
  std::vector<Found> found;
  std::size_t temp_removed = 0, strays_removed = 0;
  std::error_code ec;
  for (stdfs::directory_iterator sub(blocks_dir_, ec), end; !ec && sub != end; sub.increment(ec)) {
    std::error_code type_ec;
    if (!sub->is_directory(type_ec)) continue;
    const std::string prefix = sub->path().filename().string();
    std::error_code file_ec;
    for (stdfs::directory_iterator file(sub->path(), file_ec); !file_ec && file != end; file.increment(file_ec)) {
      const std::string name = file->path().filename().string();
      struct stat st {};
      if (::lstat(file->path().c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
      auto id = parse_block_file_name(name);
      bool is_temp = name.find(".tmp.") != std::string::npos;
      bool is_block = id && !is_temp && name.compare(0, 2, prefix) == 0 &&
                      static_cast<std::uint64_t>(st.st_size) >= kBlockHeaderFixedBytes;
      if (!is_block) {
        // Temp files are writes a crash interrupted; anything else here is not ours to keep.
        ::unlink(file->path().c_str());
        ++(is_temp ? temp_removed : strays_removed);
        continue;
      }
      found.push_back({*id, round_up_to_allocation_unit(static_cast<std::uint64_t>(st.st_size)), st.st_mtim});
    }
    if (file_ec) log::warn(kLog, "cannot list " + sub->path().string() + ": " + file_ec.message());
  }
  if (ec) log::warn(kLog, "cannot list " + blocks_dir_.string() + ": " + ec.message());

  std::sort(found.begin(), found.end(), [](const Found& a, const Found& b) {
    return a.mtime.tv_sec != b.mtime.tv_sec ? a.mtime.tv_sec > b.mtime.tv_sec : a.mtime.tv_nsec > b.mtime.tv_nsec;
  });
  MutexLock lock(mutex_);
  // mtime_touched stays at the epoch, so the first hit after the remount refreshes the mtime.
  for (const auto& block : found) index_.insert_least_recent(LruEntry{block.id, block.disk_bytes, next_generation_++, {}});
  std::uint64_t evicted = counters_.evictions;
  make_room_locked(0);
  evicted = counters_.evictions - evicted;
  log::info(kLog, "opened " + dir_.string() + ": " + std::to_string(index_.size()) + " blocks, " +
                      std::to_string(index_.bytes()) + " of " + std::to_string(limit_) + " bytes; evicted " +
                      std::to_string(evicted) + ", removed " + std::to_string(temp_removed) + " temp and " +
                      std::to_string(strays_removed) + " stray files");
}

}  // namespace

std::unique_ptr<BlockCache> open_disk_block_cache(const std::filesystem::path& dir, std::uint64_t byte_limit) {
  std::error_code ec;
  stdfs::create_directories(dir / "blocks", ec);
  if (ec) throw Error(ec.value(), "cannot create cache dir " + dir.string() + ": " + ec.message());
  const stdfs::path lock_path = dir / "lock";
  int lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd < 0) throw Error(errno, "cannot open " + lock_path.string() + ": " + errno_text(errno));
  // flock is per open file description, so a second open in the same process conflicts too.
  if (::flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    ::close(lock_fd);
    if (err == EWOULDBLOCK) throw Error(EBUSY, "cache dir " + dir.string() + " is in use by another heasarcfs");
    throw Error(err, "cannot lock " + lock_path.string() + ": " + errno_text(err));
  }
  // The holder's pid, for whoever finds the directory busy.
  std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(lock_fd, 0) != 0 || ::pwrite(lock_fd, pid.data(), pid.size(), 0) < 0) {
    // Diagnostics only; the lock itself is held.
  }
  auto cache = std::make_unique<DiskBlockCache>(dir, byte_limit, lock_fd);
  cache->rebuild_index();
  return cache;
}

}  // namespace hfs::cache
