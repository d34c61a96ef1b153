// The command line: heasarcfs MOUNTPOINT [-f] [-d] [-o OPT[,OPT...]] | --help | --version
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vo/vo_client.h"

namespace hfs::fs {

struct MountOptions {
  std::string mountpoint;
  bool foreground = false;
  bool debug = false;
  bool show_help = false;
  bool show_version = false;
  vo::VoEndpoints endpoints;
  std::filesystem::path cache_dir;        // default: $XDG_CACHE_HOME/heasarcfs, else ~/.cache/heasarcfs
  std::uint64_t cache_size = 10ull << 30; // bytes
  double radius_deg = 1.0;                // pyvo's default cone radius
  std::chrono::seconds timeout{60};       // deadline of one remote operation
  unsigned connections = 8;               // HTTP connections per host (transfer engine)
  std::vector<std::string> fuse_options;  // FUSE mount options passed through (allow_other, ...)
};

// Throws hfs::Error(EINVAL, "<one line naming the bad option>") for an unknown or malformed
// option, a missing or extra mount point. `environment` supplies XDG_CACHE_HOME and HOME.
// The mount point and cache_dir come back absolute (relative ones against the current
// directory), since the daemon leaves it.
MountOptions parse_command_line(const std::vector<std::string>& args,
                                std::optional<std::string> xdg_cache_home, std::optional<std::string> home);

// "512M", "10G", "1T", "4096", "64K" (powers of 1024; optional trailing "B"/"iB") -> bytes.
std::optional<std::uint64_t> parse_size(std::string_view text);

std::string usage_text(std::string_view program);

}  // namespace hfs::fs
