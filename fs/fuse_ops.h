// The FUSE low-level callbacks. They only translate: each one calls the Filesystem, converts
// its result into a reply, and turns any exception into an errno at one noexcept edge.
#pragma once

#include <fuse_lowlevel.h>

namespace hfs::fs {

// The operations table; userdata must be the MountContext.
const fuse_lowlevel_ops& fuse_operations();

}  // namespace hfs::fs
