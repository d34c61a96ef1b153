#include "fs/remote_view.h"
#include "common/text.h"

#include <algorithm>
#include <cstdio>
#include <unordered_set>

#include "common/error.h"
#include "common/log.h"
#include "fs/remote_records.h"

namespace hfs::fs {
namespace {

using text::lower;

// Sesame ignores case and spaces in names; so does the cache key, so "NGC 4151" and
// "ngc4151" share one entry and one request.
std::string name_key(const std::string& name) {
  std::string key;
  for (char c : name)
    if (!std::isspace(static_cast<unsigned char>(c)))
      key += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return key;
}

}  // namespace

bool is_usable_name(std::string_view name) {
  return !name.empty() && name.size() <= 255 && name != "." && name != ".." &&
         name.find('/') == std::string_view::npos && name.find('\0') == std::string_view::npos;
}

std::string RemoteView::directory_key(const ConeQuery& query, const std::string& row_name) {
  return query.cache_key() + "|" + row_name;
}

std::string ConeQuery::cache_key() const {
  char buffer[128];
  std::snprintf(buffer, sizeof buffer, "|%.10f|%.10f|%.12g", center.ra_deg, center.dec_deg, radius_deg);
  return table + buffer;
}

const ArchiveEntry* ArchiveListing::find(const std::string& name) const {
  for (const auto& entry : entries)
    if (entry.name == name) return &entry;
  return nullptr;
}

RemoteView::RemoteView(std::shared_ptr<vo::VoClient> vo, std::shared_ptr<vo::ArchiveClient> archive, RemoteTtls ttls,
                       unsigned max_parallel_stats)
    : vo_(std::move(vo)),
      archive_(std::move(archive)),
      ttls_(ttls),
      max_parallel_stats_(max_parallel_stats),
      failed_stats_(4096, ttls.memo_clock),
      timed_out_dirs_(1024, ttls.memo_clock) {}

std::int64_t RemoteView::now_ms() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(persistence_.clock().time_since_epoch()).count();
}

std::string RemoteView::record_key(const std::string& kind, const std::string& key) const {
  return persistence_.scope + "\n" + kind + "\n" + key;
}

template <class Value>
Value RemoteView::cached(cache::TtlCache<Value>& cache, SingleFlight<Value>& flight, const std::string& key,
                         const Persisted<Value>& persisted, const CallContext& call,
                         const std::function<Value()>& fetch, bool force) {
  using std::chrono::duration_cast;
  using std::chrono::seconds;
  if (!force)
    if (auto fresh = cache.get(key)) return *fresh;
  return flight.run(key, call, [&]() -> Value {
    if (!force)
      if (auto fresh = cache.get(key)) return *fresh;
    const std::string record = record_key(persisted.kind, key);
    cache::MetadataStore* store = persistence_.store.get();
    // The disk's answer: fresh, it saves the request; stale, it is the fallback.
    std::optional<Value> stored;
    std::chrono::system_clock::time_point stored_at;
    if (store && !force && !cache.get_stale(key)) {
      if (auto found = store->get(record)) {
        stored = persisted.decode(found->value);
        stored_at = found->fetched;
        if (!stored) {
          log::warn("remote", "ignoring the stored " + persisted.kind + " of " + key.substr(0, 300) +
                                  ": its format is not this version's");
          store->erase(record);
        }
      }
      if (stored) {
        const auto age = persistence_.clock() - stored_at;
        const seconds ttl = persisted.ttl(*stored);
        if (age >= seconds(0) && age < ttl) {
          cache.put(key, *stored, duration_cast<std::chrono::steady_clock::duration>(ttl - age));
          fetched_.put(record, stored_at, std::chrono::hours(24 * 366));
          return *stored;
        }
      }
    }
    try {
      Value value = fetch();
      const auto now = persistence_.clock();
      cache.put(key, value, persisted.ttl(value));
      fetched_.put(record, now, std::chrono::hours(24 * 366));
      stale_reported_.erase(record);
      stale_.clear(key);
      if (store) store->put(record, persisted.encode(value), now);
      return value;
    } catch (const Error& error) {
      // ENOENT is an answer, not a failure: never paper over it with an old value. A forced
      // refresh says why it failed. An interrupted caller is gone: nothing to serve.
      if (force || error.errnum() == ENOENT || call.cancelled()) throw;
      std::optional<Value> stale = cache.get_stale(key);
      std::optional<std::chrono::system_clock::time_point> since = fetched_.get_stale(record);
      if (!stale && stored) {
        stale = std::move(stored);
        since = stored_at;
      }
      if (!stale) throw;
      if (!stale_reported_.get(record)) {
        stale_reported_.put(record, true, std::chrono::hours(1));
        std::string when = "earlier";
        if (since) {
          const auto at = std::chrono::system_clock::to_time_t(*since);
          const auto age = duration_cast<seconds>(persistence_.clock() - *since).count();
          when = "at " + text::utc_text(at, "%Y-%m-%dT%H:%M:%SZ") + " (" + std::to_string(age) + " s ago)";
        }
        log::warn("remote", "serving the stale " + persisted.kind + " of " + key.substr(0, 300) + " fetched " + when +
                                ": the refresh failed: " + error.what());
      }
      // Served as it is for a while: a walk does not ask the dead service at every lookup.
      cache.put(key, *stale, ttls_.stale_retry);
      stale_.mark(key);
      return *stale;
    }
  });
}

std::vector<vo::TableService> RemoteView::tables(const CallContext& call) { return *tables_answer(call, false); }

std::vector<vo::TableService> RemoteView::refresh_tables(const CallContext& call) { return *tables_answer(call, true); }

RemoteView::Tables RemoteView::tables_answer(const CallContext& call, bool force) {
  Persisted<Tables> persisted{"table list", [](const Tables& tables) { return records::encode_tables(*tables); },
                              [](std::string_view bytes) -> std::optional<Tables> {
                                auto tables = records::decode_tables(bytes);
                                if (!tables) return std::nullopt;
                                return std::make_shared<const std::vector<vo::TableService>>(std::move(*tables));
                              },
                              [this](const Tables&) { return ttls_.tables; }};
  return cached<Tables>(
      tables_, tables_flight_, "tables", persisted, call,
      [&] {
        call.throw_if_ended("registry query");
        auto found = vo_->cone_tables(call);
        std::erase_if(found, [](const vo::TableService& table) {
          if (is_usable_name(table.name)) return false;
          log::warn("registry", "skipping table '" + table.ivoid.substr(0, 300) + "': its name cannot be a file name");
          return true;
        });
        return std::make_shared<const std::vector<vo::TableService>>(std::move(found));
      },
      force);
}

vo::TableService RemoteView::table(const std::string& name, const CallContext& call) {
  auto wanted = lower(name);
  for (const auto& table : tables(call))
    if (lower(table.name) == wanted) return table;
  throw Error(ENOENT, "the registry lists no table '" + name + "' with a cone search");
}

vo::SkyPosition RemoteView::resolve(const std::string& object_name, const CallContext& call) {
  using Position = std::optional<vo::SkyPosition>;
  // An unknown name is an answer too, kept for the short negative TTL.
  Persisted<Position> persisted{
      "position", records::encode_position, records::decode_position,
      [this](const Position& position) { return position ? ttls_.resolve : ttls_.resolve_negative; }};
  auto position =
      cached<Position>(positions_, positions_flight_, name_key(object_name), persisted, call, [&]() -> Position {
        try {
          call.throw_if_ended("resolving '" + object_name + "'");
          return vo_->resolve(object_name, call);
        } catch (const Error& error) {
          if (error.errnum() != ENOENT) throw;
          log::info("resolve", error.what());
          return std::nullopt;
        }
      });
  if (!position) throw Error(ENOENT, "no position known for '" + object_name + "'");
  return *position;
}

std::shared_ptr<const ResultRows> RemoteView::cone(const ConeQuery& query, const CallContext& call) {
  return cone_answer(query, call, false);
}

std::shared_ptr<const ResultRows> RemoteView::refresh_cone(const ConeQuery& query, const CallContext& call) {
  return cone_answer(query, call, true);
}

std::shared_ptr<const ResultRows> RemoteView::cone_answer(const ConeQuery& query, const CallContext& call, bool force) {
  using Rows = std::shared_ptr<const ResultRows>;
  Persisted<Rows> persisted{"cone answer", [](const Rows& rows) { return records::encode_cone(rows->cone); },
                            [](std::string_view bytes) -> std::optional<Rows> {
                              auto cone = records::decode_cone(bytes);
                              if (!cone) return std::nullopt;
                              return std::make_shared<const ResultRows>(name_rows(std::move(*cone)));
                            },
                            [this](const Rows&) { return ttls_.cone; }};
  return cached<Rows>(
      cones_, cones_flight_, query.cache_key(), persisted, call,
      [&] {
        auto service = table(query.table, call);
        call.throw_if_ended("cone search of " + query.table);
        return std::make_shared<const ResultRows>(
            name_rows(vo_->cone_search(service, query.center, query.radius_deg, call)));
      },
      force);
}

std::optional<std::string> RemoteView::directory_of(const ConeQuery& query, const std::string& row_name,
                                                    const CallContext& call) {
  return directory_answer(query, row_name, call, false);
}

std::optional<std::string> RemoteView::refresh_directory_of(const ConeQuery& query, const std::string& row_name,
                                                            const CallContext& call) {
  return directory_answer(query, row_name, call, true);
}

std::optional<std::string> RemoteView::directory_answer(const ConeQuery& query, const std::string& row_name,
                                                        const CallContext& call, bool force) {
  using Directory = std::optional<std::string>;
  auto key = directory_key(query, row_name);
  Persisted<Directory> persisted{"DataLink directory", records::encode_directory, records::decode_directory,
                                 [this](const Directory&) { return ttls_.datalink; }};
  return cached<Directory>(
      directories_, directories_flight_, key, persisted, call,
      [&]() -> Directory {
        auto rows = cone(query, call);
        auto it = rows->row_by_name.find(row_name);
        if (it == rows->row_by_name.end()) throw Error(ENOENT, "no row '" + row_name + "' in " + query.table);
        call.throw_if_ended("DataLink of " + query.table + " row " + row_name);
        auto links = vo_->datalinks(rows->cone, it->second, call);
        auto directory = vo::find_directory_link(links);
        if (!directory) {
          log::info("datalink", query.table + " row " + row_name + ": no directory product among " +
                                    std::to_string(links.size()) +
                                    " DataLink rows; the data is likely proprietary (not public yet), so its "
                                    "directory is empty");
          return std::nullopt;
        }
        return directory->access_url;
      },
      force);
}

std::shared_ptr<const ArchiveListing> RemoteView::listing(const std::string& dir_url, const CallContext& call,
                                                          unsigned prefetch_levels) {
  return listing_answer(dir_url, call, prefetch_levels, false);
}

std::shared_ptr<const ArchiveListing> RemoteView::refresh_listing(const std::string& dir_url, const CallContext& call) {
  return listing_answer(dir_url, call, 0, true);
}

void RemoteView::invalidate_listing(const std::string& dir_url) {
  MutexLock lock(listing_update_mutex_);
  listings_.erase(dir_url);
  if (persistence_.store) persistence_.store->erase(record_key("listing", dir_url));
}

std::shared_ptr<const ArchiveListing> RemoteView::listing_answer(const std::string& dir_url, const CallContext& call,
                                                                 unsigned prefetch_levels, bool force) {
  using Listing = std::shared_ptr<const ArchiveListing>;
  Persisted<Listing> persisted{"listing", [](const Listing& listing) { return records::encode_listing(*listing); },
                               [](std::string_view bytes) -> std::optional<Listing> {
                                 auto listing = records::decode_listing(bytes);
                                 if (!listing) return std::nullopt;
                                 return std::make_shared<const ArchiveListing>(std::move(*listing));
                               },
                               [this](const Listing&) { return ttls_.listing; }};
  auto fetch = [&] {
    auto listing = std::make_shared<ArchiveListing>();
    listing->url = dir_url;
    std::vector<std::string> file_urls;
    call.throw_if_ended("listing " + dir_url);
    auto index = archive_->list(dir_url, call);
    auto background = background_.lock();
    if (prefetch_levels > 0 && background) {
      // At most this many subdirectories per listing: an observation has a handful; a huge
      // directory is not crawled.
      constexpr std::size_t kMaxPrefetchedSubdirectories = 32;
      std::size_t posted = 0;
      for (const auto& entry : index) {
        if (!entry.is_dir || posted == kMaxPrefetchedSubdirectories) continue;
        ++posted;
        background->post([weak = weak_from_this(), url = entry.url, levels = prefetch_levels - 1] {
          auto self = weak.lock();
          if (!self) return;
          try {
            // A deadline of its own: the job outlives the call that posted it.
            self->listing(url, CallContext::with_timeout(self->ttls_.stat_fan_out), levels);
          } catch (const std::exception& error) {
            log::debug("archive", "prefetch of the listing " + url + " failed: " + error.what());
          }
        });
      }
    }
    for (auto& entry : index) {
      if (!is_usable_name(entry.name)) {
        log::warn("archive", "skipping an entry of " + dir_url + " whose name cannot be a file name (" +
                                 std::to_string(entry.name.size()) + " bytes, or with '/' or NUL)");
        continue;
      }
      ArchiveEntry archive_entry;
      archive_entry.name = entry.name;
      archive_entry.is_dir = entry.is_dir;
      archive_entry.url = entry.url;
      archive_entry.mtime = entry.mtime.value_or(0);
      if (!entry.is_dir) file_urls.push_back(entry.url);
      listing->entries.push_back(std::move(archive_entry));
    }
    // Index pages round sizes ("1.7M"); exact sizes come from one HEAD per file, all of one
    // directory sent together with bounded parallelism, for the first kMaxSizesPerListing files.
    const std::size_t file_count = file_urls.size();
    if (file_count > kMaxSizesPerListing) {
      log::info("archive", std::to_string(file_count) + " files in " + dir_url + ": the sizes of the first " +
                               std::to_string(kMaxSizesPerListing) +
                               " looked up now, the others on their first lookup");
      file_urls.resize(kMaxSizesPerListing);
    }
    auto stats = archive_->stat_many(file_urls, max_parallel_stats_, fan_out_call(call));
    // Sizes that failed because the caller was interrupted say nothing about the server: an
    // interrupted listing is not cached (a deadline that passed is: its sizes failed).
    if (call.cancelled()) throw Error(EINTR, "size lookups in " + dir_url + ": interrupted");
    const std::int64_t listed_at = now_ms();
    std::size_t next = 0;
    FanOutFailures failures;
    for (auto& entry : listing->entries) {
      if (entry.is_dir) continue;
      if (next == stats.size()) break;  // beyond the cap: looked up alone when first asked for
      apply_size(entry, stats.at(next++), listed_at, failures);
    }
    if (failures.failed > 0)
      log::warn("archive", std::to_string(failures.failed) + " of " + std::to_string(stats.size()) + " sizes in " +
                               dir_url + " unknown (their lookups fail for " +
                               std::to_string(ttls_.failed_stat.count()) + " s), first: " + failures.first);
    note_fan_out(dir_url, failures);
    return std::shared_ptr<const ArchiveListing>(std::move(listing));
  };
  return cached<Listing>(listings_, listings_flight_, dir_url, persisted, call, fetch, force);
}

CallContext RemoteView::fan_out_call(const CallContext& call) const {
  // The caller's deadline, never longer than stat_fan_out, and ending a little before it (a
  // tenth of the time left, at most 0.5 s): a directory whose HEADs hang is then still
  // answered, its sizes unknown, within the deadline of its caller and of the calls that wait
  // on it (a follower that came just after has barely more time).
  const auto now = SteadyClock::now();
  auto end = call.deadline;
  if (end != SteadyClock::time_point::max() && end > now)
    end -= std::min<SteadyClock::duration>((end - now) / 10, std::chrono::milliseconds(500));
  CallContext fan_out = call;
  fan_out.deadline = std::min(end, now + ttls_.stat_fan_out);
  return fan_out;
}

void RemoteView::apply_size(ArchiveEntry& entry, const vo::ArchiveClient::StatResult& result, std::int64_t listed_at,
                            FanOutFailures& failures) {
  if (result.info) {
    entry.object = result.info;
    entry.object->listed_at = listed_at;
    if (result.info->mtime) entry.mtime = result.info->mtime;
    entry.stat_errno = 0;
    entry.stat_error.clear();
    return;
  }
  entry.stat_errno = result.errnum ? result.errnum : EIO;
  entry.stat_error = result.message;
  failed_stats_.put(entry.url, {entry.stat_errno, entry.stat_error}, ttls_.failed_stat);
  if (failures.failed++ == 0) failures.first = entry.url + ": " + result.message;
  if (entry.stat_errno == ETIMEDOUT) failures.timed_out = true;
}

void RemoteView::note_fan_out(const std::string& dir_url, const FanOutFailures& failures) {
  // A HEAD that ran out of time says the directory's server hangs: its other files are not
  // asked for meanwhile either (those beyond the listing's first kMaxSizesPerListing, each of
  // which would otherwise cost its lookup a whole deadline).
  if (failures.timed_out)
    timed_out_dirs_.put(dir_url,
                        "size lookups in " + dir_url + " timed out moments ago (first: " + failures.first + ")",
                        ttls_.failed_stat);
}

vo::ObjectInfo RemoteView::size_of(const std::shared_ptr<const ArchiveListing>& listing, const ArchiveEntry& entry,
                                   const CallContext& call) {
  const std::string& dir_url = listing->url;
  const std::string not_again = "; not asked again for " + std::to_string(ttls_.failed_stat.count()) + " s";
  if (auto failure = failed_stats_.get(entry.url))
    throw RememberedFailure(failure->first, failure->second + " (failed moments ago" + not_again + ")");
  if (auto timed_out = timed_out_dirs_.get(dir_url))
    throw RememberedFailure(ETIMEDOUT, entry.url + ": " + *timed_out + not_again);
  // Beyond the listing's first kMaxSizesPerListing files: never looked up, asked for alone.
  if (entry.stat_errno == 0) return stat_alone(dir_url, entry.url, call);
  auto answers = sizes_flight_.run(dir_url, call, [&] { return ask_failed_sizes_again(listing, entry, call); });
  auto answer = answers->find(entry.url);
  // Not among the sizes the fan-out it waited for asked (its memo expired just after that
  // one started, or the listing was replaced meanwhile): alone, at most one request.
  if (answer == answers->end()) return stat_alone(dir_url, entry.url, call);
  if (answer->second.info) return *answer->second.info;
  throw RememberedFailure(
      answer->second.errnum ? answer->second.errnum : EIO,
      answer->second.message + " (asked again with the other unknown sizes in " + dir_url + not_again + ")");
}

RemoteView::SizeAnswers RemoteView::ask_failed_sizes_again(const std::shared_ptr<const ArchiveListing>& listing,
                                                           const ArchiveEntry& wanted, const CallContext& call) {
  const std::string& dir_url = listing->url;
  // The newest version of the listing (an earlier fan-out may have found sizes since the
  // caller read it); the caller's when the cache no longer has one.
  auto cached = listings_.get_stale(dir_url);
  const std::shared_ptr<const ArchiveListing> base = cached ? *cached : listing;
  auto answers = std::make_shared<std::unordered_map<std::string, vo::ArchiveClient::StatResult>>();
  // The wanted file first, then every other file whose lookup failed and is not remembered
  // now. Only files whose lookup failed are asked (at most the listing's first
  // kMaxSizesPerListing, the others are never looked up in bulk).
  std::vector<std::string> urls;
  std::unordered_set<std::string> considered;
  auto consider = [&](const std::string& url, const std::optional<vo::ObjectInfo>& object, int stat_errno) {
    if (!considered.insert(url).second) return;
    if (object) {
      if (url == wanted.url) (*answers)[url].info = object;
      return;
    }
    if (stat_errno == 0 && url != wanted.url) return;
    if (auto failure = failed_stats_.get(url)) {
      if (url == wanted.url) (*answers)[url] = {std::nullopt, failure->first, failure->second};
      return;
    }
    urls.push_back(url);
  };
  const ArchiveEntry* in_base = base->find(wanted.name);
  if (in_base && in_base->url == wanted.url) consider(wanted.url, in_base->object, in_base->stat_errno);
  else consider(wanted.url, std::nullopt, wanted.stat_errno);
  for (const auto& entry : base->entries)
    if (!entry.is_dir && urls.size() < kMaxSizesPerListing) consider(entry.url, entry.object, entry.stat_errno);
  if (urls.empty()) return answers;

  call.throw_if_ended("size lookups in " + dir_url);
  auto stats = archive_->stat_many(urls, max_parallel_stats_, fan_out_call(call));
  // An interrupted call remembers nothing: its failures say nothing about the server.
  if (call.cancelled()) throw Error(EINTR, "size lookups in " + dir_url + ": interrupted");
  const std::int64_t listed_at = now_ms();
  auto next = std::make_shared<ArchiveListing>(*base);
  std::unordered_map<std::string, ArchiveEntry*> by_url;
  for (auto& entry : next->entries)
    if (!entry.is_dir) by_url.emplace(entry.url, &entry);
  FanOutFailures failures;
  std::size_t found = 0;
  for (std::size_t i = 0; i < urls.size(); ++i) {
    ArchiveEntry outside;  // the wanted file, when the listing no longer has it
    outside.url = urls[i];
    auto it = by_url.find(urls[i]);
    ArchiveEntry& entry = it != by_url.end() ? *it->second : outside;
    apply_size(entry, stats.at(i), listed_at, failures);
    auto& answer = (*answers)[urls[i]];
    answer.info = entry.object;
    answer.errnum = entry.stat_errno;
    answer.message = entry.stat_error;
    if (entry.object && &entry != &outside) ++found;
  }
  if (failures.failed > 0)
    log::warn("archive", std::to_string(failures.failed) + " of " + std::to_string(urls.size()) + " sizes in " +
                             dir_url + " unknown after asking again (their lookups fail for " +
                             std::to_string(ttls_.failed_stat.count()) + " s), first: " + failures.first);
  else log::debug("archive", std::to_string(urls.size()) + " sizes in " + dir_url + " found after asking again");
  note_fan_out(dir_url, failures);
  if (cached && found > 0) replace_listing(dir_url, base, std::move(next));
  return answers;
}

void RemoteView::replace_listing(const std::string& dir_url, const std::shared_ptr<const ArchiveListing>& base,
                                 std::shared_ptr<const ArchiveListing> next) {
  MutexLock lock(listing_update_mutex_);
  if (!listings_.replace_if(dir_url, base, next)) return;  // refetched or forgotten meanwhile
  cache::MetadataStore* store = persistence_.store.get();
  if (!store) return;
  // The same record, with the same fetch time: the sizes found since do not make the
  // listing younger. (A refetch of the same listing that lands between the swap above and
  // this write can be overwritten on disk by this older version; it is then only refetched
  // sooner: each version is whole, and aged by its own fetch time.)
  const std::string record = record_key("listing", dir_url);
  if (auto fetched = fetched_.get_stale(record)) store->put(record, records::encode_listing(*next), *fetched);
}

vo::ObjectInfo RemoteView::stat_alone(const std::string& dir_url, const std::string& url, const CallContext& call) {
  call.throw_if_ended("size of " + url);
  try {
    auto info = archive_->stat(url, call);
    info.listed_at = now_ms();
    return info;
  } catch (const Error& error) {
    // An interrupt says nothing about the server; ENOENT is an answer.
    if (error.errnum() != ENOENT && !call.cancelled()) {
      failed_stats_.put(url, {error.errnum(), error.what()}, ttls_.failed_stat);
      FanOutFailures failures;
      failures.timed_out = error.errnum() == ETIMEDOUT;
      failures.first = url + ": " + error.what();
      note_fan_out(dir_url, failures);
    }
    throw;
  }
}

}  // namespace hfs::fs
