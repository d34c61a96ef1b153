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

// Where the archive's listings and bytes come from (-o archive=); the VO queries always go to
// the services. The archive path of a DataLink directory URL is what follows its "/FTP/"
// (vo/archive_path.h).
struct ArchiveSource {
  enum class Kind {
    datalink,    // default (or archive=datalink): the URLs DataLink gives, over HTTP
    local,       // archive=DIR: a local copy of /FTP/ (SciServer: /FTP); missing parts over HTTP
    s3,          // archive=s3 or s3:ENDPOINT: the nasa-heasarc bucket, ListObjectsV2 + ranged GETs
    site_cache,  // archive=http(s)://host/prefix/: the archive prefix rewritten to a site cache
  };
  Kind kind = Kind::datalink;
  // local: the directory (absolute); s3: the bucket URL (vo/s3_archive_client.h);
  // site_cache: the prefix URL, ending with '/'.
  std::string location;
};

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
  std::uint64_t readahead = 256 << 10;     // the kernel's read-ahead for the mount (fs/kernel_readahead.h)
  ArchiveSource archive;                   // archive=
  std::vector<std::string> proxies;        // proxy=URL[;URL...]: forward proxies, tried in order
  std::vector<std::string> fuse_options;   // FUSE mount options passed through (allow_other, ...)
  // cainfo=FILE: PEM certificates that HTTPS servers are verified against instead of the
  // system's store (a private CA, a local mirror's self-signed certificate); absolute.
  std::filesystem::path ca_info;
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

// The value of archive=: "/dir" (local), "s3", "s3:http://host:port", "http(s)://host/prefix/",
// "datalink". Throws hfs::Error(EINVAL) naming the option for anything else. Whether DIR exists
// is checked when the mount starts (open_mount_context).
ArchiveSource parse_archive_source(const std::string& value);

// "512M", "10G", "1T", "4096", "64K" (powers of 1024; optional trailing "B"/"iB") -> bytes.
std::optional<std::uint64_t> parse_size(std::string_view text);

// "debug", "info", "warn" (or "warning"), "error".
std::optional<log::Level> parse_log_level(std::string_view text);

// The fsname= mount option naming `source`, with the characters libfuse's option parser
// treats specially (',' and '\') escaped.
std::string fsname_option(const std::string& source);

std::string usage_text(std::string_view program);

}  // namespace hfs::fs
