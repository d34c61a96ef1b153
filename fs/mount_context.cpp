#include "fs/mount_context.h"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstring>

#include <cstdlib>
#include "cache/local_reader.h"
#include "common/error.h"
#include "common/log.h"
#include "vo/local_archive_client.h"
#include "vo/s3_archive_client.h"
#include "vo/site_cache_archive_client.h"

namespace hfs::fs {

namespace {

// The archive client of archive= (see ArchiveSource): every source falls back on, or is, the
// HTTP client over the one engine.
std::shared_ptr<vo::ArchiveClient> make_archive_client(const ArchiveSource& source,
                                                       std::shared_ptr<vo::HttpTransport> transport,
                                                       const vo::RetryPolicy& retry) {
  std::shared_ptr<vo::ArchiveClient> http = vo::make_http_archive_client(transport, retry);
  switch (source.kind) {
    case ArchiveSource::Kind::datalink: return http;
    case ArchiveSource::Kind::local:
      log::info("archive", "listings and bytes from the local tree " + source.location + " (missing parts over HTTP)");
      return vo::make_local_archive_client(source.location, std::move(http));
    case ArchiveSource::Kind::s3:
      log::info("archive", "listings and bytes from the S3 bucket " + source.location);
      return vo::make_s3_archive_client(std::move(transport), source.location, retry);
    case ArchiveSource::Kind::site_cache:
      log::info("archive", "listings and bytes through the site cache " + source.location);
      return vo::make_site_cache_archive_client(std::move(http), source.location);
  }
  return http;
}

}  // namespace

std::unique_ptr<MountContext> open_mount_context(const MountOptions& options) {
  if (options.archive.kind == ArchiveSource::Kind::local) {
    // A wrong archive=DIR stops the mount here, before anything is mounted.
    struct stat st {};
    if (::stat(options.archive.location.c_str(), &st) != 0)
      throw Error(errno, "archive=" + options.archive.location + ": " + std::strerror(errno));
    if (!S_ISDIR(st.st_mode)) throw Error(ENOTDIR, "archive=" + options.archive.location + ": not a directory");
  }
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
  engine_options.ca_info = options.ca_info.string();
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
  std::shared_ptr<vo::ArchiveClient> archive = make_archive_client(options.archive, context.transport, retry);
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
  fetch.connections = options.connections;
  context.fetcher = cache::make_fetcher(*context.store, context.engine, fetch);
  // archive=DIR: local files are read from themselves, never copied into the block cache.
  if (options.archive.kind == ArchiveSource::Kind::local)
    context.fetcher = cache::make_local_first_fetcher(std::move(context.fetcher));
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
  if (context.filesystem) stats.nodes = context.filesystem->node_count();
  return stats;
}

}  // namespace hfs::fs
