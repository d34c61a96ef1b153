// The persistent disk block cache.
//
// Contract (read this before changing anything here):
// - An object version is identified by ObjectKey = URL + validator (ETag, else Last-Modified,
//   else size; see vo::ObjectInfo::validator). A new version of a file is a new key: stale
//   bytes are never served, they simply age out of the LRU.
// - Objects are cut into fixed blocks of kBlockSize bytes (the last one shorter). A block is
//   one file under <dir>/blocks/ holding a header (magic, format version, URL, validator,
//   block index, payload length, CRC-32 of the payload) and the payload.
// - put() writes a temp file in the same directory and rename()s it into place, so a crash
//   never leaves a half-written block under a real name; leftover temp files are removed when
//   the cache is opened.
// - get() checks every header field and the CRC; a block that does not match is deleted,
//   logged, and reported as a miss. Wrong bytes are never returned.
// - The byte limit (payload + header, rounded to 4 KiB) is enforced at admission: put()
//   evicts least-recently-used blocks before writing, so the cache never exceeds its limit.
//   A block that cannot fit even in an empty cache is not admitted.
// - Write errors (ENOSPC, EIO, EROFS on the cache disk) are logged and the block is not
//   cached; the read that produced it still succeeds. The cache never throws on put().
// - open() rebuilds the index from the files on disk (recency = file mtime), so the cache
//   survives remounts and crashes; if the directory holds more than the limit, the oldest
//   blocks are evicted at open.
// - Layout: <dir>/lock, <dir>/blocks/<2 hex>/<16 hex FNV-1a of url '\n' validator>-<index>
//   (format in cache/block_file.h). Recency survives remounts through the file mtime, which a
//   hit refreshes at most once a minute per block.
// - Thread-safe. Several processes sharing one directory is not supported yet (a lock file
//   makes the second mount fail with EBUSY rather than corrupt the index).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace hfs::cache {

inline constexpr std::uint64_t kBlockSize = 256 * 1024;

struct ObjectKey {
  std::string url;
  std::string validator;
};

struct BlockCacheStats {
  std::uint64_t bytes_used = 0;
  std::uint64_t byte_limit = 0;
  std::uint64_t blocks = 0;
  std::uint64_t hits = 0;
  std::uint64_t misses = 0;
  std::uint64_t evictions = 0;
  std::uint64_t corrupt_blocks = 0;
  std::uint64_t write_errors = 0;
};

class BlockCache {
 public:
  virtual ~BlockCache() = default;

  // The payload of block `index` of the object, or nullopt (miss or failed check).
  virtual std::optional<std::string> get(const ObjectKey& object, std::uint64_t index) = 0;
  // Admits a block (payload at most kBlockSize bytes). Never throws; see the contract above.
  virtual void put(const ObjectKey& object, std::uint64_t index, std::string_view payload) = 0;
  // Whether the block is indexed, without reading it or changing its recency (a later get()
  // may still miss if the file turns out bad). Lets the fetcher skip read-ahead blocks it
  // already has without reading them from disk.
  virtual bool contains(const ObjectKey& object, std::uint64_t index) const = 0;
  virtual BlockCacheStats stats() const = 0;
};

// Opens (creating if needed) the cache in `dir` with a limit of `byte_limit` bytes.
// Throws hfs::Error when the directory cannot be created or is locked by another mount.
std::unique_ptr<BlockCache> open_disk_block_cache(const std::filesystem::path& dir, std::uint64_t byte_limit);

}  // namespace hfs::cache
