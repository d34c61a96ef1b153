// The KernelNotifier (fs/kernel_notifier.h) of a mount: queues invalidations to one thread
// of its own that sends them to the FUSE session (fuse_lowlevel_notify_inval_entry/_inode),
// so that no FUSE request ever waits for one. Created once the session is mounted, destroyed
// (its thread joined, what is still queued dropped) before the session is.
#pragma once

#include <fuse_lowlevel.h>

#include <memory>

#include "fs/kernel_notifier.h"

namespace hfs::fs {

std::shared_ptr<KernelNotifier> make_fuse_notifier(fuse_session* session);

}  // namespace hfs::fs
