#include "fs/fuse_notifier.h"

#include <cerrno>
#include <cstring>
#include <string>

#include "common/log.h"
#include "common/task_pool.h"

namespace hfs::fs {
namespace {

class FuseNotifier final : public KernelNotifier {
 public:
  explicit FuseNotifier(fuse_session* session) : session_(session) {}

  void invalidate_entry(std::uint64_t parent, const std::string& name) override {
    post("entry '" + name + "' of inode " + std::to_string(parent), [session = session_, parent, name] {
      return fuse_lowlevel_notify_inval_entry(session, parent, name.c_str(), name.size());
    });
  }

  void invalidate_inode(std::uint64_t ino) override {
    post("inode " + std::to_string(ino),
         [session = session_, ino] { return fuse_lowlevel_notify_inval_inode(session, ino, 0, 0); });
  }

 private:
  template <class Send>
  void post(std::string what, Send send) {
    bool queued = pool_.post([what, send] {
      int result = send();
      // ENOENT: the kernel holds nothing of it (never looked up, or forgotten): nothing to drop.
      if (result != 0 && result != -ENOENT)
        log::debug("notify", "invalidating " + what + " failed: " + std::strerror(-result));
    });
    if (!queued) log::warn("notify", "invalidation queue full: the kernel may keep " + what + " until its timeout");
  }

  fuse_session* const session_;
  // One thread: invalidations are rare (a refresh, a changed file) and cheap.
  TaskPool pool_{1, 65536};
};

}  // namespace

std::shared_ptr<KernelNotifier> make_fuse_notifier(fuse_session* session) {
  return std::make_shared<FuseNotifier>(session);
}

}  // namespace hfs::fs
