// The command line of the mount:
//   heasarcfs [SOURCE] MOUNTPOINT [-f] [-d] [-s] [-o OPT[,OPT...]] | --help | --version
// SOURCE is the word mount(8) and mount.fuse3 put before the mount point (`mount -t
// fuse.heasarcfs heasarcfs /mnt/heasarc` runs `heasarcfs heasarcfs /mnt/heasarc -o rw,dev,suid`);
// it only names the mount (its fsname in /proc/mounts). The -o options the mount helpers add
// are accepted: `ro`; `rw` is refused (the archive is read-only); the kernel flags nosuid,
// nodev, noexec, noatime, nodiratime go to FUSE, their defaults (suid, dev, exec, atime, ...)
// and mount's own options (_netdev, noauto, nofail, user, defaults, x-*) are ignored.
// The mount-less commands (fs/cli.h) share the -o options: apply_options, finish_options.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/log.h"
#include "vo/vo_client.h"

namespace hfs::fs {

struct MountOptions {
  std::string source;            // mount source, shown as the fsname (default "heasarcfs")
  std::string mountpoint;        // absolute; or /dev/fd/N, a /dev/fuse descriptor already mounted
  bool foreground = false;       // -f
  bool debug = false;            // -d: FUSE request tracing (implies -f and log_level=debug)
  bool single_threaded = false;  // -s
  bool show_help = false;
  bool show_version = false;
  log::Level log_level = log::Level::info;  // log_level=debug|info|warn|error
  bool log_level_given = false;             // log_level= was on the command line
  vo::VoEndpoints endpoints;
  std::filesystem::path cache_dir;         // default: $XDG_CACHE_HOME/heasarcfs, else ~/.cache/heasarcfs
  std::uint64_t cache_size = 10ull << 30;  // bytes
  double radius_deg = 1.0;                 // pyvo's default cone radius
  std::chrono::seconds timeout{60};        // deadline of one remote operation
  unsigned connections = 8;                // HTTP connections per host (transfer engine)
  std::vector<std::string> proxies;        // proxy=URL[;URL...]: forward proxies, tried in order
  std::vector<std::string> fuse_options;   // FUSE mount options passed through (allow_other, ...)
};

// Throws hfs::Error(EINVAL, "<one line naming the bad option>") for an unknown or malformed
// option, a missing mount point or an extra argument. `environment` supplies XDG_CACHE_HOME
// and HOME. The mount point and cache_dir come back absolute (relative ones against the
// current directory), since the daemon leaves it.
MountOptions parse_command_line(const std::vector<std::string>& args, std::optional<std::string> xdg_cache_home,
                                std::optional<std::string> home);

// One -o argument ("a=1,b,c=2") applied in order; throws as parse_command_line does.
// `argument` is how the user wrote it, for the error message ("-o a=1,b" or "-oa=1,b").
void apply_options(MountOptions& options, const std::string& list, const std::string& argument);

// After the arguments: the default cache_dir from the environment, cache_dir absolute, and
// the log level -d implies. Throws hfs::Error(EINVAL) when no cache directory can be found.
void finish_options(MountOptions& options, std::optional<std::string> xdg_cache_home, std::optional<std::string> home);

// "512M", "10G", "1T", "4096", "64K" (powers of 1024; optional trailing "B"/"iB") -> bytes.
std::optional<std::uint64_t> parse_size(std::string_view text);

// "debug", "info", "warn" (or "warning"), "error".
std::optional<log::Level> parse_log_level(std::string_view text);

// The fsname= mount option naming `source`, with the characters libfuse's option parser
// treats specially (',' and '\') escaped.
std::string fsname_option(const std::string& source);

std::string usage_text(std::string_view program);

}  // namespace hfs::fs
