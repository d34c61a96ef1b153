// The disk block cache: the contract of cache/block_cache.h, checked against the files on disk.
#define BOOST_TEST_MODULE block_cache
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <csignal>
#include <fstream>
#include <functional>
#include <random>
#include <set>
#include <thread>

#include "cache/block_cache.h"
#include "cache/block_file.h"
#include "tests/support/errors.h"
#include "tests/support/temp_dir.h"
#include "common/error.h"

using namespace hfs;
using test::errno_of;
using cache::kBlockSize;
using cache::ObjectKey;
namespace stdfs = std::filesystem;

namespace {

const ObjectKey kEvents{"https://heasarc.gsfc.nasa.gov/FTP/nustar/data/obs/00/6/60001111005/event_cl/a.evt",
                        "\"5a3e-1f2b3c\""};
const ObjectKey kOrbit{"https://heasarc.gsfc.nasa.gov/FTP/nicer/data/obs/sgr1830.orb", "size:123456"};

std::string payload(std::size_t size, unsigned seed) {
  std::string bytes(size, '\0');
  std::mt19937 random(seed);
  for (auto& c : bytes) c = static_cast<char>(random());
  return bytes;
}

stdfs::path block_file(const stdfs::path& dir, const ObjectKey& key, std::uint64_t index) {
  return dir / "blocks" / cache::block_relative_path(cache::block_id(key, index));
}

// What a block of `payload_size` bytes of `key` costs on disk, as the cache accounts it.
std::uint64_t disk_cost(const ObjectKey& key, std::size_t payload_size) {
  return cache::round_up_to_allocation_unit(cache::kBlockHeaderFixedBytes + key.url.size() + key.validator.size() +
                                            payload_size);
}

// The cache's files as they are on disk: the usage the limit is about.
struct DiskUsage {
  std::uint64_t bytes = 0;
  std::size_t files = 0;
  std::size_t temp_files = 0;
};
DiskUsage disk_usage(const stdfs::path& dir) {
  DiskUsage usage;
  for (auto& entry : stdfs::recursive_directory_iterator(dir / "blocks")) {
    if (!entry.is_regular_file()) continue;
    usage.bytes += cache::round_up_to_allocation_unit(entry.file_size());
    ++usage.files;
    if (entry.path().filename().string().find(".tmp.") != std::string::npos) ++usage.temp_files;
  }
  return usage;
}

void write_file(const stdfs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

std::string read_file(const stdfs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

BOOST_AUTO_TEST_CASE(put_then_get_returns_the_bytes_in_the_documented_layout) {
  test::TempDir dir;
  auto blocks = cache::open_disk_block_cache(dir.path(), 64ull << 20);
  const auto full = payload(kBlockSize, 1), tail = payload(1000, 2), empty = std::string();
  blocks->put(kEvents, 0, full);
  blocks->put(kEvents, 7, tail);
  blocks->put(kOrbit, 0, empty);
  BOOST_TEST(blocks->get(kEvents, 0).value() == full);
  BOOST_TEST(blocks->get(kEvents, 7).value() == tail);
  BOOST_TEST(blocks->get(kOrbit, 0).value() == empty);
  BOOST_TEST(blocks->contains(kEvents, 7));
  BOOST_TEST(!blocks->contains(kEvents, 1));

  // <dir>/blocks/<2 hex>/<16 hex>-<index>, starting with the magic.
  auto path = block_file(dir.path(), kEvents, 7);
  auto name = path.filename().string();
  BOOST_TEST(name.size() == 18u);
  BOOST_TEST(name.substr(16) == "-7");
  BOOST_TEST(path.parent_path().filename().string() == name.substr(0, 2));
  auto bytes = read_file(path);
  BOOST_TEST(bytes.compare(0, 8, std::string("HFSBLK1\0", 8)) == 0);
  BOOST_TEST(bytes.size() == cache::kBlockHeaderFixedBytes + kEvents.url.size() + kEvents.validator.size() + 1000);
  BOOST_TEST(bytes.find(kEvents.url) != std::string::npos);

  auto stats = blocks->stats();
  BOOST_TEST(stats.hits == 3u);
  BOOST_TEST(stats.blocks == 3u);
  BOOST_TEST(stats.bytes_used == disk_cost(kEvents, kBlockSize) + disk_cost(kEvents, 1000) + disk_cost(kOrbit, 0));
  BOOST_TEST(stats.bytes_used == disk_usage(dir.path()).bytes);
}

BOOST_AUTO_TEST_CASE(unknown_block_or_other_version_is_a_miss) {
  test::TempDir dir;
  auto blocks = cache::open_disk_block_cache(dir.path(), 64ull << 20);
  blocks->put(kEvents, 0, payload(4096, 1));
  BOOST_TEST(!blocks->get(kEvents, 1));
  BOOST_TEST(!blocks->get(ObjectKey{kEvents.url, "\"new-etag\""}, 0));
  BOOST_TEST(!blocks->get(kOrbit, 0));
  BOOST_TEST(blocks->stats().misses == 3u);
  BOOST_TEST(blocks->stats().corrupt_blocks == 0u);
}

BOOST_AUTO_TEST_CASE(flipped_payload_byte_is_a_miss_and_the_file_is_removed) {
  test::TempDir dir;
  auto blocks = cache::open_disk_block_cache(dir.path(), 64ull << 20);
  const auto bytes = payload(kBlockSize, 3);
  blocks->put(kEvents, 2, bytes);
  auto path = block_file(dir.path(), kEvents, 2);
  auto on_disk = read_file(path);
  on_disk[on_disk.size() - 100] ^= 0x01;
  write_file(path, on_disk);

  BOOST_TEST(!blocks->get(kEvents, 2));
  BOOST_TEST(!stdfs::exists(path));
  auto stats = blocks->stats();
  BOOST_TEST(stats.corrupt_blocks == 1u);
  BOOST_TEST(stats.blocks == 0u);
  BOOST_TEST(stats.bytes_used == 0u);
  // The block can be cached again.
  blocks->put(kEvents, 2, bytes);
  BOOST_TEST(blocks->get(kEvents, 2).value() == bytes);
}

BOOST_AUTO_TEST_CASE(truncated_files_are_misses) {
  test::TempDir dir;
  auto blocks = cache::open_disk_block_cache(dir.path(), 64ull << 20);
  blocks->put(kEvents, 0, payload(kBlockSize, 4));
  blocks->put(kEvents, 1, payload(kBlockSize, 5));
  stdfs::resize_file(block_file(dir.path(), kEvents, 0), 100000);  // inside the payload
  stdfs::resize_file(block_file(dir.path(), kEvents, 1), 12);      // inside the header
  BOOST_TEST(!blocks->get(kEvents, 0));
  BOOST_TEST(!blocks->get(kEvents, 1));
  BOOST_TEST(!stdfs::exists(block_file(dir.path(), kEvents, 0)));
  BOOST_TEST(!stdfs::exists(block_file(dir.path(), kEvents, 1)));
  BOOST_TEST(blocks->stats().corrupt_blocks == 2u);
  BOOST_TEST(disk_usage(dir.path()).files == 0u);
}

// A block file under another block's name: what a hash collision (or a bad copy) looks like.
BOOST_AUTO_TEST_CASE(header_naming_another_url_validator_or_index_is_a_miss) {
  test::TempDir dir;
  auto blocks = cache::open_disk_block_cache(dir.path(), 64ull << 20);
  const ObjectKey new_version{kEvents.url, "\"5a3e-99999\""};
  blocks->put(kEvents, 0, payload(5000, 6));
  blocks->put(kOrbit, 0, payload(5000, 7));
  blocks->put(new_version, 0, payload(5000, 8));
  blocks->put(kEvents, 1, payload(5000, 9));
  const auto events_block = read_file(block_file(dir.path(), kEvents, 0));
  write_file(block_file(dir.path(), kOrbit, 0), events_block);        // other url
  write_file(block_file(dir.path(), new_version, 0), events_block);  // same url, other validator
  write_file(block_file(dir.path(), kEvents, 1), events_block);      // other index

  BOOST_TEST(!blocks->get(kOrbit, 0));
  BOOST_TEST(!blocks->get(new_version, 0));
  BOOST_TEST(!blocks->get(kEvents, 1));
  BOOST_TEST(blocks->stats().corrupt_blocks == 3u);
  BOOST_TEST(!stdfs::exists(block_file(dir.path(), kOrbit, 0)));
  BOOST_TEST(blocks->get(kEvents, 0).value() == payload(5000, 6));
}

BOOST_AUTO_TEST_CASE(limit_holds_on_disk_after_every_put) {
  test::TempDir dir;
  const std::uint64_t limit = 10 * disk_cost(kEvents, kBlockSize);
  auto blocks = cache::open_disk_block_cache(dir.path(), limit);
  std::mt19937 random(42);
  for (unsigned i = 0; i < 60; ++i) {
    std::size_t size = 1 + random() % kBlockSize;
    blocks->put(i % 2 ? kEvents : kOrbit, i, payload(size, i));
    auto usage = disk_usage(dir.path());
    BOOST_TEST_REQUIRE(usage.bytes <= limit);
    BOOST_TEST_REQUIRE(usage.bytes == blocks->stats().bytes_used);
    BOOST_TEST_REQUIRE(usage.temp_files == 0u);
  }
  auto stats = blocks->stats();
  BOOST_TEST(stats.evictions > 0u);
  BOOST_TEST(stats.byte_limit == limit);
  BOOST_TEST(stats.blocks == disk_usage(dir.path()).files);
}

BOOST_AUTO_TEST_CASE(recently_read_blocks_survive_eviction) {
  test::TempDir dir;
  auto blocks = cache::open_disk_block_cache(dir.path(), 4 * disk_cost(kEvents, kBlockSize));
  for (unsigned i = 0; i < 4; ++i) blocks->put(kEvents, i, payload(kBlockSize, i));
  BOOST_TEST(blocks->get(kEvents, 0).has_value());  // 0 is now the most recent; 1 the least
  blocks->put(kEvents, 4, payload(kBlockSize, 4));
  BOOST_TEST(!blocks->contains(kEvents, 1));
  BOOST_TEST(!stdfs::exists(block_file(dir.path(), kEvents, 1)));
  for (unsigned i : {0u, 2u, 3u, 4u}) BOOST_TEST(blocks->get(kEvents, i).value() == payload(kBlockSize, i));
  BOOST_TEST(blocks->stats().evictions == 1u);
}

BOOST_AUTO_TEST_CASE(block_larger_than_the_limit_is_not_admitted) {
  test::TempDir dir;
  auto blocks = cache::open_disk_block_cache(dir.path(), 64 * 1024);
  blocks->put(kOrbit, 0, payload(1000, 1));
  blocks->put(kEvents, 0, payload(kBlockSize, 2));
  BOOST_TEST(!blocks->get(kEvents, 0));
  BOOST_TEST(blocks->get(kOrbit, 0).has_value());  // not evicted for a block that cannot fit
  auto stats = blocks->stats();
  BOOST_TEST(stats.evictions == 0u);
  BOOST_TEST(stats.write_errors == 0u);
  BOOST_TEST(disk_usage(dir.path()).files == 1u);
}

BOOST_AUTO_TEST_CASE(reopen_keeps_blocks_and_evicts_the_oldest_down_to_a_smaller_limit) {
  test::TempDir dir;
  const std::uint64_t one = disk_cost(kEvents, kBlockSize);
  auto pause = [] { std::this_thread::sleep_for(std::chrono::milliseconds(20)); };  // distinct mtimes
  {
    auto blocks = cache::open_disk_block_cache(dir.path(), 100 * one);
    for (unsigned i = 0; i < 6; ++i) {
      blocks->put(kEvents, i, payload(kBlockSize, i));
      pause();
    }
  }
  {
    auto blocks = cache::open_disk_block_cache(dir.path(), 100 * one);
    auto stats = blocks->stats();
    BOOST_TEST(stats.blocks == 6u);
    BOOST_TEST(stats.bytes_used == 6 * one);
    // The first hit after an open refreshes the mtime: block 1 becomes the newest on disk.
    BOOST_TEST(blocks->get(kEvents, 1).value() == payload(kBlockSize, 1));
  }
  {
    auto blocks = cache::open_disk_block_cache(dir.path(), 3 * one);
    auto stats = blocks->stats();
    BOOST_TEST(stats.blocks == 3u);
    BOOST_TEST(stats.evictions == 3u);
    BOOST_TEST(disk_usage(dir.path()).bytes <= 3 * one);
    for (unsigned i : {1u, 4u, 5u}) BOOST_TEST(blocks->get(kEvents, i).value() == payload(kBlockSize, i));
    for (unsigned i : {0u, 2u, 3u}) BOOST_TEST(!blocks->contains(kEvents, i));
  }
}

BOOST_AUTO_TEST_CASE(hits_refresh_the_mtime_at_most_once_a_minute) {
  test::TempDir dir;
  { cache::open_disk_block_cache(dir.path(), 64ull << 20)->put(kEvents, 0, payload(100, 1)); }
  auto path = block_file(dir.path(), kEvents, 0);
  auto set_old_mtime = [&] {
    timespec times[2] = {{1000000000, 0}, {1000000000, 0}};
    BOOST_TEST_REQUIRE(::utimensat(AT_FDCWD, path.c_str(), times, 0) == 0);
  };
  auto mtime = [&] {
    struct stat st {};
    ::stat(path.c_str(), &st);
    return st.st_mtim.tv_sec;
  };
  set_old_mtime();
  auto blocks = cache::open_disk_block_cache(dir.path(), 64ull << 20);
  BOOST_TEST(blocks->get(kEvents, 0).has_value());
  BOOST_TEST(mtime() > 1000000000);  // first hit since open: refreshed
  set_old_mtime();
  BOOST_TEST(blocks->get(kEvents, 0).has_value());
  BOOST_TEST(mtime() == 1000000000);  // again within a minute: left alone
}

BOOST_AUTO_TEST_CASE(leftover_temp_and_stray_files_are_removed_at_open) {
  test::TempDir dir;
  { cache::open_disk_block_cache(dir.path(), 64ull << 20)->put(kEvents, 0, payload(100, 1)); }
  auto real = block_file(dir.path(), kEvents, 0);
  auto temp = real;
  temp += ".tmp.00000000deadbeef";
  write_file(temp, "half a block");
  write_file(real.parent_path() / "notes.txt", "not a block");
  stdfs::create_directories(dir.path() / "blocks" / "zz");
  write_file(dir.path() / "blocks" / "zz" / "0123456789abcdef-3.tmp.1", "x");

  auto blocks = cache::open_disk_block_cache(dir.path(), 64ull << 20);
  BOOST_TEST(!stdfs::exists(temp));
  BOOST_TEST(!stdfs::exists(real.parent_path() / "notes.txt"));
  BOOST_TEST(!stdfs::exists(dir.path() / "blocks" / "zz" / "0123456789abcdef-3.tmp.1"));
  BOOST_TEST(blocks->get(kEvents, 0).value() == payload(100, 1));
  BOOST_TEST(blocks->stats().blocks == 1u);
}

BOOST_AUTO_TEST_CASE(second_open_of_the_same_dir_is_ebusy) {
  test::TempDir dir;
  auto first = cache::open_disk_block_cache(dir.path(), 64ull << 20);
  BOOST_TEST(errno_of([&] { cache::open_disk_block_cache(dir.path(), 64ull << 20); }) == EBUSY);
  first.reset();
  BOOST_TEST(cache::open_disk_block_cache(dir.path(), 64ull << 20) != nullptr);
}

// Tests run as root, for whom chmod 0500 changes nothing. A path through a regular file fails
// for everyone (ENOTDIR), so that is the unusable directory here.
BOOST_AUTO_TEST_CASE(uncreatable_cache_dir_throws_its_errno) {
  test::TempDir dir;
  write_file(dir.path() / "plain-file", "x");
  BOOST_TEST(errno_of([&] { cache::open_disk_block_cache(dir.path() / "plain-file" / "cache", 1 << 20); }) ==
             ENOTDIR);
}

BOOST_AUTO_TEST_CASE(put_into_a_broken_cache_dir_counts_a_write_error_and_does_not_throw) {
  test::TempDir dir;
  auto blocks = cache::open_disk_block_cache(dir.path(), 64ull << 20);
  // blocks/ turns into a regular file under the open cache: every write fails with ENOTDIR.
  stdfs::remove_all(dir.path() / "blocks");
  write_file(dir.path() / "blocks", "x");
  BOOST_CHECK_NO_THROW(blocks->put(kEvents, 0, payload(kBlockSize, 1)));
  BOOST_CHECK_NO_THROW(blocks->put(kEvents, 1, payload(10, 1)));
  auto stats = blocks->stats();
  BOOST_TEST(stats.write_errors == 2u);
  BOOST_TEST(stats.blocks == 0u);
  BOOST_TEST(stats.bytes_used == 0u);
  BOOST_TEST(!blocks->get(kEvents, 0));
}

// RLIMIT_FSIZE makes write() fail halfway (EFBIG), for root too: a disk filling up mid-block.
BOOST_AUTO_TEST_CASE(write_failing_halfway_leaves_no_temp_file) {
  test::TempDir dir;
  auto blocks = cache::open_disk_block_cache(dir.path(), 64ull << 20);
  blocks->put(kOrbit, 0, payload(1000, 1));
  rlimit saved{};
  ::getrlimit(RLIMIT_FSIZE, &saved);
  auto saved_handler = std::signal(SIGXFSZ, SIG_IGN);
  rlimit small = saved;
  small.rlim_cur = 64 * 1024;
  BOOST_TEST_REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
  BOOST_CHECK_NO_THROW(blocks->put(kEvents, 0, payload(kBlockSize, 2)));
  ::setrlimit(RLIMIT_FSIZE, &saved);
  std::signal(SIGXFSZ, saved_handler);

  auto stats = blocks->stats();
  BOOST_TEST(stats.write_errors == 1u);
  BOOST_TEST(stats.blocks == 1u);
  auto usage = disk_usage(dir.path());
  BOOST_TEST(usage.temp_files == 0u);
  BOOST_TEST(usage.files == 1u);
  BOOST_TEST(usage.bytes == stats.bytes_used);
  BOOST_TEST(!blocks->get(kEvents, 0));
  BOOST_TEST(blocks->get(kOrbit, 0).has_value());
}

// Every get returns nothing or exactly what was put: payloads are a function of (object, index),
// whichever thread put them. The limit keeps evictions running during the whole test.
BOOST_AUTO_TEST_CASE(eight_threads_putting_and_getting_see_only_whole_blocks) {
  test::TempDir dir;
  const std::vector<ObjectKey> objects = {kEvents, kOrbit, {kEvents.url, "\"v2\""}, {kOrbit.url + "x", "v"}};
  auto block_bytes = [](unsigned object, unsigned index) {
    return payload(512 + (object * 7919 + index * 104729) % 20000, object * 1000 + index);
  };
  const std::uint64_t limit = 30 * disk_cost(kEvents, 20000);
  auto blocks = cache::open_disk_block_cache(dir.path(), limit);
  std::atomic<int> wrong{0}, hits{0};
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 random(t);
      for (int op = 0; op < 1500; ++op) {
        unsigned object = random() % objects.size(), index = random() % 16;
        if (random() % 3 == 0) {
          blocks->put(objects[object], index, block_bytes(object, index));
        } else if (auto got = blocks->get(objects[object], index)) {
          ++hits;
          if (*got != block_bytes(object, index)) ++wrong;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  BOOST_TEST(wrong == 0);
  BOOST_TEST(hits > 0);
  auto stats = blocks->stats();
  auto usage = disk_usage(dir.path());
  BOOST_TEST(usage.bytes <= limit);
  BOOST_TEST(usage.bytes == stats.bytes_used);
  BOOST_TEST(usage.files == stats.blocks);
  BOOST_TEST(usage.temp_files == 0u);
  BOOST_TEST(stats.corrupt_blocks == 0u);
  BOOST_TEST(stats.write_errors == 0u);
  BOOST_TEST(stats.evictions > 0u);
}
