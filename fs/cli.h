// The mount-less commands, for machines where FUSE is not available at all (containers
// without /dev/fuse, sites that forbid it):
//   heasarcfs ls  [-a] [-l] [-R] [-o OPT,...] PATH...
//   heasarcfs cat [-o OPT,...] PATH...
//   heasarcfs cp  [-r] [-o OPT,...] PATH... DEST
// PATH is the path the mount shows below its mount point
// (numaster/NGC4151/exposure_a>=50000/60001111003). The commands call the same Filesystem a
// mount calls (lookup, readdir, open, read) over the same cache directory, in-process: what
// they list and copy is what the mount lists and copies.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "fs/filesystem.h"
#include "fs/options.h"

namespace hfs::fs {

enum class CliVerb { ls, cat, cp };

struct CliCommand {
  CliVerb verb = CliVerb::ls;
  bool all = false;          // ls -a: names starting with '.' too (.results.csv)
  bool long_format = false;  // ls -l: type, size, mtime before each name
  bool recursive = false;    // ls -R, cp -r
  std::vector<std::string> paths;
  std::filesystem::path destination;  // cp
  MountOptions options;               // the -o options (no mount point)
};

// "ls", "cat" or "cp": the first argument selects the command instead of a mount (so a mount
// SOURCE cannot be one of these words).
bool is_cli_verb(std::string_view word);

// args[0] is the verb. Throws hfs::Error(EINVAL, "<one line>") on a bad argument, as
// parse_command_line does. Logging defaults to warn (stderr), unless log_level= is given.
CliCommand parse_cli_command(const std::vector<std::string>& args, std::optional<std::string> xdg_cache_home,
                             std::optional<std::string> home);

// The inode of PATH ("a/b/c", "/a/b/", "" for the root; "." and ".." are resolved by name).
// Throws the Filesystem's hfs::Error, its message prefixed with the path that failed. Each
// lookup has `timeout` (the mount's timeout=) as its deadline, like a mount's lookups.
std::uint64_t resolve_path(Filesystem& filesystem, std::string_view path, std::chrono::milliseconds timeout);

// Everything the commands need besides the Filesystem.
struct CliIo {
  std::ostream& out;                         // ls output
  int out_fd = 1;                            // cat output
  std::ostream& err;                         // one line per failed path
  std::chrono::milliseconds timeout{60000};  // deadline of each Filesystem call (the mount's timeout=)
};

// Runs the command; a failing path is reported on `err` ("heasarcfs cp: PATH: <strerror>:
// <what>") and the others still run. Returns the exit status: 0, or 1 when a path failed.
int run_cli(const CliCommand& command, Filesystem& filesystem, const CliIo& io);

}  // namespace hfs::fs
