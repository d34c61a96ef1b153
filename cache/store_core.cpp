// The object store's index, accounting, eviction and writing (reading: store_reads.cpp).
#include "cache/store_core.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <tuple>
#include <vector>

#include "cache/sidecar.h"
#include "cache/store_dir.h"
#include "cache/store_io.h"
#include "common/log.h"

namespace hfs::cache {
namespace {

namespace stdfs = std::filesystem;
using store_io::block_length;
using store_io::kBlock;
using store_io::round_up;
constexpr std::string_view kLog = "cache";

std::string errno_text(int errnum) { return std::strerror(errnum); }

timespec wall_now() {
  timespec now{};
  ::clock_gettime(CLOCK_REALTIME, &now);
  return now;
}

}  // namespace

StoreCore::StoreCore(stdfs::path dir, std::uint64_t byte_limit, ObjectStoreOptions options, UniqueFd lock_fd,
                     UniqueFd objects_fd)
    : dir_(std::move(dir)),
      objects_path_(dir_ / "objects"),
      limit_(byte_limit),
      options_(std::move(options)),
      lock_fd_(std::move(lock_fd)),
      objects_fd_(std::move(objects_fd)),
      fds_(options_.open_objects) {}

std::shared_ptr<ObjectInfo> StoreCore::make_info(const ObjectKey& key, std::uint64_t size, std::uint64_t hash,
                                                 ChecksumKind checksum) const {
  auto info = std::make_shared<ObjectInfo>();
  info->checksum = checksum;
  info->key = key;
  info->size = size;
  info->hash = hash;
  info->stem = object_file_stem(hash);
  info->sidecar_cost = round_up(sidecar::file_size(key, size));
  return info;
}

std::string StoreCore::shown(const ObjectInfo& info, const char* suffix) const {
  return (objects_path_ / info.stem).string() + suffix;
}

StoreCore::ObjectRecord& StoreCore::record_locked(const ObjectInfo& info) {
  // A caller holds a handle (or a pin) on the object, so its record exists.
  return records_.at(info.hash);
}

void StoreCore::rebuild() {
  auto scan = store_dir::scan_objects(objects_fd_.get(), objects_path_, options_.object_hash);
  std::sort(scan.objects.begin(), scan.objects.end(), [](const auto& a, const auto& b) {
    return std::tie(b.mtime.tv_sec, b.mtime.tv_nsec, b.hash) < std::tie(a.mtime.tv_sec, a.mtime.tv_nsec, a.hash);
  });
  std::uint64_t evicted = 0, objects = 0, blocks = 0, bytes = 0;
  {
    MutexLock lock(mutex_);
    for (auto& found : scan.objects) {
      auto info = make_info(found.sidecar.key, found.sidecar.object_size, found.hash, found.sidecar.checksum);
      {
        MutexLock files_lock(info->files_mutex);
        info->files_exist = true;
      }
      ObjectRecord& record = records_[found.hash];
      record.info = info;
      record.on_disk = true;
      record.mtime = found.mtime;
      ++objects_on_disk_;
      used_ += info->sidecar_cost;
      // Newest objects first, each appended behind the ones before: the back is the oldest.
      for (std::uint64_t index = 0; index < found.sidecar.records.size(); ++index) {
        const auto& stored = found.sidecar.records[index];
        if (!stored.present) continue;
        BlockSlot slot{
            {found.hash, index}, BlockState::present, false, stored.crc, 0, round_up(block_length(info->size, index))};
        blocks_.insert_least_recent(slot);
        ++record.slots;
        ++present_blocks_;
        used_ += slot.cost;
      }
    }
    const std::uint64_t before = counters_.evictions;
    make_room_locked(0);
    evicted = counters_.evictions - before;
    objects = objects_on_disk_;
    blocks = present_blocks_;
    bytes = used_;
  }
  log::info(kLog, "opened " + dir_.string() + ": " + std::to_string(objects) + " objects, " + std::to_string(blocks) +
                      " blocks, " + std::to_string(bytes) + " of " + std::to_string(limit_) + " bytes; evicted " +
                      std::to_string(evicted) + " blocks; removed " + std::to_string(scan.damaged_removed) +
                      " damaged and " + std::to_string(scan.empty_removed) + " empty objects, " +
                      std::to_string(scan.temp_removed) + " temp and " + std::to_string(scan.strays_removed) +
                      " stray files");
}

std::uint64_t StoreCore::cached_bytes(const ObjectKey& key, std::uint64_t size) const {
  const std::uint64_t hash = options_.object_hash(key);
  MutexLock lock(mutex_);
  auto it = records_.find(hash);
  if (it == records_.end()) return 0;
  const ObjectInfo& info = *it->second.info;
  if (info.key.url != key.url || info.key.validator != key.validator || info.size != size) return 0;
  std::uint64_t bytes = 0;
  for (std::uint64_t index = 0; index * kBlockSize < size; ++index) {
    const BlockSlot* slot = blocks_.find({hash, index});
    if (slot && slot->state == BlockState::present) bytes += block_length(size, index);
  }
  return bytes;
}

std::shared_ptr<const ObjectInfo> StoreCore::open(const ObjectKey& key, std::uint64_t size) {
  if (!sidecar::cacheable(key, size)) {
    log::debug(kLog, "not caching " + key.url + ": too large for the cache's format");
    return nullptr;
  }
  const std::uint64_t hash = options_.object_hash(key);
  std::string refusal;
  {
    MutexLock lock(mutex_);
    auto it = records_.find(hash);
    if (it == records_.end()) {
      it = records_.emplace(hash, ObjectRecord{}).first;
      it->second.info = make_info(key, size, hash);
    }
    ObjectRecord& record = it->second;
    const ObjectInfo& info = *record.info;
    if (info.key.url == key.url && info.key.validator == key.validator && info.size == size) {
      ++record.handles;
      return record.info;
    }
    if (info.key.url == key.url && info.key.validator == key.validator)
      refusal =
          "the cached copy of this version is " + std::to_string(info.size) + " bytes, not " + std::to_string(size);
    else refusal = "its cache file name " + info.stem + " is taken by another object (hash collision)";
  }
  log::warn(kLog, "not caching " + key.url + " (" + key.validator + "): " + refusal);
  return nullptr;
}

void StoreCore::close(const ObjectInfo& info) {
  MutexLock lock(mutex_);
  --record_locked(info).handles;
  remove_if_unused_locked(info.hash);
}

StoreStats StoreCore::stats() const {
  MutexLock lock(mutex_);
  StoreStats result = counters_;
  result.bytes_used = used_ + reserved_;
  result.byte_limit = limit_;
  result.blocks = present_blocks_;
  result.objects = objects_on_disk_;
  return result;
}

FdCache::Entry StoreCore::files(const ObjectInfo& info, int& err) noexcept {
  try {
    if (auto cached = fds_.get(info.hash)) return cached;
    auto opened = std::make_shared<ObjectFds>();
    opened->data =
        UniqueFd(::openat(objects_fd_.get(), (info.stem + ".data").c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC));
    if (opened->data)
      opened->meta =
          UniqueFd(::openat(objects_fd_.get(), (info.stem + ".meta").c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC));
    if (!opened->data || !opened->meta) {
      err = errno;
      return nullptr;
    }
    return fds_.put(info.hash, std::move(opened));
  } catch (...) {
    err = ENOMEM;
    return nullptr;
  }
}

int StoreCore::ensure_files(const ObjectInfo& info, const char*& failed_step) {
  MutexLock files_lock(info.files_mutex);
  if (info.files_exist) return 0;
  const int objects = objects_fd_.get();
  const std::string subdir = info.stem.substr(0, 2);
  const std::string data_name = info.stem + ".data", meta_name = info.stem + ".meta", temp_name = meta_name + ".tmp";
  if (::mkdirat(objects, subdir.c_str(), 0700) == 0) {
    // The umask may have taken the owner's bits away from 0700.
    UniqueFd made(::openat(objects, subdir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!made || ::fchmod(made.get(), 0700) != 0) {
      failed_step = "mkdir";
      return errno;
    }
  } else if (errno != EEXIST) {
    failed_step = "mkdir";
    return errno;
  }
  auto fail = [&](const char* step, int err) {
    ::unlinkat(objects, temp_name.c_str(), 0);
    ::unlinkat(objects, data_name.c_str(), 0);
    failed_step = step;
    return err;
  };
  // The data file first, the sidecar last and by rename: a sidecar under its real name always
  // has its data file (a crash in between leaves a stray or a temp file, removed at open).
  int raw = store_dir::create_private_file(objects, data_name);
  if (raw < 0) return fail("create data file", -raw);
  auto fds = std::make_shared<ObjectFds>();
  fds->data = UniqueFd(raw);
  if (::ftruncate(fds->data.get(), static_cast<off_t>(info.size)) != 0) return fail("size data file", errno);
  raw = store_dir::create_private_file(objects, temp_name);
  if (raw < 0) return fail("create sidecar", -raw);
  fds->meta = UniqueFd(raw);
  const std::string header = sidecar::encode_header(info.key, info.size, info.checksum);
  if (int err = store_io::pwrite_all(fds->meta.get(), header.data(), header.size(), 0); err != 0)
    return fail("write sidecar", err);
  if (::ftruncate(fds->meta.get(), static_cast<off_t>(sidecar::file_size(info.key, info.size))) != 0)
    return fail("size sidecar", errno);
  if (::renameat(objects, temp_name.c_str(), objects, meta_name.c_str()) != 0) return fail("rename sidecar", errno);
  fds_.put(info.hash, std::move(fds));
  info.files_exist = true;
  return 0;
}

bool StoreCore::reserve(const ObjectInfo& info, std::uint64_t index) {
  const std::uint64_t length = block_length(info.size, index);
  if (length == 0) return false;
  const std::uint64_t cost = round_up(length);
  {
    MutexLock lock(mutex_);
    ObjectRecord& record = record_locked(info);
    if (blocks_.find({info.hash, index})) return false;  // present, or being written by another
    const std::uint64_t incoming = cost + (record.on_disk ? 0 : info.sidecar_cost);
    if (incoming > limit_) return false;
    // `deciding` keeps this object's files (and its sidecar's accounting) while eviction runs,
    // even if the last of its other blocks goes.
    ++record.deciding;
    const bool room = make_room_locked(incoming);
    --record.deciding;
    if (!room) {  // everything left is pinned or reserved: skip this block rather than overshoot
      remove_if_unused_locked(info.hash);
      return false;
    }
    blocks_.insert_most_recent(BlockSlot{{info.hash, index}, BlockState::reserved, false, 0, 0, cost});
    ++record.slots;
    reserved_ += cost;
    if (!record.on_disk) {
      record.on_disk = true;
      record.mtime = wall_now();
      used_ += info.sidecar_cost;
      ++objects_on_disk_;
    }
  }
  const char* failed_step = "create files";
  int err = 0;
  try {
    err = ensure_files(info, failed_step);
  } catch (...) {
    err = ENOMEM;
  }
  if (err != 0) {
    report_write_error("cannot create " + shown(info, ".{data,meta}") + ": " + failed_step + ": " + errno_text(err));
    end_reservation(info, index, ReservationEnd::files_not_created);
    return false;
  }
  return true;
}

int StoreCore::write(const ObjectInfo& info, std::uint64_t offset, std::string_view bytes) {
  if (bytes.empty()) return 0;
  if (offset > info.size || bytes.size() > info.size - offset) return EINVAL;
  const std::uint64_t first = offset / kBlock, last = (offset + bytes.size() - 1) / kBlock;
  bool reserved = true;
  {
    MutexLock lock(mutex_);
    for (std::uint64_t index = first; index <= last && reserved; ++index) {
      const BlockSlot* slot = blocks_.find({info.hash, index});
      reserved = slot && slot->state == BlockState::reserved;
    }
  }
  if (!reserved) {
    log::warn(kLog, "ignored a write into " + info.key.url + " at " + std::to_string(offset) +
                        ": its blocks are not reserved");
    return EINVAL;
  }
  int err = 0;
  if (auto fds = files(info, err)) err = store_io::pwrite_all(fds->data.get(), bytes.data(), bytes.size(), offset);
  if (err != 0)
    report_write_error("cannot write " + std::to_string(bytes.size()) + " bytes at " + std::to_string(offset) +
                       " into " + shown(info, ".data") + ": " + errno_text(err));
  return err;
}

void StoreCore::commit(const ObjectInfo& info, std::uint64_t index, std::uint32_t crc) {
  {
    MutexLock lock(mutex_);
    const BlockSlot* slot = blocks_.find({info.hash, index});
    if (!slot || slot->state != BlockState::reserved) {
      log::warn(kLog, "ignored a commit of block " + std::to_string(index) + " of " + info.key.url + ": not reserved");
      return;
    }
  }
  // The record goes after the bytes: a crash before it leaves the block absent.
  int err = 0;
  if (auto fds = files(info, err)) {
    const auto record = sidecar::encode_record({true, crc});
    err = store_io::pwrite_all(fds->meta.get(), record.data(), record.size(), sidecar::record_offset(info.key, index));
  }
  if (err != 0) {
    report_write_error("cannot write the record of block " + std::to_string(index) + " into " + shown(info, ".meta") +
                       ": " + errno_text(err));
    end_reservation(info, index, ReservationEnd::record_failed);
    return;
  }
  MutexLock lock(mutex_);
  // Still our reservation (only its reserver ends a reserved slot), unless the caller raced
  // two commits or a commit and an abandon of one block.
  const BlockSlot* slot = blocks_.find({info.hash, index});
  if (!slot || slot->state != BlockState::reserved) return;
  slot->state = BlockState::present;
  slot->verified = true;
  slot->crc = crc;
  reserved_ -= slot->cost;
  used_ += slot->cost;
  ++present_blocks_;
  blocks_.promote(*slot);
  ObjectRecord& record = record_locked(info);
  record.touched = options_.clock();  // writing the record moved the sidecar's mtime
  record.mtime = wall_now();
}

void StoreCore::end_reservation(const ObjectInfo& info, std::uint64_t index, ReservationEnd how) {
  {
    MutexLock lock(mutex_);
    const BlockSlot* slot = blocks_.find({info.hash, index});
    if (!slot || slot->state != BlockState::reserved) return;
  }
  int err = 0;
  bool stuck = false;
  if (how == ReservationEnd::files_not_created) {
  } else if (auto fds = files(info, err)) {
    if (how == ReservationEnd::record_failed) {  // best effort: a record left behind fails its CRC against the hole
      const auto cleared = sidecar::encode_record({});
      store_io::pwrite_all(fds->meta.get(), cleared.data(), cleared.size(), sidecar::record_offset(info.key, index));
    }
    err = store_io::punch_hole(fds->data.get(), index * kBlock, block_length(info.size, index));
    stuck = err != 0;
  } else {
    stuck = err != ENOENT;  // no files: nothing was written
  }
  if (stuck)
    report_write_error("cannot free block " + std::to_string(index) + " of " + shown(info, ".data") + ": " +
                       errno_text(err) + " (its space stays accounted until the object goes)");
  MutexLock lock(mutex_);
  const BlockSlot* slot = blocks_.find({info.hash, index});
  if (!slot || slot->state != BlockState::reserved) return;  // the caller raced two ends of one reservation
  ObjectRecord& record = record_locked(info);
  reserved_ -= slot->cost;
  if (stuck) {
    record.stuck_bytes += slot->cost;
    used_ += slot->cost;
  }
  blocks_.erase(*slot);
  --record.slots;
  remove_if_unused_locked(info.hash);
}

bool StoreCore::make_room_locked(std::uint64_t incoming) {
  while (used_ + reserved_ + incoming > limit_) {
    const BlockSlot* victim = blocks_.least_recent_evictable();
    if (!victim) return false;
    evict_locked(*victim);
  }
  return true;
}

void StoreCore::evict_locked(const BlockSlot& slot) {
  const std::uint64_t hash = slot.key.object;
  int err = 0;
  const ObjectInfo& info = *records_.at(hash).info;
  auto fds = files(info, err);
  if (!fds && count_write_error_locked())
    log::warn(kLog, "cannot open " + shown(info, ".data") + " to evict a block: " + errno_text(err));
  retire_block_locked(slot, fds.get());
  ++counters_.evictions;
  blocks_.erase(slot);
  --records_.at(hash).slots;
  remove_if_unused_locked(hash);
}

void StoreCore::retire_block_locked(const BlockSlot& slot, const ObjectFds* fds) {
  ObjectRecord& record = records_.at(slot.key.object);
  if (erase_block_from_disk_locked(record, fds, slot.key.index)) used_ -= slot.cost;
  else record.stuck_bytes += slot.cost;  // still on disk: stays in used_ until the files go
  slot.state = BlockState::dropped;
  slot.cost = 0;
  --present_blocks_;
}

bool StoreCore::erase_block_from_disk_locked(ObjectRecord& record, const ObjectFds* fds, std::uint64_t index) {
  if (!fds) return false;
  const ObjectInfo& info = *record.info;
  // Punch first: a crash before the record is cleared leaves a record over a hole, which fails
  // its CRC on first use; the other order could leave bytes nobody accounts for.
  if (int err = store_io::punch_hole(fds->data.get(), index * kBlock, block_length(info.size, index)); err != 0) {
    if (count_write_error_locked())
      log::warn(kLog, "cannot punch block " + std::to_string(index) + " out of " + shown(info, ".data") + ": " +
                          errno_text(err) + " (its space stays accounted until the object goes)");
    return false;
  }
  const auto cleared = sidecar::encode_record({});
  if (int err = store_io::pwrite_all(fds->meta.get(), cleared.data(), cleared.size(),
                                     sidecar::record_offset(info.key, index));
      err != 0) {
    if (count_write_error_locked())
      log::warn(kLog, "cannot clear the record of block " + std::to_string(index) + " in " + shown(info, ".meta") +
                          ": " + errno_text(err) + " (it fails its check after a remount)");
  }
  // Clearing a record is not a use: the sidecar keeps the recency it had.
  const timespec times[2] = {{0, UTIME_OMIT}, record.mtime};
  ::futimens(fds->meta.get(), times);
  return true;
}

void StoreCore::remove_if_unused_locked(std::uint64_t hash) {
  auto it = records_.find(hash);
  if (it == records_.end()) return;
  ObjectRecord& record = it->second;
  if (record.slots > 0 || record.deciding > 0) return;
  if (record.on_disk) {
    const ObjectInfo& info = *record.info;
    {
      MutexLock files_lock(info.files_mutex);
      // The sidecar first: a data file without one is a stray, removed at the next open.
      for (const char* suffix : {".meta", ".data"}) {
        if (::unlinkat(objects_fd_.get(), (info.stem + suffix).c_str(), 0) != 0 && errno != ENOENT)
          log::warn(kLog, "cannot remove " + shown(info, suffix) + ": " + errno_text(errno));
      }
      fds_.erase(hash);
      info.files_exist = false;
    }
    used_ -= info.sidecar_cost + record.stuck_bytes;
    record.stuck_bytes = 0;
    record.on_disk = false;
    record.touched.reset();
    --objects_on_disk_;
  }
  if (record.handles == 0) records_.erase(it);
}

bool StoreCore::count_write_error_locked() {
  const std::uint64_t n = ++counters_.write_errors;
  return n <= 10 || n % 1000 == 0;
}

void StoreCore::report_write_error(const std::string& message) {
  bool log_it = false;
  std::uint64_t n = 0;
  {
    MutexLock lock(mutex_);
    log_it = count_write_error_locked();
    n = counters_.write_errors;
  }
  if (log_it) log::warn(kLog, message + " (cache write error " + std::to_string(n) + "; reads are not affected)");
}

}  // namespace hfs::cache
