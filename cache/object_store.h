// The persistent disk cache of archive bytes, laid out for speed: one sparse data file per
// object version plus a sidecar, blocks of kBlockSize bytes inside it.
//
// Contract (read this before changing anything here):
// - An object version is ObjectKey = URL + validator (ETag, else Last-Modified, else size; see
//   vo::ObjectInfo::validator). A new version is a new key; old versions age out of the LRU.
// - Layout: <dir>/objects/<2 hex>/<16 hex FNV-1a of url '\n' validator>.data (sparse: only
//   present blocks hold bytes) and .meta (the sidecar: magic, format version, URL, validator,
//   object size, block size, then one fixed-size record per block: present flag + checksum of
//   the block's bytes: XXH3, or CRC-32 in sidecars of format 1; cache/block_checksum.h). The sidecar's URL + validator
//   are compared at open: a hash collision is a different object, never the other object's bytes (it is then not
//   cached).
// - Writing: a block is reserved (space accounted, LRU eviction of other unpinned blocks made
//   first, so the cache never exceeds its limit, even transiently), its bytes are written into
//   the data file as they arrive (pwrite at their offset), and then committed: the sidecar
//   record (present + checksum) is written after the bytes. A crash between the two leaves the
//   block absent; a torn record or torn bytes are caught by the checksum on first use. No
//   fsync: a block whose bytes did not reach the disk fails its checksum after a crash and is
//   fetched again.
// - Reading: the first read of a block in this process reads the whole block and checks its
//   checksum (once per mount); a block that fails is dropped (hole punched, record cleared), counted,
//   logged once, and reported absent -- wrong bytes are never returned. Verified blocks are
//   then read with one pread of exactly the asked range, or handed to the kernel by fd
//   (splice) under a pin.
// - Eviction: LRU over blocks of all objects, limit in bytes (block bytes rounded up to 4 KiB,
//   plus the sidecars). An evicted block's range is punched out of the data file
//   (fallocate PUNCH_HOLE) and its record cleared. Pinned blocks (a reply in progress from the
//   fd) and reserved blocks are never evicted. An object with no present blocks left loses its
//   files.
// - Recency across remounts: the sidecar's mtime (touched at most once a minute per object);
//   at open the index is rebuilt from the sidecars (newest objects first) and evicted down to
//   the limit. Leftover temp files are removed. Nothing is followed through a symlink.
// - Permissions: the directory is created 0700 and files 0600; open fails (hfs::Error EACCES,
//   one line naming the path and the problem) when the directory is owned by another user or
//   writable by group or others. A lock file makes a second mount of the same directory fail
//   with EBUSY.
// - Open data files are kept in a bounded fd cache (LRU), so a read costs no open()/close().
// - Write errors (ENOSPC, EIO, EROFS) are logged (rate-limited) and the block is not cached;
//   the read that produced the bytes still succeeds from memory. Nothing here throws on write.
// - Thread-safe. LOCK ORDER: ObjectStore's mutex, then one object's mutex; never the reverse,
//   and no I/O on data files under the store's mutex except hole punching during eviction.
#pragma once

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "cache/block_checksum.h"

namespace hfs::cache {

// 64 KiB: a FITS header read (the first 2880-byte records, then the next header after a seek)
// moves one or two blocks instead of 256 KiB, while 4 MiB parts still cost 64 records only.
inline constexpr std::uint64_t kBlockSize = 64 * 1024;

struct ObjectKey {
  std::string url;
  std::string validator;
};

struct StoreStats {
  std::uint64_t bytes_used = 0;  // as accounted against the limit
  std::uint64_t byte_limit = 0;
  std::uint64_t blocks = 0;  // present blocks
  std::uint64_t objects = 0;
  std::uint64_t hits = 0;    // block reads served
  std::uint64_t misses = 0;  // blocks asked for and absent
  std::uint64_t evictions = 0;
  std::uint64_t corrupt_blocks = 0;
  std::uint64_t write_errors = 0;
};

// A pinned, verified range of an object's data file: while it lives, the blocks under it are
// not evicted, so the kernel can splice [offset, offset+length) from `fd`.
class Pin {
 public:
  virtual ~Pin() = default;
  virtual int fd() const = 0;
};

// One object version in the cache. Obtained from ObjectStore::open; shared by every reader of
// that version. All methods are thread-safe.
class CachedObject {
 public:
  virtual ~CachedObject() = default;
  virtual const ObjectKey& key() const = 0;
  virtual std::uint64_t size() const = 0;
  std::uint64_t block_count() const { return (size() + kBlockSize - 1) / kBlockSize; }
  std::uint64_t block_length(std::uint64_t index) const {
    return index * kBlockSize >= size() ? 0 : std::min(kBlockSize, size() - index * kBlockSize);
  }

  // Whether block `index` is present (committed), without reading it. A present block may
  // still fail its first check (then read() reports it absent).
  virtual bool has_block(std::uint64_t index) const = 0;

  // Reserves room for block `index` (evicting other blocks); false when it cannot be cached
  // (larger than the limit, everything else pinned, a write error). On true the caller writes
  // the block's bytes with write() and ends with commit() or abandon().
  virtual bool reserve(std::uint64_t index) = 0;
  // Writes bytes at `offset` (within reserved blocks). 0, or the errno of the failed write
  // (the block must then be abandoned).
  virtual int write(std::uint64_t offset, std::string_view bytes) = 0;
  // The kind of checksum commit() takes (cache/block_checksum.h): an object cached by an older
  // version keeps the kind it was written with.
  virtual ChecksumKind checksum_kind() const = 0;
  // The reserved block's bytes are written and their checksum (block_checksum() of
  // checksum_kind()) is `crc`: it becomes present (and verified: its writer just computed it).
  virtual void commit(std::uint64_t index, std::uint32_t crc) = 0;
  // Gives up a reservation: the range is punched out and the space released.
  virtual void abandon(std::uint64_t index) = 0;

  // Copies bytes [offset, offset+length) into `out` when every block under them is present;
  // blocks not yet verified in this mount are verified first (whole-block read + checksum). Returns
  // false (nothing usable in `out`) when a block is absent or fails its check; the failed
  // block is then absent. Marks the blocks recently used.
  virtual bool read(std::uint64_t offset, std::uint64_t length, char* out) = 0;
  // Like read(), but instead of copying: verifies the blocks and pins them for a zero-copy
  // reply from the data file. nullptr when not every block is present and sound.
  virtual std::unique_ptr<Pin> pin(std::uint64_t offset, std::uint64_t length) = 0;
  // Whether every block under [offset, offset+length) is present and already verified in this
  // mount (a pin would cost no read).
  virtual bool verified(std::uint64_t offset, std::uint64_t length) const = 0;
  // A hint: [offset, offset+length) will be read soon. The present blocks under it are read
  // from the disk in the background (the kernel's read-ahead of the data file), so the reads
  // and pins that follow -- a reader streaming a cached file -- find them in memory instead of
  // waiting for the disk one FUSE request at a time. Absent blocks are ignored. Never fails.
  virtual void will_need(std::uint64_t offset, std::uint64_t length) = 0;
};

class ObjectStore {
 public:
  virtual ~ObjectStore() = default;
  // The cached object for this version, created (empty) if new. nullptr when it cannot be
  // cached (hash collision with another live object, a write error creating its files):
  // the caller then reads without the cache.
  virtual std::shared_ptr<CachedObject> open(const ObjectKey& key, std::uint64_t size) = 0;
  virtual StoreStats stats() const = 0;
  // Bytes of that version present in the cache (0 when it is not there), without opening it:
  // nothing is created (the user.heasarc.cached attribute).
  virtual std::uint64_t cached_bytes(const ObjectKey& key, std::uint64_t size) const = 0;
};

// What the store's directories cost on disk (objects/, its 256 fan-out subdirectories, the
// cache directory itself, the lock file: a 4 KiB block each): open_object_store takes it out of
// `byte_limit` when the limit is over four times as large, so that `du` of the store's files
// and directories together stays within byte_limit. A fan-out directory holding more than
// ~60 objects grows past one block; at the default 64 KiB blocks that is a cache of over
// 15,000 objects, where 1 MiB of slack is small beside the limit.
inline constexpr std::uint64_t kStoreDirectoryBytes = (256 + 3) * 4096;

// Opens (creating if needed, mode 0700) the store in `dir` with a limit of `byte_limit` bytes,
// its directories counted (kStoreDirectoryBytes).
// Throws hfs::Error: EACCES (unsafe owner or mode, with the path), EBUSY (locked by another
// mount), or the errno of a failed mkdir/open.
std::unique_ptr<ObjectStore> open_object_store(const std::filesystem::path& dir, std::uint64_t byte_limit);

}  // namespace hfs::cache
