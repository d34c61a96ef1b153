// Everything one mount owns, built from the options; handed to FUSE as its userdata. There is
// no other state: no globals, no singletons.
#pragma once

#include <memory>

#include "cache/fetcher.h"
#include "cache/metadata_store.h"
#include "cache/object_store.h"
#include "fs/error_counts.h"
#include "fs/filesystem.h"
#include "fs/mount_stats.h"
#include "fs/options.h"
#include "fs/remote_view.h"
#include "vo/archive_client.h"
#include "vo/http_transport.h"
#include "vo/transfer_engine.h"
#include "vo/vo_client.h"

namespace hfs::fs {

// Members are destroyed bottom-up: the filesystem and its readers first, then the fetcher,
// then the engine (which fails what is left in flight and calls their on_done), then the store.
struct MountContext {
  MountOptions options;
  SteadyClock::time_point started = SteadyClock::now();  // set again by start_mount_context
  ErrorCounts errors;                                    // FUSE replies by errno (fuse_ops.cpp's translate)
  std::unique_ptr<cache::ObjectStore> store;
  // Remote answers kept across mounts (RemoteView's persistence).
  std::shared_ptr<cache::MetadataStore> metadata;
  // Every HTTP request of the mount goes through this one engine (the transport below, range
  // reads). Declared after the store its callbacks write into, so it stops (ending what is
  // still in flight) before the store goes.
  std::shared_ptr<vo::TransferEngine> engine;
  std::shared_ptr<vo::HttpTransport> transport;
  std::unique_ptr<cache::Fetcher> fetcher;
  std::shared_ptr<TaskPool> background;  // listing prefetch (small files go to the engine directly)
  std::shared_ptr<RemoteView> remote;
  std::unique_ptr<Filesystem> filesystem;
};

// Opens the cache (creating cache_dir), so a locked, unsafe or unusable cache directory stops
// the mount before anything is mounted. Starts no threads.
std::unique_ptr<MountContext> open_mount_context(const MountOptions& options);

// The counters the stats file shows, read now (after start_mount_context).
MountStats collect_mount_stats(const MountContext& context);

// Builds the network side and the filesystem. Starts threads (the transfer engine), so it runs
// after FUSE has daemonized (fork keeps only the calling thread).
void start_mount_context(MountContext& context);

}  // namespace hfs::fs
