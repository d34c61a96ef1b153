// The persistent store of remote answers (listings, query answers, file attributes): what a
// remount serves when the services cannot be reached. Keys and values are opaque bytes here;
// fs/remote_records.h encodes the filesystem's answers into them.
//
// Contract (read this before changing anything here):
// - Layout: <cache_dir>/meta/<16 hex FNV-1a of the key>.rec, one file per record, beside the
//   block store's objects/ (the object store holds the directory's lock; open this store after
//   it). A record file is: magic "HFSMETA1", fetch time (int64 milliseconds since the Unix
//   epoch, wall clock: it must mean the same after a reboot), key length (u32), value length
//   (u32), key, value, CRC-32 (zlib) of everything before it; little-endian.
// - Why one file per record and not an append log: a record is replaced whole by writing a
//   temp file (<hash>.tmp.<n>, 0600, O_NOFOLLOW) and renaming it over the old one, so a reader
//   sees the old record or the new one, never half of either, and a crash leaves at worst a
//   temp file (removed at the next open) or, without fsync after a power loss, a short or
//   zero-filled record, which fails its CRC. Nothing needs compaction or replay, and one
//   damaged record costs only itself. Records are small (a listing of 20 files is ~3 KB) and
//   written once per refresh, so a file each is cheap.
// - Reading: get() reads the whole file and checks magic, lengths, CRC and that the stored key
//   is the key asked for (a hash collision is a miss, never the other key's value). A record
//   that fails is removed, logged once (one line: the path and why) and reported absent: a
//   damaged record is never served.
// - Bound: `byte_limit` bytes on disk, counting every record as whole 4 KiB blocks plus the
//   meta/ directory's own size (its st_blocks): `du -s meta` stays within it. Beyond it the
//   least recently used records are removed (recency: file mtime at open, then use in this
//   process). A value too large for the bound is not stored.
// - Permissions: meta/ is 0700, files 0600; nothing is followed through a symlink (anything in
//   meta/ that is not a record file is removed at open, through descriptors).
// - Write errors (ENOSPC, EROFS, ...) are logged (once per kind of error) and the record is
//   not stored; put() never throws for them.
// - Thread-safe. One leaf mutex guards the index; file I/O of get() runs outside it, the
//   rename and evictions of put() under it.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace hfs::cache {

struct MetadataRecord {
  std::string value;
  std::chrono::system_clock::time_point fetched;  // when the answer was fetched (wall clock)
};

struct MetadataStats {
  std::uint64_t bytes_used = 0;  // records rounded to 4 KiB plus the directory itself
  std::uint64_t byte_limit = 0;
  std::uint64_t records = 0;
  std::uint64_t hits = 0;
  std::uint64_t misses = 0;
  std::uint64_t corrupt = 0;  // records dropped because they failed their checks
  std::uint64_t evictions = 0;
  std::uint64_t write_errors = 0;
};

class MetadataStore {
 public:
  virtual ~MetadataStore() = default;
  virtual std::optional<MetadataRecord> get(const std::string& key) = 0;
  // Stores (replacing) the record of `key`. Never throws for an I/O error (logged, not stored).
  virtual void put(const std::string& key, std::string_view value, std::chrono::system_clock::time_point fetched) = 0;
  virtual void erase(const std::string& key) = 0;
  virtual MetadataStats stats() const = 0;
};

// Opens (creating, 0700) <cache_dir>/meta. The cache directory is checked as the object store
// checks it (owner, mode). Throws hfs::Error as open_object_store does.
std::unique_ptr<MetadataStore> open_metadata_store(const std::filesystem::path& cache_dir, std::uint64_t byte_limit);

// How one cache_size is shared: the metadata store gets 1/16 of it, at least 1 MiB and at
// most 256 MiB (never more than half), the block store the rest. Each store counts its own
// directories within its share, so `du -s cache_dir` stays within cache_size.
struct CacheBudget {
  std::uint64_t objects = 0;
  std::uint64_t metadata = 0;
};
CacheBudget split_cache_size(std::uint64_t cache_size);

}  // namespace hfs::cache
