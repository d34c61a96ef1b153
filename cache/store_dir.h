// The object store's directory: creating and checking it (owner, mode), its lock, and the scan
// at open that finds the cached objects and removes everything else under objects/.
//
// Nothing here follows a symlink below the cache directory itself (the directory the user
// named may be a link; what is inside it is ours): every call is relative to an open directory
// descriptor with O_NOFOLLOW or AT_SYMLINK_NOFOLLOW, a symlink found anywhere is removed as a
// link, and a stray subdirectory is removed entry by entry through descriptors, never by path.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "cache/object_store.h"
#include "cache/sidecar.h"
#include "common/unique_fd.h"

namespace hfs::cache::store_dir {

// Opens the cache directory, creating it (and missing parents) mode 0700 whatever the umask.
// Throws hfs::Error: the errno of a failed mkdir/open, or EACCES (one message naming the path
// and the problem) when it is owned by another user or writable by group or others.
UniqueFd open_cache_dir(const std::filesystem::path& dir);

// Takes the exclusive lock of the directory (the file "lock", mode 0600, holding our pid).
// Throws hfs::Error EBUSY when another mount holds it.
UniqueFd lock_cache_dir(int dir_fd, const std::filesystem::path& dir);

// Opens subdirectory `name` of parent_fd, creating it 0700; a symlink or file in its place is
// removed first. Throws hfs::Error naming `shown` when it cannot.
UniqueFd open_private_subdir(int parent_fd, const std::string& name, const std::filesystem::path& shown);

// Removes parent/name whatever it is, without following symlinks: a symlink is unlinked, a
// directory emptied through descriptors and removed. Returns 0 or the first errno.
int remove_tree_at(int parent_fd, const std::string& name);

// Creates a file 0600 (whatever the umask), truncated, without following a symlink.
// Returns the descriptor or -errno.
int create_private_file(int dir_fd, const std::string& relative_path);

// One object found on disk at open, its sidecar decoded and checked against its name and its
// data file.
struct FoundObject {
  std::uint64_t hash = 0;
  sidecar::Decoded sidecar;
  timespec mtime{};  // the sidecar's: the object's recency
};

struct ScanResult {
  std::vector<FoundObject> objects;
  std::size_t temp_removed = 0;     // sidecars a crash left half-created
  std::size_t strays_removed = 0;   // anything that is not an object's file
  std::size_t damaged_removed = 0;  // objects whose sidecar did not decode or match
  std::size_t empty_removed = 0;    // objects without a present block
};

// Lists <objects>/<2 hex>/ and keeps the objects whose .meta decodes, names the object its file
// name says (`hash` of its key) and whose .data has the object's size; removes temp files,
// strays, damaged objects (one log line each, saying why) and objects with no block present.
ScanResult scan_objects(int objects_fd, const std::filesystem::path& objects_path,
                        const std::function<std::uint64_t(const ObjectKey&)>& hash);

}  // namespace hfs::cache::store_dir
