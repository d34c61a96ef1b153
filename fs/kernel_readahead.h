// The kernel's page-cache read-ahead of this mount.
//
// Why: a FUSE mount's read-ahead is its backing device info's (bdi) read_ahead_kb, which the
// kernel sets to 128 KiB at mount and never raises from FUSE's own INIT answer (it takes the
// smaller of the two). A sequential reader of a cached file therefore costs one FUSE round trip
// per 128 KiB, and with the cache files dropped from the page cache, one small synchronous disk
// read per 64 KiB block behind each. Root may write the bdi's read_ahead_kb after the mount
// (what `blockdev --setra` does for a disk); with FUSE's INIT asking for as much, the kernel's
// read requests grow up to libfuse's 1 MiB (max_pages 256).
//
// What it changes for small readers: the kernel ramps a file's window from 16 KiB on
// sequential hits (mm/readahead.c: x4 while under max/16, then x2), so with 128 or 256 KiB the
// steps are 16, 32, 64, 128 KiB, and with 1 MiB 16, 64, 128 KiB: a header reader (2880-byte
// records, then a seek) may pull one window more: measured by the benchmark (idle machine,
// 2026-12-02), the header case moved 128 KiB with 128K and 256K and 256 KiB with 1M, and the
// warm re-read of 200 MiB took 0.39 s at 128K, 0.33 s at 256K and 0.32 s at 1M. Hence the
// default of 256K (fs/options.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hfs::fs {

inline constexpr std::uint64_t kKernelDefaultReadahead = 128 * 1024;

// The device ("MAJ:MIN") of the last mount on `mountpoint` in a /proc/self/mountinfo text
// (its mount points octal-escaped as the kernel writes them); nullopt when none is.
std::optional<std::string> mount_device(std::string_view mountinfo, std::string_view mountpoint);

// Sets read_ahead_kb of the mount on `mountpoint` (canonical: as /proc/self/mountinfo shows
// it) to `bytes` rounded down to KiB. Throws hfs::Error with the errno when the mount is not
// found (ENOENT) or the sysfs file cannot be written (EACCES/EROFS for an unprivileged daemon).
void set_kernel_readahead(const std::string& mountpoint, std::uint64_t bytes);

}  // namespace hfs::fs
