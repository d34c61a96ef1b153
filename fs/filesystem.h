// The filesystem's logic, with no FUSE in it: paths to nodes, listings, attributes, reads.
// fs/fuse_ops.cpp only translates FUSE requests into these calls and their results (or the
// hfs::Error they throw) into replies, so everything here is tested without a mount.
//
// The tree:
//   /                                    tables of the authority with a cone search
//   /<table>/                            targets already looked up (any target can be looked up)
//   /<table>/<target>[@r]/               one directory per result row + .results.csv/.vot
//   /<table>/<target>/<col><op><v>/...   the same, filtered (filters nest, ANDed)
//   /.../<row>/                          the row's DataLink directory product, mirrored
//   /.../<row>/<sub>/<file>              archive files, read lazily through the block cache
//   /.heasarcfs/stats                    the mount's counters (JSON); /.heasarcfs is looked up,
//                                        never listed in /
//
// Inode numbers are never reused during a mount. Nodes live while the kernel holds a lookup
// of them (forget() ends that) or an open file does; nodes only a listing created (readdir
// hands out inode numbers without a lookup) are kept for the most recent kMaxUnreferencedNodes,
// so memory is bounded whatever is walked.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "cache/fetcher.h"
#include "common/cancel.h"
#include "common/thread_annotations.h"
#include "fs/kernel_notifier.h"
#include "fs/node.h"
#include "fs/remote_view.h"

namespace hfs::fs {

inline constexpr std::uint64_t kRootInode = 1;
inline constexpr std::size_t kMaxUnreferencedNodes = 100000;
inline constexpr std::size_t kMaxListedTargets = 1000;
// Looking up this name in a directory asks its services again whatever the cached answer's
// age (RemoteView::refresh_*): the table list at the root, the cone answer in a query
// directory, the DataLink directory and the listing in a row, the listing in an archive
// directory. The lookup then fails with ENOENT (the name never exists), or with the refresh's
// error (the cached answer stays). `stat DIR/.refresh` is the documented way to refresh.
inline constexpr std::string_view kRefreshName = ".refresh";

struct Attributes {
  std::uint64_t ino = 0;
  bool is_dir = false;
  std::uint64_t size = 0;
  std::int64_t mtime = 0;
};

struct Entry {
  Attributes attributes;
  double entry_timeout = 0;  // seconds the kernel may keep the name -> inode mapping
  double attr_timeout = 0;   // seconds the kernel may keep the attributes
};

struct DirectoryEntry {
  std::string name;
  std::uint64_t ino = 0;
  bool is_dir = false;
};

struct OpenedFile {
  std::uint64_t handle = 0;
  bool keep_cache = false;  // archive files: the kernel page cache stays valid across opens
  bool direct_io = false;
};

struct FilesystemConfig {
  double default_radius_deg = 1.0;
  double archive_timeout_s = 3600;  // kernel entry/attr timeouts of archive nodes
  double virtual_timeout_s = 60;    // of tables, targets, filters, rows
  std::string registry_url;         // user.heasarc.url of "/"
};

// The extended attributes of the tree (README "Extended attributes").
inline constexpr char kXattrUrl[] = "user.heasarc.url";
inline constexpr char kXattrQuery[] = "user.heasarc.query";
inline constexpr char kXattrCached[] = "user.heasarc.cached";
inline constexpr char kXattrStale[] = "user.heasarc.stale";
inline constexpr char kControlDirName[] = ".heasarcfs";
inline constexpr char kStatsFileName[] = "stats";

class Filesystem {
 public:
  Filesystem(FilesystemConfig config, std::shared_ptr<RemoteView> remote, cache::Fetcher& fetcher);

  // Who tells the kernel about changed nodes (a refreshed listing, a file found changed);
  // none: the kernel's caches expire on their timeouts. nullptr detaches it.
  void set_notifier(std::shared_ptr<KernelNotifier> notifier) EXCLUDES(notifier_mutex_);

  // Calls that may need the remote services take the CallContext of the FUSE request (or CLI
  // command) they serve: every request they make spends its one deadline, and its interrupt
  // ends them. They throw hfs::Error EINTR when interrupted, ETIMEDOUT when the deadline passed.
  //
  // A successful lookup counts one kernel reference to the node (FUSE's lookup count).
  Entry lookup(std::uint64_t parent, const std::string& name, const CallContext& call);
  // The kernel dropped `count` references (FUSE forget); at zero the node may go.
  void forget(std::uint64_t ino, std::uint64_t count);
  // How many nodes are held (tests of bounded memory).
  std::size_t node_count() const;
  Attributes getattr(std::uint64_t ino, const CallContext& call);
  // getattr with the time the kernel may keep the answer (the README's table).
  Entry stat(std::uint64_t ino, const CallContext& call);
  // access(2): W_OK is EROFS, X_OK on a file (mode 0444) EACCES; anything else is allowed.
  void access(std::uint64_t ino, int mask);
  std::vector<DirectoryEntry> readdir(std::uint64_t ino, const CallContext& call);
  // flags: open(2) flags; anything but read-only access gives EROFS, a directory EISDIR.
  OpenedFile open(std::uint64_t ino, int flags, const CallContext& call);
  // Bytes of an open file: archive files through the fetcher (a pinned range of the cache file
  // when its blocks are verified, for a zero-copy reply), .results.csv from its text.
  cache::ReadReply read(std::uint64_t handle, std::uint64_t offset, std::size_t size, const CallContext& call);
  void release(std::uint64_t handle);

  // The text of /.heasarcfs/stats, made at each open (and stat, for its size). Set once, before
  // the mount serves (start_mount_context); without it the file is empty.
  void set_stats_source(std::function<std::string()> source) { stats_source_ = std::move(source); }

  // Extended attributes (fs/filesystem_xattr.cpp). The names a node has: decided from what is
  // in memory, never by a remote request (`ls -l` asks for them on every entry).
  std::vector<std::string> xattr_names(std::uint64_t ino);
  // One attribute's value; hfs::Error(ENODATA) when the node has no such attribute. A value
  // that needs a remote answer (user.heasarc.source, .query) spends `call`'s deadline.
  std::string xattr(std::uint64_t ino, const std::string& name, const CallContext& call);

 private:
  struct OpenFile;

  std::vector<DirectoryEntry> readdir_within(std::uint64_t ino, const CallContext& call);
  OpenedFile open_within(std::uint64_t ino, int flags, const CallContext& call);
  std::string xattr_within(std::uint64_t ino, const std::string& name, const CallContext& call);
  std::shared_ptr<const Node> node(std::uint64_t ino) const EXCLUDES(nodes_mutex_);
  // Returns the existing child node of that name, or registers `child` under a new inode.
  // `counted`: the kernel is told this node (a lookup reply): its lookup count goes up.
  std::shared_ptr<const Node> intern(std::uint64_t parent, const std::string& name, Node child, bool counted)
      EXCLUDES(nodes_mutex_);
  // intern()'s work; `changed_file` is set when an archive file's size or validator changed
  // under an inode the kernel may hold pages of.
  std::shared_ptr<const Node> intern_node(std::uint64_t parent, const std::string& name, Node child, bool counted,
                                          bool& changed_file) EXCLUDES(nodes_mutex_);
  std::shared_ptr<KernelNotifier> notifier() const EXCLUDES(notifier_mutex_);
  // `.refresh` in `directory` (see kRefreshName).
  void refresh(const Node& directory, const CallContext& call);
  // A read found the file changed (ESTALE): its listing is forgotten, the kernel told.
  void forget_changed_file(const Node& file);
  std::shared_ptr<const Node> lookup_node(const Node& parent, const std::string& name, const CallContext& call);
  std::shared_ptr<const Node> lookup_in_query(const Node& parent, const std::string& name, const CallContext& call);
  std::shared_ptr<const Node> lookup_in_archive(const Node& parent, const std::string& name, const CallContext& call);
  std::vector<Node> children(const Node& directory, const CallContext& call);
  std::optional<std::string> archive_url_of(const Node& directory, const CallContext& call);
  static unsigned prefetch_levels_below(const Node& directory);
  void prefetch_next_small_files(const Node& file);
  // The rows of a query directory after its filters, and the size of its CSV text: computed
  // once per cone answer and filter path, shared by lookup, readdir, stat and open.
  struct FilteredAnswer {
    std::shared_ptr<const ResultRows> rows;
    std::vector<std::size_t> selected;
    std::uint64_t csv_size = 0;
    std::uint64_t vot_size = 0;
  };
  std::shared_ptr<const FilteredAnswer> answer_of(const QueryPath& query, const CallContext& call);
  // The one place each kind of child is built (lookup and readdir both come here).
  Node results_child(const Node& query_dir, const FilteredAnswer& answer, ResultsFormat format);
  Node row_child(const Node& query_dir, const std::string& row_name);
  Node archive_child(const Node& parent, const ArchiveEntry& entry);
  std::string stats_text() const { return stats_source_ ? stats_source_() : std::string(); }
  // For extended attributes (fs/filesystem_xattr.cpp).
  std::optional<std::string> source_url(const Node& node, const CallContext& call);
  std::optional<std::string> request_url(const Node& node, const CallContext& call);
  std::optional<std::int64_t> stale_since(const Node& node);
  std::shared_ptr<const Node> enclosing_row(const Node& node) const;
  Attributes attributes_of(const Node& node) const;
  Entry entry_of(const Node& node) const;
  // Drops name and inode of a node nobody references any more.
  void drop_locked(std::uint64_t ino) REQUIRES(nodes_mutex_);
  void note_unreferenced_locked(std::uint64_t ino) REQUIRES(nodes_mutex_);

  const FilesystemConfig config_;
  std::shared_ptr<RemoteView> remote_;
  cache::Fetcher& fetcher_;
  const std::int64_t mount_time_;
  std::function<std::string()> stats_source_;

  // LOCK ORDER: nodes_mutex_ before handles_mutex_; no remote call is made while holding either.
  struct NodeSlot {
    std::shared_ptr<const Node> node;
    std::uint64_t lookups = 0;  // kernel references (lookup replies minus forgets)
    // Archive files: the object version (URL + validator) last opened under this inode. The
    // kernel's pages are kept across opens (keep_cache) only while it stays the same.
    std::string opened_version;
  };
  mutable Mutex nodes_mutex_;
  std::unordered_map<std::uint64_t, NodeSlot> nodes_ GUARDED_BY(nodes_mutex_);
  std::map<std::pair<std::uint64_t, std::string>, std::uint64_t> names_ GUARDED_BY(nodes_mutex_);
  // Nodes with no kernel reference, oldest first: dropped beyond kMaxUnreferencedNodes.
  std::deque<std::uint64_t> unreferenced_ GUARDED_BY(nodes_mutex_);
  // Per table directory: the targets looked up, most recent last, at most kMaxListedTargets
  // (a table directory must not list every coordinate ever probed).
  std::map<std::uint64_t, std::vector<std::string>> looked_up_targets_ GUARDED_BY(nodes_mutex_);
  std::uint64_t next_ino_ GUARDED_BY(nodes_mutex_) = kRootInode + 1;

  Mutex answers_mutex_;  // a leaf
  std::map<std::string, std::shared_ptr<const FilteredAnswer>> answers_ GUARDED_BY(answers_mutex_);

  mutable Mutex notifier_mutex_;  // a leaf
  std::shared_ptr<KernelNotifier> notifier_ GUARDED_BY(notifier_mutex_);

  Mutex handles_mutex_;
  std::unordered_map<std::uint64_t, std::shared_ptr<OpenFile>> handles_ GUARDED_BY(handles_mutex_);
  std::uint64_t next_handle_ GUARDED_BY(handles_mutex_) = 1;
};

}  // namespace hfs::fs
