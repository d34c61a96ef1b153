// The extended attributes of the tree (README "Extended attributes"):
//   user.heasarc.url     where the node comes from: the archive URL of a file or directory
//                        (a row: its DataLink directory), the cone-search service of a table,
//                        target or filter directory and its .results.* files, the registry
//                        for "/"
//   user.heasarc.query   the request behind it: the cone-search URL of a target or filter
//                        directory (and its .results.*), the DataLink request of a row and of
//                        everything inside it
//   user.heasarc.cached  archive files: "<bytes in the cache>/<size>"
//   user.heasarc.stale   only while the answer behind the node is served stale (its refresh
//                        failed): since when, UTC
#include <cerrno>

#include "common/error.h"
#include "common/text.h"
#include "fs/filesystem.h"
#include "vo/cone_search.h"

namespace hfs::fs {

std::shared_ptr<const Node> Filesystem::enclosing_row(const Node& start) const {
  // Archive nodes sit at most a few levels below their row; the kernel holds every ancestor
  // of a node it holds, so the walk finds them (a forgotten one ends it: no row).
  std::uint64_t ino = start.parent;
  for (int depth = 0; depth < 64 && ino != kRootInode; ++depth) {
    std::shared_ptr<const Node> current;
    try {
      current = node(ino);
    } catch (const Error&) {
      return nullptr;
    }
    if (current->as<RowNode>()) return current;
    if (!current->as<ArchiveDirNode>()) return nullptr;
    ino = current->parent;
  }
  return nullptr;
}

std::optional<std::string> Filesystem::source_url(const Node& current, const CallContext& call) {
  if (current.as<RootNode>()) {
    if (config_.registry_url.empty()) return std::nullopt;
    return config_.registry_url;
  }
  if (current.as<TableNode>() || current.as<QueryNode>() || current.as<ResultsFileNode>())
    return remote_->table(current.table, call).cone_url;
  if (auto row = current.as<RowNode>()) return remote_->directory_of(row->query->cone, row->row_name, call);
  if (auto dir = current.as<ArchiveDirNode>()) return dir->url;
  if (auto file = current.as<ArchiveFileNode>()) return file->url;
  return std::nullopt;
}

std::optional<std::string> Filesystem::request_url(const Node& current, const CallContext& call) {
  const QueryPath* query = nullptr;
  if (auto dir = current.as<QueryNode>()) query = dir->query.get();
  if (auto results = current.as<ResultsFileNode>()) query = results->query.get();
  if (query) {
    return vo::cone_search_url(remote_->table(query->cone.table, call).cone_url, query->cone.center,
                               query->cone.radius_deg);
  }
  if (auto row = current.as<RowNode>()) {
    auto rows = remote_->cone(row->query->cone, call);
    auto it = rows->row_by_name.find(row->row_name);
    if (it == rows->row_by_name.end()) return std::nullopt;
    return vo::datalink_url_for_row(rows->cone, it->second);
  }
  if (current.is_archive()) {
    if (auto row = enclosing_row(current)) return request_url(*row, call);
  }
  return std::nullopt;
}

// In memory only (xattr_names uses it on every `ls -l` entry).
std::optional<std::int64_t> Filesystem::stale_since(const Node& current) {
  const QueryPath* query = nullptr;
  if (auto dir = current.as<QueryNode>()) query = dir->query.get();
  if (auto results = current.as<ResultsFileNode>()) query = results->query.get();
  if (query) return remote_->stale_since_cone(query->cone);
  auto listing_of = [&](const Node& directory) -> std::optional<std::string> {
    if (auto row = directory.as<RowNode>()) return remote_->cached_directory_of(row->query->cone, row->row_name);
    if (auto dir = directory.as<ArchiveDirNode>()) return dir->url;
    return std::nullopt;
  };
  if (auto row = current.as<RowNode>()) {
    if (auto since = remote_->stale_since_cone(row->query->cone)) return since;
    if (auto since = remote_->stale_since_directory(row->query->cone, row->row_name)) return since;
  }
  if (current.as<RowNode>() || current.as<ArchiveDirNode>()) {
    if (auto url = listing_of(current)) return remote_->stale_since_listing(*url);
    return std::nullopt;
  }
  if (current.as<ArchiveFileNode>()) {
    std::shared_ptr<const Node> parent;
    try {
      parent = node(current.parent);
    } catch (const Error&) {
      return std::nullopt;
    }
    if (auto url = listing_of(*parent)) return remote_->stale_since_listing(*url);
  }
  return std::nullopt;
}

std::vector<std::string> Filesystem::xattr_names(std::uint64_t ino) {
  auto current = node(ino);
  std::vector<std::string> names;
  bool has_url = current->is_archive() || current->as<TableNode>() || current->as<QueryNode>() ||
                 current->as<ResultsFileNode>() || (current->as<RootNode>() && !config_.registry_url.empty());
  if (auto row = current->as<RowNode>()) {
    // Listed once the row's DataLink answer is known (a proprietary row has no directory).
    auto directory = remote_->cached_directory_of(row->query->cone, row->row_name);
    has_url = directory.has_value();
  }
  if (has_url) names.emplace_back(kXattrUrl);
  const bool has_query = current->as<QueryNode>() || current->as<ResultsFileNode>() || current->as<RowNode>() ||
                         (current->is_archive() && enclosing_row(*current));
  if (has_query) names.emplace_back(kXattrQuery);
  if (auto file = current->as<ArchiveFileNode>(); file && file->object) names.emplace_back(kXattrCached);
  if (stale_since(*current)) names.emplace_back(kXattrStale);
  return names;
}

std::string Filesystem::xattr(std::uint64_t ino, const std::string& name, const CallContext& call) {
  if (name != kXattrUrl && name != kXattrQuery && name != kXattrCached && name != kXattrStale)
    throw Error(ENODATA, "no attribute " + name);  // security.capability & co, asked all the time
  return within_call(call, [&] { return xattr_within(ino, name, call); });
}

std::string Filesystem::xattr_within(std::uint64_t ino, const std::string& name, const CallContext& call) {
  auto current = node(ino);
  std::optional<std::string> value;
  if (name == kXattrUrl) {
    value = source_url(*current, call);
  } else if (name == kXattrQuery) {
    value = request_url(*current, call);
  } else if (name == kXattrCached) {
    if (auto file = current->as<ArchiveFileNode>(); file && file->object)
      value = std::to_string(fetcher_.cached_bytes(*file->object)) + "/" + std::to_string(file->object->size);
  } else if (name == kXattrStale) {
    if (auto since = stale_since(*current)) value = text::utc_text(*since, "%Y-%m-%dT%H:%M:%SZ");
  }
  if (!value) throw Error(ENODATA, "no attribute " + name);
  return *value;
}

}  // namespace hfs::fs
