#include "fs/filesystem.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>

#include "common/error.h"
#include "common/log.h"

namespace hfs::fs {

struct Filesystem::OpenFile {
  std::shared_ptr<const Node> node;
  std::string content;                         // results_csv: the text, made at open
  std::unique_ptr<cache::FileReader> reader;   // archive_file
};

Filesystem::Filesystem(FilesystemConfig config, std::shared_ptr<RemoteView> remote, cache::Fetcher& fetcher)
    : config_(config), remote_(std::move(remote)), fetcher_(fetcher), mount_time_(std::time(nullptr)) {
  auto root = std::make_shared<Node>();
  root->ino = kRootInode;
  root->parent = kRootInode;
  root->kind = NodeKind::root;
  nodes_.emplace(kRootInode, std::move(root));
}

std::shared_ptr<const Node> Filesystem::node(std::uint64_t ino) const {
  MutexLock lock(nodes_mutex_);
  auto it = nodes_.find(ino);
  if (it == nodes_.end()) throw Error(ESTALE, "inode " + std::to_string(ino) + " is not known");
  return it->second;
}

std::shared_ptr<const Node> Filesystem::intern(std::uint64_t parent, const std::string& name, Node child) {
  MutexLock lock(nodes_mutex_);
  child.parent = parent;
  child.name = name;
  auto key = std::make_pair(parent, name);
  if (auto it = names_.find(key); it != names_.end()) {
    child.ino = it->second;
    auto& existing = nodes_.at(child.ino);
    // A listing whose parallel stat missed a file knows less than the lookup that stat'ed it
    // alone: keep the size and validator the kernel was given (open needs them).
    if (child.kind == NodeKind::archive_file && !child.object && existing->kind == NodeKind::archive_file &&
        existing->object && existing->url == child.url)
      return existing;
    bool same = existing->kind == child.kind && existing->size == child.size && existing->url == child.url &&
                existing->csv_basis.lock() == child.csv_basis.lock() &&
                existing->mtime == child.mtime &&
                (existing->object ? existing->object->validator() : "") ==
                    (child.object ? child.object->validator() : "");
    if (!same) existing = std::make_shared<const Node>(std::move(child));
    return existing;
  }
  child.ino = next_ino_++;
  auto stored = std::make_shared<const Node>(std::move(child));
  names_.emplace(key, stored->ino);
  nodes_.emplace(stored->ino, stored);
  return stored;
}

Attributes Filesystem::attributes_of(const Node& node) const {
  Attributes attributes;
  attributes.ino = node.ino;
  attributes.is_dir = node.is_dir();
  // Directories report size 0 so that `du -b` of a row equals the bytes of its files.
  attributes.size = node.is_dir() ? 0 : node.size;
  attributes.mtime = node.mtime ? node.mtime : mount_time_;
  return attributes;
}

Entry Filesystem::entry_of(const Node& node) const {
  Entry entry;
  entry.attributes = attributes_of(node);
  bool archive = node.kind == NodeKind::archive_dir || node.kind == NodeKind::archive_file;
  entry.entry_timeout = archive ? config_.archive_timeout_s : config_.virtual_timeout_s;
  // .results.csv is regenerated when the cone answer is refreshed: its size must not linger.
  entry.attr_timeout = node.kind == NodeKind::results_csv ? 1.0 : entry.entry_timeout;
  return entry;
}

Entry Filesystem::lookup(std::uint64_t parent, const std::string& name) {
  auto directory = node(parent);
  if (!directory->is_dir()) throw Error(ENOTDIR, "not a directory");
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos)
    throw Error(ENOENT, "no entry '" + name + "'");
  return entry_of(*lookup_node(*directory, name));
}

std::shared_ptr<const Node> Filesystem::lookup_node(const Node& parent, const std::string& name) {
  switch (parent.kind) {
    case NodeKind::root: {
      for (const auto& table : remote_->tables()) {
        if (table.name != name) continue;
        Node child;
        child.kind = NodeKind::table;
        child.table = table.name;
        return intern(parent.ino, name, std::move(child));
      }
      throw Error(ENOENT, "no table '" + name + "' with a cone search at this registry");
    }
    case NodeKind::table: {
      auto target = parse_target_segment(name);
      if (!target) throw Error(ENOENT, "'" + name + "' is not a target (an object name or RA,Dec[@radius])");
      auto query = std::make_shared<QueryPath>();
      query->cone.table = parent.table;
      query->cone.center = target->is_position ? target->position : remote_->resolve(target->object_name);
      query->cone.radius_deg = target->radius_deg.value_or(config_.default_radius_deg);
      Node child;
      child.kind = NodeKind::query;
      child.table = parent.table;
      child.query = std::move(query);
      auto stored = intern(parent.ino, name, std::move(child));
      MutexLock lock(nodes_mutex_);
      looked_up_targets_[parent.ino].insert(name);
      return stored;
    }
    case NodeKind::query:
      return lookup_in_query(parent, name);
    case NodeKind::row:
    case NodeKind::archive_dir:
      return lookup_in_archive(parent, name);
    case NodeKind::results_csv:
    case NodeKind::archive_file:
      break;
  }
  throw Error(ENOTDIR, "not a directory");
}

std::shared_ptr<const Node> Filesystem::lookup_in_query(const Node& parent, const std::string& name) {
  auto rows = remote_->cone(parent.query->cone);
  if (name == kResultsCsvName) {
    Node child;
    child.kind = NodeKind::results_csv;
    child.table = parent.table;
    child.query = parent.query;
    child.size = results_csv(*rows, filter_rows(*rows, parent.query->filters)).size();
    child.csv_basis = rows;
    return intern(parent.ino, name, std::move(child));
  }
  auto filter = parse_filter_segment(name);
  if (auto it = rows->row_by_name.find(name); it != rows->row_by_name.end()) {
    auto selected = filter_rows(*rows, parent.query->filters);
    if (std::binary_search(selected.begin(), selected.end(), it->second)) {
      Node child;
      child.kind = NodeKind::row;
      child.table = parent.table;
      child.query = parent.query;
      child.row_name = name;
      return intern(parent.ino, name, std::move(child));
    }
    // Not listed here: a name that is also a filter is that filter (readdir never shows it).
    if (!filter) throw Error(ENOENT, "row '" + name + "' does not pass the filters of this directory");
  }
  if (!filter) throw Error(ENOENT, "no row '" + name + "' in this " + parent.table + " answer");
  try {
    validate_filter(*rows, *filter);
  } catch (const Error& error) {
    log::warn("filter", parent.table + ": " + error.what());
    throw;
  }
  auto query = std::make_shared<QueryPath>(*parent.query);
  query->filters.push_back(*filter);
  Node child;
  child.kind = NodeKind::query;
  child.table = parent.table;
  child.query = std::move(query);
  return intern(parent.ino, name, std::move(child));
}

std::optional<std::string> Filesystem::archive_url_of(const Node& directory) {
  if (directory.kind == NodeKind::row) return remote_->directory_of(directory.query->cone, directory.row_name);
  return directory.url;
}

// How many levels of subdirectory listings to fetch ahead when a directory is listed: an
// observation's whole tree from its row (two levels hold every file of a HEASARC obsid), one
// level from a subdirectory reached some other way.
unsigned Filesystem::prefetch_levels_below(const Node& directory) { return directory.kind == NodeKind::row ? 2 : 1; }

Node Filesystem::archive_child(const Node& parent, const ArchiveEntry& entry) {
  Node child;
  child.kind = entry.is_dir ? NodeKind::archive_dir : NodeKind::archive_file;
  child.table = parent.table;
  child.url = entry.url;
  child.mtime = entry.mtime;
  if (!entry.is_dir && entry.object) {
    child.object = entry.object;
    child.size = entry.object->size;
  }
  return child;
}

std::shared_ptr<const Node> Filesystem::lookup_in_archive(const Node& parent, const std::string& name) {
  auto url = archive_url_of(parent);
  if (!url) throw Error(ENOENT, "no entry '" + name + "': this observation has no public directory");
  auto listing = remote_->listing(*url, prefetch_levels_below(parent));
  const ArchiveEntry* entry = listing->find(name);
  if (!entry) throw Error(ENOENT, "no entry '" + name + "' in " + *url);
  Node child = archive_child(parent, *entry);
  if (child.kind == NodeKind::archive_file && !child.object) {
    // The directory's parallel stat missed this file: ask once more, alone, and let its
    // error (ENOENT, ETIMEDOUT, ...) be the lookup's.
    child.object = remote_->stat(entry->url);
    child.size = child.object->size;
    if (child.object->mtime) child.mtime = child.object->mtime;
  }
  return intern(parent.ino, name, std::move(child));
}

std::vector<std::pair<std::string, Node>> Filesystem::children(const Node& directory) {
  std::vector<std::pair<std::string, Node>> result;
  switch (directory.kind) {
    case NodeKind::root:
      for (const auto& table : remote_->tables()) {
        Node child;
        child.kind = NodeKind::table;
        child.table = table.name;
        result.emplace_back(table.name, std::move(child));
      }
      break;
    case NodeKind::table:
      break;  // filled from the targets already looked up, in readdir
    case NodeKind::query: {
      auto rows = remote_->cone(directory.query->cone);
      auto selected = filter_rows(*rows, directory.query->filters);
      Node csv;
      csv.kind = NodeKind::results_csv;
      csv.table = directory.table;
      csv.query = directory.query;
      csv.size = results_csv(*rows, selected).size();
      csv.csv_basis = rows;
      result.emplace_back(std::string(kResultsCsvName), std::move(csv));
      for (auto index : selected) {
        Node row;
        row.kind = NodeKind::row;
        row.table = directory.table;
        row.query = directory.query;
        row.row_name = rows->row_names[index];
        result.emplace_back(row.row_name, std::move(row));
      }
      break;
    }
    case NodeKind::row:
    case NodeKind::archive_dir: {
      auto url = archive_url_of(directory);
      if (!url) break;  // proprietary: an empty directory (the log says why)
      auto listing = remote_->listing(*url, prefetch_levels_below(directory));
      for (const auto& entry : listing->entries) result.emplace_back(entry.name, archive_child(directory, entry));
      break;
    }
    case NodeKind::results_csv:
    case NodeKind::archive_file:
      throw Error(ENOTDIR, "not a directory");
  }
  return result;
}

std::vector<DirectoryEntry> Filesystem::readdir(std::uint64_t ino) {
  auto directory = node(ino);
  if (!directory->is_dir()) throw Error(ENOTDIR, "not a directory");
  std::vector<DirectoryEntry> entries;
  std::set<std::string> seen;
  if (directory->kind == NodeKind::table) {
    MutexLock lock(nodes_mutex_);
    for (const auto& name : looked_up_targets_[ino]) {
      auto it = names_.find({ino, name});
      if (it != names_.end()) entries.push_back({name, it->second, true});
    }
    return entries;
  }
  for (auto& [name, child] : children(*directory)) {
    // A name listed twice (two registry records ending in the same table name, say) is one
    // entry: the first, which is also the one lookup finds.
    if (!seen.insert(name).second) continue;
    auto stored = intern(ino, name, std::move(child));
    entries.push_back({name, stored->ino, stored->is_dir()});
  }
  return entries;
}

Attributes Filesystem::getattr(std::uint64_t ino) { return stat(ino).attributes; }

Entry Filesystem::stat(std::uint64_t ino) {
  auto current = node(ino);
  if (current->kind == NodeKind::results_csv) {
    // Its text follows the cone answer, which is refreshed on its own TTL: the size the
    // kernel sees must be the size the next open reads. Recomputed only for a new answer.
    auto rows = remote_->cone(current->query->cone);
    if (rows != current->csv_basis.lock()) {
      Node refreshed = *current;
      refreshed.size = results_csv(*rows, filter_rows(*rows, current->query->filters)).size();
      refreshed.csv_basis = rows;
      current = intern(current->parent, current->name, std::move(refreshed));
    }
  }
  return entry_of(*current);
}

void Filesystem::access(std::uint64_t ino, int mask) {
  auto current = node(ino);
  if (mask & W_OK) throw Error(EROFS, "heasarcfs is read-only");
  if ((mask & X_OK) && !current->is_dir()) throw Error(EACCES, "not executable (mode 0444)");
}

std::string Filesystem::csv_of(const Node& csv_node) {
  auto rows = remote_->cone(csv_node.query->cone);
  return results_csv(*rows, filter_rows(*rows, csv_node.query->filters));
}

OpenedFile Filesystem::open(std::uint64_t ino, int flags) {
  auto file = node(ino);
  if (file->is_dir()) throw Error(EISDIR, "is a directory");
  if ((flags & O_ACCMODE) != O_RDONLY || (flags & (O_TRUNC | O_CREAT | O_APPEND)))
    throw Error(EROFS, "heasarcfs is read-only");
  auto open_file = std::make_shared<OpenFile>();
  open_file->node = file;
  OpenedFile opened;
  if (file->kind == NodeKind::results_csv) {
    open_file->content = csv_of(*file);
    // Regenerated text whose size may differ from the size the kernel saw: bypass the page cache.
    opened.direct_io = true;
  } else {
    if (!file->object) throw Error(EIO, "no metadata for " + file->url);
    open_file->reader = fetcher_.open(*file->object);
    prefetch_next_small_files(*file);
    // Archive files do not change under one URL + validator: keep the kernel's pages.
    opened.keep_cache = true;
  }
  MutexLock lock(handles_mutex_);
  opened.handle = next_handle_++;
  handles_.emplace(opened.handle, std::move(open_file));
  return opened;
}

// `cp -r` opens a directory's files one after another, and a small file costs a round trip
// for little data: when one is opened, the next few small files of its directory (in listing
// order, which is readdir's) are fetched in the background. Only from a cached listing; never
// a request of its own.
void Filesystem::prefetch_next_small_files(const Node& file) {
  constexpr int kAhead = 4;
  std::shared_ptr<const Node> parent;
  try {
    parent = node(file.parent);
  } catch (const Error&) {
    return;
  }
  std::optional<std::string> url = parent->kind == NodeKind::row ? std::nullopt : std::optional(parent->url);
  if (parent->kind == NodeKind::row) url = remote_->cached_directory_of(parent->query->cone, parent->row_name);
  if (!url) return;
  auto listing = remote_->cached_listing(*url);
  if (!listing) return;
  int queued = 0;
  bool after = false;
  for (const auto& entry : listing->entries) {
    if (entry.name == file.name) {
      after = true;
      continue;
    }
    if (!after || entry.is_dir || !entry.object) continue;
    fetcher_.prefetch_whole(*entry.object);
    if (++queued == kAhead) break;
  }
}

cache::ReadReply Filesystem::read(std::uint64_t handle, std::uint64_t offset, std::size_t size,
                                  const CallContext& call) {
  std::shared_ptr<OpenFile> file;
  {
    MutexLock lock(handles_mutex_);
    auto it = handles_.find(handle);
    if (it == handles_.end()) throw Error(EBADF, "file handle " + std::to_string(handle) + " is not open");
    file = it->second;
  }
  if (file->node->kind == NodeKind::results_csv) {
    cache::ReadReply reply;
    reply.offset = offset;
    if (offset < file->content.size()) reply.bytes = file->content.substr(offset, size);
    reply.length = reply.bytes.size();
    return reply;
  }
  return file->reader->read(offset, size, call);
}

void Filesystem::release(std::uint64_t handle) {
  MutexLock lock(handles_mutex_);
  handles_.erase(handle);
}

}  // namespace hfs::fs
