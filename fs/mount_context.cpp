#include "fs/mount_context.h"

#include <algorithm>
#include <chrono>

namespace hfs::fs {

std::unique_ptr<MountContext> open_mount_context(const MountOptions& options) {
  auto context = std::make_unique<MountContext>();
  context->options = options;
  // cache_size covers the whole directory: the block store and the metadata store each get
  // a share and count their own directories within it (cache/metadata_store.h).
  const auto budget = cache::split_cache_size(options.cache_size);
  context->store = cache::open_object_store(options.cache_dir, budget.objects);
  // After the block store, which holds the directory's lock.
  context->metadata = cache::open_metadata_store(options.cache_dir, budget.metadata);
  return context;
}

void start_mount_context(MountContext& context) {
  const auto& options = context.options;
  const auto timeout = std::chrono::duration_cast<std::chrono::milliseconds>(options.timeout);
  vo::EngineOptions engine_options;
  engine_options.connections_per_host = options.connections;
  engine_options.user_agent = std::string("heasarcfs/") + HEASARCFS_VERSION;
  // A connect never waits longer than the whole operation may take.
  if (timeout.count() > 0) engine_options.connect_timeout = std::min(engine_options.connect_timeout, timeout);
  context.engine = vo::make_curl_engine(engine_options);
  context.transport = vo::make_engine_transport(context.engine, timeout);
  // timeout= is the deadline of one remote operation, retries included: a hung server costs
  // a user's `ls` at most that long, then an error.
  vo::RetryPolicy retry;
  retry.deadline = timeout;
  std::shared_ptr<vo::VoClient> vo_client = vo::make_http_vo_client(context.transport, options.endpoints, retry);
  std::shared_ptr<vo::ArchiveClient> archive = vo::make_http_archive_client(context.transport, retry);
  RemoteTtls ttls;
  ttls.stat_fan_out = timeout;
  context.remote = std::make_shared<RemoteView>(std::move(vo_client), std::move(archive), ttls);
  RemotePersistence persistence;
  persistence.store = context.metadata;
  persistence.scope =
      options.endpoints.registry + "\n" + options.endpoints.resolver + "\n" + options.endpoints.authority;
  context.remote->set_persistence(std::move(persistence));
  // 4 threads: a listing prefetch is one index page then one parallel round of HEADs, which
  // wait on the engine (8 connections per host), not on the CPU.
  context.background = std::make_shared<TaskPool>(4, 256);
  context.remote->set_background(context.background);
  cache::FetcherConfig fetch;
  fetch.part_timeout = timeout;
  context.fetcher = cache::make_fetcher(*context.store, context.engine, fetch);
  FilesystemConfig config;
  config.default_radius_deg = options.radius_deg;
  context.filesystem = std::make_unique<Filesystem>(config, context.remote, *context.fetcher);
}

}  // namespace hfs::fs
