// The mount-less commands (heasarcfs ls / cat / cp) over the fake HEASARC: argument parsing,
// path resolution, listings, bytes and copies, and how failures are reported. The same
// commands are compared with a real mount in tests/integration/test_cli_vs_mount.py.
#define BOOST_TEST_MODULE cli
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <fstream>
#include <sstream>

#include "cache/fetcher.h"
#include "common/error.h"
#include "fs/cli.h"
#include "fs/filesystem.h"
#include "tests/support/archive_engine.h"
#include "tests/support/failing_clients.h"
#include "tests/support/fake_clients.h"
#include "tests/support/memory_object_store.h"
#include "tests/support/temp_dir.h"

using namespace hfs;

namespace {

const std::string kRow = "numaster/NGC4151/exposure_a>=50000/60001111003";

struct Fixture {
  test::FakeHeasarc heasarc = test::make_fake_heasarc();
  std::shared_ptr<test::FailingArchiveClient> failing = std::make_shared<test::FailingArchiveClient>(heasarc.archive);
  test::MemoryObjectStore store;
  std::shared_ptr<test::ArchiveEngine> engine = std::make_shared<test::ArchiveEngine>(heasarc.archive, failing);
  std::unique_ptr<cache::Fetcher> fetcher;
  std::unique_ptr<fs::Filesystem> filesystem;
  test::TempDir temp{"heasarcfs-cli"};

  Fixture() {
    cache::FetcherConfig config;
    config.initial_backoff = std::chrono::milliseconds(1);
    config.max_backoff = std::chrono::milliseconds(2);
    fetcher = cache::make_fetcher(store, engine, config);
    auto remote = std::make_shared<fs::RemoteView>(heasarc.vo, failing);
    filesystem = std::make_unique<fs::Filesystem>(fs::FilesystemConfig{}, remote, *fetcher);
  }

  struct Result {
    int status = 0;
    std::string out;
    std::string err;
  };

  Result run(std::vector<std::string> args) {
    auto command = fs::parse_cli_command(args, std::nullopt, temp.path().string());
    std::ostringstream out, err;
    auto cat_path = temp.path() / "cat.out";
    int fd = ::open(cat_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    BOOST_REQUIRE(fd >= 0);
    fs::CliIo io{out, fd, err, std::chrono::milliseconds(5000)};
    Result result;
    result.status = fs::run_cli(command, *filesystem, io);
    ::close(fd);
    result.out = command.verb == fs::CliVerb::cat ? slurp(cat_path) : out.str();
    result.err = err.str();
    return result;
  }

  static std::string slurp(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
};

std::string events_of(const std::string& obsid) {  // as tests/support/fake_clients.cpp makes them
  std::string events(700000, '\0');
  for (std::size_t i = 0; i < events.size(); ++i) events[i] = static_cast<char>((i * 7919 + obsid.size()) % 251);
  return events;
}

fs::CliCommand parse(std::vector<std::string> args) {
  return fs::parse_cli_command(args, std::nullopt, std::string("/home/astro"));
}

std::string parse_error(std::vector<std::string> args) {
  try {
    parse(args);
  } catch (const Error& error) {
    BOOST_TEST(error.errnum() == EINVAL);
    return error.what();
  }
  return "";
}

// Every regular file below `root`, relative path -> bytes (plus "/" for directories).
std::map<std::string, std::string> tree_of(const std::filesystem::path& root) {
  std::map<std::string, std::string> tree;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) {
    auto relative = std::filesystem::relative(entry.path(), root).string();
    tree[relative] = entry.is_directory() ? "/" : Fixture::slurp(entry.path());
  }
  return tree;
}

}  // namespace

BOOST_AUTO_TEST_CASE(verbs_flags_and_options) {
  BOOST_TEST(fs::is_cli_verb("ls"));
  BOOST_TEST(fs::is_cli_verb("cat"));
  BOOST_TEST(fs::is_cli_verb("cp"));
  BOOST_TEST(!fs::is_cli_verb("heasarcfs"));
  BOOST_TEST(!fs::is_cli_verb("/mnt"));
  auto ls = parse({"ls", "-la", "-R", "-o", "registry=http://127.0.0.1:9/tap,cache_dir=/c", "numaster/NGC4151"});
  BOOST_TEST((ls.verb == fs::CliVerb::ls));
  BOOST_TEST(ls.all);
  BOOST_TEST(ls.long_format);
  BOOST_TEST(ls.recursive);
  BOOST_TEST(ls.options.endpoints.registry == "http://127.0.0.1:9/tap");
  BOOST_TEST(ls.options.cache_dir == "/c");
  BOOST_TEST(ls.paths == std::vector<std::string>{"numaster/NGC4151"});
  BOOST_TEST((ls.options.log_level == log::Level::warn));  // output is the answer: no info lines
  BOOST_TEST(parse({"ls"}).paths.empty());
  BOOST_TEST(parse({"ls"}).options.cache_dir == "/home/astro/.cache/heasarcfs");
  BOOST_TEST((parse({"ls", "-olog_level=debug", "x"}).options.log_level == log::Level::debug));
  auto cp = parse({"cp", "-r", "a/b", "c/d", "dest"});
  BOOST_TEST(cp.recursive);
  BOOST_TEST((cp.paths == std::vector<std::string>{"a/b", "c/d"}));
  BOOST_TEST(cp.destination == "dest");
  BOOST_TEST(parse({"cp", "-R", "a", "b"}).recursive);
  BOOST_TEST(parse({"cat", "--", "-odd"}).paths == std::vector<std::string>{"-odd"});
  BOOST_TEST(parse({"cat", "--help"}).options.show_help);
}

BOOST_AUTO_TEST_CASE(bad_arguments_name_themselves) {
  BOOST_TEST(parse_error({"ls", "-x", "a"}).find("'-x'") != std::string::npos);
  BOOST_TEST(parse_error({"cat", "-l", "a"}).find("'-l'") != std::string::npos);  // ls flags are ls's
  BOOST_TEST(parse_error({"cp", "-l", "a", "b"}).find("'-l'") != std::string::npos);
  BOOST_TEST(parse_error({"cat"}).find("PATH") != std::string::npos);
  BOOST_TEST(parse_error({"cp", "-r", "a"}).find("DEST") != std::string::npos);
  BOOST_TEST(parse_error({"ls", "-o", "colour=blue"}).find("'colour=blue'") != std::string::npos);
  BOOST_TEST(parse_error({"ls", "-o"}).find("-o") != std::string::npos);
  BOOST_TEST(parse_error({"ls", "--long"}).find("'--long'") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(paths_resolve_like_the_mount) {
  Fixture f;
  auto row = fs::resolve_path(*f.filesystem, kRow, std::chrono::seconds(60));
  BOOST_TEST(f.filesystem->getattr(row, {}).is_dir);
  BOOST_TEST(fs::resolve_path(*f.filesystem, "/" + kRow + "/", std::chrono::seconds(60)) == row);
  BOOST_TEST(fs::resolve_path(*f.filesystem, "numaster//NGC4151/./exposure_a>=50000/hk/../60001111003",
                              std::chrono::seconds(60)) == row);
  BOOST_TEST(fs::resolve_path(*f.filesystem, "", std::chrono::seconds(60)) == fs::kRootInode);
  BOOST_TEST(fs::resolve_path(*f.filesystem, "/", std::chrono::seconds(60)) == fs::kRootInode);
  try {
    fs::resolve_path(*f.filesystem, "numaster/NoSuchObject/60001111003", std::chrono::seconds(60));
    BOOST_FAIL("an unknown target resolved");
  } catch (const Error& error) {
    BOOST_TEST(error.errnum() == ENOENT);
    BOOST_TEST(std::string(error.what()).find("at 'numaster/NoSuchObject'") != std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(ls_lists_like_ls) {
  Fixture f;
  BOOST_TEST(f.run({"ls"}).out == "chanmaster\nnumaster\n");
  BOOST_TEST(f.run({"ls", kRow}).out == "event_cl\nhk\npipe.log\n");
  auto target = f.run({"ls", "numaster/NGC4151/exposure_a>=50000"});
  BOOST_TEST(target.out == "60001111003\n60001111005\n60001111007\n");
  BOOST_TEST(f.run({"ls", "-a", "numaster/NGC4151/exposure_a>=50000"}).out ==
             ".results.csv\n.results.vot\n60001111003\n60001111005\n60001111007\n");
  // A file is listed as itself.
  BOOST_TEST(f.run({"ls", kRow + "/pipe.log"}).out == kRow + "/pipe.log\n");
  // Several paths: a header each.
  BOOST_TEST(f.run({"ls", kRow + "/hk", kRow + "/event_cl"}).out ==
             kRow + "/hk:\nnu60001111003A_fpm.hk.gz\n\n" + kRow + "/event_cl:\nnu60001111003A01_cl.evt\n");
}

BOOST_AUTO_TEST_CASE(ls_recursive_long_is_the_walk) {
  Fixture f;
  auto walk = f.run({"ls", "-lR", kRow});
  BOOST_TEST(walk.status == 0);
  BOOST_TEST(walk.err == "");
  // type, size, mtime (UTC), path below the listed directory; depth first in name order.
  BOOST_TEST(walk.out ==
             "d            0 2020-09-13T12:26:40Z event_cl\n"
             "-       700000 2020-09-13T12:26:40Z event_cl/nu60001111003A01_cl.evt\n"
             "d            0 2020-09-13T12:26:40Z hk\n"
             "-         3000 2020-09-13T12:26:40Z hk/nu60001111003A_fpm.hk.gz\n"
             "-           28 2020-09-13T12:26:40Z pipe.log\n");
}

BOOST_AUTO_TEST_CASE(cat_prints_the_archive_bytes) {
  Fixture f;
  auto events = f.run({"cat", kRow + "/event_cl/nu60001111003A01_cl.evt"});
  BOOST_TEST(events.status == 0);
  BOOST_TEST(events.out.size() == 700000u);
  BOOST_TEST((events.out == events_of("60001111003")));
  auto two = f.run({"cat", kRow + "/pipe.log", "numaster/NGC4151/60001111005/pipe.log"});
  BOOST_TEST(two.out == "pipeline log of 60001111003\npipeline log of 60001111005\n");
  auto csv = f.run({"cat", "numaster/NGC4151/exposure_a>=50000/.results.csv"});
  BOOST_TEST(csv.out.rfind("name,ra,dec,obsid,status,exposure_a\n", 0) == 0);
}

BOOST_AUTO_TEST_CASE(cp_r_copies_the_tree) {
  Fixture f;
  auto dest = f.temp.path() / "copy";
  std::filesystem::create_directory(dest);
  auto result = f.run({"cp", "-r", kRow, dest.string()});
  BOOST_TEST(result.status == 0);
  BOOST_TEST(result.err == "");
  auto tree = tree_of(dest);
  std::map<std::string, std::string> expected = {
      {"60001111003", "/"},
      {"60001111003/event_cl", "/"},
      {"60001111003/event_cl/nu60001111003A01_cl.evt", events_of("60001111003")},
      {"60001111003/hk", "/"},
      {"60001111003/hk/nu60001111003A_fpm.hk.gz", std::string(3000, 'h')},
      {"60001111003/pipe.log", "pipeline log of 60001111003\n"},
  };
  BOOST_TEST((tree == expected));
  struct stat st {};
  BOOST_REQUIRE(::stat((dest / "60001111003/pipe.log").c_str(), &st) == 0);
  BOOST_TEST(st.st_mtime == 1600000000);  // the archive's mtime
  // A second copy over the first replaces files in place and leaves no temporary behind.
  BOOST_TEST(f.run({"cp", "-r", kRow, dest.string()}).status == 0);
  BOOST_TEST((tree_of(dest) == expected));
  // One file to a new name.
  auto single = f.temp.path() / "pipe.txt";
  BOOST_TEST(f.run({"cp", kRow + "/pipe.log", single.string()}).status == 0);
  BOOST_TEST(Fixture::slurp(single) == "pipeline log of 60001111003\n");
}

BOOST_AUTO_TEST_CASE(cp_failures_are_reported_and_leave_no_partial_file) {
  Fixture f;
  auto dest = f.temp.path() / "copy";
  std::filesystem::create_directory(dest);
  // A directory without -r: nothing is created.
  auto no_r = f.run({"cp", kRow, dest.string()});
  BOOST_TEST(no_r.status == 1);
  BOOST_TEST(no_r.err.find("heasarcfs cp: " + kRow + ": Is a directory") == 0);
  BOOST_TEST(std::filesystem::is_empty(dest));
  // Several sources need a directory.
  auto several = f.run({"cp", kRow + "/pipe.log", kRow + "/hk", (dest / "nothere").string()});
  BOOST_TEST(several.status == 1);
  BOOST_TEST(several.err.find("Not a directory") != std::string::npos);
  // A read that keeps failing: that file is reported and absent, the others are copied.
  f.failing->fail(test::on("read", "60001111003/event_cl"), {.errnum = EIO}, -1);
  auto failed = f.run({"cp", "-r", kRow, dest.string()});
  BOOST_TEST(failed.status == 1);
  BOOST_TEST(failed.err.find(kRow + "/event_cl/nu60001111003A01_cl.evt: Input/output error") != std::string::npos);
  BOOST_TEST(std::count(failed.err.begin(), failed.err.end(), '\n') == 1);
  auto tree = tree_of(dest);
  BOOST_TEST(tree.count("60001111003/event_cl") == 1);
  BOOST_TEST(std::filesystem::is_empty(dest / "60001111003/event_cl"));  // no partial, no temporary
  BOOST_TEST(tree["60001111003/pipe.log"] == "pipeline log of 60001111003\n");
  BOOST_TEST(tree["60001111003/hk/nu60001111003A_fpm.hk.gz"] == std::string(3000, 'h'));
  // The root is not a thing to copy.
  BOOST_TEST(f.run({"cp", "-r", "/", dest.string()}).err.find("root") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(missing_paths_fail_one_by_one) {
  Fixture f;
  auto result = f.run({"ls", "numaster/NGC4151/60009999999", kRow + "/hk"});
  BOOST_TEST(result.status == 1);
  BOOST_TEST(result.err.find("heasarcfs ls: numaster/NGC4151/60009999999: No such file or directory") == 0);
  BOOST_TEST(result.out.find("nu60001111003A_fpm.hk.gz") != std::string::npos);
  auto cat_dir = f.run({"cat", kRow});
  BOOST_TEST(cat_dir.status == 1);
  BOOST_TEST(cat_dir.err.find("Is a directory") != std::string::npos);
}
