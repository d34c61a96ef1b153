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
  std::string content;                        // .results.*, stats: the text, made at open
  std::unique_ptr<cache::FileReader> reader;  // archive_file
};

Filesystem::Filesystem(FilesystemConfig config, std::shared_ptr<RemoteView> remote, cache::Fetcher& fetcher)
    : config_(config), remote_(std::move(remote)), fetcher_(fetcher), mount_time_(std::time(nullptr)) {
  auto root = std::make_shared<Node>();
  root->ino = kRootInode;
  root->parent = kRootInode;
  root->data = RootNode{};
  nodes_.emplace(kRootInode, NodeSlot{std::move(root), 1, {}});  // the root is never forgotten
}

std::shared_ptr<const Node> Filesystem::node(std::uint64_t ino) const {
  MutexLock lock(nodes_mutex_);
  auto it = nodes_.find(ino);
  if (it == nodes_.end()) throw Error(ESTALE, "inode " + std::to_string(ino) + " is not known");
  return it->second.node;
}

std::size_t Filesystem::node_count() const {
  MutexLock lock(nodes_mutex_);
  return nodes_.size();
}

void Filesystem::set_notifier(std::shared_ptr<KernelNotifier> notifier) {
  MutexLock lock(notifier_mutex_);
  notifier_ = std::move(notifier);
}

std::shared_ptr<KernelNotifier> Filesystem::notifier() const {
  MutexLock lock(notifier_mutex_);
  return notifier_;
}

std::shared_ptr<const Node> Filesystem::intern(std::uint64_t parent, const std::string& name, Node child,
                                               bool counted) {
  bool changed_file = false;
  auto stored = intern_node(parent, name, std::move(child), counted, changed_file);
  // The kernel's attributes and pages of the old version must go (its next open also drops
  // the pages: see open()).
  if (changed_file)
    if (auto kernel = notifier()) kernel->invalidate_inode(stored->ino);
  return stored;
}

std::shared_ptr<const Node> Filesystem::intern_node(std::uint64_t parent, const std::string& name, Node child,
                                                    bool counted, bool& changed_file) {
  MutexLock lock(nodes_mutex_);
  child.parent = parent;
  child.name = name;
  auto key = std::make_pair(parent, name);
  if (auto it = names_.find(key); it != names_.end()) {
    NodeSlot& slot = nodes_.at(it->second);
    child.ino = it->second;
    if (counted) ++slot.lookups;
    const Node& existing = *slot.node;
    // A listing whose parallel stat missed a file knows less than the lookup that stat'ed it
    // alone: keep the size and validator the kernel was given (open needs them).
    auto* fresh_file = child.as<ArchiveFileNode>();
    auto* known_file = existing.as<ArchiveFileNode>();
    if (fresh_file && known_file && !fresh_file->object && known_file->object && known_file->url == fresh_file->url)
      return slot.node;
    if (!(existing.data == child.data)) {
      changed_file = fresh_file && known_file &&
                     !(fresh_file->object.has_value() == known_file->object.has_value() &&
                       (!fresh_file->object || (fresh_file->object->size == known_file->object->size &&
                                                fresh_file->object->validator() == known_file->object->validator())));
      slot.node = std::make_shared<const Node>(std::move(child));
    }
    return slot.node;
  }
  child.ino = next_ino_++;
  auto stored = std::make_shared<const Node>(std::move(child));
  names_.emplace(key, stored->ino);
  nodes_.emplace(stored->ino, NodeSlot{stored, counted ? 1u : 0u, {}});
  if (!counted) note_unreferenced_locked(stored->ino);
  return stored;
}

void Filesystem::note_unreferenced_locked(std::uint64_t ino) {
  unreferenced_.push_back(ino);
  while (unreferenced_.size() > kMaxUnreferencedNodes) {
    const std::uint64_t oldest = unreferenced_.front();
    unreferenced_.pop_front();
    auto it = nodes_.find(oldest);
    if (it != nodes_.end() && it->second.lookups == 0) drop_locked(oldest);
  }
}

void Filesystem::drop_locked(std::uint64_t ino) {
  auto it = nodes_.find(ino);
  if (it == nodes_.end() || ino == kRootInode) return;
  const Node& dropped = *it->second.node;
  auto name = names_.find({dropped.parent, dropped.name});
  if (name != names_.end() && name->second == ino) names_.erase(name);
  looked_up_targets_.erase(ino);
  nodes_.erase(it);
}

void Filesystem::forget(std::uint64_t ino, std::uint64_t count) {
  MutexLock lock(nodes_mutex_);
  auto it = nodes_.find(ino);
  if (it == nodes_.end() || ino == kRootInode) return;
  it->second.lookups -= std::min(it->second.lookups, count);
  if (it->second.lookups == 0) drop_locked(ino);
}

Attributes Filesystem::attributes_of(const Node& node) const {
  Attributes attributes;
  attributes.ino = node.ino;
  attributes.is_dir = node.is_dir();
  attributes.size = node.size();
  attributes.mtime = node.mtime() ? node.mtime() : mount_time_;
  return attributes;
}

Entry Filesystem::entry_of(const Node& node) const {
  Entry entry;
  entry.attributes = attributes_of(node);
  entry.entry_timeout = node.is_archive() ? config_.archive_timeout_s : config_.virtual_timeout_s;
  // .results.* are regenerated when the cone answer is refreshed: their size must not linger.
  entry.attr_timeout = node.as<ResultsFileNode>() ? 1.0 : entry.entry_timeout;
  // The stats change all the time: their size (the text's now) is never kept.
  if (node.as<StatsFileNode>()) entry.attr_timeout = 0;
  return entry;
}

std::shared_ptr<const Filesystem::FilteredAnswer> Filesystem::answer_of(const QueryPath& query,
                                                                        const CallContext& call) {
  auto rows = remote_->cone(query.cone, call);
  std::string key = query.cone.cache_key();
  for (const auto& filter : query.filters) key += "/" + filter.segment;
  {
    MutexLock lock(answers_mutex_);
    if (auto it = answers_.find(key); it != answers_.end() && it->second->rows == rows) return it->second;
  }
  auto answer = std::make_shared<FilteredAnswer>();
  answer->rows = rows;
  answer->selected = filter_rows(*rows, query.filters);
  answer->csv_size = results_csv(*rows, answer->selected).size();
  answer->vot_size = results_votable(*rows, answer->selected).size();
  // A few hundred query directories at most are in use at once; older memos are remade.
  constexpr std::size_t kMaxAnswers = 256;
  MutexLock lock(answers_mutex_);
  if (answers_.size() >= kMaxAnswers) answers_.erase(answers_.begin());
  answers_[key] = answer;
  return answer;
}

Node Filesystem::results_child(const Node& query_dir, const FilteredAnswer& answer, ResultsFormat format) {
  Node child;
  child.table = query_dir.table;
  const std::uint64_t size = format == ResultsFormat::csv ? answer.csv_size : answer.vot_size;
  child.data = ResultsFileNode{query_dir.as<QueryNode>()->query, format, size, answer.rows};
  return child;
}

Node Filesystem::row_child(const Node& query_dir, const std::string& row_name) {
  Node child;
  child.table = query_dir.table;
  child.data = RowNode{query_dir.as<QueryNode>()->query, row_name};
  return child;
}

Node Filesystem::archive_child(const Node& parent, const ArchiveEntry& entry) {
  Node child;
  child.table = parent.table;
  if (entry.is_dir) child.data = ArchiveDirNode{entry.url, entry.mtime};
  else child.data = ArchiveFileNode{entry.url, entry.mtime, entry.object};
  return child;
}

Entry Filesystem::lookup(std::uint64_t parent, const std::string& name, const CallContext& call) {
  return within_call(call, [&] {
    auto directory = node(parent);
    if (!directory->is_dir()) throw Error(ENOTDIR, "not a directory");
    if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos)
      throw Error(ENOENT, "no entry '" + name + "'");
    if (name == kRefreshName) {
      refresh(*directory, call);
      throw Error(ENOENT, "refreshed; '" + name + "' itself is not a file");
    }
    return entry_of(*lookup_node(*directory, name, call));
  });
}

std::shared_ptr<const Node> Filesystem::lookup_node(const Node& parent, const std::string& name,
                                                    const CallContext& call) {
  if (parent.as<RootNode>()) {
    if (name == kControlDirName) {
      Node child;
      child.data = ControlDirNode{};
      return intern(parent.ino, name, std::move(child), true);
    }
    for (const auto& table : remote_->tables(call)) {
      if (table.name != name) continue;
      Node child;
      child.table = table.name;
      child.data = TableNode{table.name};
      return intern(parent.ino, name, std::move(child), true);
    }
    throw Error(ENOENT, "no table '" + name + "' with a cone search at this registry");
  }
  if (auto table = parent.as<TableNode>()) {
    auto target = parse_target_segment(name);
    if (!target) throw Error(ENOENT, "'" + name + "' is not a target (an object name or RA,Dec[@radius])");
    auto query = std::make_shared<QueryPath>();
    query->cone.table = table->table;
    query->cone.center = target->is_position ? target->position : remote_->resolve(target->object_name, call);
    query->cone.radius_deg = target->radius_deg.value_or(config_.default_radius_deg);
    Node child;
    child.table = table->table;
    child.data = QueryNode{std::move(query)};
    auto stored = intern(parent.ino, name, std::move(child), true);
    MutexLock lock(nodes_mutex_);
    auto& targets = looked_up_targets_[parent.ino];
    std::erase(targets, name);
    targets.push_back(name);
    if (targets.size() > kMaxListedTargets) targets.erase(targets.begin());
    return stored;
  }
  if (parent.as<QueryNode>()) return lookup_in_query(parent, name, call);
  if (parent.as<ControlDirNode>()) {
    if (name != kStatsFileName) throw Error(ENOENT, "no entry '" + name + "' in /" + kControlDirName);
    Node child;
    child.data = StatsFileNode{};
    return intern(parent.ino, name, std::move(child), true);
  }
  if (parent.as<RowNode>() || parent.as<ArchiveDirNode>()) return lookup_in_archive(parent, name, call);
  throw Error(ENOTDIR, "not a directory");
}

std::shared_ptr<const Node> Filesystem::lookup_in_query(const Node& parent, const std::string& name,
                                                        const CallContext& call) {
  const QueryPath& query = *parent.as<QueryNode>()->query;
  auto answer = answer_of(query, call);
  if (name == kResultsCsvName)
    return intern(parent.ino, name, results_child(parent, *answer, ResultsFormat::csv), true);
  if (name == kResultsVotName)
    return intern(parent.ino, name, results_child(parent, *answer, ResultsFormat::votable), true);
  auto filter = parse_filter_segment(name);
  if (auto it = answer->rows->row_by_name.find(name); it != answer->rows->row_by_name.end()) {
    if (std::binary_search(answer->selected.begin(), answer->selected.end(), it->second))
      return intern(parent.ino, name, row_child(parent, name), true);
    // Not listed here: a name that is also a filter is that filter (readdir never shows it).
    if (!filter) throw Error(ENOENT, "row '" + name + "' does not pass the filters of this directory");
  }
  if (!filter) throw Error(ENOENT, "no row '" + name + "' in this " + parent.table + " answer");
  try {
    validate_filter(*answer->rows, *filter);
  } catch (const Error& error) {
    log::warn("filter", parent.table + ": " + error.what());
    throw;
  }
  auto narrowed = std::make_shared<QueryPath>(query);
  narrowed->filters.push_back(*filter);
  Node child;
  child.table = parent.table;
  child.data = QueryNode{std::move(narrowed)};
  return intern(parent.ino, name, std::move(child), true);
}

std::optional<std::string> Filesystem::archive_url_of(const Node& directory, const CallContext& call) {
  if (auto row = directory.as<RowNode>()) return remote_->directory_of(row->query->cone, row->row_name, call);
  if (auto dir = directory.as<ArchiveDirNode>()) return dir->url;
  return std::nullopt;
}

// How many levels of subdirectory listings to fetch ahead when a directory is listed: an
// observation's whole tree from its row (two levels hold every file of a HEASARC obsid), one
// level from a subdirectory reached some other way.
unsigned Filesystem::prefetch_levels_below(const Node& directory) { return directory.as<RowNode>() ? 2 : 1; }

std::shared_ptr<const Node> Filesystem::lookup_in_archive(const Node& parent, const std::string& name,
                                                          const CallContext& call) {
  auto url = archive_url_of(parent, call);
  if (!url) throw Error(ENOENT, "no entry '" + name + "': this observation has no public directory");
  auto listing = remote_->listing(*url, call, prefetch_levels_below(parent));
  const ArchiveEntry* entry = listing->find(name);
  if (!entry) throw Error(ENOENT, "no entry '" + name + "' in " + *url);
  Node child = archive_child(parent, *entry);
  if (auto file = std::get_if<ArchiveFileNode>(&child.data); file && !file->object) {
    // The listing lacks this file's size (its lookup failed, or the file is beyond the
    // listing's first ones): RemoteView::size_of asks for it (with the directory's other
    // failed sizes, once per `ls -l`) or answers a failure remembered moments ago; its error
    // (ENOENT, ETIMEDOUT, ...) is the lookup's.
    file->object = remote_->size_of(listing, *entry, call);
    if (file->object->mtime) file->mtime = file->object->mtime;
  }
  return intern(parent.ino, name, std::move(child), true);
}

std::vector<Node> Filesystem::children(const Node& directory, const CallContext& call) {
  std::vector<Node> result;
  auto add = [&](const std::string& name, Node child) {
    child.name = name;
    result.push_back(std::move(child));
  };
  if (directory.as<RootNode>()) {
    for (const auto& table : remote_->tables(call)) {
      Node child;
      child.table = table.name;
      child.data = TableNode{table.name};
      add(table.name, std::move(child));
    }
  } else if (auto query = directory.as<QueryNode>()) {
    auto answer = answer_of(*query->query, call);
    add(std::string(kResultsCsvName), results_child(directory, *answer, ResultsFormat::csv));
    add(std::string(kResultsVotName), results_child(directory, *answer, ResultsFormat::votable));
    for (auto index : answer->selected) {
      const std::string& row_name = answer->rows->row_names[index];
      add(row_name, row_child(directory, row_name));
    }
  } else if (directory.as<RowNode>() || directory.as<ArchiveDirNode>()) {
    auto url = archive_url_of(directory, call);
    if (url) {  // else proprietary: an empty directory (the log says why)
      auto listing = remote_->listing(*url, call, prefetch_levels_below(directory));
      for (const auto& entry : listing->entries) add(entry.name, archive_child(directory, entry));
    }
  } else if (directory.as<ControlDirNode>()) {
    Node child;
    child.data = StatsFileNode{};
    add(kStatsFileName, std::move(child));
  } else if (!directory.as<TableNode>()) {
    throw Error(ENOTDIR, "not a directory");
  }
  return result;
}

void Filesystem::refresh(const Node& directory, const CallContext& call) {
  std::string what;
  if (directory.as<RootNode>()) {
    remote_->refresh_tables(call);
    what = "the table list";
  } else if (auto query = directory.as<QueryNode>()) {
    remote_->refresh_cone(query->query->cone, call);
    what = "the cone answer of " + query->query->cone.cache_key();
  } else if (auto row = directory.as<RowNode>()) {
    auto url = remote_->refresh_directory_of(row->query->cone, row->row_name, call);
    if (url) remote_->refresh_listing(*url, call);
    what = "the DataLink directory of " + row->row_name + (url ? " and the listing " + *url : std::string());
  } else if (auto dir = directory.as<ArchiveDirNode>()) {
    remote_->refresh_listing(dir->url, call);
    what = "the listing " + dir->url;
  } else {
    return;  // a table directory lists what was looked up: nothing remote to refresh
  }
  log::info("refresh", "refreshed " + what);
  // The names the kernel may hold under this directory, before the new answer is interned.
  std::vector<std::string> known;
  {
    MutexLock lock(nodes_mutex_);
    for (auto it = names_.lower_bound({directory.ino, std::string()});
         it != names_.end() && it->first.first == directory.ino; ++it)
      known.push_back(it->first.second);
  }
  // The nodes follow the new answer now (a changed file's inode is invalidated by intern, and
  // its next open drops the old pages); the kernel forgets the names so that it asks again.
  readdir_within(directory.ino, call);
  if (auto kernel = notifier())
    for (const auto& name : known) kernel->invalidate_entry(directory.ino, name);
}

void Filesystem::forget_changed_file(const Node& file) {
  const auto* archive_file = file.as<ArchiveFileNode>();
  if (!archive_file) return;
  // The listing is keyed by its directory's URL: the parent's, and (for a row, whose DataLink
  // answer may be gone from memory) the file URL's directory part.
  std::set<std::string> listings;
  if (auto slash = archive_file->url.rfind('/'); slash != std::string::npos)
    listings.insert(archive_file->url.substr(0, slash + 1));
  std::shared_ptr<const Node> parent;
  {
    MutexLock lock(nodes_mutex_);
    if (auto it = nodes_.find(file.parent); it != nodes_.end()) parent = it->second.node;
  }
  if (parent) {
    if (auto dir = parent->as<ArchiveDirNode>()) listings.insert(dir->url);
    if (auto row = parent->as<RowNode>())
      if (auto url = remote_->cached_directory_of(row->query->cone, row->row_name)) listings.insert(*url);
  }
  for (const auto& url : listings) remote_->invalidate_listing(url);
  log::info("archive", archive_file->url + " changed in the archive: its directory will be listed again");
  if (auto kernel = notifier()) {
    kernel->invalidate_inode(file.ino);
    kernel->invalidate_entry(file.parent, file.name);
  }
}

std::vector<DirectoryEntry> Filesystem::readdir(std::uint64_t ino, const CallContext& call) {
  return within_call(call, [&] { return readdir_within(ino, call); });
}

std::vector<DirectoryEntry> Filesystem::readdir_within(std::uint64_t ino, const CallContext& call) {
  auto directory = node(ino);
  if (!directory->is_dir()) throw Error(ENOTDIR, "not a directory");
  std::vector<DirectoryEntry> entries;
  if (directory->as<TableNode>()) {
    MutexLock lock(nodes_mutex_);
    for (const auto& name : looked_up_targets_[ino]) {
      auto it = names_.find({ino, name});
      if (it != names_.end()) entries.push_back({name, it->second, true});
    }
    return entries;
  }
  std::set<std::string> seen;
  for (auto& child : children(*directory, call)) {
    // A name listed twice (two registry records ending in the same table name, say) is one
    // entry: the first, which is also the one lookup finds.
    if (!seen.insert(child.name).second) continue;
    const std::string name = child.name;
    auto stored = intern(ino, name, std::move(child), false);
    entries.push_back({name, stored->ino, stored->is_dir()});
  }
  return entries;
}

Attributes Filesystem::getattr(std::uint64_t ino, const CallContext& call) { return stat(ino, call).attributes; }

Entry Filesystem::stat(std::uint64_t ino, const CallContext& call) {
  return within_call(call, [&] {
    auto current = node(ino);
    if (auto results = current->as<ResultsFileNode>()) {
      // Its text follows the cone answer, which is refreshed on its own TTL: the size the
      // kernel sees must be the size the next open reads.
      auto answer = answer_of(*results->query, call);
      if (answer->rows != results->basis.lock()) {
        Node refreshed = *current;
        const std::uint64_t size = results->format == ResultsFormat::csv ? answer->csv_size : answer->vot_size;
        refreshed.data = ResultsFileNode{results->query, results->format, size, answer->rows};
        current = intern(current->parent, current->name, std::move(refreshed), false);
      }
    }
    Entry entry = entry_of(*current);
    // Read with direct I/O, so the size need not be exact: the text's size now.
    if (current->as<StatsFileNode>()) entry.attributes.size = stats_text().size();
    return entry;
  });
}

void Filesystem::access(std::uint64_t ino, int mask) {
  auto current = node(ino);
  if (mask & W_OK) throw Error(EROFS, "heasarcfs is read-only");
  if ((mask & X_OK) && !current->is_dir()) throw Error(EACCES, "not executable (mode 0444)");
}

OpenedFile Filesystem::open(std::uint64_t ino, int flags, const CallContext& call) {
  return within_call(call, [&] { return open_within(ino, flags, call); });
}

OpenedFile Filesystem::open_within(std::uint64_t ino, int flags, const CallContext& call) {
  auto file = node(ino);
  if (file->is_dir()) throw Error(EISDIR, "is a directory");
  if ((flags & O_ACCMODE) != O_RDONLY || (flags & (O_TRUNC | O_CREAT | O_APPEND)))
    throw Error(EROFS, "heasarcfs is read-only");
  auto open_file = std::make_shared<OpenFile>();
  open_file->node = file;
  OpenedFile opened;
  if (auto results = file->as<ResultsFileNode>()) {
    auto answer = answer_of(*results->query, call);
    open_file->content = results->format == ResultsFormat::csv ? results_csv(*answer->rows, answer->selected)
                                                               : results_votable(*answer->rows, answer->selected);
    // Regenerated text whose size may differ from the size the kernel saw: bypass the page cache.
    opened.direct_io = true;
  } else if (file->as<StatsFileNode>()) {
    open_file->content = stats_text();
    opened.direct_io = true;
  } else {
    auto archive_file = file->as<ArchiveFileNode>();
    if (!archive_file || !archive_file->object) throw Error(EIO, "no metadata for " + file->name);
    open_file->reader = fetcher_.open(*archive_file->object);
    prefetch_next_small_files(*file);
    // Archive files do not change under one URL + validator: the kernel's pages are kept
    // while this inode's version stays the one opened before. A new version (a refreshed
    // listing) is opened without keep_cache, which makes the kernel drop the old pages
    // before this open returns: never old pages beside new bytes.
    const std::string version = archive_file->object->url + '\n' + archive_file->object->validator();
    MutexLock lock(nodes_mutex_);
    if (auto it = nodes_.find(ino); it != nodes_.end()) {
      opened.keep_cache = it->second.opened_version == version;
      it->second.opened_version = version;
    }
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
  std::optional<std::string> url;
  if (auto row = parent->as<RowNode>()) url = remote_->cached_directory_of(row->query->cone, row->row_name);
  if (auto dir = parent->as<ArchiveDirNode>()) url = dir->url;
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
  if (!file->reader) {
    cache::ReadReply reply;
    reply.offset = offset;
    if (offset < file->content.size()) reply.bytes = file->content.substr(offset, size);
    reply.length = reply.bytes.size();
    return reply;
  }
  try {
    return within_call(call, [&] { return file->reader->read(offset, size, call); });
  } catch (const Error& error) {
    if (error.errnum() == ESTALE) forget_changed_file(*file->node);
    throw;
  }
}

void Filesystem::release(std::uint64_t handle) {
  MutexLock lock(handles_mutex_);
  handles_.erase(handle);
}

}  // namespace hfs::fs
