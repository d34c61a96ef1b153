#include "cache/metadata_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <list>
#include <set>
#include <unordered_map>
#include <utility>
#include <vector>

#include "cache/block_checksum.h"
#include "cache/store_dir.h"
#include "cache/store_io.h"
#include "common/error.h"
#include "common/log.h"
#include "common/thread_annotations.h"

namespace hfs::cache {
namespace {

namespace stdfs = std::filesystem;
using std::chrono::system_clock;

constexpr std::string_view kLog = "cache";
constexpr std::string_view kMagic = "HFSMETA1";
constexpr std::size_t kHeaderBytes = 8 + 8 + 4 + 4;
constexpr std::size_t kTrailerBytes = 4;
// No answer the filesystem keeps is near this (the VO body cap is 64 MiB, and a record is a
// compact form of it); a larger file is damage.
constexpr std::uint64_t kMaxRecordBytes = 80ull << 20;

std::uint64_t key_hash(std::string_view key) {
  std::uint64_t hash = 0xcbf29ce484222325ull;
  for (unsigned char c : key) {
    hash ^= c;
    hash *= 0x100000001b3ull;
  }
  return hash;
}

std::string record_name(std::uint64_t hash) {
  char name[32];
  std::snprintf(name, sizeof name, "%016llx.rec", static_cast<unsigned long long>(hash));
  return name;
}

void put_u32(std::string& out, std::uint32_t value) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>(value >> (8 * i) & 0xff));
}
void put_u64(std::string& out, std::uint64_t value) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(value >> (8 * i) & 0xff));
}
std::uint64_t get_le(const char* bytes, int count) {
  std::uint64_t value = 0;
  for (int i = count - 1; i >= 0; --i) value = value << 8 | static_cast<unsigned char>(bytes[i]);
  return value;
}

std::string encode_record(std::string_view key, std::string_view value, system_clock::time_point fetched) {
  std::string out;
  out.reserve(kHeaderBytes + key.size() + value.size() + kTrailerBytes);
  out.append(kMagic);
  const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(fetched.time_since_epoch()).count();
  put_u64(out, static_cast<std::uint64_t>(millis));
  put_u32(out, static_cast<std::uint32_t>(key.size()));
  put_u32(out, static_cast<std::uint32_t>(value.size()));
  out.append(key);
  out.append(value);
  put_u32(out, block_checksum(ChecksumKind::crc32, out.data(), out.size()));
  return out;
}

// The record of `key` in `bytes`; nullopt with `problem` set when it is damaged, or when it is
// another key's record (a hash collision: `problem` stays empty).
std::optional<MetadataRecord> decode_record(const std::string& bytes, const std::string& key, std::string& problem) {
  if (bytes.size() < kHeaderBytes + kTrailerBytes) {
    problem = "truncated (" + std::to_string(bytes.size()) + " bytes)";
    return std::nullopt;
  }
  if (std::string_view(bytes).substr(0, kMagic.size()) != kMagic) {
    problem = "not a metadata record (bad magic)";
    return std::nullopt;
  }
  const std::uint64_t key_size = get_le(bytes.data() + 16, 4);
  const std::uint64_t value_size = get_le(bytes.data() + 20, 4);
  if (kHeaderBytes + key_size + value_size + kTrailerBytes != bytes.size()) {
    problem = "lengths do not match the file's size";
    return std::nullopt;
  }
  const std::size_t body = bytes.size() - kTrailerBytes;
  if (get_le(bytes.data() + body, 4) != block_checksum(ChecksumKind::crc32, bytes.data(), body)) {
    problem = "checksum mismatch";
    return std::nullopt;
  }
  if (std::string_view(bytes).substr(kHeaderBytes, key_size) != key) return std::nullopt;
  MetadataRecord record;
  record.fetched = system_clock::time_point(std::chrono::duration_cast<system_clock::duration>(
      std::chrono::milliseconds(static_cast<std::int64_t>(get_le(bytes.data() + 8, 8)))));
  record.value = bytes.substr(kHeaderBytes + key_size, value_size);
  return record;
}

std::vector<std::string> list_names(int dir_fd) {
  std::vector<std::string> names;
  int dup_fd = ::fcntl(dir_fd, F_DUPFD_CLOEXEC, 0);
  if (dup_fd < 0) return names;
  DIR* dir = ::fdopendir(dup_fd);
  if (!dir) {
    ::close(dup_fd);
    return names;
  }
  ::rewinddir(dir);
  while (dirent* entry = ::readdir(dir)) {
    std::string_view name = entry->d_name;
    if (name != "." && name != "..") names.emplace_back(name);
  }
  ::closedir(dir);
  return names;
}

// "<16 lower hex>.rec" -> its hash.
std::optional<std::uint64_t> parse_record_name(std::string_view name) {
  if (name.size() != 20 || name.substr(16) != ".rec") return std::nullopt;
  std::uint64_t hash = 0;
  for (char c : name.substr(0, 16)) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return std::nullopt;
    hash = hash << 4 | static_cast<std::uint64_t>(c <= '9' ? c - '0' : c - 'a' + 10);
  }
  return hash;
}

class DiskMetadataStore final : public MetadataStore {
 public:
  DiskMetadataStore(stdfs::path meta_path, UniqueFd meta_fd, std::uint64_t byte_limit)
      : path_(std::move(meta_path)), fd_(std::move(meta_fd)), limit_(byte_limit) {}

  // Indexes what a previous mount left: records by recency (mtime), temp files and strays removed.
  void rebuild() EXCLUDES(mutex_) {
    struct Found {
      std::uint64_t hash;
      std::uint64_t bytes;
      timespec mtime;
    };
    std::vector<Found> found;
    std::size_t removed = 0;
    for (const auto& name : list_names(fd_.get())) {
      struct stat st {};
      if (::fstatat(fd_.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
      auto hash = parse_record_name(name);
      if (!hash || !S_ISREG(st.st_mode)) {
        // Temp files of a crash, and anything else (never followed: removed as what it is).
        if (int err = store_dir::remove_tree_at(fd_.get(), name); err != 0)
          log::warn(kLog, "cannot remove " + (path_ / name).string() + ": " + std::strerror(err));
        ++removed;
        continue;
      }
      found.push_back({*hash, store_io::round_up(static_cast<std::uint64_t>(st.st_size)), st.st_mtim});
    }
    std::sort(found.begin(), found.end(), [](const Found& a, const Found& b) {
      return a.mtime.tv_sec != b.mtime.tv_sec ? a.mtime.tv_sec < b.mtime.tv_sec : a.mtime.tv_nsec < b.mtime.tv_nsec;
    });
    MutexLock lock(mutex_);
    for (const auto& record : found) {  // oldest first: each goes to the front
      lru_.push_front(record.hash);
      index_[record.hash] = Entry{record.bytes, lru_.begin(), false};
      records_bytes_ += record.bytes;
    }
    refresh_directory_bytes_locked();
    evict_locked(0);
    if (!found.empty() || removed > 0)
      log::info(kLog, "metadata " + path_.string() + ": " + std::to_string(index_.size()) + " records, " +
                          std::to_string(records_bytes_ + directory_bytes_) + " of " + std::to_string(limit_) +
                          " bytes" + (removed ? ", " + std::to_string(removed) + " stray or temp files removed" : ""));
  }

  std::optional<MetadataRecord> get(const std::string& key) EXCLUDES(mutex_) override {
    const std::uint64_t hash = key_hash(key);
    const std::string name = record_name(hash);
    {
      MutexLock lock(mutex_);
      if (!index_.count(hash)) {
        ++stats_.misses;
        return std::nullopt;
      }
    }
    std::string bytes;
    std::string problem;
    int err = read_record(name, bytes);
    std::optional<MetadataRecord> record;
    if (err == 0) record = decode_record(bytes, key, problem);
    else if (err != ENOENT)
      problem = err == EFBIG ? "larger than any record" : std::string("cannot read: ") + std::strerror(err);
    bool touch = false;
    {
      MutexLock lock(mutex_);
      if (!problem.empty()) {
        ++stats_.corrupt;
        drop_locked(hash, name);
      } else if (record) {
        ++stats_.hits;
        if (auto it = index_.find(hash); it != index_.end()) {
          lru_.splice(lru_.begin(), lru_, it->second.recency);
          touch = !std::exchange(it->second.touched, true);
        }
      } else {
        ++stats_.misses;
      }
    }
    if (!problem.empty()) log::warn(kLog, "ignoring metadata record " + (path_ / name).string() + ": " + problem);
    // Recency for the next mount's eviction order, once per record per mount.
    if (touch) ::utimensat(fd_.get(), name.c_str(), nullptr, AT_SYMLINK_NOFOLLOW);
    return record;
  }

  void put(const std::string& key, std::string_view value, system_clock::time_point fetched) EXCLUDES(mutex_) override {
    const std::uint64_t hash = key_hash(key);
    const std::string name = record_name(hash);
    const std::string bytes = encode_record(key, value, fetched);
    const std::uint64_t cost = store_io::round_up(bytes.size());
    {
      MutexLock lock(mutex_);
      if (bytes.size() > kMaxRecordBytes || cost + directory_bytes_ > limit_) {
        log::debug(kLog, "not keeping the metadata record of " + key.substr(0, 200) + ": " +
                             std::to_string(bytes.size()) + " bytes do not fit in " + std::to_string(limit_));
        return;
      }
    }
    const std::string temp = name.substr(0, 16) + ".tmp." + std::to_string(++temp_counter_);
    int fd = store_dir::create_private_file(fd_.get(), temp);
    int err = fd < 0 ? -fd : store_io::pwrite_all(fd, bytes.data(), bytes.size(), 0);
    if (fd >= 0) ::close(fd);
    MutexLock lock(mutex_);
    if (err == 0 && ::renameat(fd_.get(), temp.c_str(), fd_.get(), name.c_str()) != 0) err = errno;
    if (err != 0) {
      ::unlinkat(fd_.get(), temp.c_str(), 0);
      ++stats_.write_errors;
      if (reported_errors_.insert(err).second)
        log::warn(kLog, "cannot write metadata record " + (path_ / name).string() + ": " + std::strerror(err) +
                            " (records are not kept while this lasts)");
      return;
    }
    if (auto it = index_.find(hash); it != index_.end()) {
      records_bytes_ -= it->second.bytes;
      lru_.erase(it->second.recency);
      index_.erase(it);
    }
    lru_.push_front(hash);
    index_[hash] = Entry{cost, lru_.begin(), true};
    records_bytes_ += cost;
    refresh_directory_bytes_locked();
    evict_locked(hash);
  }

  void erase(const std::string& key) EXCLUDES(mutex_) override {
    const std::uint64_t hash = key_hash(key);
    MutexLock lock(mutex_);
    if (!index_.count(hash)) return;
    drop_locked(hash, record_name(hash));
  }

  MetadataStats stats() const EXCLUDES(mutex_) override {
    MutexLock lock(mutex_);
    MetadataStats stats = stats_;
    stats.bytes_used = records_bytes_ + directory_bytes_;
    stats.byte_limit = limit_;
    stats.records = index_.size();
    return stats;
  }

 private:
  struct Entry {
    std::uint64_t bytes = 0;  // on disk, rounded to 4 KiB
    std::list<std::uint64_t>::iterator recency;
    bool touched = false;  // its mtime was set in this mount
  };

  int read_record(const std::string& name, std::string& out) const {
    UniqueFd fd(::openat(fd_.get(), name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) return errno;
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return errno;
    if (!S_ISREG(st.st_mode)) return EINVAL;
    if (static_cast<std::uint64_t>(st.st_size) > kMaxRecordBytes) return EFBIG;
    out.resize(static_cast<std::size_t>(st.st_size));
    int err = store_io::pread_all(fd.get(), out.data(), out.size(), 0);
    if (err == -1) return EIO;  // shrank under us (it is replaced by rename, so: damage)
    return err;
  }

  void drop_locked(std::uint64_t hash, const std::string& name) REQUIRES(mutex_) {
    ::unlinkat(fd_.get(), name.c_str(), 0);
    if (auto it = index_.find(hash); it != index_.end()) {
      records_bytes_ -= it->second.bytes;
      lru_.erase(it->second.recency);
      index_.erase(it);
    }
    refresh_directory_bytes_locked();
  }

  // The directory's own blocks: it grows with its entries (and does not shrink on ext4).
  void refresh_directory_bytes_locked() REQUIRES(mutex_) {
    struct stat st {};
    if (::fstat(fd_.get(), &st) == 0) directory_bytes_ = static_cast<std::uint64_t>(st.st_blocks) * 512;
  }

  // Removes least recently used records (never `keep`) until the bound holds.
  void evict_locked(std::uint64_t keep) REQUIRES(mutex_) {
    while (records_bytes_ + directory_bytes_ > limit_ && !lru_.empty()) {
      std::uint64_t victim = lru_.back();
      if (victim == keep && lru_.size() == 1) break;
      if (victim == keep) {
        lru_.splice(lru_.begin(), lru_, std::prev(lru_.end()));
        continue;
      }
      drop_locked(victim, record_name(victim));
      ++stats_.evictions;
    }
  }

  const stdfs::path path_;
  const UniqueFd fd_;
  const std::uint64_t limit_;
  std::atomic<std::uint64_t> temp_counter_{0};

  mutable Mutex mutex_;  // a leaf: nothing else is locked under it
  std::unordered_map<std::uint64_t, Entry> index_ GUARDED_BY(mutex_);
  std::list<std::uint64_t> lru_ GUARDED_BY(mutex_);  // front = most recently used
  std::uint64_t records_bytes_ GUARDED_BY(mutex_) = 0;
  std::uint64_t directory_bytes_ GUARDED_BY(mutex_) = 0;
  MetadataStats stats_ GUARDED_BY(mutex_);
  std::set<int> reported_errors_ GUARDED_BY(mutex_);
};

}  // namespace

std::unique_ptr<MetadataStore> open_metadata_store(const stdfs::path& cache_dir, std::uint64_t byte_limit) {
  UniqueFd dir_fd = store_dir::open_cache_dir(cache_dir);
  UniqueFd meta_fd = store_dir::open_private_subdir(dir_fd.get(), "meta", cache_dir / "meta");
  auto store = std::make_unique<DiskMetadataStore>(cache_dir / "meta", std::move(meta_fd), byte_limit);
  store->rebuild();
  return store;
}

CacheBudget split_cache_size(std::uint64_t cache_size) {
  constexpr std::uint64_t kMiB = 1ull << 20;
  std::uint64_t metadata = std::clamp<std::uint64_t>(cache_size / 16, kMiB, 256 * kMiB);
  metadata = std::min(metadata, cache_size / 2);
  return CacheBudget{cache_size - metadata, metadata};
}

}  // namespace hfs::cache
