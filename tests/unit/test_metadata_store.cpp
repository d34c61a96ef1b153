// The persistent metadata store (cache/metadata_store.h): records survive a reopen with their
// fetch time, a damaged record is never served, a crash's leftovers are cleaned at open, the
// byte bound holds on disk, nothing is followed through a symlink.
#define BOOST_TEST_MODULE metadata_store
#include <sys/stat.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "cache/metadata_store.h"
#include "cache/object_store.h"
#include "tests/support/object_store_files.h"
#include "tests/support/temp_dir.h"

using namespace hfs;
using namespace std::chrono_literals;
namespace stdfs = std::filesystem;

namespace {

const auto kFetched = std::chrono::system_clock::time_point(1'764'600'000'123ms);

std::vector<stdfs::path> files_in(const stdfs::path& dir) {
  std::vector<stdfs::path> files;
  for (const auto& entry : stdfs::directory_iterator(dir)) files.push_back(entry.path());
  return files;
}

std::string slurp(const stdfs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void spit(const stdfs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

// What `du` counts: allocated blocks of the directory and everything in it.
std::uint64_t du_bytes(const stdfs::path& dir) {
  struct stat st {};
  std::uint64_t total = ::lstat(dir.c_str(), &st) == 0 ? static_cast<std::uint64_t>(st.st_blocks) * 512 : 0;
  for (const auto& entry : stdfs::directory_iterator(dir))
    if (::lstat(entry.path().c_str(), &st) == 0) total += static_cast<std::uint64_t>(st.st_blocks) * 512;
  return total;
}

}  // namespace

BOOST_AUTO_TEST_CASE(records_round_trip_and_survive_a_reopen) {
  test::TempDir temp;
  const std::string listing(5000, 'L');
  {
    auto store = cache::open_metadata_store(temp.path(), 1 << 20);
    BOOST_TEST(!store->get("listing|http://a/").has_value());
    store->put("listing|http://a/", listing, kFetched);
    store->put("tables", "numaster\nchanmaster", kFetched + 1s);
    auto found = store->get("listing|http://a/");
    BOOST_REQUIRE(found.has_value());
    BOOST_TEST(found->value == listing);
    BOOST_TEST((found->fetched == kFetched));
    store->put("tables", "numaster", kFetched + 2s);  // replaced whole
    BOOST_TEST(store->get("tables")->value == "numaster");
    BOOST_TEST(store->stats().records == 2u);
  }
  auto store = cache::open_metadata_store(temp.path(), 1 << 20);
  BOOST_TEST(store->stats().records == 2u);
  BOOST_TEST(store->get("listing|http://a/")->value == listing);
  BOOST_TEST((store->get("tables")->fetched == kFetched + 2s));
  store->put("empty", "", kFetched);
  BOOST_TEST(store->get("empty")->value == "");
  store->erase("tables");
  BOOST_TEST(!store->get("tables").has_value());
  BOOST_TEST(files_in(temp.path() / "meta").size() == 2u);
}

BOOST_AUTO_TEST_CASE(a_damaged_record_is_ignored_and_removed_never_served) {
  test::TempDir temp;
  auto store = cache::open_metadata_store(temp.path(), 1 << 20);
  store->put("cone|numaster|182.6|39.4|1", std::string(3000, 'r'), kFetched);
  auto files = files_in(temp.path() / "meta");
  BOOST_REQUIRE(files.size() == 1u);
  // One flipped byte in the value: the CRC catches it.
  std::string bytes = slurp(files[0]);
  bytes[100] ^= 0x20;
  spit(files[0], bytes);
  BOOST_TEST(!store->get("cone|numaster|182.6|39.4|1").has_value());
  BOOST_TEST(store->stats().corrupt == 1u);
  BOOST_TEST(store->stats().records == 0u);
  BOOST_TEST(files_in(temp.path() / "meta").empty());
  // The key is stored again afterwards, as new.
  store->put("cone|numaster|182.6|39.4|1", "fresh", kFetched);
  BOOST_TEST(store->get("cone|numaster|182.6|39.4|1")->value == "fresh");
}

BOOST_AUTO_TEST_CASE(another_keys_record_under_a_name_is_a_miss_not_its_value) {
  test::TempDir temp;
  auto store = cache::open_metadata_store(temp.path(), 1 << 20);
  store->put("a", "value of a", kFetched);
  store->put("b", "value of b", kFetched);
  auto files = files_in(temp.path() / "meta");
  BOOST_REQUIRE(files.size() == 2u);
  // As if "a" and "b" had the same hash: a's file holds b's record.
  const std::string a_bytes = slurp(files[0]), b_bytes = slurp(files[1]);
  const auto& a_file = a_bytes.find("value of a") != std::string::npos ? files[0] : files[1];
  spit(a_file, a_bytes.find("value of a") != std::string::npos ? b_bytes : a_bytes);
  BOOST_TEST(!store->get("a").has_value());
  BOOST_TEST(store->stats().corrupt == 0u);  // sound, just not a's
}

BOOST_AUTO_TEST_CASE(a_crash_leaves_nothing_that_is_served) {
  test::TempDir temp;
  stdfs::path meta = temp.path() / "meta";
  {
    auto store = cache::open_metadata_store(temp.path(), 1 << 20);
    store->put("whole", std::string(2000, 'w'), kFetched);
    store->put("torn", std::string(2000, 't'), kFetched);
  }
  // A write cut short: the record file holds the first half of its bytes; a temp file of a
  // put that never reached its rename; and a power loss's zero-filled record.
  for (const auto& file : files_in(meta)) {
    std::string bytes = slurp(file);
    if (bytes.find(std::string(100, 't')) != std::string::npos) spit(file, bytes.substr(0, bytes.size() / 2));
  }
  spit(meta / "0123456789abcdef.tmp.3", "half a record");
  spit(meta / "fedcba9876543210.rec", std::string(4096, '\0'));
  auto store = cache::open_metadata_store(temp.path(), 1 << 20);
  BOOST_TEST(!stdfs::exists(meta / "0123456789abcdef.tmp.3"));
  BOOST_TEST(store->get("whole")->value == std::string(2000, 'w'));
  BOOST_TEST(!store->get("torn").has_value());
  BOOST_TEST(store->stats().corrupt == 1u);
  BOOST_TEST(store->stats().records == 2u);  // "whole" and the zero-filled one, not read yet
}

BOOST_AUTO_TEST_CASE(the_byte_bound_holds_on_disk_and_evicts_least_recently_used) {
  test::TempDir temp;
  const std::uint64_t limit = 64 * 1024;
  auto store = cache::open_metadata_store(temp.path(), limit);
  for (int i = 0; i < 40; ++i) {
    store->put("listing " + std::to_string(i), std::string(3000, static_cast<char>('a' + i % 26)), kFetched);
    if (i == 5) BOOST_TEST(store->get("listing 0").has_value());  // used: now more recent than 1..5
    if (i == 15) {  // the 16th record is over the bound: the least recently used goes
      BOOST_TEST(!store->get("listing 1").has_value());
      BOOST_TEST(store->get("listing 0").has_value());
    }
    BOOST_TEST(store->stats().bytes_used <= limit);
    BOOST_TEST(du_bytes(temp.path() / "meta") <= limit);
  }
  BOOST_TEST(store->stats().evictions > 0u);
  BOOST_TEST(store->get("listing 39").has_value());
  // Larger than the whole bound: not stored (and nothing else evicted for it).
  const auto records = store->stats().records;
  store->put("huge", std::string(limit, 'h'), kFetched);
  BOOST_TEST(!store->get("huge").has_value());
  BOOST_TEST(store->stats().records == records);
  // A reopen with a smaller bound evicts down to it.
  store.reset();
  store = cache::open_metadata_store(temp.path(), 16 * 1024);
  BOOST_TEST(store->stats().bytes_used <= 16 * 1024u);
  BOOST_TEST(du_bytes(temp.path() / "meta") <= 16 * 1024u);
}

BOOST_AUTO_TEST_CASE(private_modes_and_no_symlink_is_followed) {
  test::TempDir temp;
  test::TempDir outside;
  spit(outside.path() / "precious", "not the cache's");
  const mode_t old_umask = ::umask(0);
  {
    auto store = cache::open_metadata_store(temp.path() / "cache", 1 << 20);
    store->put("k", "v", kFetched);
  }
  ::umask(old_umask);
  stdfs::path meta = temp.path() / "cache" / "meta";
  BOOST_TEST((stdfs::status(meta).permissions() == stdfs::perms::owner_all));
  for (const auto& file : files_in(meta))
    BOOST_TEST((stdfs::status(file).permissions() == (stdfs::perms::owner_read | stdfs::perms::owner_write)));
  // A symlinked directory and a link in a record's place are removed as links.
  stdfs::create_directory_symlink(outside.path(), meta / "linked");
  for (const auto& file : files_in(meta))
    if (file.extension() == ".rec") {
      stdfs::remove(file);
      stdfs::create_symlink(outside.path() / "precious", file);
    }
  auto store = cache::open_metadata_store(temp.path() / "cache", 1 << 20);
  BOOST_TEST(!store->get("k").has_value());
  BOOST_TEST(slurp(outside.path() / "precious") == "not the cache's");
  BOOST_TEST(files_in(meta).empty());
}

BOOST_AUTO_TEST_CASE(cache_size_is_shared_between_the_stores) {
  auto small = cache::split_cache_size(8ull << 20);
  BOOST_TEST(small.metadata == 1ull << 20);
  BOOST_TEST(small.objects + small.metadata == 8ull << 20);
  auto usual = cache::split_cache_size(10ull << 30);
  BOOST_TEST(usual.metadata == 256ull << 20);
  BOOST_TEST(usual.objects + usual.metadata == 10ull << 30);
  auto tiny = cache::split_cache_size(1ull << 20);
  BOOST_TEST(tiny.metadata == 512ull << 10);  // never more than half
}

// `du -s cache_dir` (files and directories, as du counts them) stays within cache_size with
// both stores full: each counts its own directories within its share (item: the store, not
// the mount, accounts for its directories).
BOOST_AUTO_TEST_CASE(the_whole_cache_dir_stays_within_cache_size) {
  test::TempDir temp;
  const std::uint64_t cache_size = 8ull << 20;
  const auto budget = cache::split_cache_size(cache_size);
  auto objects = cache::open_object_store(temp.path(), budget.objects);
  auto metadata = cache::open_metadata_store(temp.path(), budget.metadata);
  BOOST_TEST(objects->stats().byte_limit == budget.objects - cache::kStoreDirectoryBytes);
  // Blocks of many objects across fan-out directories, twice what fits; records likewise.
  for (std::uint64_t i = 0; i < 2 * cache_size / test::kBlock; ++i) {
    const cache::ObjectKey key{"https://heasarc.gsfc.nasa.gov/FTP/obs/" + std::to_string(i) + ".fits", "size:65536"};
    auto object = objects->open(key, test::kBlock);
    BOOST_REQUIRE(object);
    test::put_block(*object, i, 0);
  }
  for (int i = 0; i < 600; ++i) metadata->put("listing " + std::to_string(i), std::string(3000, 'x'), kFetched);
  BOOST_TEST(objects->stats().evictions > 0u);
  BOOST_TEST(metadata->stats().evictions > 0u);
  std::uint64_t du = 0;
  struct stat st {};
  if (::lstat(temp.path().c_str(), &st) == 0) du += static_cast<std::uint64_t>(st.st_blocks) * 512;
  for (const auto& entry : stdfs::recursive_directory_iterator(temp.path()))
    if (::lstat(entry.path().c_str(), &st) == 0) du += static_cast<std::uint64_t>(st.st_blocks) * 512;
  BOOST_TEST_MESSAGE("du of the cache dir: " << du << " of " << cache_size);
  BOOST_TEST(du <= cache_size);
}
