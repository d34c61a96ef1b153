// Reads archive objects through the disk cache: on-demand parts for what a reader is blocked
// on, a background prefetcher per reader, every byte streamed from the socket into the cache.
//
// Contract (tests/unit/test_fetcher.cpp checks each point):
// - One shared state per open object version (URL + validator): every reader and every part of
//   that version meet there, so each block is downloaded once however many readers and
//   prefetchers want it.
// - read() waits only for the blocks it returns. Blocks already present are served at once,
//   whatever the prefetcher is doing; missing blocks not in flight are fetched as interactive
//   parts (runs of adjacent blocks); blocks already in flight in a prefetch part are waited for
//   and that part is promoted to interactive.
// - A waiter wakes when its blocks land, not when their whole part ends: parts commit block by
//   block as bytes arrive (write -> CRC -> commit -> notify).
// - Prefetch follows the reader's ReadaheadPolicy (cache/readahead_policy.h): parts of
//   min(4 MiB, window/8), ordered by distance from the reader, sent at prefetch priority. A real
//   seek cancels the reader's prefetch parts that have not started answering. When the engine
//   already has `connections` transfers waiting, prefetch parts are cut at max_part_bytes
//   (FetcherConfig::connections). The object's last `connections` MiB go in parts of at most
//   1 MiB, so the connections finish a file together. A failed prefetch
//   part fails no read: a read that needs one of its blocks fetches it again.
// - The same window over blocks already cached is a will_need hint to the cache (read from the
//   disk ahead of the reader).
// - Small objects (at most `whole_file_bytes`) are fetched whole on their first read.
// - Failures a new attempt may fix (5xx/429 with Retry-After, resets, truncated bodies,
//   stalls, a 200 to a range request) are retried by the waiting reader within its call's
//   deadline, with backoff; others (ESTALE, ENOENT, ...) fail the read with their errno. A
//   reader's deadline or cancel token ends its wait at once (ETIMEDOUT / ECANCELED); the parts
//   it started go on for whoever else wants them, and into the cache.
// - Wrong bytes are never returned: every answer's head is checked (vo/range_answer.h), every
//   block checksummed as it lands and verified on first use (cache/object_store.h); a block
//   that fails its check is fetched again.
// - Memory: no body buffering here -- bytes go from the engine's receive buffer straight into
//   the cache file. Only when the cache cannot take a block (full of pinned blocks, a write
//   error, no cache object) does a read fall back to fetching its own range into memory.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "cache/object_store.h"
#include "cache/readahead_policy.h"
#include "common/cancel.h"
#include "vo/archive_client.h"
#include "vo/transfer_engine.h"

namespace hfs::cache {

struct FetcherConfig {
  ReadaheadConfig readahead;
  std::uint64_t whole_file_bytes = 1ull << 20;
  std::uint64_t max_interactive_part_bytes = 4ull << 20;
  unsigned max_attempts = 4;  // per read: the first try plus 3 retries
  std::chrono::milliseconds initial_backoff{250};
  std::chrono::milliseconds max_backoff{8000};
  // A part's own deadline (prefetch parts have no caller to lend them one).
  std::chrono::milliseconds part_timeout{60000};
  // The engine's connections per host. When at least this many transfers already wait for a
  // connection, more parts in flight buy nothing: new prefetch parts are then cut at
  // readahead.max_part_bytes instead of window/8, so many readers sharing the connections pay
  // one round trip per 4 MiB, not per 128 KiB (16 readers ramping up their windows at once).
  unsigned connections = 8;
};

// The answer to one read: a pinned range of the cache's data file for a zero-copy reply, or
// the bytes themselves.
struct ReadReply {
  std::unique_ptr<Pin> pin;  // when set: reply with `length` bytes of pin->fd() at `offset`
  std::uint64_t offset = 0;
  std::uint64_t length = 0;  // bytes in the reply (clipped at the object's end)
  std::string bytes;         // when pin is null: the reply (bytes.size() == length)
};

struct FetcherStats {
  std::uint64_t interactive_parts = 0;
  std::uint64_t prefetch_parts = 0;
  std::uint64_t promoted_parts = 0;
  std::uint64_t cancelled_parts = 0;
  std::uint64_t failed_parts = 0;
  std::uint64_t bytes_received = 0;
  std::uint64_t blocks_committed = 0;
  std::uint64_t retries = 0;
  std::uint64_t direct_reads = 0;     // reads served without the cache (fallback)
  std::uint64_t collapsed_waits = 0;  // reads that waited for a part someone else started
  std::uint64_t block_hits = 0;       // blocks a read found in the cache
  std::uint64_t block_misses = 0;     // blocks a read waited for (a read around the cache counts its blocks)
};

// One open file handle's reader. Thread-safe: FUSE may run several reads of one handle at once.
class FileReader {
 public:
  virtual ~FileReader() = default;
  // Bytes [offset, offset + length) clipped at the object's size (empty at or past the end).
  virtual ReadReply read(std::uint64_t offset, std::uint64_t length, const CallContext& call) = 0;
};

class Fetcher {
 public:
  virtual ~Fetcher() = default;
  // A reader of the object version `info` (its URL, size and validators).
  virtual std::unique_ptr<FileReader> open(const vo::ObjectInfo& info) = 0;
  // Fetches a small object (at most whole_file_bytes) into the cache in the background, at
  // prefetch priority, unless it is there or on its way already: the next files of a
  // directory `cp -r` is copying. Larger objects are ignored.
  virtual void prefetch_whole(const vo::ObjectInfo& info) = 0;
  virtual FetcherStats stats() const = 0;
  // Bytes of the object version in the cache (ObjectStore::cached_bytes): nothing is opened.
  virtual std::uint64_t cached_bytes(const vo::ObjectInfo& info) const = 0;
};

std::unique_ptr<Fetcher> make_fetcher(ObjectStore& store, std::shared_ptr<vo::TransferEngine> engine,
                                      FetcherConfig config = {});

}  // namespace hfs::cache
