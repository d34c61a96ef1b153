#include "fs/options.h"

#include <cctype>
#include <charconv>
#include <cmath>

#include "common/error.h"
#include "vo/sky.h"

namespace hfs::fs {
namespace {

// FUSE mount options we pass through untouched; everything else is ours or an error.
constexpr std::string_view kFuseOptions[] = {"allow_other", "allow_root", "auto_unmount", "ro", "nodev",
                                             "nosuid",      "noexec",     "noatime",      "default_permissions"};

[[noreturn]] void bad_option(const std::string& message) { throw Error(EINVAL, message); }

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> parts;
  std::string current;
  for (char c : text) {
    if (c == ',') {
      parts.push_back(current);
      current.clear();
    } else {
      current += c;
    }
  }
  parts.push_back(current);
  return parts;
}

bool is_http_url(const std::string& value) {
  return value.rfind("http://", 0) == 0 || value.rfind("https://", 0) == 0;
}

void apply_option(MountOptions& options, const std::string& option) {
  auto eq = option.find('=');
  std::string key = option.substr(0, eq);
  std::optional<std::string> value;
  if (eq != std::string::npos) value = option.substr(eq + 1);
  auto require_value = [&]() -> const std::string& {
    if (!value || value->empty()) bad_option("option '" + key + "' needs a value (-o " + key + "=...)");
    return *value;
  };
  if (key == "registry" || key == "resolver") {
    const auto& url = require_value();
    if (!is_http_url(url)) bad_option("option '" + key + "': '" + url + "' is not an http(s) URL");
    (key == "registry" ? options.endpoints.registry : options.endpoints.resolver) = url;
  } else if (key == "authority") {
    const auto& authority = require_value();
    if (authority.rfind("ivo://", 0) != 0 || authority.size() <= 6)
      bad_option("option 'authority': '" + authority + "' is not an IVOA identifier (ivo://...)");
    options.endpoints.authority = authority;
    while (options.endpoints.authority.size() > 6 && options.endpoints.authority.back() == '/')
      options.endpoints.authority.pop_back();
  } else if (key == "cache_dir") {
    options.cache_dir = require_value();
  } else if (key == "cache_size") {
    const auto& text = require_value();
    auto size = parse_size(text);
    if (!size || *size == 0) bad_option("option 'cache_size': '" + text + "' is not a size like 512M or 10G");
    options.cache_size = *size;
  } else if (key == "radius") {
    const auto& text = require_value();
    auto radius = vo::parse_angle_deg(text);
    if (!radius || *radius <= 0)
      bad_option("option 'radius': '" + text + "' is not an angle like 30arcsec, 5arcmin or 1deg");
    options.radius_deg = *radius;
  } else if (key == "timeout") {
    const auto& text = require_value();
    unsigned seconds = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
    if (ec != std::errc() || end != text.data() + text.size() || seconds == 0 || seconds > 86400)
      bad_option("option 'timeout': '" + text + "' is not a number of seconds (1..86400)");
    options.timeout = std::chrono::seconds(seconds);
  } else if (key == "connections") {
    const auto& text = require_value();
    unsigned count = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), count);
    if (ec != std::errc() || end != text.data() + text.size() || count == 0 || count > 64)
      bad_option("option 'connections': '" + text + "' is not a number of connections (1..64)");
    options.connections = count;
  } else {
    for (auto known : kFuseOptions) {
      if (key == known && !value) {
        options.fuse_options.push_back(key);
        return;
      }
    }
    bad_option("unknown option '" + option + "' (see --help)");
  }
}

// Without -f, fuse_daemonize() moves the daemon to "/": a relative path given on the command
// line would then name another place (the cache) or fail at exit (libfuse unmounts the path
// as given). So every path is made absolute against the directory heasarcfs started in.
std::filesystem::path absolute_path(const std::filesystem::path& path) {
  std::error_code error;
  auto absolute = std::filesystem::absolute(path, error);
  if (error) bad_option("cannot make '" + path.string() + "' an absolute path: " + error.message());
  absolute = absolute.lexically_normal();
  if (!absolute.has_filename() && absolute.has_relative_path()) absolute = absolute.parent_path();  // "/a/b/"
  return absolute;
}

}  // namespace

std::optional<std::uint64_t> parse_size(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::uint64_t number = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (ec != std::errc() || end == text.data()) return std::nullopt;
  std::string unit(end, text.data() + text.size());
  for (auto& c : unit) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (unit.size() >= 2 && unit.substr(unit.size() - 2) == "IB") unit.resize(unit.size() - 2);
  else if (unit.size() >= 2 && unit.back() == 'B') unit.pop_back();
  int shift = 0;
  if (unit.empty() || unit == "B") shift = 0;
  else if (unit == "K") shift = 10;
  else if (unit == "M") shift = 20;
  else if (unit == "G") shift = 30;
  else if (unit == "T") shift = 40;
  else return std::nullopt;
  if (shift && number > (UINT64_MAX >> shift)) return std::nullopt;
  return number << shift;
}

MountOptions parse_command_line(const std::vector<std::string>& args, std::optional<std::string> xdg_cache_home,
                                std::optional<std::string> home) {
  MountOptions options;
  std::vector<std::string> positional;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const auto& arg = args[i];
    if (arg == "-h" || arg == "--help") {
      options.show_help = true;
    } else if (arg == "-V" || arg == "--version") {
      options.show_version = true;
    } else if (arg == "-f") {
      options.foreground = true;
    } else if (arg == "-d") {
      options.debug = true;
      options.foreground = true;
    } else if (arg == "-o") {
      if (i + 1 >= args.size()) bad_option("option '-o' needs an argument");
      auto list = split_commas(args[++i]);
      for (const auto& option : list)
        if (option.empty()) bad_option("empty option in '-o " + args[i] + "'");
      for (const auto& option : list) apply_option(options, option);
    } else if (arg.rfind("-o", 0) == 0 && arg.size() > 2) {
      auto list = split_commas(arg.substr(2));
      for (const auto& option : list)
        if (option.empty()) bad_option("empty option in '" + arg + "'");
      for (const auto& option : list) apply_option(options, option);
    } else if (!arg.empty() && arg[0] == '-') {
      bad_option("unknown option '" + arg + "' (see --help)");
    } else {
      positional.push_back(arg);
    }
  }
  if (options.show_help || options.show_version) return options;
  if (positional.empty()) bad_option("missing MOUNTPOINT (see --help)");
  if (positional.size() > 1) bad_option("unexpected argument '" + positional[1] + "' (one MOUNTPOINT only)");
  options.mountpoint = absolute_path(positional[0]).string();
  if (options.cache_dir.empty()) {
    if (xdg_cache_home && !xdg_cache_home->empty()) {
      options.cache_dir = std::filesystem::path(*xdg_cache_home) / "heasarcfs";
    } else if (home && !home->empty()) {
      options.cache_dir = std::filesystem::path(*home) / ".cache" / "heasarcfs";
    } else {
      bad_option("no cache directory: set -o cache_dir=DIR (neither XDG_CACHE_HOME nor HOME is set)");
    }
  }
  options.cache_dir = absolute_path(options.cache_dir);
  return options;
}

std::string usage_text(std::string_view program) {
  std::string p(program);
  return "usage: " + p + " MOUNTPOINT [-f] [-d] [-o OPT[,OPT...]]\n"
         "       " + p + " --help | --version\n"
         "\n"
         "Mounts NASA HEASARC's archive as directories:\n"
         "  MOUNTPOINT/<table>/<target>[@<radius>]/[<column><op><value>/...]<obsid>/<archive files>\n"
         "  e.g.  ls MOUNTPOINT/numaster/NGC4151/'exposure_a>=50000'/\n"
         "\n"
         "  -f                 stay in the foreground\n"
         "  -d                 debug: foreground, debug logging and FUSE request tracing\n"
         "  -h, --help         this text\n"
         "  -V, --version      the version\n"
         "\n"
         "Options (-o):\n"
         "  registry=URL       RegTAP (TAP) service (default http://reg.g-vo.org/tap)\n"
         "  resolver=URL       Sesame name resolver (default https://cds.unistra.fr/cgi-bin/nph-sesame/)\n"
         "  authority=IVOID    whose tables to show (default ivo://nasa.heasarc)\n"
         "  cache_dir=DIR      persistent block cache (default $XDG_CACHE_HOME/heasarcfs or ~/.cache/heasarcfs)\n"
         "  cache_size=SIZE    cache limit, e.g. 512M, 10G (default 10G)\n"
         "  radius=ANGLE       default cone radius, e.g. 30arcsec, 5arcmin, 1deg (default 1deg)\n"
         "  timeout=SECONDS    deadline of one remote operation (default 60)\n"
         "  connections=N      HTTP connections per host, reads and listings together (default 8)\n"
         "  allow_other, allow_root, auto_unmount, default_permissions, noatime: passed to FUSE\n";
}

}  // namespace hfs::fs
