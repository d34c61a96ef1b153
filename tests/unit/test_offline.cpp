// Answers kept across mounts (RemoteView persistence over cache/metadata_store.h): a remount
// uses fresh records without requests and, with the services down, serves the stale tree and
// the cached bytes; `.refresh` asks again; a changed file (ESTALE) forgets its listing and
// tells the kernel; without validators no block is reused across refreshes. Over the fakes,
// a real metadata store in a temp dir, and an injected wall clock (no sleeps).
#define BOOST_TEST_MODULE offline
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <set>

#include "cache/fetcher.h"
#include "cache/metadata_store.h"
#include "common/error.h"
#include "fs/filesystem.h"
#include "fs/remote_records.h"
#include "tests/support/archive_engine.h"
#include "tests/support/errors.h"
#include "tests/support/failing_clients.h"
#include "tests/support/fake_clients.h"
#include "tests/support/memory_object_store.h"
#include "tests/support/temp_dir.h"

using namespace hfs;
using namespace std::chrono_literals;
using test::errno_of;

namespace {

using Names = std::set<std::string>;
const std::vector<std::string> kRow = {"numaster", "NGC4151", "60001111003"};
const std::string kRowUrl = "http://fake/FTP/nustar/data/obs/00/6//60001111003/";

// What the filesystem told the kernel.
struct RecordingNotifier : fs::KernelNotifier {
  void invalidate_entry(std::uint64_t parent, const std::string& name) override { entries.insert({parent, name}); }
  void invalidate_inode(std::uint64_t ino) override { inodes.insert(ino); }
  std::set<std::pair<std::uint64_t, std::string>> entries;
  std::set<std::uint64_t> inodes;
};

struct Mount {
  test::TempDir cache_dir;
  test::FakeHeasarc heasarc = test::make_fake_heasarc();
  std::shared_ptr<test::FailingVoClient> vo = std::make_shared<test::FailingVoClient>(heasarc.vo);
  std::shared_ptr<test::FailingArchiveClient> archive = std::make_shared<test::FailingArchiveClient>(heasarc.archive);
  test::MemoryObjectStore store;  // the block cache, kept across remounts
  std::shared_ptr<cache::MetadataStore> metadata;
  std::atomic<std::int64_t> wall_seconds{1'764'600'000};
  std::chrono::seconds failed_stat{10};  // RemoteTtls::failed_stat of the next remount
  std::shared_ptr<test::ArchiveEngine> engine;
  std::unique_ptr<cache::Fetcher> fetcher;
  std::shared_ptr<fs::RemoteView> remote;
  std::shared_ptr<RecordingNotifier> notifier;
  std::unique_ptr<fs::Filesystem> filesystem;

  Mount() { remount(); }

  // A new mount over the same cache directory (memory caches gone, disk kept).
  void remount() {
    filesystem.reset();
    fetcher.reset();
    engine.reset();
    remote.reset();
    metadata.reset();
    store.forget_verification();
    metadata = cache::open_metadata_store(cache_dir.path(), 1 << 20);
    engine = std::make_shared<test::ArchiveEngine>(heasarc.archive, archive);
    fetcher = cache::make_fetcher(store, engine, {});
    fs::RemoteTtls ttls;
    ttls.stale_retry = std::chrono::hours(1);  // memory TTLs run on the real clock: no race with it
    ttls.failed_stat = failed_stat;
    remote = std::make_shared<fs::RemoteView>(vo, archive, ttls);
    fs::RemotePersistence persistence;
    persistence.store = metadata;
    persistence.scope = "registry\nresolver\nivo://nasa.heasarc";
    persistence.clock = [this] { return std::chrono::system_clock::time_point(std::chrono::seconds(wall_seconds)); };
    remote->set_persistence(persistence);
    filesystem = std::make_unique<fs::Filesystem>(fs::FilesystemConfig{}, remote, *fetcher);
    notifier = std::make_shared<RecordingNotifier>();
    filesystem->set_notifier(notifier);
  }

  // Every service refuses connections, as with the local HEASARC stopped.
  void services_down() {
    vo->fail(test::any_call(), {.errnum = ECONNREFUSED});
    archive->fail(test::any_call(), {.errnum = ECONNREFUSED});
  }

  std::uint64_t walk(const std::vector<std::string>& path) {
    std::uint64_t ino = fs::kRootInode;
    for (const auto& name : path) ino = filesystem->lookup(ino, name, CallContext{}).attributes.ino;
    return ino;
  }
  Names names(const std::vector<std::string>& path) {
    Names result;
    for (const auto& entry : filesystem->readdir(walk(path), CallContext{})) result.insert(entry.name);
    return result;
  }
  std::string read_all(const std::vector<std::string>& path) {
    auto opened = filesystem->open(walk(path), O_RDONLY, CallContext{});
    std::string content;
    for (;;) {
      auto reply = filesystem->read(opened.handle, content.size(), 65536, CallContext{});
      std::string bytes = reply.bytes;
      if (reply.pin) {
        bytes.resize(reply.length);
        if (::pread(reply.pin->fd(), bytes.data(), bytes.size(), static_cast<off_t>(reply.offset)) !=
            static_cast<ssize_t>(bytes.size()))
          throw Error(EIO, "pread of a pinned range failed");
      }
      if (bytes.empty()) break;
      content += bytes;
    }
    filesystem->release(opened.handle);
    return content;
  }
  int requests() const {
    return heasarc.vo->registry_calls + heasarc.vo->resolve_calls + heasarc.vo->cone_calls +
           heasarc.vo->datalink_calls + heasarc.archive->list_calls + heasarc.archive->stat_calls +
           heasarc.archive->stat_many_calls;
  }
};

// One walk: the row, its subdirectories, two files read whole.
struct Walk {
  Names row, event_cl;
  std::uint64_t csv_size = 0, evt_size = 0;
  std::string pipe_log, events;
};

Walk walk_row(Mount& m) {
  Walk walk;
  walk.row = m.names(kRow);
  auto dir = kRow;
  dir.push_back("event_cl");
  walk.event_cl = m.names(dir);
  walk.csv_size = m.filesystem->getattr(m.walk({"numaster", "NGC4151", ".results.csv"}), CallContext{}).size;
  auto file = kRow;
  file.push_back("pipe.log");
  walk.pipe_log = m.read_all(file);
  dir.push_back("nu60001111003A01_cl.evt");
  walk.evt_size = m.filesystem->getattr(m.walk(dir), CallContext{}).size;
  walk.events = m.read_all(dir);
  return walk;
}

void check_same(const Walk& a, const Walk& b) {
  BOOST_TEST((a.row == b.row));
  BOOST_TEST((a.event_cl == b.event_cl));
  BOOST_TEST(a.csv_size == b.csv_size);
  BOOST_TEST(a.evt_size == b.evt_size);
  BOOST_TEST(a.pipe_log == b.pipe_log);
  BOOST_TEST((a.events == b.events));
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_remount_uses_fresh_records_without_a_request) {
  Mount m;
  Walk first = walk_row(m);
  BOOST_TEST(m.metadata->stats().records >= 6u);  // tables, position, cone, DataLink, 2+ listings
  const int requests = m.requests();
  const auto bytes = m.heasarc.archive->bytes_read.load();
  m.wall_seconds += 60;  // a minute later: every answer is still fresh
  m.remount();
  check_same(first, walk_row(m));
  BOOST_TEST(m.requests() == requests);
  BOOST_TEST(m.heasarc.archive->bytes_read == bytes);  // the bytes came from the block cache
}

BOOST_AUTO_TEST_CASE(a_remount_with_the_services_down_serves_the_stale_tree_and_bytes) {
  Mount m;
  Walk first = walk_row(m);
  m.wall_seconds += 2 * 24 * 3600;  // two days: every answer is past its TTL
  m.remount();
  m.services_down();
  check_same(first, walk_row(m));
  BOOST_TEST(m.vo->failures() + m.archive->failures() > 0);  // it did ask, and fell back
  // Served stale for a while (RemoteTtls::stale_retry) instead of asking at every lookup.
  const int failures = m.vo->failures() + m.archive->failures();
  check_same(first, walk_row(m));
  BOOST_TEST(m.vo->failures() + m.archive->failures() == failures);
  // What was never cached fails with the service's error.
  BOOST_TEST(errno_of([&] { m.walk({"numaster", "M 31"}); }) == ECONNREFUSED);
  BOOST_TEST(errno_of([&] { m.names({"numaster", "NGC4151", "60001111005"}); }) == ECONNREFUSED);
  // An unknown name stays unknown offline too (ENOENT is an answer, never papered over).
  m.vo->clear();
  BOOST_TEST(errno_of([&] { m.walk({"numaster", "NoSuchObject"}); }) == ENOENT);
}

BOOST_AUTO_TEST_CASE(a_size_found_after_its_listing_is_kept_with_it_across_a_remount) {
  Mount m;
  m.failed_stat = 0s;  // a failed size is asked again at the next lookup
  m.remount();
  m.archive->fail(test::on("stat", "60001111003/pipe.log"), {.errnum = EIO}, 1);
  BOOST_TEST(m.names(kRow).count("pipe.log") == 1);  // listed (and stored) with its size unknown
  auto file = kRow;
  file.push_back("pipe.log");
  const std::string content = "pipeline log of 60001111003\n";
  m.wall_seconds += 1800;  // half the listing's TTL later
  BOOST_TEST(m.filesystem->getattr(m.walk(file), CallContext{}).size == content.size());  // asked again: found
  BOOST_TEST(m.read_all(file) == content);
  auto listing = m.remote->cached_listing(kRowUrl);
  BOOST_TEST_REQUIRE(listing);
  BOOST_TEST_REQUIRE(listing->find("pipe.log")->object.has_value());
  // The listing's new version replaced the stored one: a remount with the services down has
  // the size (and the bytes, from the block cache).
  m.wall_seconds += 60;
  m.remount();
  m.services_down();
  const int failures = m.archive->failures();
  BOOST_TEST(m.filesystem->getattr(m.walk(file), CallContext{}).size == content.size());
  BOOST_TEST(m.read_all(file) == content);
  BOOST_TEST(m.archive->failures() == failures);  // nothing was asked: the record is fresh
  // With the listing's own fetch time, not the later one of the size: past the listing's TTL
  // (1 h after it was listed, 31 min after the size was found) it is the stale fallback.
  m.wall_seconds += 1800;
  m.remount();
  m.services_down();
  BOOST_TEST(m.filesystem->getattr(m.walk(file), CallContext{}).size == content.size());
  BOOST_TEST(m.archive->failures() > failures);
}

BOOST_AUTO_TEST_CASE(records_of_another_configuration_are_not_served) {
  Mount m;
  walk_row(m);
  const int requests = m.requests();
  m.remount();
  fs::RemotePersistence other;
  other.store = m.metadata;
  other.scope = "another registry";
  m.remote->set_persistence(other);
  m.names(kRow);
  BOOST_TEST(m.requests() > requests);
}

BOOST_AUTO_TEST_CASE(dot_refresh_asks_again_and_tells_the_kernel) {
  Mount m;
  const std::uint64_t row = m.walk(kRow);
  auto file = kRow;
  file.push_back("pipe.log");
  const std::uint64_t pipe_log = m.walk(file);
  BOOST_TEST(m.read_all(file) == "pipeline log of 60001111003\n");
  m.heasarc.archive->replace_file(kRowUrl + "pipe.log", "pipeline log, reprocessed\n");
  // Within the TTL the old listing (and its version) is what the tree shows.
  BOOST_TEST(m.read_all(file) == "pipeline log of 60001111003\n");

  const int lists = m.heasarc.archive->list_calls;
  BOOST_TEST(errno_of([&] { m.filesystem->lookup(row, ".refresh", CallContext{}); }) == ENOENT);
  BOOST_TEST(m.heasarc.archive->list_calls == lists + 1);
  BOOST_TEST(m.notifier->entries.count({row, "pipe.log"}) == 1u);
  BOOST_TEST(m.notifier->inodes.count(pipe_log) == 1u);  // its version changed
  BOOST_TEST(m.walk(file) == pipe_log);                  // same inode, new version
  BOOST_TEST(m.read_all(file) == "pipeline log, reprocessed\n");
  // The new listing is on disk: a remount within its TTL does not ask again.
  const int requests = m.requests();
  m.remount();
  BOOST_TEST(m.read_all(file) == "pipeline log, reprocessed\n");
  BOOST_TEST(m.requests() == requests);

  // Offline, a refresh fails with the service's error and the cached answer stays.
  m.services_down();
  const std::uint64_t row_again = m.walk(kRow);
  BOOST_TEST(errno_of([&] { m.filesystem->lookup(row_again, ".refresh", CallContext{}); }) == ECONNREFUSED);
  BOOST_TEST(m.read_all(file) == "pipeline log, reprocessed\n");
  // Other directories: the root refreshes the table list, a query directory its cone answer.
  m.vo->clear();
  m.archive->clear();
  const int registry = m.heasarc.vo->registry_calls, cones = m.heasarc.vo->cone_calls;
  BOOST_TEST(errno_of([&] { m.filesystem->lookup(fs::kRootInode, ".refresh", CallContext{}); }) == ENOENT);
  BOOST_TEST(m.heasarc.vo->registry_calls == registry + 1);
  BOOST_TEST(errno_of([&] {
               m.filesystem->lookup(m.walk({"numaster", "NGC4151"}), ".refresh", CallContext{});
             }) == ENOENT);
  BOOST_TEST(m.heasarc.vo->cone_calls == cones + 1);
}

BOOST_AUTO_TEST_CASE(estale_forgets_the_listing_and_tells_the_kernel) {
  Mount m;
  auto file = kRow;
  file.push_back("pipe.log");
  const std::uint64_t row = m.walk(kRow);
  const std::uint64_t ino = m.walk(file);
  auto opened = m.filesystem->open(ino, O_RDONLY, CallContext{});
  m.heasarc.archive->replace_file(kRowUrl + "pipe.log", "a longer, newer pipeline log\n");
  BOOST_TEST(errno_of([&] { m.filesystem->read(opened.handle, 0, 4096, CallContext{}); }) == ESTALE);
  m.filesystem->release(opened.handle);
  BOOST_TEST(m.notifier->inodes.count(ino) == 1u);
  BOOST_TEST(m.notifier->entries.count({row, "pipe.log"}) == 1u);
  // The listing is gone from memory and disk: the next lookup lists and stats again, even
  // after a remount.
  const int lists = m.heasarc.archive->list_calls;
  m.remount();
  BOOST_TEST(m.read_all(file) == "a longer, newer pipeline log\n");
  BOOST_TEST(m.heasarc.archive->list_calls == lists + 1);
}

BOOST_AUTO_TEST_CASE(without_validators_no_block_is_reused_across_refreshes) {
  Mount m;
  m.heasarc.archive->send_validators = false;
  auto file = kRow;
  file.push_back("pipe.log");
  const std::string old_text = "pipeline log of 60001111003\n";
  BOOST_TEST(m.read_all(file) == old_text);
  // Same size, new bytes, nothing that tells the versions apart.
  std::string new_text = old_text;
  new_text[0] = 'P';
  m.heasarc.archive->replace_file(kRowUrl + "pipe.log", new_text);
  BOOST_TEST(m.read_all(file) == old_text);  // the cached version, whole
  // A remount on the stored listing reuses its blocks: no request, the same bytes.
  const auto bytes = m.heasarc.archive->bytes_read.load();
  m.remount();
  BOOST_TEST(m.read_all(file) == old_text);
  BOOST_TEST(m.heasarc.archive->bytes_read == bytes);
  // A refreshed listing keys the blocks anew: the new version, whole, from the archive.
  m.wall_seconds += 1;
  BOOST_TEST(errno_of([&] { m.filesystem->lookup(m.walk(kRow), ".refresh", CallContext{}); }) == ENOENT);
  BOOST_TEST(m.read_all(file) == new_text);
  BOOST_TEST(m.heasarc.archive->bytes_read == bytes + new_text.size());
}

BOOST_AUTO_TEST_CASE(records_round_trip_through_their_encodings) {
  auto heasarc = test::make_fake_heasarc();
  auto tables = heasarc.vo->cone_tables(CallContext{});
  BOOST_TEST(fs::records::decode_tables(fs::records::encode_tables(tables))->size() == tables.size());
  auto cone = heasarc.vo->cone_search(tables[1], {182.6357, 39.4058}, 1.0, CallContext{});
  // Every piece of a field's metadata survives (a cone answer from disk writes the same
  // .results.vot as one from the service).
  cone.table.fields[0].precision = "6";
  cone.table.fields[0].width = "10";
  cone.table.fields[0].xtype = "timestamp";
  cone.table.fields[0].null_value = "-999";
  auto decoded = fs::records::decode_cone(fs::records::encode_cone(cone));
  BOOST_REQUIRE(decoded.has_value());
  BOOST_TEST((decoded->table.rows == cone.table.rows));
  BOOST_TEST(decoded->table.fields.size() == cone.table.fields.size());
  for (std::size_t i = 0; i < cone.table.fields.size(); ++i) {
    const auto &a = decoded->table.fields[i], &b = cone.table.fields[i];
    BOOST_TEST(a.name == b.name);
    BOOST_TEST(a.id == b.id);
    BOOST_TEST(a.datatype == b.datatype);
    BOOST_TEST(a.arraysize == b.arraysize);
    BOOST_TEST(a.unit == b.unit);
    BOOST_TEST(a.ucd == b.ucd);
    BOOST_TEST(a.utype == b.utype);
    BOOST_TEST(a.xtype == b.xtype);
    BOOST_TEST(a.precision == b.precision);
    BOOST_TEST(a.width == b.width);
    BOOST_TEST(a.description == b.description);
    BOOST_TEST((a.null_value == b.null_value));
  }
  BOOST_TEST(decoded->datalink.has_value() == cone.datalink.has_value());
  auto position = fs::records::decode_position(fs::records::encode_position(vo::SkyPosition{1.5, -2.25}));
  BOOST_TEST((*position)->dec_deg == -2.25);
  BOOST_TEST(!*fs::records::decode_position(fs::records::encode_position(std::nullopt)));
  BOOST_TEST(**fs::records::decode_directory(fs::records::encode_directory(kRowUrl)) == kRowUrl);
  fs::ArchiveListing listing;
  listing.url = kRowUrl;
  listing.entries.push_back(
      {"pipe.log", false, kRowUrl + "pipe.log", 7, vo::ObjectInfo{kRowUrl + "pipe.log", 28, 7, "\"e\"", 9}, 0, ""});
  listing.entries.push_back({"hk", true, kRowUrl + "hk/", 8, std::nullopt, 0, ""});
  auto back = fs::records::decode_listing(fs::records::encode_listing(listing));
  BOOST_REQUIRE(back.has_value());
  BOOST_TEST(back->entries.size() == 2u);
  BOOST_TEST(back->entries[0].object->validator() == "\"e\"");
  BOOST_TEST(back->entries[0].object->listed_at == 9);
  // Another kind, a cut record or trailing bytes: not decoded.
  BOOST_TEST(!fs::records::decode_listing(fs::records::encode_tables(tables)));
  std::string bytes = fs::records::encode_listing(listing);
  BOOST_TEST(!fs::records::decode_listing(bytes.substr(0, bytes.size() - 1)));
  BOOST_TEST(!fs::records::decode_listing(bytes + "x"));
}
