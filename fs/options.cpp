#include "fs/options.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstring>

#include <unistd.h>

#include "common/error.h"
#include "vo/proxy_list.h"
#include "vo/s3_archive_client.h"
#include "vo/sky.h"

namespace hfs::fs {
namespace {

// FUSE mount options passed through untouched.
constexpr std::string_view kFuseOptions[] = {"allow_other", "allow_root", "auto_unmount", "default_permissions",
                                             "nodev",       "nosuid",     "noexec",       "noatime",
                                             "nodiratime"};
// Accepted and ignored. dev, suid, exec: mount.fuse3 appends dev,suid to every mount, but the
// mount keeps libfuse's nosuid,nodev (there are no device nodes or set-id files here, and
// fusermount3 ignores dev/suid from users as unsafe anyway). Flags without meaning on a read-only
// filesystem (sync, atime updates). And the options that are mount(8)'s business, which a
// mount helper may hand on: _netdev (wait for the network), noauto/auto (mount -a), nofail,
// user/users/owner/group (who may mount), defaults. x-* options (x-systemd.*) too.
constexpr std::string_view kIgnoredOptions[] = {
    "dev",        "suid",        "exec",          "async",    "sync",     "dirsync",    "atime",   "relatime",
    "norelatime", "strictatime", "nostrictatime", "diratime", "lazytime", "nolazytime", "_netdev", "auto",
    "noauto",     "nofail",      "user",          "nouser",   "users",    "owner",      "group",   "defaults"};

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

bool is_http_url(const std::string& value) { return value.rfind("http://", 0) == 0 || value.rfind("https://", 0) == 0; }

// "URL[;URL...]": each a proxy URL with a scheme libcurl speaks; at most vo::kMaxProxies.
std::vector<std::string> parse_proxy_list(const std::string& text) {
  std::vector<std::string> proxies;
  std::size_t start = 0;
  for (;;) {
    const auto end = std::min(text.find(';', start), text.size());
    std::string url = text.substr(start, end - start);
    if (!vo::is_proxy_url(url))
      bad_option("option 'proxy': '" + url +
                 "' is not a proxy URL (http://, https://, socks4://, socks5:// or socks5h://HOST:PORT)");
    proxies.push_back(std::move(url));
    if (end == text.size()) break;
    start = end + 1;
  }
  if (proxies.size() > vo::kMaxProxies)
    bad_option("option 'proxy': more than " + std::to_string(vo::kMaxProxies) + " proxies");
  return proxies;
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
  } else if (key == "cainfo") {
    options.ca_info = require_value();
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
  } else if (key == "readahead") {
    const auto& text = require_value();
    auto size = parse_size(text);
    if (!size || *size < 4096 || *size > (64ull << 20))
      bad_option("option 'readahead': '" + text + "' is not a size from 4K to 64M");
    options.readahead = *size;
  } else if (key == "archive") {
    options.archive = parse_archive_source(require_value());
  } else if (key == "proxy") {
    options.proxies = parse_proxy_list(require_value());
  } else if (key == "log_level") {
    const auto& text = require_value();
    auto level = parse_log_level(text);
    if (!level) bad_option("option 'log_level': '" + text + "' is not one of debug, info, warn, error");
    options.log_level = *level;
    options.log_level_given = true;
  } else if (key == "ro" && !value) {
    // Always read-only (serve() mounts with ro); said explicitly by mount(8) users and fstab.
  } else if (key == "rw" && !value) {
    bad_option(
        "option 'rw': heasarcfs is read-only, mount it with -o ro "
        "(mount(8) passes rw when neither is given)");
  } else {
    if (!value) {
      for (auto known : kFuseOptions) {
        if (key == known) {
          options.fuse_options.push_back(key);
          return;
        }
      }
      for (auto ignored : kIgnoredOptions)
        if (key == ignored) return;
    }
    // x-systemd.automount, x-gvfs-show, comment=...: annotations for other tools.
    if (key.rfind("x-", 0) == 0 || key == "comment") return;
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

ArchiveSource parse_archive_source(const std::string& value) {
  ArchiveSource source;
  if (value == "datalink") return source;
  if (value == "s3") {
    source.kind = ArchiveSource::Kind::s3;
    source.location = vo::kAwsHeasarcBucketUrl;
  } else if (value.rfind("s3:", 0) == 0) {
    const std::string endpoint = value.substr(3);
    if (!is_http_url(endpoint) || endpoint.find_first_of("?#") != std::string::npos)
      bad_option("option 'archive': '" + endpoint + "' is not an S3 endpoint URL (archive=s3:http(s)://host[:port])");
    source.kind = ArchiveSource::Kind::s3;
    source.location = vo::s3_path_style_bucket_url(endpoint);
  } else if (is_http_url(value)) {
    if (value.find_first_of("?#") != std::string::npos)
      bad_option("option 'archive': a site cache URL takes no query or fragment ('" + value + "')");
    source.kind = ArchiveSource::Kind::site_cache;
    source.location = value.back() == '/' ? value : value + "/";
  } else if (!value.empty() && value[0] == '/') {
    source.kind = ArchiveSource::Kind::local;
    source.location = absolute_path(value).string();
  } else {
    bad_option("option 'archive': '" + value +
               "' is none of DIR (absolute), s3, s3:ENDPOINT, an http(s):// site cache URL or datalink");
  }
  return source;
}

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

std::optional<log::Level> parse_log_level(std::string_view text) {
  if (text == "debug") return log::Level::debug;
  if (text == "info") return log::Level::info;
  if (text == "warn" || text == "warning") return log::Level::warn;
  if (text == "error") return log::Level::error;
  return std::nullopt;
}

void apply_options(MountOptions& options, const std::string& list, const std::string& argument) {
  auto parts = split_commas(list);
  for (const auto& option : parts)
    if (option.empty()) bad_option("empty option in '" + argument + "'");
  for (const auto& option : parts) apply_option(options, option);
}

void finish_options(MountOptions& options, std::optional<std::string> xdg_cache_home, std::optional<std::string> home) {
  if (options.debug && !options.log_level_given) options.log_level = log::Level::debug;
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
  if (!options.ca_info.empty()) {
    options.ca_info = absolute_path(options.ca_info);
    // Said now, in one line: curl would only fail each HTTPS request with a generic error.
    if (::access(options.ca_info.c_str(), R_OK) != 0)
      bad_option("option 'cainfo': cannot read '" + options.ca_info.string() + "': " + std::strerror(errno));
  }
}

MountOptions parse_command_line(const std::vector<std::string>& args, std::optional<std::string> xdg_cache_home,
                                std::optional<std::string> home) {
  MountOptions options;
  std::vector<std::string> positional;
  bool only_positional = false;  // after "--"
  for (std::size_t i = 0; i < args.size(); ++i) {
    const auto& arg = args[i];
    if (only_positional || arg.empty() || arg[0] != '-') {
      positional.push_back(arg);
    } else if (arg == "--") {
      only_positional = true;
    } else if (arg == "-h" || arg == "--help") {
      options.show_help = true;
    } else if (arg == "-V" || arg == "--version") {
      options.show_version = true;
    } else if (arg == "-f") {
      options.foreground = true;
    } else if (arg == "-d") {
      options.debug = true;
      options.foreground = true;
    } else if (arg == "-s") {
      options.single_threaded = true;
    } else if (arg == "-o") {
      if (i + 1 >= args.size()) bad_option("option '-o' needs an argument");
      ++i;
      apply_options(options, args[i], "-o " + args[i]);
    } else if (arg.rfind("-o", 0) == 0 && arg.size() > 2) {
      apply_options(options, arg.substr(2), arg);
    } else {
      bad_option("unknown option '" + arg + "' (see --help)");
    }
  }
  if (options.show_help || options.show_version) return options;
  if (positional.empty()) bad_option("missing MOUNTPOINT (see --help)");
  if (positional.size() > 2) bad_option("unexpected argument '" + positional[2] + "' (expected [SOURCE] MOUNTPOINT)");
  if (positional.size() == 2) {
    if (positional[0].empty()) bad_option("empty SOURCE before the mount point");
    options.source = positional[0];
  } else {
    options.source = "heasarcfs";
  }
  if (positional.back().empty()) bad_option("empty MOUNTPOINT");
  options.mountpoint = absolute_path(positional.back()).string();
  finish_options(options, std::move(xdg_cache_home), std::move(home));
  return options;
}

std::string fsname_option(const std::string& source) {
  std::string option = "fsname=";
  for (char c : source) {
    if (c == ',' || c == '\\') option += '\\';
    option += c;
  }
  return option;
}

std::string usage_text(std::string_view program) {
  std::string p(program);
  return "usage: " + p +
         " [SOURCE] MOUNTPOINT [-f] [-d] [-s] [-o OPT[,OPT...]]\n"
         "       " +
         p +
         " ls [-a] [-l] [-R] [-o OPT,...] PATH...      (no mount: list)\n"
         "       " +
         p +
         " cat [-o OPT,...] PATH...                  (no mount: print files)\n"
         "       " +
         p +
         " cp [-r] [-o OPT,...] PATH... DEST          (no mount: copy out)\n"
         "       " +
         p +
         " --help | --version\n"
         "\n"
         "Mounts NASA HEASARC's archive as directories:\n"
         "  MOUNTPOINT/<table>/<target>[@<radius>]/[<column><op><value>/...]<obsid>/<archive files>\n"
         "  e.g.  ls MOUNTPOINT/numaster/NGC4151/'exposure_a>=50000'/\n"
         "The ls, cat and cp commands take the same paths (without MOUNTPOINT) and run the same\n"
         "filesystem code and cache in-process, for machines without FUSE.\n"
         "\n"
         "  SOURCE             any word (mount -t fuse.heasarcfs SOURCE MOUNTPOINT); names the mount\n"
         "  -f                 stay in the foreground\n"
         "  -d                 debug: foreground, log_level=debug and FUSE request tracing\n"
         "  -s                 single-threaded: one FUSE request at a time\n"
         "  -h, --help         this text\n"
         "  -V, --version      the version\n"
         "\n"
         "Options (-o):\n"
         "  registry=URL       RegTAP (TAP) service (default https://reg.g-vo.org/tap)\n"
         "  resolver=URL       Sesame name resolver (default https://cds.unistra.fr/cgi-bin/nph-sesame/)\n"
         "  authority=IVOID    whose tables to show (default ivo://nasa.heasarc)\n"
         "  cainfo=FILE        PEM CA certificates to verify HTTPS servers with (default: the system's)\n"
         "  cache_dir=DIR      persistent block cache (default $XDG_CACHE_HOME/heasarcfs or ~/.cache/heasarcfs)\n"
         "  cache_size=SIZE    cache limit, e.g. 512M, 10G (default 10G)\n"
         "  radius=ANGLE       default cone radius, e.g. 30arcsec, 5arcmin, 1deg (default 1deg)\n"
         "  timeout=SECONDS    deadline of one remote operation (default 60)\n"
         "  connections=N      HTTP connections per host, reads and listings together (default 8)\n"
         "  readahead=SIZE     the kernel's read-ahead for the mount, e.g. 128K, 1M (default 256K;\n"
         "                     needs root, else the kernel's 128K stays)\n"
         "  archive=SOURCE     where archive listings and bytes come from (VO queries always go to\n"
         "                     the services): DIR, a local copy of /FTP/ (SciServer: /FTP); s3, the\n"
         "                     AWS open-data bucket nasa-heasarc; s3:ENDPOINT, another S3 endpoint\n"
         "                     (path-style); http(s)://HOST/PREFIX/, a site cache replacing .../FTP/;\n"
         "                     datalink (default): the URLs DataLink gives\n"
         "  proxy=URL[;...]    forward proxies, tried in order, a dead one skipped 60 s\n"
         "                     (default: the http_proxy, https_proxy and no_proxy variables)\n"
         "  log_level=LEVEL    debug, info, warn or error (default info)\n"
         "  ro                 accepted (always read-only); rw is refused\n"
         "  allow_other, allow_root, auto_unmount, default_permissions,\n"
         "  nodev, nosuid, noexec, noatime, nodiratime: passed to FUSE\n"
         "  dev, suid, exec, sync, async, atime, relatime, _netdev, noauto, nofail, user,\n"
         "  defaults, x-*: accepted and ignored (mount(8)'s business)\n";
}

}  // namespace hfs::fs
