#define BOOST_TEST_MODULE local_archive
#include <boost/test/unit_test.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "cache/local_reader.h"
#include "common/error.h"
#include "tests/support/errors.h"
#include "tests/support/fake_clients.h"
#include "tests/support/temp_dir.h"
#include "vo/local_archive_client.h"

using namespace hfs;
using hfs::test::errno_of;

namespace {

constexpr const char* kDir = "http://127.0.0.1:9/FTP/nustar/data/obs/00/6//60001111003/";

void write_file(const std::filesystem::path& path, const std::string& content, std::int64_t mtime = 1600000000) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << content;
  struct timespec times[2] = {{mtime, 0}, {mtime, 0}};
  BOOST_REQUIRE(::utimensat(AT_FDCWD, path.c_str(), times, 0) == 0);
}

// A local /FTP/ stand-in with one observation; the fallback is an HTTP archive in memory.
struct LocalArchive {
  test::TempDir root;
  std::filesystem::path obs = root.path() / "nustar/data/obs/00/6/60001111003";
  std::shared_ptr<test::FakeArchiveClient> http = std::make_shared<test::FakeArchiveClient>();
  std::unique_ptr<vo::ArchiveClient> client = vo::make_local_archive_client(root.path(), http);

  LocalArchive() {
    write_file(obs / "pipe.log", "pipeline log\n", 1600000100);
    write_file(obs / "auxil/nu60001111003_att.fits.gz", std::string(5000, 'a'));
    write_file(obs / "a b&c.txt", "odd name");
    std::filesystem::create_directories(obs / "empty");
  }
};

// Reads a reply the way the FUSE layer does: from the pinned descriptor, or its bytes.
std::string bytes_of(const cache::ReadReply& reply) {
  if (!reply.pin) return reply.bytes;
  std::string bytes(reply.length, '\0');
  BOOST_REQUIRE(::pread(reply.pin->fd(), bytes.data(), bytes.size(), static_cast<off_t>(reply.offset)) ==
                static_cast<ssize_t>(bytes.size()));
  return bytes;
}

// A remote fetcher that records what reached it.
class RecordingFetcher final : public cache::Fetcher {
 public:
  std::unique_ptr<cache::FileReader> open(const vo::ObjectInfo& info) override {
    opened.push_back(info.url);
    throw Error(EHOSTUNREACH, "remote " + info.url);
  }
  void prefetch_whole(const vo::ObjectInfo& info) override { prefetched.push_back(info.url); }
  cache::FetcherStats stats() const override { return {}; }
  std::uint64_t cached_bytes(const vo::ObjectInfo& info) const override {
    asked_cached.push_back(info.url);
    return 7;
  }
  std::vector<std::string> opened, prefetched;
  mutable std::vector<std::string> asked_cached;
};

}  // namespace

BOOST_AUTO_TEST_CASE(lists_a_datalink_directory_from_the_local_tree) {
  LocalArchive archive;
  // Neither a dangling symbolic link nor a FIFO is an archive entry.
  std::filesystem::create_symlink("/nonexistent/file", archive.obs / "dangling");
  BOOST_REQUIRE(::mkfifo((archive.obs / "fifo").c_str(), 0600) == 0);
  auto entries = archive.client->list(kDir);  // the DataLink "//" maps to the one directory
  BOOST_TEST_REQUIRE(entries.size() == 4u);
  BOOST_TEST(entries[0].name == "a b&c.txt");
  BOOST_TEST(entries[0].url == std::string(kDir) + "a%20b%26c.txt");
  BOOST_TEST(entries[1].name == "auxil");
  BOOST_TEST(entries[1].is_dir);
  BOOST_TEST(entries[1].url == std::string(kDir) + "auxil/");
  BOOST_TEST(entries[2].name == "empty");
  BOOST_TEST(entries[3].name == "pipe.log");
  BOOST_TEST(*entries[3].mtime == 1600000100);
  auto auxil = archive.client->list(entries[1].url);
  BOOST_TEST_REQUIRE(auxil.size() == 1u);
  BOOST_TEST(*auxil[0].approx_size == 5000u);
  BOOST_TEST(archive.client->list(entries[2].url).empty());
  BOOST_TEST(archive.http->list_calls == 0);
}

BOOST_AUTO_TEST_CASE(sizes_and_mtimes_by_stat_with_size_and_mtime_as_validator) {
  LocalArchive archive;
  auto stats = archive.client->stat_many(
      {std::string(kDir) + "pipe.log", std::string(kDir) + "a%20b%26c.txt", std::string(kDir) + "auxil"}, 16,
      CallContext{});
  BOOST_TEST_REQUIRE(stats[0].info.has_value());
  BOOST_TEST(stats[0].info->size == 13u);
  BOOST_TEST(stats[0].info->mtime == 1600000100);
  BOOST_TEST(stats[0].info->etag.empty());
  BOOST_TEST(*vo::local_path_of(*stats[0].info) == (archive.obs / "pipe.log").string());
  BOOST_TEST(*vo::local_path_of(*stats[1].info) == (archive.obs / "a b&c.txt").string());
  BOOST_TEST(stats[2].errnum == EISDIR);
  BOOST_TEST(archive.http->stat_calls == 0);
  BOOST_TEST(archive.client->read(*stats[1].info, 4, 100) == "name");
}

BOOST_AUTO_TEST_CASE(local_reader_replies_with_the_file_itself_and_checks_the_validator) {
  LocalArchive archive;
  auto info = archive.client->stat(std::string(kDir) + "auxil/nu60001111003_att.fits.gz");
  auto fetcher = cache::make_local_first_fetcher(std::make_unique<RecordingFetcher>());
  auto reader = fetcher->open(info);
  auto reply = reader->read(4990, 4096, CallContext{});
  BOOST_TEST(reply.pin != nullptr);  // the local file's descriptor: no copy, no block cache
  BOOST_TEST(reply.offset == 4990u);
  BOOST_TEST(reply.length == 10u);
  BOOST_TEST(bytes_of(reply) == std::string(10, 'a'));
  BOOST_TEST(reader->read(5000, 10, CallContext{}).length == 0u);
  fetcher->prefetch_whole(info);                         // nothing to prefetch for a local file
  BOOST_TEST(fetcher->cached_bytes(info) == info.size);  // all at hand, not in the cache

  write_file(archive.obs / "auxil/nu60001111003_att.fits.gz", std::string(6000, 'b'));
  BOOST_TEST(errno_of([&] { reader->read(0, 10, CallContext{}); }) == ESTALE);
  BOOST_TEST(errno_of([&] { fetcher->open(info); }) == ESTALE);
  BOOST_TEST(errno_of([&] { archive.client->read(info, 0, 10); }) == ESTALE);
  std::filesystem::remove(archive.obs / "auxil/nu60001111003_att.fits.gz");
  BOOST_TEST(errno_of([&] { fetcher->open(info); }) == ENOENT);
}

BOOST_AUTO_TEST_CASE(objects_from_elsewhere_go_to_the_remote_fetcher) {
  auto remote = std::make_unique<RecordingFetcher>();
  auto* recorded = remote.get();
  auto fetcher = cache::make_local_first_fetcher(std::move(remote));
  vo::ObjectInfo info;
  info.url = std::string(kDir) + "pipe.log";
  info.size = 3;
  BOOST_TEST(errno_of([&] { fetcher->open(info); }) == EHOSTUNREACH);
  fetcher->prefetch_whole(info);
  BOOST_TEST(fetcher->cached_bytes(info) == 7u);
  BOOST_TEST(recorded->opened.size() == 1u);
  BOOST_TEST(recorded->prefetched.size() == 1u);
  BOOST_TEST(recorded->asked_cached.size() == 1u);
}

BOOST_AUTO_TEST_CASE(what_the_local_tree_lacks_comes_over_http) {
  LocalArchive archive;
  const std::string other = "http://127.0.0.1:9/FTP/nustar/data/obs/00/6/60001111005/";
  archive.http->add_file(other + "pipe.log", "remote log");
  archive.http->add_file(other + "hk/x.hk", "hk");
  auto entries = archive.client->list(other);  // the whole observation is missing locally
  BOOST_TEST(archive.http->list_calls == 1);
  BOOST_TEST_REQUIRE(entries.size() == 2u);
  BOOST_TEST(archive.client->list(other + "hk/").size() == 1u);
  BOOST_TEST(archive.http->list_calls == 2);
  auto stats = archive.client->stat_many({other + "pipe.log", std::string(kDir) + "pipe.log"}, 4, CallContext{});
  BOOST_TEST_REQUIRE(stats[0].info.has_value());
  BOOST_TEST(stats[0].info->url == other + "pipe.log");  // an HTTP object, read through the cache
  BOOST_TEST(!vo::local_path_of(*stats[0].info));
  BOOST_TEST(vo::local_path_of(*stats[1].info).has_value());
  BOOST_TEST(archive.client->read(*stats[0].info, 0, 6) == "remote");

  // A file missing from a directory that is there: its own lookup falls back too.
  archive.http->add_file(std::string(kDir) + "late.txt", "late");
  BOOST_TEST(archive.client->stat(std::string(kDir) + "late.txt").size == 4u);
  BOOST_TEST(errno_of([&] { archive.client->stat(std::string(kDir) + "never.txt"); }) == ENOENT);
  BOOST_TEST(errno_of([&] { archive.client->list("http://127.0.0.1:9/elsewhere/"); }) == EINVAL);
  BOOST_TEST(errno_of([&] { archive.client->list("http://127.0.0.1:9/FTP/nustar/../../etc/"); }) == EINVAL);
  BOOST_TEST(errno_of([&] { archive.client->list("http://127.0.0.1:9/FTP/nustar/%2e%2e/%2E%2E/etc/"); }) == EINVAL);
  BOOST_TEST(errno_of([&] { archive.client->stat("http://127.0.0.1:9/FTP/a%2f..%2f..%2fetc/passwd"); }) == EINVAL);
}
