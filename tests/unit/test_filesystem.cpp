// The filesystem logic without FUSE and without a network: paths to nodes, listings, filters,
// reads through the block cache, errors. The same behaviours are tested mounted in
// tests/integration/test_mount_*.py.
#define BOOST_TEST_MODULE filesystem
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <latch>
#include <set>
#include <thread>

#include "cache/fetcher.h"
#include "common/error.h"
#include "fs/filesystem.h"
#include "tests/support/archive_engine.h"
#include "tests/support/errors.h"
#include "tests/support/failing_clients.h"
#include "tests/support/fake_clients.h"
#include "tests/support/gate.h"
#include "tests/support/memory_object_store.h"
#include "tests/support/stderr_capture.h"
#include "tests/support/temp_dir.h"
#include "tests/support/thread_state.h"

using namespace hfs;
using test::errno_of;

namespace {

struct Mount {
  test::FakeHeasarc heasarc = test::make_fake_heasarc();
  std::shared_ptr<test::FailingArchiveClient> failing = std::make_shared<test::FailingArchiveClient>(heasarc.archive);
  // Kept across remounts, like the cache directory of a real mount.
  test::MemoryObjectStore store;
  std::shared_ptr<test::ArchiveEngine> engine;
  std::unique_ptr<cache::Fetcher> fetcher;
  cache::FetcherConfig fetch_config;  // applied at the next remount
  std::shared_ptr<fs::RemoteView> remote;
  std::unique_ptr<fs::Filesystem> filesystem;

  Mount() { remount(); }

  // A new filesystem over the same fakes and the same cache directory.
  void remount(fs::RemoteTtls ttls = {}, std::shared_ptr<vo::VoClient> vo = nullptr) {
    filesystem.reset();
    fetcher.reset();
    engine.reset();
    store.forget_verification();  // a new mount checks every cached block on first use
    engine = std::make_shared<test::ArchiveEngine>(heasarc.archive, failing);
    fetcher = cache::make_fetcher(store, engine, fetch_config);
    remote = std::make_shared<fs::RemoteView>(vo ? vo : heasarc.vo, failing, ttls);
    filesystem = std::make_unique<fs::Filesystem>(fs::FilesystemConfig{}, remote, *fetcher);
  }

  std::uint64_t walk(const std::vector<std::string>& path) {
    std::uint64_t ino = fs::kRootInode;
    for (const auto& name : path) ino = filesystem->lookup(ino, name, {}).attributes.ino;
    return ino;
  }

  std::set<std::string> names(const std::vector<std::string>& path) {
    std::set<std::string> result;
    for (const auto& entry : filesystem->readdir(walk(path), {})) result.insert(entry.name);
    return result;
  }

  // The bytes of a read, whether the reply is a pinned cache range or a buffer.
  std::string read_bytes(std::uint64_t handle, std::uint64_t offset, std::size_t size) {
    auto reply = filesystem->read(handle, offset, size, CallContext{});
    if (!reply.pin) return reply.bytes;
    std::string bytes(reply.length, '\0');
    if (::pread(reply.pin->fd(), bytes.data(), bytes.size(), static_cast<off_t>(reply.offset)) !=
        static_cast<ssize_t>(bytes.size()))
      throw Error(EIO, "pread of a pinned range failed");
    return bytes;
  }

  std::string read_all(const std::vector<std::string>& path, std::size_t chunk = 4096) {
    auto opened = filesystem->open(walk(path), O_RDONLY, {});
    std::string content;
    for (;;) {
      auto bytes = read_bytes(opened.handle, content.size(), chunk);
      if (bytes.empty()) break;
      content += bytes;
    }
    filesystem->release(opened.handle);
    return content;
  }
};

using Names = std::set<std::string>;

}  // namespace

BOOST_AUTO_TEST_CASE(root_lists_tables_with_cone_search) {
  Mount m;
  BOOST_TEST((m.names({}) == Names{"chanmaster", "numaster"}));
  BOOST_TEST(errno_of([&] { m.walk({"nosuchtable"}); }) == ENOENT);
  BOOST_TEST(m.heasarc.vo->registry_calls == 1);  // one registry query, cached
}

BOOST_AUTO_TEST_CASE(target_lists_rows_within_default_radius_and_csv) {
  Mount m;
  BOOST_TEST(m.names({"numaster"}).empty());
  auto rows = m.names({"numaster", "NGC4151"});
  BOOST_TEST((rows == Names{".results.csv", ".results.vot", "60001111002", "60001111003", "60001111005", "60001111007",
                            "60201011002", "90801111001"}));
  // The table's listing shows the targets already looked up.
  BOOST_TEST((m.names({"numaster"}) == Names{"NGC4151"}));
  BOOST_TEST(m.filesystem->getattr(m.walk({"numaster", "NGC4151"}), {}).is_dir);
}

BOOST_AUTO_TEST_CASE(names_resolve_once_ignoring_case_and_spaces) {
  Mount m;
  m.names({"numaster", "NGC4151"});
  m.names({"numaster", "NGC 4151"});
  m.names({"numaster", "ngc4151"});
  BOOST_TEST(m.heasarc.vo->resolve_calls == 1);
  BOOST_TEST(errno_of([&] { m.walk({"numaster", "NoSuchObject"}); }) == ENOENT);
  // Hidden names are shell and file-manager probes: never sent to the resolver.
  int before = m.heasarc.vo->resolve_calls;
  BOOST_TEST(errno_of([&] { m.walk({"numaster", ".Trash"}); }) == ENOENT);
  BOOST_TEST(m.heasarc.vo->resolve_calls == before);
}

BOOST_AUTO_TEST_CASE(coordinates_and_radius) {
  Mount m;
  BOOST_TEST(m.names({"numaster", "182.6357,39.4058"}).count("60001111003") == 1);
  BOOST_TEST(m.heasarc.vo->resolve_calls == 0);
  // 1.2 degrees away: only with a larger radius.
  BOOST_TEST(m.names({"numaster", "NGC4151"}).count("60301011002") == 0);
  BOOST_TEST(m.names({"numaster", "NGC4151@1.5deg"}).count("60301011002") == 1);
  auto small = m.names({"numaster", "NGC4151@30arcsec"});
  BOOST_TEST(small.count("60001111003") == 1);
  BOOST_TEST(small.count("60201011002") == 0);
  BOOST_TEST(errno_of([&] { m.walk({"numaster", "NGC4151@-3deg"}); }) == ENOENT);
  BOOST_TEST(errno_of([&] { m.walk({"numaster", "400,95"}); }) == ENOENT);
}

BOOST_AUTO_TEST_CASE(filters_every_operator_and_nesting) {
  Mount m;
  auto rows_of = [&](std::vector<std::string> path) {
    auto names = m.names(path);
    names.erase(".results.csv");
    names.erase(".results.vot");
    return names;
  };
  BOOST_TEST(
      (rows_of({"numaster", "NGC4151", "exposure_a>=50000"}) == Names{"60001111003", "60001111005", "60001111007"}));
  BOOST_TEST((rows_of({"numaster", "NGC4151", "exposure_a>50000"}) == Names{"60001111003", "60001111005"}));
  BOOST_TEST((rows_of({"numaster", "NGC4151", "exposure_a<21864.2"}) == Names{"60201011002"}));
  BOOST_TEST((rows_of({"numaster", "NGC4151", "exposure_a<=21864.2"}) == Names{"60001111002", "60201011002"}));
  BOOST_TEST((rows_of({"numaster", "NGC4151", "exposure_a=50000"}) == Names{"60001111007"}));
  BOOST_TEST(rows_of({"numaster", "NGC4151", "exposure_a!=50000"}).size() == 5);
  BOOST_TEST((rows_of({"numaster", "NGC4151", "status=accepted"}) == Names{"90801111001"}));
  BOOST_TEST(rows_of({"numaster", "NGC4151", "status!=accepted"}).size() == 5);
  BOOST_TEST((rows_of({"numaster", "NGC4151", "exposure_a>=50000", "exposure_a<60000"}) ==
              Names{"60001111003", "60001111007"}));
  BOOST_TEST((rows_of({"numaster", "NGC4151", "exposure_a>=50000", "obsid!=60001111007", "name=NGC_4151"}) ==
              Names{"60001111003", "60001111005"}));
  // A row outside the filter is not found through it.
  BOOST_TEST(errno_of([&] { m.walk({"numaster", "NGC4151", "exposure_a>=50000", "60001111002"}); }) == ENOENT);
}

BOOST_AUTO_TEST_CASE(bad_filters_are_enoent) {
  Mount m;
  BOOST_TEST(errno_of([&] { m.walk({"numaster", "NGC4151", "exposure>=50000"}); }) == ENOENT);
  BOOST_TEST(errno_of([&] { m.walk({"numaster", "NGC4151", "exposure_a>=lots"}); }) == ENOENT);
  BOOST_TEST(errno_of([&] { m.walk({"numaster", "NGC4151", "exposure_a>="}); }) == ENOENT);
  BOOST_TEST(errno_of([&] { m.walk({"numaster", "NGC4151", "12345678"}); }) == ENOENT);
}

BOOST_AUTO_TEST_CASE(results_csv_has_header_and_every_row) {
  Mount m;
  auto all = m.read_all({"numaster", "NGC4151", ".results.csv"});
  BOOST_TEST(all.rfind("name,ra,dec,obsid,status,exposure_a\n", 0) == 0);
  BOOST_TEST(std::count(all.begin(), all.end(), '\n') == 7);
  auto filtered = m.read_all({"numaster", "NGC4151", "exposure_a>=50000", ".results.csv"});
  BOOST_TEST(std::count(filtered.begin(), filtered.end(), '\n') == 4);
  BOOST_TEST(filtered.find("60001111003") != std::string::npos);
  BOOST_TEST(filtered.find("60001111002") == std::string::npos);
  auto csv = m.filesystem->lookup(m.walk({"numaster", "NGC4151", "exposure_a>=50000"}), ".results.csv", {});
  BOOST_TEST(csv.attributes.size == filtered.size());
}

BOOST_AUTO_TEST_CASE(row_mirrors_its_datalink_directory_with_exact_sizes) {
  Mount m;
  std::vector<std::string> row = {"numaster", "NGC4151", "exposure_a>=50000", "60001111003"};
  BOOST_TEST((m.names(row) == Names{"event_cl", "hk", "pipe.log"}));
  BOOST_TEST(m.heasarc.archive->stat_many_calls == 1);  // one batch for the directory
  auto event_cl = row;
  event_cl.push_back("event_cl");
  BOOST_TEST((m.names(event_cl) == Names{"nu60001111003A01_cl.evt"}));
  auto file = event_cl;
  file.push_back("nu60001111003A01_cl.evt");
  auto attributes = m.filesystem->getattr(m.walk(file), {});
  BOOST_TEST(!attributes.is_dir);
  BOOST_TEST(attributes.size == 700000u);
  BOOST_TEST(attributes.mtime == 1600000000);
  // Lookups after the listing send no more requests.
  int stats = m.heasarc.archive->stat_calls;
  m.walk(file);
  BOOST_TEST(m.heasarc.archive->stat_calls == stats);
}

BOOST_AUTO_TEST_CASE(proprietary_row_is_an_empty_directory) {
  Mount m;
  auto ino = m.walk({"numaster", "NGC4151", "90801111001"});
  BOOST_TEST(m.filesystem->getattr(ino, {}).is_dir);
  BOOST_TEST(m.filesystem->readdir(ino, {}).empty());
}

BOOST_AUTO_TEST_CASE(reads_are_exact_and_cached_across_remount) {
  Mount m;
  std::vector<std::string> file = {"numaster", "NGC4151", "60001111005", "event_cl", "nu60001111005A01_cl.evt"};
  auto expected =
      m.heasarc.archive->read(m.heasarc.archive->stat("http://fake/FTP/nustar/data/obs/00/6//60001111005/event_cl/"
                                                      "nu60001111005A01_cl.evt",
                                                      CallContext{}),
                              0, 1 << 30);
  int reads_before = m.heasarc.archive->read_calls;
  BOOST_TEST(m.read_all(file, 131072) == expected);
  BOOST_TEST(m.heasarc.archive->read_calls > reads_before);
  // A header read of a fresh file moves one block, not the file. (Files up to
  // whole_file_bytes come whole on their first read: shrink it below this 700 kB file.)
  m.fetch_config.whole_file_bytes = 64 * 1024;
  m.remount();
  std::vector<std::string> other = {"numaster", "NGC4151", "60001111003", "event_cl", "nu60001111003A01_cl.evt"};
  auto bytes_before = m.heasarc.archive->bytes_read.load();
  auto opened = m.filesystem->open(m.walk(other), O_RDONLY, {});
  BOOST_TEST(m.read_bytes(opened.handle, 0, 4096).size() == 4096u);
  m.filesystem->release(opened.handle);
  BOOST_TEST(m.heasarc.archive->bytes_read - bytes_before == cache::kBlockSize);

  m.fetch_config = {};
  m.remount();
  reads_before = m.heasarc.archive->read_calls;
  BOOST_TEST(m.read_all(file, 131072) == expected);
  BOOST_TEST(m.heasarc.archive->read_calls == reads_before);  // all from the disk cache
}

BOOST_AUTO_TEST_CASE(writes_are_refused) {
  Mount m;
  auto ino = m.walk({"numaster", "NGC4151", "60001111003", "pipe.log"});
  BOOST_TEST(errno_of([&] { m.filesystem->open(ino, O_WRONLY, {}); }) == EROFS);
  BOOST_TEST(errno_of([&] { m.filesystem->open(ino, O_RDWR, {}); }) == EROFS);
  BOOST_TEST(errno_of([&] { m.filesystem->open(ino, O_RDONLY | O_TRUNC, {}); }) == EROFS);
  BOOST_TEST(errno_of([&] { m.filesystem->open(m.walk({"numaster"}), O_RDONLY, {}); }) == EISDIR);
}

BOOST_AUTO_TEST_CASE(archive_failures_surface_as_their_errno_and_recover) {
  Mount m;
  m.failing->fail(test::on("list", "60001111002"), {.errnum = EIO}, 1);
  std::vector<std::string> row = {"numaster", "NGC4151", "60001111002"};
  BOOST_TEST(errno_of([&] { m.names(row); }) == EIO);
  BOOST_TEST((m.names(row) == Names{"event_cl", "hk", "pipe.log"}));  // the next try works

  fs::RemoteTtls forget_failures;
  forget_failures.failed_stat = std::chrono::seconds(0);  // every lookup asks again (see below)
  m.remount(forget_failures);
  m.failing->fail(test::on("stat", "60001111007/pipe.log"), {.errnum = ETIMEDOUT}, 2);
  std::vector<std::string> other = {"numaster", "NGC4151", "60001111007"};
  BOOST_TEST(m.names(other).count("pipe.log") == 1);  // listed even though its size failed
  other.push_back("pipe.log");
  BOOST_TEST(errno_of([&] { m.walk(other); }) == ETIMEDOUT);      // the retry at lookup fails too
  BOOST_TEST(m.filesystem->getattr(m.walk(other), {}).size > 0);  // and then succeeds

  // A read fault is retried (4 attempts); one that outlasts the retries is the read's EIO.
  m.failing->fail(test::on("read", "60001111007/event_cl"), {.errnum = EIO}, 4);
  std::vector<std::string> file = {"numaster", "NGC4151", "60001111007", "event_cl", "nu60001111007A01_cl.evt"};
  auto opened = m.filesystem->open(m.walk(file), O_RDONLY, {});
  BOOST_TEST(errno_of([&] { m.read_bytes(opened.handle, 0, 4096); }) == EIO);
  BOOST_TEST(m.read_bytes(opened.handle, 0, 4096).size() == 4096u);
  m.filesystem->release(opened.handle);
}

BOOST_AUTO_TEST_CASE(changed_file_is_estale_not_wrong_bytes) {
  Mount m;
  std::vector<std::string> file = {"numaster", "NGC4151", "60001111002", "pipe.log"};
  auto opened = m.filesystem->open(m.walk(file), O_RDONLY, {});
  m.heasarc.archive->replace_file("http://fake/FTP/nustar/data/obs/00/6//60001111002/pipe.log", "new content\n");
  BOOST_TEST(errno_of([&] { m.read_bytes(opened.handle, 0, 4096); }) == ESTALE);
  m.filesystem->release(opened.handle);
}

BOOST_AUTO_TEST_CASE(second_table_works_the_same_way) {
  Mount m;
  BOOST_TEST((m.names({"chanmaster", "NGC 4151"}) == Names{".results.csv", ".results.vot", "3052"}));
  BOOST_TEST((m.names({"chanmaster", "NGC 4151", "3052", "primary"}) == Names{"acisf03052N004_evt2.fits.gz"}));
}

BOOST_AUTO_TEST_CASE(a_listing_whose_stat_failed_does_not_undo_what_lookup_learnt) {
  Mount m;
  fs::RemoteTtls forget_failures;
  forget_failures.failed_stat = std::chrono::seconds(0);  // the lookup asks again at once
  m.remount(forget_failures);
  // The directory's parallel stat misses pipe.log once; the lookup's own stat then works.
  m.failing->fail(test::on("stat", "60001111003/pipe.log"), {.errnum = ETIMEDOUT}, 1);
  std::vector<std::string> row = {"numaster", "NGC4151", "60001111003"};
  BOOST_TEST(m.names(row).count("pipe.log") == 1);
  auto file = row;
  file.push_back("pipe.log");
  auto ino = m.walk(file);
  const std::uint64_t size = std::string("pipeline log of 60001111003\n").size();
  BOOST_TEST(m.filesystem->getattr(ino, {}).size == size);
  // `ls` again: the listing (cached, size unknown) must not replace the node the kernel holds.
  BOOST_TEST(m.names(row).count("pipe.log") == 1);
  BOOST_TEST(m.filesystem->getattr(ino, {}).size == size);
  auto opened = m.filesystem->open(ino, O_RDONLY, {});  // the kernel's dentry still names `ino`
  BOOST_TEST(m.read_bytes(opened.handle, 0, 4096) == "pipeline log of 60001111003\n");
  m.filesystem->release(opened.handle);
}

BOOST_AUTO_TEST_CASE(results_csv_size_follows_a_refreshed_answer) {
  Mount m;
  m.remount(fs::RemoteTtls{.cone = std::chrono::seconds(0)});  // every call asks again
  auto ino = m.walk({"numaster", "NGC4151", ".results.csv"});
  auto before = m.filesystem->getattr(ino, {}).size;
  BOOST_TEST(before == m.read_all({"numaster", "NGC4151", ".results.csv"}).size());
  // The archive gains a row near NGC 4151: the next answer is longer.
  auto& table = m.heasarc.vo->tables["numaster"];
  vo::VoRow row = table.rows.front();
  row[3] = std::string("60001111099");
  table.rows.push_back(row);
  // The kernel holds the dentry (60 s): no lookup, just getattr and open of the inode.
  auto size = m.filesystem->getattr(ino, {}).size;
  auto opened = m.filesystem->open(ino, O_RDONLY, {});
  auto content = m.read_bytes(opened.handle, 0, 1 << 20);
  m.filesystem->release(opened.handle);
  BOOST_TEST(content.size() > before);
  BOOST_TEST(size == content.size());  // stat agrees with what cat reads
  BOOST_TEST(m.filesystem->stat(ino, {}).attr_timeout <= 1.0);
}

BOOST_AUTO_TEST_CASE(kernel_attribute_timeouts_match_the_readme) {
  Mount m;
  auto file = m.walk({"numaster", "NGC4151", "60001111003", "pipe.log"});
  auto dir = m.walk({"numaster", "NGC4151", "60001111003", "event_cl"});
  auto row = m.walk({"numaster", "NGC4151", "60001111003"});
  auto target = m.walk({"numaster", "NGC4151"});
  // Archive entries: names and attributes for 1 h; query directories and rows: 60 s.
  for (auto ino : {file, dir}) {
    BOOST_TEST(m.filesystem->stat(ino, {}).attr_timeout == 3600.0);
    BOOST_TEST(m.filesystem->stat(ino, {}).attributes.ino == ino);
  }
  for (auto ino : {row, target}) BOOST_TEST(m.filesystem->stat(ino, {}).attr_timeout == 60.0);
}

BOOST_AUTO_TEST_CASE(a_name_not_listed_as_a_row_can_still_be_a_filter) {
  Mount m;
  // A catalogue whose key values look like filters.
  auto table = m.heasarc.vo->tables["numaster"];
  table.service.name = "oddmaster";
  table.service.ivoid = "ivo://nasa.heasarc/oddmaster";
  table.rows.clear();
  table.rows.push_back({std::string("A"), std::string("182.6357"), std::string("39.4058"), std::string("exposure_a>1"),
                        std::string("archived"), std::string("0.5")});
  table.rows.push_back({std::string("B"), std::string("182.6357"), std::string("39.4058"), std::string("x"),
                        std::string("archived"), std::string("5")});
  m.heasarc.vo->tables["oddmaster"] = table;
  BOOST_TEST((m.names({"oddmaster", "NGC4151"}) == Names{".results.csv", ".results.vot", "exposure_a>1", "x"}));
  // Listed: the row wins (lookup agrees with readdir).
  auto row = m.walk({"oddmaster", "NGC4151", "exposure_a>1"});
  BOOST_TEST(m.filesystem->readdir(row, {}).empty());  // no directory product: an empty row
  // Under a filter that excludes that row, the name is not listed, so it is the filter.
  BOOST_TEST((m.names({"oddmaster", "NGC4151", "exposure_a>=1"}) == Names{".results.csv", ".results.vot", "x"}));
  BOOST_TEST((m.names({"oddmaster", "NGC4151", "exposure_a>=1", "exposure_a>1"}) ==
              Names{".results.csv", ".results.vot", "x"}));
}

BOOST_AUTO_TEST_CASE(every_listed_name_looks_up_to_the_same_node_exactly_once) {
  Mount m;
  // A second registry record whose ivoid ends in the same name: one "numaster" at the root.
  auto twin = m.heasarc.vo->tables["numaster"];
  twin.service.ivoid = "ivo://nasa.heasarc/mirror/numaster";
  m.heasarc.vo->tables["numaster_mirror"] = twin;
  m.walk({"numaster", "NGC4151"});
  m.walk({"numaster", "M 31@2deg"});
  m.walk({"numaster", "NGC4151", "exposure_a>=50000", "status=archived"});
  m.walk({"chanmaster", "182.63625,39.40544@1'"});
  std::size_t checked = 0;
  std::function<void(std::uint64_t, int)> visit = [&](std::uint64_t ino, int depth) {
    std::set<std::string> seen;
    for (const auto& entry : m.filesystem->readdir(ino, {})) {
      BOOST_TEST(seen.insert(entry.name).second, "listed twice: " << entry.name);
      auto looked_up = m.filesystem->lookup(ino, entry.name, {});
      BOOST_TEST(looked_up.attributes.ino == entry.ino, entry.name);
      BOOST_TEST(looked_up.attributes.is_dir == entry.is_dir, entry.name);
      auto attributes = m.filesystem->getattr(entry.ino, {});
      BOOST_TEST(attributes.size == looked_up.attributes.size, entry.name);
      BOOST_TEST(attributes.mtime == looked_up.attributes.mtime, entry.name);
      ++checked;
      if (entry.is_dir && depth < 8) visit(entry.ino, depth + 1);
    }
  };
  visit(fs::kRootInode, 0);
  BOOST_TEST(checked > 40u);
  int count = 0;
  for (const auto& entry : m.filesystem->readdir(fs::kRootInode, {})) count += entry.name == "numaster";
  BOOST_TEST(count == 1);
}

BOOST_AUTO_TEST_CASE(access_follows_the_modes) {
  Mount m;
  auto file = m.walk({"numaster", "NGC4151", "60001111003", "pipe.log"});
  auto dir = m.walk({"numaster", "NGC4151", "60001111003"});
  BOOST_TEST(errno_of([&] { m.filesystem->access(file, R_OK); }) == 0);
  BOOST_TEST(errno_of([&] { m.filesystem->access(file, F_OK); }) == 0);
  BOOST_TEST(errno_of([&] { m.filesystem->access(file, X_OK); }) == EACCES);  // mode 0444
  BOOST_TEST(errno_of([&] { m.filesystem->access(file, W_OK); }) == EROFS);
  BOOST_TEST(errno_of([&] { m.filesystem->access(dir, R_OK | X_OK); }) == 0);  // mode 0555
  BOOST_TEST(errno_of([&] { m.filesystem->access(dir, W_OK); }) == EROFS);
  BOOST_TEST(errno_of([&] { m.filesystem->access(987654, R_OK); }) == ESTALE);
}

BOOST_AUTO_TEST_CASE(concurrent_listings_of_a_new_target_send_one_query) {
  Mount m;
  // The first caller's resolve, and then the first cone search, are held at a gate until every
  // other caller is blocked (waiting for that answer): the calls overlap for sure, however
  // loaded the machine, without a sleep.
  auto vo = std::make_shared<test::FailingVoClient>(m.heasarc.vo);
  auto resolving = std::make_shared<test::Gate>(), searching = std::make_shared<test::Gate>();
  vo->fail(test::on("resolve"), {.hold = resolving, .pass = true});
  vo->fail(test::on("cone_search"), {.hold = searching, .pass = true});
  m.remount({}, vo);
  constexpr std::size_t kCallers = 4;
  std::vector<pid_t> callers(kCallers);
  std::latch started(kCallers);
  std::vector<std::size_t> sizes(kCallers);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < kCallers; ++i)
    threads.emplace_back([&, i] {
      callers[i] = test::current_thread_id();
      started.count_down();
      sizes[i] = m.names({"numaster", i % 2 ? "NGC 4151" : "ngc4151"}).size();
    });
  started.wait();
  for (const auto& gate : {resolving, searching}) {
    BOOST_TEST(gate->wait_until_inside(1));
    BOOST_TEST(test::wait_until_asleep(callers));  // the held one at the gate, the rest behind it
    gate->open();
  }
  for (auto& thread : threads) thread.join();
  for (auto size : sizes) BOOST_TEST(size == 8u);  // 6 rows, .results.csv, .results.vot
  BOOST_TEST(m.heasarc.vo->resolve_calls == 1);
  BOOST_TEST(m.heasarc.vo->cone_calls == 1);
  BOOST_TEST(resolving->max_inside() == 1);
  BOOST_TEST(searching->max_inside() == 1);
}

BOOST_AUTO_TEST_CASE(metadata_is_cached_for_the_readme_ttls) {
  Mount m;
  std::vector<std::string> row = {"numaster", "NGC4151", "60001111003"};
  for (int i = 0; i < 2; ++i) {
    m.names({});
    m.names(row);
    BOOST_TEST(errno_of([&] { m.walk({"numaster", "NoSuchObject"}); }) == ENOENT);
  }
  // Everything asked once: tables, names (unknown ones too), cone, DataLink, listing.
  BOOST_TEST(m.heasarc.vo->registry_calls == 1);
  BOOST_TEST(m.heasarc.vo->resolve_calls == 2);  // NGC4151 and NoSuchObject
  BOOST_TEST(m.heasarc.vo->cone_calls == 1);
  BOOST_TEST(m.heasarc.vo->datalink_calls == 1);
  BOOST_TEST(m.heasarc.archive->list_calls == 1);
  fs::RemoteTtls defaults;
  BOOST_TEST(defaults.tables.count() == 3600);
  BOOST_TEST(defaults.resolve.count() == 24 * 3600);
  BOOST_TEST(defaults.resolve_negative.count() == 300);
  BOOST_TEST(defaults.cone.count() == 600);
  BOOST_TEST(defaults.datalink.count() == 3600);
  BOOST_TEST(defaults.listing.count() == 3600);

  // Expired entries are asked again.
  std::chrono::seconds zero(0);
  m.remount(fs::RemoteTtls{zero, zero, zero, zero, zero, zero});
  int registry = m.heasarc.vo->registry_calls, resolve = m.heasarc.vo->resolve_calls;
  int cone = m.heasarc.vo->cone_calls, lists = m.heasarc.archive->list_calls;
  m.names(row);
  m.names(row);
  BOOST_TEST(errno_of([&] { m.walk({"numaster", "NoSuchObject"}); }) == ENOENT);
  BOOST_TEST(m.heasarc.vo->registry_calls > registry);
  BOOST_TEST(m.heasarc.vo->resolve_calls >= resolve + 3);
  BOOST_TEST(m.heasarc.vo->cone_calls > cone + 1);
  BOOST_TEST(m.heasarc.archive->list_calls >= lists + 2);
}

BOOST_AUTO_TEST_CASE(a_failed_refresh_serves_the_last_good_answer) {
  Mount m;
  auto vo = std::make_shared<test::FailingVoClient>(m.heasarc.vo);
  std::chrono::seconds zero(0);
  m.remount(fs::RemoteTtls{zero, zero, zero, zero, zero, zero}, vo);
  std::vector<std::string> row = {"numaster", "NGC4151", "exposure_a>=50000", "60001111003"};
  auto listing = m.names(row);
  auto csv = m.read_all({"numaster", "NGC4151", ".results.csv"});
  vo->fail(test::any_call(), {.errnum = ETIMEDOUT});  // every VO service down; every entry expired
  BOOST_TEST((m.names({}) == Names{"chanmaster", "numaster"}));
  BOOST_TEST(m.names(row) == listing);
  BOOST_TEST(m.read_all({"numaster", "NGC4151", ".results.csv"}) == csv);
  BOOST_TEST(m.filesystem->getattr(m.walk({"numaster", "NGC4151", ".results.csv"}), {}).size == csv.size());
  // Nothing to fall back on: the error itself.
  BOOST_TEST(errno_of([&] { m.names({"numaster", "M 31"}); }) == ETIMEDOUT);
  BOOST_TEST(errno_of([&] { m.names({"numaster", "NGC4151@2deg"}); }) == ETIMEDOUT);
  vo->clear();
  BOOST_TEST(!m.names({"numaster", "M 31"}).empty());  // failures are not cached
}

BOOST_AUTO_TEST_CASE(listing_a_row_fetches_its_subdirectory_listings_ahead) {
  Mount m;
  auto pool = std::make_shared<TaskPool>(2, 64);
  m.remote->set_background(pool);
  std::vector<std::string> row = {"numaster", "NGC4151", "60001111005"};
  BOOST_TEST((m.names(row) == Names{"event_cl", "hk", "pipe.log"}));
  pool->wait_idle();
  const int lists = m.heasarc.archive->list_calls;
  const int stats = m.heasarc.archive->stat_many_calls;
  // `ls -lR` of the row now needs no listing and no size request.
  for (const char* sub : {"event_cl", "hk"}) {
    auto path = row;
    path.push_back(sub);
    for (const auto& name : m.names(path)) {
      auto file = path;
      file.push_back(name);
      BOOST_TEST(m.filesystem->getattr(m.walk(file), {}).size > 0u);
    }
  }
  BOOST_TEST(m.heasarc.archive->list_calls == lists);
  BOOST_TEST(m.heasarc.archive->stat_many_calls == stats);
}

BOOST_AUTO_TEST_CASE(opening_a_file_fetches_the_next_small_files_of_its_directory) {
  Mount m;
  const std::string dir = "http://fake/FTP/nustar/data/obs/00/6//60001111003/hk/";
  for (const char* name : {"b1.hk", "b2.hk", "b3.hk", "b4.hk", "b5.hk", "b6.hk"})
    m.heasarc.archive->add_file(dir + name, std::string(20000, name[1]));
  std::vector<std::string> hk = {"numaster", "NGC4151", "60001111003", "hk"};
  auto names = m.names(hk);
  BOOST_REQUIRE(names.count("b1.hk") == 1);
  auto first = hk;
  first.push_back("b1.hk");
  const int reads = m.heasarc.archive->read_calls;
  auto opened = m.filesystem->open(m.walk(first), O_RDONLY, {});
  m.engine->wait_idle();
  // Opening b1 (no read of it yet) fetched the next four small files, whole, one request each.
  BOOST_TEST(m.heasarc.archive->read_calls == reads + 4);
  for (const char* name : {"b2.hk", "b3.hk", "b4.hk", "b5.hk"}) {
    auto path = hk;
    path.push_back(name);
    BOOST_TEST(m.read_all(path) == std::string(20000, name[1]));
  }
  m.filesystem->release(opened.handle);
}

BOOST_AUTO_TEST_CASE(forgotten_nodes_go_and_a_table_lists_a_bounded_number_of_targets) {
  Mount m;
  auto table = m.walk({"numaster"});
  const auto baseline = m.filesystem->node_count();
  // 10^5 distinct coordinates, each looked up once and forgotten by the kernel.
  for (int i = 0; i < 100000; ++i) {
    auto name = std::to_string(10 + (i % 300) * 0.5) + "," + std::to_string(-60 + (i / 300) * 0.01);
    auto entry = m.filesystem->lookup(table, name, {});
    m.filesystem->forget(entry.attributes.ino, 1);
  }
  BOOST_TEST(m.filesystem->node_count() == baseline);
  // Still referenced by the kernel: kept. The table lists only the most recent targets.
  std::vector<std::uint64_t> held;
  auto held_name = [](int i) { return std::to_string(i / 5) + "." + std::to_string(i % 5 * 2) + ",1"; };
  for (int i = 0; i < 1500; ++i) held.push_back(m.filesystem->lookup(table, held_name(i), {}).attributes.ino);
  BOOST_TEST(m.filesystem->node_count() == baseline + 1500);
  auto listed = m.filesystem->readdir(table, {});
  BOOST_TEST(listed.size() <= fs::kMaxListedTargets);
  BOOST_TEST(listed.back().name == held_name(1499));
  for (auto ino : held) m.filesystem->forget(ino, 1);
  BOOST_TEST(m.filesystem->node_count() == baseline);
}

BOOST_AUTO_TEST_CASE(nodes_only_a_listing_made_are_bounded) {
  Mount m;
  std::vector<std::string> row = {"numaster", "NGC4151", "60001111005"};
  m.names(row);
  const auto after_one = m.filesystem->node_count();
  for (int i = 0; i < 5; ++i) m.names(row);  // the same names: the same nodes
  BOOST_TEST(m.filesystem->node_count() == after_one);
}

BOOST_AUTO_TEST_CASE(names_that_cannot_be_file_names_are_skipped_the_rest_is_served) {
  Mount m;
  const std::string dir = "http://fake/FTP/nustar/data/obs/00/6//60001111003/hk/";
  m.heasarc.archive->add_file(dir + std::string(256, 'x'), "too long");
  m.heasarc.archive->add_file(dir + std::string(255, 'y'), "just fits");
  test::StderrCapture capture;
  auto names = m.names({"numaster", "NGC4151", "60001111003", "hk"});
  capture.restore();
  // One log line for the one skipped name; the rest of the listing is served.
  BOOST_TEST(capture.count("warn archive: skipping an entry of " + dir +
                           " whose name cannot be a file name (256 bytes") == 1u);
  BOOST_TEST(names.count(std::string(255, 'y')) == 1);
  BOOST_TEST(names.count(std::string(256, 'x')) == 0);
  for (const auto& name : names) BOOST_TEST(name.size() <= 255u);
  BOOST_TEST(fs::is_usable_name("ok.fits"));
  BOOST_TEST(!fs::is_usable_name(std::string("a\0b", 3)));
  BOOST_TEST(!fs::is_usable_name(".."));
  BOOST_TEST(!fs::is_usable_name(""));
}

BOOST_AUTO_TEST_CASE(a_listing_looks_up_a_bounded_number_of_sizes_the_rest_lazily) {
  Mount m;
  const std::string dir = "http://fake/FTP/nustar/data/obs/00/6//60001111003/hk/";
  const std::size_t extra = fs::kMaxSizesPerListing + 6;
  for (std::size_t i = 0; i < extra; ++i) m.heasarc.archive->add_file(dir + "f" + std::to_string(i) + ".fits", "1234");
  const std::vector<std::string> hk = {"numaster", "NGC4151", "60001111003", "hk"};
  m.walk(hk);
  const int before = m.heasarc.archive->stat_calls;
  test::StderrCapture capture;
  auto names = m.names(hk);
  capture.restore();
  BOOST_TEST(names.size() >= extra);  // every name is listed
  // The hk directory's own files plus the extra: at most the cap of them stat'ed.
  BOOST_TEST(m.heasarc.archive->stat_calls - before == static_cast<int>(fs::kMaxSizesPerListing));
  BOOST_TEST(capture.count("info archive: ") == 1u);
  BOOST_TEST(capture.count("the sizes of the first " + std::to_string(fs::kMaxSizesPerListing) + " looked up now") ==
             1u);
  // A file beyond the cap: its size comes with its own lookup, one HEAD.
  std::size_t unsized = 0;
  for (std::size_t i = 0; i < extra; ++i) {
    auto entry = m.filesystem->lookup(m.walk(hk), "f" + std::to_string(i) + ".fits", CallContext{});
    BOOST_TEST(entry.attributes.size == 4u);
  }
  unsized = static_cast<std::size_t>(m.heasarc.archive->stat_calls - before) - fs::kMaxSizesPerListing;
  BOOST_TEST(unsized >= 6u);
  BOOST_TEST(unsized <= 6u + 16u);  // the hk directory's own files may sort after the extra ones
}

BOOST_AUTO_TEST_CASE(a_failed_size_is_remembered_so_an_ls_l_storm_costs_one_lookup) {
  Mount m;
  // Every size lookup of this directory fails (hung HEADs, say).
  m.failing->fail(test::on("stat", "60001111007/"), {.errnum = ETIMEDOUT}, -1);
  std::vector<std::string> row = {"numaster", "NGC4151", "60001111007"};
  auto names = m.names(row);
  BOOST_TEST(names.count("pipe.log") == 1);  // listed, size unknown
  const int stats = m.heasarc.archive->stat_calls;
  // `ls -l`: an lstat per entry, several times over: each fails at once, with no request.
  auto file = row;
  file.push_back("pipe.log");
  for (int i = 0; i < 5; ++i) BOOST_TEST(errno_of([&] { m.walk(file); }) == ETIMEDOUT);
  BOOST_TEST(m.heasarc.archive->stat_calls == stats);
}
