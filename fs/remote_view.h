// The remote services as the filesystem sees them: every answer cached with a TTL, concurrent
// identical requests collapsed, and the last good answer served when a refresh fails
// (stale-if-error, logged).
//
// TTLs (documented in the README):
//   table list (registry)           1 h     cone-search answers            10 min
//   name resolution                 24 h    unknown names (negative)       5 min
//   DataLink directory of a row     1 h     archive listings + file sizes  1 h
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cache/ttl_cache.h"
#include "common/task_pool.h"
#include "fs/result_rows.h"
#include "fs/single_flight.h"
#include "vo/archive_client.h"
#include "vo/vo_client.h"

namespace hfs::fs {

struct RemoteTtls {
  std::chrono::seconds tables{3600};
  std::chrono::seconds resolve{24 * 3600};
  std::chrono::seconds resolve_negative{300};
  std::chrono::seconds cone{600};
  std::chrono::seconds datalink{3600};
  std::chrono::seconds listing{3600};
  // A failed size lookup is remembered this long: `ls -l` of a directory whose HEADs fail
  // sends them once, not once more per entry's lstat (seconds, not the listing TTL: a server
  // that recovers is used again soon).
  std::chrono::seconds failed_stat{10};
  // The deadline of one listing's size lookups together (timeout=), at most: a caller's own
  // deadline comes first. Also the whole deadline of one background prefetch job.
  std::chrono::milliseconds stat_fan_out{60000};
};

// One cone search: which table, where, how wide.
struct ConeQuery {
  std::string table;
  vo::SkyPosition center;
  double radius_deg = 1.0;
  std::string cache_key() const;
};

struct ArchiveEntry {
  std::string name;
  bool is_dir = false;
  std::string url;
  std::int64_t mtime = 0;
  std::optional<vo::ObjectInfo> object;  // files: exact size and validator (nullopt: stat failed)
  int stat_errno = 0;
  std::string stat_error;
};

struct ArchiveListing {
  std::string url;
  std::vector<ArchiveEntry> entries;
  const ArchiveEntry* find(const std::string& name) const;
};

// Whether a name from a remote listing or the registry can be a name in the tree: 1 to 255
// bytes (NAME_MAX), no '/', no NUL, not "." or "..". Others are skipped with a log line, so
// nothing is listed that cannot be looked up.
bool is_usable_name(std::string_view name);

// A failure already reported: a size lookup that failed moments ago, answered again from the
// memo (RemoteTtls::failed_stat) without a request. The FUSE edge logs it at debug, so the
// lstat storm of one `ls -l` adds no log line per entry (the listing's one line says it).
class RememberedFailure : public Error {
 public:
  using Error::Error;
};

class RemoteView : public std::enable_shared_from_this<RemoteView> {
 public:
  RemoteView(std::shared_ptr<vo::VoClient> vo, std::shared_ptr<vo::ArchiveClient> archive, RemoteTtls ttls = {},
             unsigned max_parallel_stats = 16);

  // Every call that may send a request takes the CallContext of the filesystem call it
  // serves: its requests (a chain: registry, cone, DataLink, listing, HEADs) all spend that
  // one deadline, none starts after it has passed (ETIMEDOUT) or the call was interrupted
  // (EINTR), and an interrupt ends the one in flight. Cached answers need no time.
  std::vector<vo::TableService> tables(const CallContext& call);
  // ENOENT when the authority has no such table with a cone search.
  vo::TableService table(const std::string& name, const CallContext& call);
  // ENOENT when the resolver has no position for the name.
  vo::SkyPosition resolve(const std::string& object_name, const CallContext& call);
  std::shared_ptr<const ResultRows> cone(const ConeQuery& query, const CallContext& call);
  // The archive directory URL of a row; nullopt when it has none (proprietary).
  std::optional<std::string> directory_of(const ConeQuery& query, const std::string& row_name, const CallContext& call);
  // Entries of an archive directory with every file's exact size (stats sent in parallel).
  // prefetch_levels > 0: as soon as the index page is read, the listings of its
  // subdirectories (and theirs, that many levels down) are fetched in the background, beside
  // this directory's size lookups, so a cold `ls -lR` of an observation costs a few round
  // trips instead of one per directory in series. Needs a background pool (set_background).
  // Each prefetch job runs under a CallContext of its own (deadline stat_fan_out), never the
  // caller's: an interrupted `ls` does not end it. The size lookups spend the caller's
  // deadline (at most stat_fan_out; they end a tenth of the time left before it, at most
  // 0.5 s, so the listing is still answered in time); sizes that fail by it are remembered as failed
  // (failed_stat) and the listing is served without them. An interrupted call caches nothing.
  std::shared_ptr<const ArchiveListing> listing(const std::string& dir_url, const CallContext& call,
                                                unsigned prefetch_levels = 0);
  // The DataLink directory of a row if it is cached and fresh; never sends a request.
  std::optional<std::string> cached_directory_of(const ConeQuery& query, const std::string& row_name) {
    auto found = directories_.get(directory_key(query, row_name));
    return found ? *found : std::nullopt;
  }
  // The listing if it is cached and fresh; never sends a request.
  std::shared_ptr<const ArchiveListing> cached_listing(const std::string& dir_url) {
    auto found = listings_.get(dir_url);
    return found ? *found : nullptr;
  }
  // The pool background prefetches run on (none: no prefetch).
  // Held weakly: the mount owns the pool and joins it from its own thread. (A job holds this
  // view while it runs; were the pool owned here, the job's release of the last reference
  // could destroy the pool on its own worker, which cannot join itself.)
  void set_background(std::weak_ptr<TaskPool> pool) { background_ = std::move(pool); }
  // Exact metadata of one file (used when the listing's parallel stat of it failed). Within
  // failed_stat of a failure, that failure again (RememberedFailure), without a request.
  vo::ObjectInfo stat(const std::string& url, const CallContext& call);

  vo::ArchiveClient& archive() { return *archive_; }

 private:
  static std::string directory_key(const ConeQuery& query, const std::string& row_name);
  template <class Value>
  Value cached(cache::TtlCache<Value>& cache, SingleFlight<Value>& flight, const std::string& key,
               std::chrono::seconds ttl, const CallContext& call, const std::function<Value()>& fetch);

  std::shared_ptr<vo::VoClient> vo_;
  std::shared_ptr<vo::ArchiveClient> archive_;
  std::weak_ptr<TaskPool> background_;
  RemoteTtls ttls_;
  unsigned max_parallel_stats_;

  using Tables = std::shared_ptr<const std::vector<vo::TableService>>;
  cache::TtlCache<Tables> tables_{4};
  SingleFlight<Tables> tables_flight_;
  // A resolved position, or nullopt for a name the resolver does not know (negative entry).
  cache::TtlCache<std::optional<vo::SkyPosition>> positions_{4096};
  SingleFlight<std::optional<vo::SkyPosition>> positions_flight_;
  cache::TtlCache<std::shared_ptr<const ResultRows>> cones_{512};
  SingleFlight<std::shared_ptr<const ResultRows>> cones_flight_;
  cache::TtlCache<std::optional<std::string>> directories_{16384};
  SingleFlight<std::optional<std::string>> directories_flight_;
  cache::TtlCache<std::shared_ptr<const ArchiveListing>> listings_{4096};
  // URL -> the errno and message of its last failed size lookup (see RemoteTtls::failed_stat).
  cache::TtlCache<std::pair<int, std::string>> failed_stats_{4096};
  SingleFlight<std::shared_ptr<const ArchiveListing>> listings_flight_;
};

}  // namespace hfs::fs
