#define BOOST_TEST_MODULE options
#include <boost/test/unit_test.hpp>

#include "common/error.h"
#include "fs/options.h"
#include "tests/support/temp_dir.h"

#include <fstream>

using hfs::fs::parse_command_line;
using hfs::fs::parse_size;

namespace {

hfs::fs::MountOptions parse(std::vector<std::string> args) {
  return parse_command_line(args, std::nullopt, std::string("/home/astro"));
}

std::string error_of(std::vector<std::string> args) {
  try {
    parse(args);
  } catch (const hfs::Error& error) {
    BOOST_TEST(error.errnum() == EINVAL);
    return error.what();
  }
  return "";
}

}  // namespace

BOOST_AUTO_TEST_CASE(defaults_point_at_the_real_services) {
  auto options = parse({"/mnt/heasarc"});
  BOOST_TEST(options.mountpoint == "/mnt/heasarc");
  BOOST_TEST(options.endpoints.registry == "https://reg.g-vo.org/tap");  // pyvo: http
  BOOST_TEST(options.ca_info.empty());
  BOOST_TEST(options.endpoints.resolver == "https://cds.unistra.fr/cgi-bin/nph-sesame/");
  BOOST_TEST(options.endpoints.authority == "ivo://nasa.heasarc");
  BOOST_TEST(options.cache_dir.string() == "/home/astro/.cache/heasarcfs");
  BOOST_TEST(options.cache_size == 10ull << 30);
  BOOST_TEST(options.radius_deg == 1.0);
  BOOST_TEST(!options.foreground);
  auto xdg = parse_command_line({"/mnt"}, std::string("/xdg"), std::string("/home/astro"));
  BOOST_TEST(xdg.cache_dir.string() == "/xdg/heasarcfs");
}

BOOST_AUTO_TEST_CASE(every_option) {
  auto options = parse({"-f", "/mnt/h", "-o",
                        "registry=http://127.0.0.1:5/tap,resolver=http://127.0.0.1:5/sesame/,"
                        "authority=ivo://nasa.heasarc/,cache_dir=/tmp/c,cache_size=512M,radius=30arcsec,timeout=7",
                        "-oallow_other"});
  BOOST_TEST(options.foreground);
  BOOST_TEST(options.endpoints.registry == "http://127.0.0.1:5/tap");
  BOOST_TEST(options.endpoints.resolver == "http://127.0.0.1:5/sesame/");
  BOOST_TEST(options.endpoints.authority == "ivo://nasa.heasarc");
  BOOST_TEST(options.cache_dir.string() == "/tmp/c");
  BOOST_TEST(options.cache_size == 512ull << 20);
  BOOST_TEST(options.radius_deg == 30.0 / 3600, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(options.timeout.count() == 7);
  BOOST_TEST(options.fuse_options == std::vector<std::string>{"allow_other"});
  auto debug = parse({"-d", "/mnt"});
  BOOST_TEST(debug.debug);
  BOOST_TEST(debug.foreground);
  BOOST_TEST(parse({"--help"}).show_help);
  BOOST_TEST(parse({"--version"}).show_version);
}

BOOST_AUTO_TEST_CASE(bad_options_name_themselves) {
  BOOST_TEST(error_of({"/mnt", "-o", "colour=blue"}).find("'colour=blue'") != std::string::npos);
  BOOST_TEST(error_of({"/mnt", "--frobnicate"}).find("'--frobnicate'") != std::string::npos);
  BOOST_TEST(error_of({"/mnt", "-o", "cache_size=lots"}).find("cache_size") != std::string::npos);
  BOOST_TEST(error_of({"/mnt", "-o", "cache_size=0"}).find("cache_size") != std::string::npos);
  BOOST_TEST(error_of({"/mnt", "-o", "radius=wide"}).find("radius") != std::string::npos);
  BOOST_TEST(error_of({"/mnt", "-o", "timeout=-1"}).find("timeout") != std::string::npos);
  BOOST_TEST(error_of({"/mnt", "-o", "registry=ftp://x"}).find("registry") != std::string::npos);
  BOOST_TEST(error_of({"/mnt", "-o", "authority=nasa"}).find("authority") != std::string::npos);
  BOOST_TEST(error_of({"/mnt", "-o", "registry"}).find("needs a value") != std::string::npos);
  BOOST_TEST(error_of({"/mnt", "-o"}).find("-o") != std::string::npos);
  BOOST_TEST(error_of({}).find("MOUNTPOINT") != std::string::npos);
  BOOST_TEST(error_of({"src", "/a", "/b"}).find("'/b'") != std::string::npos);  // SOURCE MOUNTPOINT, then one too many
  BOOST_TEST(error_of({"/mnt", "-o", "a,,b"}).find("empty option") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(sizes) {
  BOOST_TEST(parse_size("512M").value() == 512ull << 20);
  BOOST_TEST(parse_size("10G").value() == 10ull << 30);
  BOOST_TEST(parse_size("10GiB").value() == 10ull << 30);
  BOOST_TEST(parse_size("1T").value() == 1ull << 40);
  BOOST_TEST(parse_size("4096").value() == 4096u);
  BOOST_TEST(parse_size("64k").value() == 64u << 10);
  BOOST_TEST(!parse_size(""));
  BOOST_TEST(!parse_size("G"));
  BOOST_TEST(!parse_size("10X"));
  BOOST_TEST(!parse_size("-5M"));
  BOOST_TEST(!parse_size("99999999999999999999T"));
  BOOST_TEST(!parse_size("20000000T"));
}

BOOST_AUTO_TEST_CASE(relative_paths_become_absolute) {
  // Without -f the daemon runs in "/" (fuse_daemonize): a relative mount point would not be
  // unmounted at exit and a relative cache_dir would be a different directory.
  auto cwd = std::filesystem::current_path();
  auto options = parse({"mnt/heasarc/", "-o", "cache_dir=./cache//here"});
  BOOST_TEST(options.mountpoint == (cwd / "mnt" / "heasarc").string());
  BOOST_TEST(options.cache_dir == cwd / "cache" / "here");
  BOOST_TEST(std::filesystem::path(options.mountpoint).is_absolute());
  auto xdg = parse_command_line({"/mnt"}, std::string("xdg"), std::nullopt);
  BOOST_TEST(xdg.cache_dir == cwd / "xdg" / "heasarcfs");
  auto home = parse_command_line({"/mnt"}, std::nullopt, std::string("astro"));
  BOOST_TEST(home.cache_dir == cwd / "astro" / ".cache" / "heasarcfs");
  BOOST_TEST(parse({"/mnt/heasarc/"}).mountpoint == "/mnt/heasarc");
  BOOST_TEST(parse({"/"}).mountpoint == "/");
}

BOOST_AUTO_TEST_CASE(cainfo_is_made_absolute_and_must_be_readable) {
  hfs::test::TempDir dir;
  std::ofstream(dir.path() / "ca.pem") << "-----BEGIN CERTIFICATE-----\n";
  auto options = parse({"/mnt", "-o", "cainfo=" + (dir.path() / "." / "ca.pem").string()});
  BOOST_TEST(options.ca_info == dir.path() / "ca.pem");
  // A missing file is said at once, in one line naming the option, not by every HTTPS request.
  auto missing = (dir.path() / "nope.pem").string();
  auto message = error_of({"/mnt", "-o", "cainfo=" + missing});
  BOOST_TEST(message.find("option 'cainfo': cannot read '" + missing + "'") != std::string::npos);
  BOOST_TEST(error_of({"/mnt", "-o", "cainfo="}).find("'cainfo' needs a value") != std::string::npos);
}

// What mount(8) and mount.fuse3 hand the filesystem: `mount -t fuse.heasarcfs heasarcfs /mnt
// -o ro,allow_other,cache_dir=/c` runs `heasarcfs heasarcfs /mnt -o ro,allow_other,cache_dir=/c,dev,suid`
// (seen with strace on Debian 12's util-linux 2.38 and fuse3 3.14).
BOOST_AUTO_TEST_CASE(the_mount_helper_form) {
  auto options = parse({"heasarcfs", "/mnt/heasarc", "-o", "ro,allow_other,cache_dir=/c,dev,suid"});
  BOOST_TEST(options.source == "heasarcfs");
  BOOST_TEST(options.mountpoint == "/mnt/heasarc");
  BOOST_TEST(options.cache_dir.string() == "/c");
  BOOST_TEST(options.fuse_options == std::vector<std::string>{"allow_other"});
  // An fstab line with "user" becomes noexec,nosuid,nodev; those go to FUSE.
  auto fstab = parse({"archive", "/mnt/h", "-o", "ro,noexec,nosuid,nodev,allow_other,cache_dir=/tmp/c"});
  BOOST_TEST(fstab.source == "archive");
  BOOST_TEST((fstab.fuse_options == std::vector<std::string>{"noexec", "nosuid", "nodev", "allow_other"}));
  // Without a source (`mount -t fuse.heasarcfs "" /mnt`) the mount point is the only word.
  auto no_source = parse({"/mnt/h", "-o", "ro,dev,suid"});
  BOOST_TEST(no_source.source == "heasarcfs");
  BOOST_TEST(no_source.mountpoint == "/mnt/h");
  BOOST_TEST(no_source.fuse_options.empty());
  // Options may come first, and "--" ends them.
  auto first = parse({"-o", "ro", "-f", "--", "src", "-odd-dir"});
  BOOST_TEST(first.source == "src");
  BOOST_TEST(first.mountpoint == std::filesystem::current_path().string() + "/-odd-dir");
}

BOOST_AUTO_TEST_CASE(rw_is_refused_in_one_line) {
  auto message = error_of({"heasarcfs", "/mnt", "-o", "rw,dev,suid"});
  BOOST_TEST(message.find("'rw'") != std::string::npos);
  BOOST_TEST(message.find("-o ro") != std::string::npos);
  BOOST_TEST(message.find('\n') == std::string::npos);
  BOOST_TEST(error_of({"/mnt", "-o", "defaults,rw"}).find("'rw'") != std::string::npos);
  BOOST_TEST(error_of({"/mnt", "-o", "rw=1"}).find("rw=1") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(mount_business_is_ignored) {
  auto options = parse({"heasarcfs", "/mnt", "-o",
                        "ro,_netdev,noauto,auto,nofail,user,nouser,users,owner,group,defaults,dev,suid,exec,"
                        "sync,async,dirsync,atime,relatime,norelatime,strictatime,nostrictatime,diratime,"
                        "lazytime,nolazytime,x-systemd.automount,x-systemd.idle-timeout=60,comment=x"});
  BOOST_TEST(options.fuse_options.empty());
  // Kernel flags that restrict pass through to FUSE.
  auto restricted = parse({"/mnt", "-o", "nodev,nosuid,noexec,noatime,nodiratime,auto_unmount"});
  BOOST_TEST((restricted.fuse_options ==
              std::vector<std::string>{"nodev", "nosuid", "noexec", "noatime", "nodiratime", "auto_unmount"}));
  // Ignored names take no value; a value makes them unknown.
  BOOST_TEST(error_of({"/mnt", "-o", "_netdev=1"}).find("'_netdev=1'") != std::string::npos);
  BOOST_TEST(error_of({"/mnt", "-o", "allow_other=yes"}).find("'allow_other=yes'") != std::string::npos);
  // fsname/subtype are ours to set (from SOURCE).
  BOOST_TEST(error_of({"/mnt", "-o", "fsname=x"}).find("'fsname=x'") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(flags_and_log_levels) {
  auto single = parse({"/mnt", "-s"});
  BOOST_TEST(single.single_threaded);
  BOOST_TEST(!single.foreground);
  BOOST_TEST((single.log_level == hfs::log::Level::info));
  BOOST_TEST((parse({"/mnt", "-o", "log_level=debug"}).log_level == hfs::log::Level::debug));
  BOOST_TEST((parse({"/mnt", "-o", "log_level=warn"}).log_level == hfs::log::Level::warn));
  BOOST_TEST((parse({"/mnt", "-o", "log_level=warning"}).log_level == hfs::log::Level::warn));
  BOOST_TEST((parse({"/mnt", "-o", "log_level=error"}).log_level == hfs::log::Level::error));
  // -d means debug logging unless a level is given, wherever it stands.
  BOOST_TEST((parse({"-d", "/mnt"}).log_level == hfs::log::Level::debug));
  BOOST_TEST((parse({"-o", "log_level=warn", "-d", "/mnt"}).log_level == hfs::log::Level::warn));
  BOOST_TEST((parse({"-d", "/mnt", "-o", "log_level=error"}).log_level == hfs::log::Level::error));
  BOOST_TEST(error_of({"/mnt", "-o", "log_level=loud"}).find("log_level") != std::string::npos);
  BOOST_TEST(error_of({"/mnt", "-o", "log_level"}).find("needs a value") != std::string::npos);
  BOOST_TEST(parse({"/mnt", "-o", "connections=16"}).connections == 16u);
  BOOST_TEST(error_of({"/mnt", "-o", "connections=0"}).find("connections") != std::string::npos);
  BOOST_TEST(parse({"/mnt"}).readahead == 256u << 10);
  BOOST_TEST(parse({"/mnt", "-o", "readahead=1M"}).readahead == 1u << 20);
  BOOST_TEST(error_of({"/mnt", "-o", "readahead=1K"}).find("'readahead': '1K' is not a size from 4K to 64M") !=
             std::string::npos);
  BOOST_TEST(error_of({"/mnt", "-o", "readahead=1G"}).find("readahead") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(arguments_beyond_source_and_mountpoint) {
  BOOST_TEST(error_of({"a", "/b", "/c"}).find("'/c'") != std::string::npos);
  BOOST_TEST(error_of({"", "/b"}).find("SOURCE") != std::string::npos);
  BOOST_TEST(error_of({"heasarcfs", ""}).find("MOUNTPOINT") != std::string::npos);
  BOOST_TEST(error_of({"/mnt", "-"}).find("'-'") != std::string::npos);
  BOOST_TEST(error_of({"/mnt", "-x"}).find("'-x'") != std::string::npos);
}

// libfuse hands a descriptor mountpoint (/dev/fd/N, opened and mounted by a privileged helper
// such as mount.fuse3 -o drop_privileges) to fuse_session_mount as it is.
BOOST_AUTO_TEST_CASE(a_descriptor_mountpoint_is_kept) {
  BOOST_TEST(parse({"heasarcfs", "/dev/fd/5"}).mountpoint == "/dev/fd/5");
}

BOOST_AUTO_TEST_CASE(fsname_is_escaped_for_libfuse) {
  BOOST_TEST(hfs::fs::fsname_option("heasarcfs") == "fsname=heasarcfs");
  BOOST_TEST(hfs::fs::fsname_option("a,b\\c") == "fsname=a\\,b\\\\c");
}

BOOST_AUTO_TEST_CASE(no_cache_directory_is_an_error) {
  try {
    parse_command_line({"/mnt"}, std::nullopt, std::nullopt);
    BOOST_FAIL("no error without HOME and XDG_CACHE_HOME");
  } catch (const hfs::Error& error) {
    BOOST_TEST(error.errnum() == EINVAL);
    BOOST_TEST(std::string(error.what()).find("cache_dir") != std::string::npos);
  }
  BOOST_TEST(parse_command_line({"/mnt", "-o", "cache_dir=/c"}, std::nullopt, std::nullopt).cache_dir == "/c");
}

BOOST_AUTO_TEST_CASE(archive_sources) {
  using Kind = hfs::fs::ArchiveSource::Kind;
  BOOST_TEST((parse({"/mnt"}).archive.kind == Kind::datalink));
  BOOST_TEST((parse({"/mnt", "-o", "archive=datalink"}).archive.kind == Kind::datalink));
  auto local = parse({"/mnt", "-o", "archive=/FTP/"}).archive;
  BOOST_TEST((local.kind == Kind::local));
  BOOST_TEST(local.location == "/FTP");
  auto aws = parse({"/mnt", "-o", "archive=s3"}).archive;
  BOOST_TEST((aws.kind == Kind::s3));
  BOOST_TEST(aws.location == "https://nasa-heasarc.s3.amazonaws.com");
  auto endpoint = parse({"/mnt", "-o", "archive=s3:http://127.0.0.1:8080/"}).archive;
  BOOST_TEST((endpoint.kind == Kind::s3));
  BOOST_TEST(endpoint.location == "http://127.0.0.1:8080/nasa-heasarc");
  auto site = parse({"/mnt", "-o", "archive=http://cache.example:8080/FTP"}).archive;
  BOOST_TEST((site.kind == Kind::site_cache));
  BOOST_TEST(site.location == "http://cache.example:8080/FTP/");
  BOOST_TEST(error_of({"/mnt", "-o", "archive=FTP"}).find("option 'archive'") != std::string::npos);
  BOOST_TEST(error_of({"/mnt", "-o", "archive=s3:ftp://x"}).find("S3 endpoint") != std::string::npos);
  BOOST_TEST(error_of({"/mnt", "-o", "archive=http://c/FTP/?x=1"}).find("no query") != std::string::npos);
  BOOST_TEST(error_of({"/mnt", "-o", "archive="}).find("needs a value") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(proxy_lists) {
  auto options = parse({"/mnt", "-o", "proxy=http://a.site:3128;socks5h://b.site:1080,timeout=5"});
  BOOST_TEST((options.proxies == std::vector<std::string>{"http://a.site:3128", "socks5h://b.site:1080"}));
  BOOST_TEST(options.timeout.count() == 5);
  BOOST_TEST(parse({"/mnt"}).proxies.empty());
  BOOST_TEST(error_of({"/mnt", "-o", "proxy=a.site:3128"}).find("'a.site:3128' is not a proxy URL") !=
             std::string::npos);
  BOOST_TEST(error_of({"/mnt", "-o", "proxy=http://a:1;"}).find("'' is not a proxy URL") != std::string::npos);
  BOOST_TEST(error_of({"/mnt", "-o", "proxy="}).find("needs a value") != std::string::npos);
  std::string seventeen = "http://p0:1";
  for (int i = 1; i < 17; ++i) seventeen += ";http://p" + std::to_string(i) + ":1";
  BOOST_TEST(error_of({"/mnt", "-o", "proxy=" + seventeen}).find("more than 16 proxies") != std::string::npos);
}
