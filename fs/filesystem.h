// The filesystem's logic, with no FUSE in it: paths to nodes, listings, attributes, reads.
// fs/fuse_ops.cpp only translates FUSE requests into these calls and their results (or the
// hfs::Error they throw) into replies, so everything here is tested without a mount.
//
// The tree:
//   /                                    tables of the authority with a cone search
//   /<table>/                            targets already looked up (any target can be looked up)
//   /<table>/<target>[@r]/               one directory per result row + .results.csv
//   /<table>/<target>/<col><op><v>/...   the same, filtered (filters nest, ANDed)
//   /.../<row>/                          the row's DataLink directory product, mirrored
//   /.../<row>/<sub>/<file>              archive files, read lazily through the block cache
//
// Inode numbers are never reused during a mount and nodes are kept until unmount (lookups
// counts are not tracked): a node is a few hundred bytes, and a user walks far fewer than a
// million of them in one mount.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "cache/fetcher.h"
#include "common/cancel.h"
#include "fs/node.h"
#include "fs/remote_view.h"
#include "common/thread_annotations.h"

namespace hfs::fs {

inline constexpr std::uint64_t kRootInode = 1;

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
};

class Filesystem {
 public:
  Filesystem(FilesystemConfig config, std::shared_ptr<RemoteView> remote, cache::Fetcher& fetcher);

  Entry lookup(std::uint64_t parent, const std::string& name);
  Attributes getattr(std::uint64_t ino);
  // getattr with the time the kernel may keep the answer (the README's table).
  Entry stat(std::uint64_t ino);
  // access(2): W_OK is EROFS, X_OK on a file (mode 0444) EACCES; anything else is allowed.
  void access(std::uint64_t ino, int mask);
  std::vector<DirectoryEntry> readdir(std::uint64_t ino);
  // flags: open(2) flags; anything but read-only access gives EROFS, a directory EISDIR.
  OpenedFile open(std::uint64_t ino, int flags);
  // Bytes of an open file: archive files through the fetcher (a pinned range of the cache file
  // when its blocks are verified, for a zero-copy reply), .results.csv from its text.
  cache::ReadReply read(std::uint64_t handle, std::uint64_t offset, std::size_t size, const CallContext& call);
  void release(std::uint64_t handle);

 private:
  struct OpenFile;

  std::shared_ptr<const Node> node(std::uint64_t ino) const EXCLUDES(nodes_mutex_);
  // Returns the existing child node of that name, or registers `child` under a new inode.
  std::shared_ptr<const Node> intern(std::uint64_t parent, const std::string& name, Node child)
      EXCLUDES(nodes_mutex_);
  std::shared_ptr<const Node> lookup_node(const Node& parent, const std::string& name);
  std::shared_ptr<const Node> lookup_in_query(const Node& parent, const std::string& name);
  std::shared_ptr<const Node> lookup_in_archive(const Node& parent, const std::string& name);
  std::vector<std::pair<std::string, Node>> children(const Node& directory);
  std::optional<std::string> archive_url_of(const Node& directory);
  Node archive_child(const Node& parent, const ArchiveEntry& entry);
  static unsigned prefetch_levels_below(const Node& directory);
  void prefetch_next_small_files(const Node& file);
  std::string csv_of(const Node& csv_node);
  Attributes attributes_of(const Node& node) const;
  Entry entry_of(const Node& node) const;

  const FilesystemConfig config_;
  std::shared_ptr<RemoteView> remote_;
  cache::Fetcher& fetcher_;
  const std::int64_t mount_time_;

  // LOCK ORDER: nodes_mutex_ before handles_mutex_; no remote call is made while holding either.
  mutable Mutex nodes_mutex_;
  std::unordered_map<std::uint64_t, std::shared_ptr<const Node>> nodes_ GUARDED_BY(nodes_mutex_);
  std::map<std::pair<std::uint64_t, std::string>, std::uint64_t> names_ GUARDED_BY(nodes_mutex_);
  std::map<std::uint64_t, std::set<std::string>> looked_up_targets_ GUARDED_BY(nodes_mutex_);
  std::uint64_t next_ino_ GUARDED_BY(nodes_mutex_) = kRootInode + 1;

  Mutex handles_mutex_;
  std::unordered_map<std::uint64_t, std::shared_ptr<OpenFile>> handles_ GUARDED_BY(handles_mutex_);
  std::uint64_t next_handle_ GUARDED_BY(handles_mutex_) = 1;
};

}  // namespace hfs::fs
