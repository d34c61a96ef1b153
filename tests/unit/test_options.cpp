#define BOOST_TEST_MODULE options
#include <boost/test/unit_test.hpp>

#include "fs/options.h"
#include "common/error.h"

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
  BOOST_TEST(options.endpoints.registry == "http://reg.g-vo.org/tap");
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
  BOOST_TEST(error_of({"/a", "/b"}).find("'/b'") != std::string::npos);
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
