// Telling the kernel that what it cached about a node is no longer true: a name whose entry
// changed, a file whose size, validator or bytes changed (the kernel keeps archive files' pages
// across opens: keep_cache). Filesystem calls it; fs/fuse_notifier.cpp sends it to the FUSE
// session; tests record the calls. Keeps Filesystem free of FUSE.
//
// Implementations must not block the caller: the calls come from inside FUSE requests
// (lookup, readdir, read), and the kernel may hold the very lock a notification needs while
// such a request runs, so the FUSE one queues them to a thread of its own.
#pragma once

#include <cstdint>
#include <string>

namespace hfs::fs {

class KernelNotifier {
 public:
  virtual ~KernelNotifier() = default;
  // The kernel forgets `name` in directory `parent`: its next use looks it up again.
  virtual void invalidate_entry(std::uint64_t parent, const std::string& name) = 0;
  // The kernel drops the node's cached attributes and page-cache pages.
  virtual void invalidate_inode(std::uint64_t ino) = 0;
};

}  // namespace hfs::fs
