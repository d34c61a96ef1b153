#include "fs/remote_view.h"
#include "common/text.h"

#include <algorithm>
#include <cstdio>

#include "common/error.h"
#include "common/log.h"

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
    : vo_(std::move(vo)), archive_(std::move(archive)), ttls_(ttls), max_parallel_stats_(max_parallel_stats) {}

template <class Value>
Value RemoteView::cached(cache::TtlCache<Value>& cache, SingleFlight<Value>& flight, const std::string& key,
                         std::chrono::seconds ttl, const CallContext& call, const std::function<Value()>& fetch) {
  if (auto fresh = cache.get(key)) return *fresh;
  return flight.run(key, call, [&]() -> Value {
    if (auto fresh = cache.get(key)) return *fresh;  // another flight finished meanwhile
    try {
      Value value = fetch();
      cache.put(key, value, ttl);
      return value;
    } catch (const Error& error) {
      // ENOENT is an answer, not a failure: never paper over it with an old value. An
      // interrupted caller is gone: nothing to serve.
      if (error.errnum() != ENOENT && !call.cancelled()) {
        if (auto stale = cache.get_stale(key)) {
          log::warn("remote", "serving the last good answer for " + key + " (refresh failed: " + error.what() + ")");
          return *stale;
        }
      }
      throw;
    }
  });
}

std::vector<vo::TableService> RemoteView::tables(const CallContext& call) {
  auto tables = cached<Tables>(tables_, tables_flight_, "tables", ttls_.tables, call, [&] {
    call.throw_if_ended("registry query");
    auto found = vo_->cone_tables(call);
    std::erase_if(found, [](const vo::TableService& table) {
      if (is_usable_name(table.name)) return false;
      log::warn("registry", "skipping table '" + table.ivoid.substr(0, 300) + "': its name cannot be a file name");
      return true;
    });
    return std::make_shared<const std::vector<vo::TableService>>(std::move(found));
  });
  return *tables;
}

vo::TableService RemoteView::table(const std::string& name, const CallContext& call) {
  auto wanted = lower(name);
  for (const auto& table : tables(call))
    if (lower(table.name) == wanted) return table;
  throw Error(ENOENT, "the registry lists no table '" + name + "' with a cone search");
}

vo::SkyPosition RemoteView::resolve(const std::string& object_name, const CallContext& call) {
  auto key = name_key(object_name);
  auto position = positions_.get(key);
  if (!position) {
    // Not through cached(): an unknown name is cached too, but only for the short negative TTL.
    position = positions_flight_.run(key, call, [&]() -> std::optional<vo::SkyPosition> {
      if (auto fresh = positions_.get(key)) return *fresh;
      try {
        call.throw_if_ended("resolving '" + object_name + "'");
        auto found = vo_->resolve(object_name, call);
        positions_.put(key, found, ttls_.resolve);
        return found;
      } catch (const Error& error) {
        if (error.errnum() == ENOENT) {
          log::info("resolve", error.what());
          positions_.put(key, std::nullopt, ttls_.resolve_negative);
          return std::nullopt;
        }
        if (auto stale = positions_.get_stale(key); stale && *stale && !call.cancelled()) {
          log::warn("resolve",
                    "using the last known position of '" + object_name + "' (resolver failed: " + error.what() + ")");
          return *stale;
        }
        throw;
      }
    });
  }
  if (!*position) throw Error(ENOENT, "no position known for '" + object_name + "'");
  return **position;
}

std::shared_ptr<const ResultRows> RemoteView::cone(const ConeQuery& query, const CallContext& call) {
  return cached<std::shared_ptr<const ResultRows>>(cones_, cones_flight_, query.cache_key(), ttls_.cone, call, [&] {
    auto service = table(query.table, call);
    call.throw_if_ended("cone search of " + query.table);
    return std::make_shared<const ResultRows>(
        name_rows(vo_->cone_search(service, query.center, query.radius_deg, call)));
  });
}

std::optional<std::string> RemoteView::directory_of(const ConeQuery& query, const std::string& row_name,
                                                    const CallContext& call) {
  auto key = directory_key(query, row_name);
  return cached<std::optional<std::string>>(
      directories_, directories_flight_, key, ttls_.datalink, call, [&]() -> std::optional<std::string> {
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
      });
}

std::shared_ptr<const ArchiveListing> RemoteView::listing(const std::string& dir_url, const CallContext& call,
                                                          unsigned prefetch_levels) {
  return cached<std::shared_ptr<const ArchiveListing>>(listings_, listings_flight_, dir_url, ttls_.listing, call, [&] {
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
    // directory sent together with bounded parallelism.
    // The caller's deadline, never longer than stat_fan_out, and ending a little before it (a
    // tenth of the time left, at most 0.5 s): a listing whose HEADs hang is then still
    // answered, its sizes unknown, within the deadline of its caller and of the calls that
    // wait on it (a follower that came just after has barely more time).
    const auto now = SteadyClock::now();
    auto fan_out_end = call.deadline;
    if (fan_out_end != SteadyClock::time_point::max() && fan_out_end > now)
      fan_out_end -= std::min<SteadyClock::duration>((fan_out_end - now) / 10, std::chrono::milliseconds(500));
    CallContext fan_out = call;
    fan_out.deadline = std::min(fan_out_end, now + ttls_.stat_fan_out);
    auto stats = archive_->stat_many(file_urls, max_parallel_stats_, fan_out);
    // Sizes that failed because the caller was interrupted say nothing about the server: an
    // interrupted listing is not cached (a deadline that passed is: its sizes failed).
    if (call.cancelled()) throw Error(EINTR, "size lookups in " + dir_url + ": interrupted");
    std::size_t next = 0, failed = 0;
    std::string first_failure;
    for (auto& entry : listing->entries) {
      if (entry.is_dir) continue;
      auto& result = stats.at(next++);
      if (result.info) {
        entry.object = result.info;
        if (result.info->mtime) entry.mtime = result.info->mtime;
      } else {
        entry.stat_errno = result.errnum ? result.errnum : EIO;
        entry.stat_error = result.message;
        failed_stats_.put(entry.url, {entry.stat_errno, entry.stat_error}, ttls_.failed_stat);
        if (failed++ == 0) first_failure = entry.url + ": " + result.message;
      }
    }
    if (failed > 0)
      log::warn("archive", std::to_string(failed) + " of " + std::to_string(file_urls.size()) + " sizes in " + dir_url +
                               " unknown (their lookups fail for " + std::to_string(ttls_.failed_stat.count()) +
                               " s), first: " + first_failure);
    return std::shared_ptr<const ArchiveListing>(std::move(listing));
  });
}

vo::ObjectInfo RemoteView::stat(const std::string& url, const CallContext& call) {
  if (auto failure = failed_stats_.get(url))
    throw RememberedFailure(failure->first, failure->second + " (failed moments ago; not asked again for " +
                                                std::to_string(ttls_.failed_stat.count()) + " s)");
  call.throw_if_ended("size of " + url);
  try {
    return archive_->stat(url, call);
  } catch (const Error& error) {
    // An interrupt says nothing about the server; ENOENT is an answer.
    if (error.errnum() != ENOENT && !call.cancelled())
      failed_stats_.put(url, {error.errnum(), error.what()}, ttls_.failed_stat);
    throw;
  }
}

}  // namespace hfs::fs
