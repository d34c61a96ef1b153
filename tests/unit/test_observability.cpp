// What a mount tells about itself, without FUSE: .results.vot beside .results.csv, the extended
// attributes of every kind of node, the /.heasarcfs/stats file. Mounted in
// tests/integration/test_mount_observe.py.
#define BOOST_TEST_MODULE observability
#include <fcntl.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <set>

#include "cache/fetcher.h"
#include "common/error.h"
#include "fs/filesystem.h"
#include "fs/mount_stats.h"
#include "tests/support/archive_engine.h"
#include "tests/support/errors.h"
#include "tests/support/failing_clients.h"
#include "tests/support/fake_clients.h"
#include "tests/support/memory_object_store.h"
#include "vo/cone_search.h"
#include "vo/votable.h"

using namespace hfs;
using test::errno_of;

namespace {

struct Mount {
  test::FakeHeasarc heasarc = test::make_fake_heasarc();
  std::shared_ptr<test::FailingVoClient> vo = std::make_shared<test::FailingVoClient>(heasarc.vo);
  test::MemoryObjectStore store;
  std::shared_ptr<test::ArchiveEngine> engine = std::make_shared<test::ArchiveEngine>(heasarc.archive, heasarc.archive);
  std::unique_ptr<cache::Fetcher> fetcher = cache::make_fetcher(store, engine);
  std::shared_ptr<fs::RemoteView> remote;
  std::unique_ptr<fs::Filesystem> filesystem;

  explicit Mount(fs::RemoteTtls ttls = {}) {
    remote = std::make_shared<fs::RemoteView>(vo, heasarc.archive, ttls);
    fs::FilesystemConfig config;
    config.registry_url = "http://registry.example/tap";
    filesystem = std::make_unique<fs::Filesystem>(config, remote, *fetcher);
  }

  std::uint64_t walk(const std::vector<std::string>& path) {
    std::uint64_t ino = fs::kRootInode;
    for (const auto& name : path) ino = filesystem->lookup(ino, name, CallContext{}).attributes.ino;
    return ino;
  }

  std::set<std::string> names(std::uint64_t ino) {
    std::set<std::string> result;
    for (const auto& entry : filesystem->readdir(ino, CallContext{})) result.insert(entry.name);
    return result;
  }

  std::string read_all(std::uint64_t ino) {
    auto opened = filesystem->open(ino, O_RDONLY, CallContext{});
    std::string content;
    for (;;) {
      auto reply = filesystem->read(opened.handle, content.size(), 1 << 16, CallContext{});
      std::string bytes = reply.bytes;
      if (reply.pin) {
        bytes.resize(reply.length);
        if (::pread(reply.pin->fd(), bytes.data(), bytes.size(), static_cast<off_t>(reply.offset)) !=
            static_cast<ssize_t>(bytes.size()))
          throw Error(EIO, "pread");
      }
      if (bytes.empty()) break;
      content += bytes;
    }
    filesystem->release(opened.handle);
    return content;
  }

  std::set<std::string> xattr_names(std::uint64_t ino) {
    auto names = filesystem->xattr_names(ino);
    return {names.begin(), names.end()};
  }
};

using Names = std::set<std::string>;
const std::vector<std::string> kFiltered = {"numaster", "NGC4151", "exposure_a>=50000"};
const std::vector<std::string> kRow = {"numaster", "NGC4151", "exposure_a>=50000", "60001111003"};

std::vector<std::string> below(std::vector<std::string> path, std::initializer_list<std::string> more) {
  path.insert(path.end(), more);
  return path;
}

}  // namespace

// The filtered rows with the service's FIELDs, and the size stat gives is the size read.
BOOST_AUTO_TEST_CASE(results_vot_holds_the_filtered_rows_with_their_fields) {
  Mount m;
  auto directory = m.walk(kFiltered);
  auto names = m.names(directory);
  BOOST_TEST(names.count(".results.vot") == 1u);
  auto vot = m.walk(below(kFiltered, {".results.vot"}));
  auto text = m.read_all(vot);
  BOOST_TEST(m.filesystem->getattr(vot, CallContext{}).size == text.size());
  BOOST_TEST(m.filesystem->stat(vot, CallContext{}).attr_timeout <= 1.0);
  auto result = vo::parse_cone_result(vo::parse_votable(text));
  const auto& service = m.heasarc.vo->tables["numaster"];
  BOOST_TEST_REQUIRE(result.table.fields.size() == service.fields.size());
  for (std::size_t i = 0; i < service.fields.size(); ++i) {
    BOOST_TEST(result.table.fields[i].name == service.fields[i].name);
    BOOST_TEST(result.table.fields[i].unit == service.fields[i].unit);
    BOOST_TEST(result.table.fields[i].ucd == service.fields[i].ucd);
    BOOST_TEST(result.table.fields[i].datatype == service.fields[i].datatype);
  }
  std::set<std::string> obsids;
  auto obsid = result.table.field_index("obsid");
  BOOST_TEST_REQUIRE(obsid.has_value());
  for (const auto& row : result.table.rows) obsids.insert(*row.at(*obsid));
  BOOST_TEST((obsids == Names{"60001111003", "60001111005", "60001111007"}));
  // The same rows as the CSV, in the same order.
  auto csv = m.read_all(m.walk(below(kFiltered, {".results.csv"})));
  BOOST_TEST(std::count(csv.begin(), csv.end(), '\n') == 1 + static_cast<long>(result.table.rows.size()));
}

BOOST_AUTO_TEST_CASE(stats_dir_is_looked_up_not_listed) {
  Mount m;
  int calls = 0;
  m.filesystem->set_stats_source([&] {
    ++calls;
    return std::string("{\"n\": ") + std::to_string(calls) + "}\n";
  });
  auto control = m.walk({".heasarcfs"});
  BOOST_TEST(m.filesystem->getattr(control, CallContext{}).is_dir);
  BOOST_TEST((m.names(control) == Names{"stats"}));
  BOOST_TEST(errno_of([&] { m.walk({".heasarcfs", "other"}); }) == ENOENT);
  auto stats = m.walk({".heasarcfs", "stats"});
  auto entry = m.filesystem->stat(stats, CallContext{});
  BOOST_TEST(!entry.attributes.is_dir);
  BOOST_TEST(entry.attr_timeout == 0.0);
  BOOST_TEST(entry.attributes.size > 0u);
  auto opened = m.filesystem->open(stats, O_RDONLY, CallContext{});
  BOOST_TEST(opened.direct_io);
  m.filesystem->release(opened.handle);
  // Made fresh at each open.
  auto first = m.read_all(stats), second = m.read_all(stats);
  BOOST_TEST(first != second);
  BOOST_TEST(errno_of([&] { m.filesystem->open(stats, O_WRONLY, CallContext{}); }) == EROFS);
  // No registry query for any of it; "/" lists the tables only.
  BOOST_TEST(m.heasarc.vo->registry_calls == 0);
  BOOST_TEST(m.names(fs::kRootInode).count(".heasarcfs") == 0u);
}

BOOST_AUTO_TEST_CASE(stats_json_has_every_counter) {
  fs::MountStats stats;
  stats.uptime_seconds = 1.5;
  stats.transfers.started = 3;
  stats.transfers.bytes_received = 1000;
  stats.transfers.bytes_in_flight = 42;
  stats.transfers.running_by_host["http://127.0.0.1:8080"] = 2;
  stats.transfers.queued_by_host["http://127.0.0.1:8080"] = 1;
  stats.transfers.queued_by_host["https://a\"b"] = 1;
  stats.fetcher.block_hits = 7;
  stats.fetcher.block_misses = 5;
  stats.errors = {{EIO, 2}, {ENODATA, 1}};
  stats.nodes = 12345;
  auto json = fs::mount_stats_json(stats);
  for (const char* expected :
       {"\"uptime_seconds\": 1.500", "\"started\": 3", "\"bytes_fetched\": 1000", "\"bytes_in_flight\": 42",
        "\"hits\": 7", "\"misses\": 5", "\"block_size\": 65536", "\"replies\": 3", "\"EIO\": 2", "\"ENODATA\": 1",
        "\"http://127.0.0.1:8080\": {\"running\": 2, \"queued\": 1}", "\"https://a\\\"b\": {\"running\": 0",
        "\"nodes\": 12345"})
    BOOST_TEST(json.find(expected) != std::string::npos, expected << " in " << json);
}

BOOST_AUTO_TEST_CASE(xattrs_of_every_kind_of_node) {
  Mount m;
  auto root = fs::kRootInode;
  auto table = m.walk({"numaster"});
  auto query = m.walk(kFiltered);
  auto vot = m.walk(below(kFiltered, {".results.vot"}));
  auto row = m.walk(kRow);
  m.names(row);  // its DataLink answer is known from here on
  auto dir = m.walk(below(kRow, {"event_cl"}));
  auto file = m.walk(below(kRow, {"event_cl", "nu60001111003A01_cl.evt"}));
  auto stats = m.walk({".heasarcfs", "stats"});

  BOOST_TEST((m.xattr_names(root) == Names{"user.heasarc.url"}));
  BOOST_TEST(m.filesystem->xattr(root, "user.heasarc.url", CallContext{}) == "http://registry.example/tap");
  BOOST_TEST((m.xattr_names(table) == Names{"user.heasarc.url"}));
  BOOST_TEST((m.xattr_names(query) == Names{"user.heasarc.url", "user.heasarc.query"}));
  BOOST_TEST((m.xattr_names(vot) == Names{"user.heasarc.url", "user.heasarc.query"}));
  BOOST_TEST((m.xattr_names(row) == Names{"user.heasarc.url", "user.heasarc.query"}));
  BOOST_TEST((m.xattr_names(dir) == Names{"user.heasarc.url", "user.heasarc.query"}));
  BOOST_TEST((m.xattr_names(file) == Names{"user.heasarc.url", "user.heasarc.query", "user.heasarc.cached"}));
  BOOST_TEST(m.xattr_names(stats).empty());

  // The service, and the exact cone search URL behind a target or filter directory.
  auto services = m.heasarc.vo->cone_tables(CallContext{});
  auto numaster = std::find_if(services.begin(), services.end(), [](auto& t) { return t.name == "numaster"; });
  BOOST_TEST_REQUIRE((numaster != services.end()));
  BOOST_TEST(m.filesystem->xattr(query, "user.heasarc.url", CallContext{}) == numaster->cone_url);
  BOOST_TEST(m.filesystem->xattr(table, "user.heasarc.url", CallContext{}) == numaster->cone_url);
  const std::string cone = m.filesystem->xattr(query, "user.heasarc.query", CallContext{});
  BOOST_TEST(cone.rfind(numaster->cone_url, 0) == 0);
  BOOST_TEST(cone.find("RA=") != std::string::npos);
  BOOST_TEST(cone.find("SR=1.0") != std::string::npos);
  BOOST_TEST(m.filesystem->xattr(vot, "user.heasarc.query", CallContext{}) == cone);
  // The row's DataLink request, for the row and everything inside it.
  const std::string datalink = m.filesystem->xattr(row, "user.heasarc.query", CallContext{});
  BOOST_TEST(datalink.find("60001111003") != std::string::npos);
  BOOST_TEST(m.filesystem->xattr(dir, "user.heasarc.query", CallContext{}) == datalink);
  BOOST_TEST(m.filesystem->xattr(file, "user.heasarc.query", CallContext{}) == datalink);
  // Archive URLs.
  const std::string row_url = m.filesystem->xattr(row, "user.heasarc.url", CallContext{});
  BOOST_TEST(row_url.find("/FTP/") != std::string::npos);
  BOOST_TEST(m.filesystem->xattr(dir, "user.heasarc.url", CallContext{}) == row_url + "event_cl/");
  BOOST_TEST(m.filesystem->xattr(file, "user.heasarc.url", CallContext{}) ==
             row_url + "event_cl/nu60001111003A01_cl.evt");

  // Absent ones, and names that are not ours, are ENODATA.
  BOOST_TEST(errno_of([&] { m.filesystem->xattr(stats, "user.heasarc.url", CallContext{}); }) == ENODATA);
  BOOST_TEST(errno_of([&] { m.filesystem->xattr(file, "user.heasarc.stale", CallContext{}); }) == ENODATA);
  BOOST_TEST(errno_of([&] { m.filesystem->xattr(dir, "user.heasarc.cached", CallContext{}); }) == ENODATA);
  BOOST_TEST(errno_of([&] { m.filesystem->xattr(file, "security.capability", CallContext{}); }) == ENODATA);
  BOOST_TEST(errno_of([&] { m.filesystem->xattr(987654, "user.heasarc.url", CallContext{}); }) == ESTALE);
}

BOOST_AUTO_TEST_CASE(cached_counts_the_bytes_in_the_cache) {
  Mount m;
  auto file = m.walk(below(kRow, {"event_cl", "nu60001111003A01_cl.evt"}));
  const auto size = m.filesystem->getattr(file, CallContext{}).size;
  BOOST_TEST(m.filesystem->xattr(file, "user.heasarc.cached", CallContext{}) == "0/" + std::to_string(size));
  // A file of at most 1 MiB comes whole on its first read: every block was a miss.
  BOOST_TEST_REQUIRE(size <= (1u << 20));
  auto opened = m.filesystem->open(file, O_RDONLY, CallContext{});
  m.filesystem->read(opened.handle, 0, 100, CallContext{});
  m.filesystem->release(opened.handle);
  BOOST_TEST(m.filesystem->xattr(file, "user.heasarc.cached", CallContext{}) ==
             std::to_string(size) + "/" + std::to_string(size));
  auto stats = m.fetcher->stats();
  BOOST_TEST(stats.block_misses == (size + cache::kBlockSize - 1) / cache::kBlockSize);
  BOOST_TEST(stats.block_hits == 0u);
  m.read_all(file);
  BOOST_TEST(m.filesystem->xattr(file, "user.heasarc.cached", CallContext{}) ==
             std::to_string(size) + "/" + std::to_string(size));
  BOOST_TEST(m.fetcher->stats().block_hits >= 1u);
}

// user.heasarc.stale appears while a failed refresh serves the last good answer, and goes when
// a refresh succeeds.
BOOST_AUTO_TEST_CASE(stale_shows_while_an_answer_is_served_stale) {
  std::chrono::seconds zero(0);
  fs::RemoteTtls ttls{zero, zero, zero, zero, zero, zero};
  ttls.stale_retry = zero;  // the next lookup asks again at once (not in 10 s)
  Mount m(ttls);
  auto query = m.walk(kFiltered);
  m.names(query);
  BOOST_TEST(m.xattr_names(query).count("user.heasarc.stale") == 0u);
  m.vo->fail(test::on("cone_search"), {.errnum = ETIMEDOUT});
  m.names(query);  // the refresh fails: the last good answer
  BOOST_TEST(m.xattr_names(query).count("user.heasarc.stale") == 1u);
  const auto since = m.filesystem->xattr(query, "user.heasarc.stale", CallContext{});
  BOOST_TEST(since.size() == 20u);  // 2026-12-01T23:00:00Z
  BOOST_TEST(since.back() == 'Z');
  m.vo->clear();
  m.names(query);
  BOOST_TEST(m.xattr_names(query).count("user.heasarc.stale") == 0u);
  BOOST_TEST(errno_of([&] { m.filesystem->xattr(query, "user.heasarc.stale", CallContext{}); }) == ENODATA);
}
