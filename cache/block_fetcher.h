// Reads byte ranges of remote objects through the block cache.
//
// - A read is served from cached blocks; the missing blocks are grouped into runs of adjacent
//   blocks and each run is fetched with one range request; runs go out in parallel (bounded).
// - Concurrent requests for the same block are collapsed: one download, every waiter gets its
//   bytes (cf. CernVM-FS fetch.h). A failed download wakes every waiter with the error.
// - Read-ahead: the caller passes how many bytes after the read to fetch as well (see
//   ReadaheadWindow); those blocks are admitted to the cache but not returned.
// - A downloaded block is checked for its exact length before it is returned or cached.
// - Read-ahead runs inside the read (no background downloads): it extends the request of a read
//   that misses, and a read served from the cache tops it up only when the first block it lacks
//   lies in the first half of the read-ahead range, so sequential readers refill in big requests.
//   A failed read-ahead-only request is logged, not reported to the reader.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "cache/block_cache.h"

namespace hfs::cache {

// Fetches exactly bytes [offset, offset+length) of the object version; throws hfs::Error.
// Called from several threads at once (parallel runs of one read, concurrent reads).
using RangeSource = std::function<std::string(std::uint64_t offset, std::uint64_t length)>;

struct RemoteObject {
  ObjectKey key;
  std::uint64_t size = 0;
  RangeSource source;
};

struct FetcherStats {
  std::uint64_t range_requests = 0;
  std::uint64_t bytes_downloaded = 0;
  std::uint64_t collapsed_waits = 0;
};

class BlockFetcher {
 public:
  virtual ~BlockFetcher() = default;
  // Bytes [offset, offset+length) clipped at the object's size ("" at or past the end).
  virtual std::string read(const RemoteObject& object, std::uint64_t offset, std::uint64_t length,
                           std::uint64_t readahead_bytes) = 0;
  virtual FetcherStats stats() const = 0;
};

// max_parallel: range requests in flight for one read; max_request_bytes: the largest single
// range request (runs longer than that are split).
std::unique_ptr<BlockFetcher> make_block_fetcher(BlockCache& cache, unsigned max_parallel,
                                                 std::uint64_t max_request_bytes);

// Per-open-file read-ahead: starts at 0 so header reads stay cheap (one block); the first
// sequential read sets it to twice that read's length, each further one doubles it, up to
// max_bytes; tolerates jitter (a read starting within one block of the previous end, before or
// after it) and resets to 0 on a real seek. Not thread-safe: one per open file, under its lock.
class ReadaheadWindow {
 public:
  explicit ReadaheadWindow(std::uint64_t max_bytes = 16 * 1024 * 1024) : max_bytes_(max_bytes) {}
  // Called once per read; returns how many bytes past offset+length to fetch ahead.
  std::uint64_t on_read(std::uint64_t offset, std::uint64_t length);

 private:
  std::uint64_t max_bytes_;
  std::uint64_t next_offset_ = 0;
  std::uint64_t window_ = 0;
  bool started_ = false;
};

}  // namespace hfs::cache
