// The text of /.heasarcfs/stats: one JSON object with the mount's counters, made fresh at each
// open of the file. Every number comes from a counter its owner keeps (the transfer engine,
// the fetcher, the object store, fuse_ops' ErrorCounts): nothing global.
//
//   uptime_seconds      since start_mount_context
//   requests            HTTP transfers: started (handed to libcurl), completed, failed
//                       (cancellations included), running, queued
//   bytes_fetched       body bytes received, every request together
//   bytes_in_flight     bytes of range requests asked for and not yet received
//   cache               hits / misses: blocks (block_size bytes) a read found in the cache /
//                       had to wait for; the store's bytes_used, byte_limit, objects, blocks,
//                       evictions, corrupt_blocks, write_errors
//   reads               the fetcher's parts: interactive, prefetch, promoted, cancelled,
//                       failed, retries, direct_reads (around the cache), collapsed_waits
//   errors              replies: FUSE requests answered with an error; by_errno: {"EIO": n, ...}
//   connections         per scheme://host:port: running (connections in use) and queued
//   nodes               nodes the filesystem holds (Filesystem::node_count: kernel-referenced
//                       ones, open files, the most recent unreferenced ones)
#pragma once

#include <string>

#include "cache/fetcher.h"
#include "cache/object_store.h"
#include "fs/error_counts.h"
#include "vo/transfer_engine.h"

namespace hfs::fs {

struct MountStats {
  double uptime_seconds = 0;
  vo::TransferStats transfers;
  cache::FetcherStats fetcher;
  cache::StoreStats store;
  std::map<int, std::uint64_t> errors;  // errno -> replies
  std::uint64_t nodes = 0;
};

std::string mount_stats_json(const MountStats& stats);

}  // namespace hfs::fs
