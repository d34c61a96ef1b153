// The remote services as the filesystem sees them: every answer cached with a TTL, concurrent
// identical requests collapsed, and the last good answer served when a refresh fails
// (stale-if-error, logged).
//
// TTLs (documented in the README):
//   table list (registry)           1 h     cone-search answers            10 min
//   name resolution                 24 h    unknown names (negative)       5 min
//   DataLink directory of a row     1 h     archive listings + file sizes  1 h
//
// Persistence (set_persistence): every answer is also written to the metadata store
// (cache/metadata_store.h, encoded by fs/remote_records.h) with its fetch time, so that a
// remount serves what an earlier mount fetched. On a miss in memory a record younger than its
// TTL is used without a request; an older one is what a failed refresh falls back to, like
// the in-memory answer: the service not answering (refused, unresolvable, timed out, 5xx...)
// serves the last good answer, says so once (what, fetched when) and asks again after
// RemoteTtls::stale_retry. ENOENT is an answer, never papered over. Nothing is read from disk
// when a fresh answer is in memory.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "cache/metadata_store.h"
#include "cache/ttl_cache.h"
#include "common/task_pool.h"
#include "common/thread_annotations.h"
#include "fs/result_rows.h"
#include "fs/single_flight.h"
#include "fs/stale_marks.h"
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
  // that recovers is used again soon). So are size lookups in a directory that timed out: a
  // file whose size is unknown is not asked for in it meanwhile (see RemoteView::size_of).
  std::chrono::seconds failed_stat{10};
  // The deadline of one listing's size lookups together (timeout=), at most: a caller's own
  // deadline comes first. Also the whole deadline of one background prefetch job.
  std::chrono::milliseconds stat_fan_out{60000};
  // After a refresh failed and the last good answer was served, it is served this long
  // before the service is asked again (a walk of a cached tree with the services down asks
  // once per answer per this long, not once per lookup).
  std::chrono::seconds stale_retry{10};
  // The clock of the failed_stat memos (tests move it by hand past failed_stat, without
  // sleeping); empty: the steady clock.
  std::function<std::chrono::steady_clock::time_point()> memo_clock{};
};

// Where answers persist across mounts.
struct RemotePersistence {
  std::shared_ptr<cache::MetadataStore> store;
  // What the answers depend on (registry, resolver, authority): part of every record's key,
  // so a cache directory used with another configuration does not serve its answers.
  std::string scope;
  // The wall clock the fetch times come from (tests inject one).
  std::function<std::chrono::system_clock::time_point()> clock = [] { return std::chrono::system_clock::now(); };
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

// The sizes of at most this many files of one listing are looked up (HEADs, 16 at a time)
// when the listing is made; a file beyond them gets its size on its own first lookup (one
// HEAD then), so a directory of 10^5 files costs 1024 HEADs to list, not 10^5. (A size that
// failed is asked again together with the listing's other failed ones: RemoteView::size_of.)
inline constexpr std::size_t kMaxSizesPerListing = 1024;

// Whether a name from a remote listing or the registry can be a name in the tree: 1 to 255
// bytes (NAME_MAX), no '/', no NUL, not "." or "..". Others are skipped with a log line, so
// nothing is listed that cannot be looked up.
bool is_usable_name(std::string_view name);

// A failure already reported: a size lookup that failed moments ago, answered again from the
// memo (RemoteTtls::failed_stat) without a request, or a lookup's share of a size fan-out
// whose one log line said it. The FUSE edge logs it at debug, so the lstat storm of one
// `ls -l` adds no log line per entry (the listing's, or the fan-out's, one line says it).
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
  // The exact metadata of `entry`, a file of `listing` (an answer of listing()) whose size
  // the listing lacks: what a lookup of it needs. Never one request per file of an `ls -l`:
  // - Its lookup failed within failed_stat, or a size lookup in its directory timed out
  //   within failed_stat: that failure again (RememberedFailure), without a request.
  // - Its lookup with the listing failed longer ago: the sizes of every file of the listing
  //   whose lookup failed and is not remembered any more are asked again together, in one
  //   fan-out under this call's deadline (ending before it as the listing's does), shared
  //   with the concurrent lookups of the same directory (each waits under its own call).
  //   Failures are remembered again (failed_stat) and said in one log line for the fan-out;
  //   this lookup's own is thrown as a RememberedFailure (that line said it). The sizes
  //   found go into a new version of the cached listing (same expiry, persisted with the
  //   listing's fetch time), so no later lookup or readdir asks for them. An interrupted
  //   call remembers and stores nothing.
  // - It is beyond the listing's first kMaxSizesPerListing files (never looked up): its own
  //   HEAD, alone (a huge directory is not stat'ed in bulk for one lookup); the size is not
  //   stored in the listing (the node keeps it), a failure is remembered, and a timeout
  //   stops the other lookups in the directory for failed_stat (first bullet).
  vo::ObjectInfo size_of(const std::shared_ptr<const ArchiveListing>& listing, const ArchiveEntry& entry,
                         const CallContext& call);

  // Answers persist in this store from now on (call before the view is used).
  void set_persistence(RemotePersistence persistence) { persistence_ = std::move(persistence); }

  // Ask again now whatever the cached answer's age (a user's `.refresh`, see Filesystem): the
  // new answer replaces the cached one in memory and on disk. A failure is thrown (no stale
  // fallback: the user asked for a new answer) and leaves the cached one in place.
  std::vector<vo::TableService> refresh_tables(const CallContext& call);
  std::shared_ptr<const ResultRows> refresh_cone(const ConeQuery& query, const CallContext& call);
  std::optional<std::string> refresh_directory_of(const ConeQuery& query, const std::string& row_name,
                                                  const CallContext& call);
  std::shared_ptr<const ArchiveListing> refresh_listing(const std::string& dir_url, const CallContext& call);
  // Forgets a listing in memory and on disk (a read found one of its files changed: ESTALE),
  // so the next lookup lists and stats the directory again.
  void invalidate_listing(const std::string& dir_url) EXCLUDES(listing_update_mutex_);

  vo::ArchiveClient& archive() { return *archive_; }

  // Since when (seconds since the epoch) the answer behind a cone query, a row's DataLink
  // directory or an archive listing has been served stale (its refresh failed); nullopt while
  // it is fresh. What user.heasarc.stale shows.
  std::optional<std::int64_t> stale_since_cone(const ConeQuery& query) const { return stale_.since(query.cache_key()); }
  std::optional<std::int64_t> stale_since_directory(const ConeQuery& query, const std::string& row_name) const {
    return stale_.since(directory_key(query, row_name));
  }
  std::optional<std::int64_t> stale_since_listing(const std::string& dir_url) const { return stale_.since(dir_url); }

 private:
  static std::string directory_key(const ConeQuery& query, const std::string& row_name);
  // How one kind of answer is kept on disk and how long it is fresh.
  template <class Value>
  struct Persisted {
    std::string kind;  // "listing", ...: part of the record key and of log lines
    std::function<std::string(const Value&)> encode;
    std::function<std::optional<Value>(std::string_view)> decode;
    std::function<std::chrono::seconds(const Value&)> ttl;
  };
  // The answer for `key`: fresh from memory, else fresh from disk, else fetched (stored in
  // both), else, when the fetch fails with anything but ENOENT, the last good answer from
  // memory or disk (logged once). `force`: fetch whatever is cached, and throw on failure.
  template <class Value>
  Value cached(cache::TtlCache<Value>& cache, SingleFlight<Value>& flight, const std::string& key,
               const Persisted<Value>& persisted, const CallContext& call, const std::function<Value()>& fetch,
               bool force = false);
  std::string record_key(const std::string& kind, const std::string& key) const;
  std::shared_ptr<const std::vector<vo::TableService>> tables_answer(const CallContext& call, bool force);
  std::shared_ptr<const ResultRows> cone_answer(const ConeQuery& query, const CallContext& call, bool force);
  std::optional<std::string> directory_answer(const ConeQuery& query, const std::string& row_name,
                                              const CallContext& call, bool force);
  std::shared_ptr<const ArchiveListing> listing_answer(const std::string& dir_url, const CallContext& call,
                                                       unsigned prefetch_levels, bool force);
  std::int64_t now_ms() const;
  // The deadline of one size fan-out under `call`: the call's, never longer than
  // stat_fan_out, ending a tenth of the time left (at most 0.5 s) before it.
  CallContext fan_out_call(const CallContext& call) const;
  // What one fan-out's failures add up to (for its one log line).
  struct FanOutFailures {
    std::size_t failed = 0;
    bool timed_out = false;
    std::string first;
  };
  // Sets `entry`'s size from `result`, or its failure (remembered for failed_stat).
  void apply_size(ArchiveEntry& entry, const vo::ArchiveClient::StatResult& result, std::int64_t listed_at,
                  FanOutFailures& failures);
  // After a fan-out in `dir_url`: remembers that it timed out.
  void note_fan_out(const std::string& dir_url, const FanOutFailures& failures);
  // One file's metadata, alone (a HEAD under `call`); a failure is remembered (failed_stat).
  vo::ObjectInfo stat_alone(const std::string& dir_url, const std::string& url, const CallContext& call);
  // URL -> what a size fan-out found (the sizes asked again together, see size_of).
  using SizeAnswers = std::shared_ptr<const std::unordered_map<std::string, vo::ArchiveClient::StatResult>>;
  SizeAnswers ask_failed_sizes_again(const std::shared_ptr<const ArchiveListing>& listing, const ArchiveEntry& wanted,
                                     const CallContext& call);
  // Puts `next` in place of the cached listing `base` (same expiry) and on disk (same fetch
  // time); nothing when `base` is no longer the cached one.
  void replace_listing(const std::string& dir_url, const std::shared_ptr<const ArchiveListing>& base,
                       std::shared_ptr<const ArchiveListing> next) EXCLUDES(listing_update_mutex_);

  std::shared_ptr<vo::VoClient> vo_;
  std::shared_ptr<vo::ArchiveClient> archive_;
  std::weak_ptr<TaskPool> background_;
  RemoteTtls ttls_;
  unsigned max_parallel_stats_;
  StaleMarks stale_;  // keys served stale by cached()

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
  cache::TtlCache<std::pair<int, std::string>> failed_stats_;
  // Directory URL -> the failure of a size lookup in it that timed out (failed_stat).
  cache::TtlCache<std::string> timed_out_dirs_;
  SingleFlight<std::shared_ptr<const ArchiveListing>> listings_flight_;
  // Directory URL -> its failed sizes being asked again (size_of).
  SingleFlight<SizeAnswers> sizes_flight_;
  // Held while a listing is replaced by a version with more sizes (memory, then disk) and
  // while one is forgotten (invalidate_listing), so that a forgotten listing is not written
  // back. Lock order: this, then the caches' and the metadata store's own (leaves).
  Mutex listing_update_mutex_;

  RemotePersistence persistence_;  // set before use, then read-only
  // Record key -> when its answer in memory was fetched (for the stale log line).
  cache::TtlCache<std::chrono::system_clock::time_point> fetched_{32768};
  // Record keys whose stale answer was reported: said once (per hour) per answer.
  cache::TtlCache<bool> stale_reported_{4096};
};

}  // namespace hfs::fs
