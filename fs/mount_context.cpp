#include "fs/mount_context.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>

namespace hfs::fs {

std::unique_ptr<MountContext> open_mount_context(const MountOptions& options) {
  auto context = std::make_unique<MountContext>();
  context->options = options;
  // `du` of cache_dir counts the directories too: the store's 256 fan-out subdirectories, its
  // objects/ and the directory itself, one 4 KiB block each, plus the lock file. They are kept
  // out of what the store may fill, so the whole directory stays within cache_size.
  constexpr std::uint64_t kDirectoryOverhead = (256 + 3) * 4096;
  const std::uint64_t store_limit =
      options.cache_size > 4 * kDirectoryOverhead ? options.cache_size - kDirectoryOverhead : options.cache_size;
  context->store = cache::open_object_store(options.cache_dir, store_limit);
  return context;
}

void start_mount_context(MountContext& context) {
  const auto& options = context.options;
  const auto timeout = std::chrono::duration_cast<std::chrono::milliseconds>(options.timeout);
  vo::EngineOptions engine_options;
  engine_options.connections_per_host = options.connections;
  engine_options.user_agent = std::string("heasarcfs/") + HEASARCFS_VERSION;
  engine_options.proxies = options.proxies;
  for (const char* name : {"no_proxy", "NO_PROXY"}) {
    if (const char* value = std::getenv(name)) {
      engine_options.no_proxy = value;
      break;
    }
  }
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
  // 4 threads: a listing prefetch is one index page then one parallel round of HEADs, which
  // wait on the engine (8 connections per host), not on the CPU.
  context.background = std::make_shared<TaskPool>(4, 256);
  context.remote->set_background(context.background);
  cache::FetcherConfig fetch;
  fetch.part_timeout = timeout;
  context.fetcher = cache::make_fetcher(*context.store, context.engine, fetch);
  FilesystemConfig config;
  config.default_radius_deg = options.radius_deg;
  config.registry_url = options.endpoints.registry;
  context.filesystem = std::make_unique<Filesystem>(config, context.remote, *context.fetcher);
  context.started = SteadyClock::now();
  context.filesystem->set_stats_source([&context] { return mount_stats_json(collect_mount_stats(context)); });
}

MountStats collect_mount_stats(const MountContext& context) {
  MountStats stats;
  stats.uptime_seconds = std::chrono::duration<double>(SteadyClock::now() - context.started).count();
  if (context.engine) stats.transfers = context.engine->stats();
  if (context.fetcher) stats.fetcher = context.fetcher->stats();
  if (context.store) stats.store = context.store->stats();
  stats.errors = context.errors.snapshot();
  return stats;
}

}  // namespace hfs::fs
