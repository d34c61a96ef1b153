// The object store (cache/object_store.h): writing, reading, accounting, eviction, pins and
// concurrency. What is on disk across reopens (corruption, sidecars, recency, permissions,
// cleanup, write errors): test_object_store_disk.cpp.
#define BOOST_TEST_MODULE object_store
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <random>
#include <thread>
#include <vector>

#include "tests/support/object_store_files.h"
#include "tests/support/temp_dir.h"

using namespace hfs;
using cache::ObjectKey;
using test::kBlock;
using test::kEvents;
using test::kImage;
using test::kOrbit;
namespace stdfs = std::filesystem;

namespace {

struct Store {
  test::TempDir temp;
  stdfs::path dir = temp.path() / "cache";
  std::unique_ptr<cache::ObjectStore> store;
  explicit Store(std::uint64_t limit = 64ull << 20, cache::ObjectStoreOptions options = {}) {
    store = cache::open_object_store(dir, limit, std::move(options));
  }
  void reopen(std::uint64_t limit = 64ull << 20, cache::ObjectStoreOptions options = {}) {
    store.reset();
    store = cache::open_object_store(dir, limit, std::move(options));
  }
  cache::ObjectStore* operator->() { return store.get(); }
};

// Descriptors of this process open on files under `dir`.
std::size_t open_fds_under(const stdfs::path& dir) {
  std::size_t count = 0;
  for (auto& entry : stdfs::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    auto target = stdfs::read_symlink(entry.path(), ec);
    if (!ec && target.string().rfind(dir.string(), 0) == 0) ++count;
  }
  return count;
}

}  // namespace

BOOST_AUTO_TEST_CASE(write_commit_read_round_trip_in_the_documented_layout) {
  Store s;
  const std::uint64_t size = 3 * kBlock + kBlock / 2;
  auto object = s->open(kEvents, size);
  BOOST_TEST_REQUIRE(object != nullptr);
  BOOST_TEST(object->block_count() == 4u);
  BOOST_TEST(object->block_length(3) == kBlock / 2);
  for (std::uint64_t i = 0; i < 4; ++i) BOOST_TEST_REQUIRE(test::put_block(*object, 1, i));
  for (std::uint64_t i = 0; i < 4; ++i) BOOST_TEST(object->has_block(i));

  BOOST_TEST(test::reads_right(*object, 1, 0, size));               // everything
  BOOST_TEST(test::reads_right(*object, 1, kBlock - 10, 20));       // across a boundary
  BOOST_TEST(test::reads_right(*object, 1, 2 * kBlock + 5, 2880));  // inside a block
  BOOST_TEST(test::reads_right(*object, 1, size - 1, 1));           // the last byte
  BOOST_TEST(object->verified(0, size));                            // its writer checked it
  std::string out(10, '\0');
  BOOST_TEST(!object->read(size - 5, 10, out.data()));  // past the end
  BOOST_TEST(object->read(size, 0, out.data()));        // empty range at the end

  // <dir>/objects/<2 hex>/<16 hex>.data (sparse, the object's size) + .meta (the sidecar).
  const auto data = test::object_path(s.dir, kEvents, ".data"), meta = test::object_path(s.dir, kEvents, ".meta");
  BOOST_TEST(data.parent_path().filename().string() == data.filename().string().substr(0, 2));
  BOOST_TEST(stdfs::file_size(data) == size);
  std::string problem;
  auto decoded = cache::sidecar::decode(test::read_file(meta), problem);
  BOOST_TEST_REQUIRE(decoded.has_value(), problem);
  BOOST_TEST(decoded->key.url == kEvents.url);
  BOOST_TEST(decoded->key.validator == kEvents.validator);
  BOOST_TEST(decoded->object_size == size);
  BOOST_TEST_REQUIRE(decoded->records.size() == 4u);
  for (std::uint64_t i = 0; i < 4; ++i) {
    BOOST_TEST(decoded->records[i].present);
    BOOST_TEST(decoded->records[i].crc == test::crc_of(test::object_bytes(1, i * kBlock, object->block_length(i))));
  }
  BOOST_TEST(test::read_file(data) == test::object_bytes(1, 0, size));

  auto stats = s->stats();
  BOOST_TEST(stats.blocks == 4u);
  BOOST_TEST(stats.objects == 1u);
  BOOST_TEST(stats.hits == 4u + 2u + 1u + 1u);  // blocks served by each read above
  BOOST_TEST(stats.bytes_used == test::sidecar_cost(kEvents, size) + 3 * kBlock + kBlock / 2);
  BOOST_TEST(test::allocated_bytes(s.dir) <= stats.bytes_used);

  // One object per version: a second open shares it.
  auto again = s->open(kEvents, size);
  BOOST_TEST(again->has_block(2));
}

BOOST_AUTO_TEST_CASE(read_over_an_absent_block_fails_and_counts_misses) {
  Store s;
  auto object = s->open(kEvents, 4 * kBlock);
  BOOST_TEST_REQUIRE(test::put_block(*object, 1, 0));
  BOOST_TEST_REQUIRE(test::put_block(*object, 1, 2));
  std::string out(3 * kBlock, '\0');
  BOOST_TEST(!object->read(0, 3 * kBlock, out.data()));
  BOOST_TEST(!object->read(kBlock + 100, 10, out.data()));
  BOOST_TEST(object->pin(kBlock, 2 * kBlock) == nullptr);
  BOOST_TEST(!object->verified(0, 3 * kBlock));
  BOOST_TEST(!object->has_block(1));
  BOOST_TEST(!object->has_block(3));
  BOOST_TEST(test::reads_right(*object, 1, 0, kBlock));
  BOOST_TEST(test::reads_right(*object, 1, 2 * kBlock, kBlock));
  BOOST_TEST(s->stats().misses == 3u);

  // Another version of the same URL is another object, with nothing in it.
  auto other = s->open({kEvents.url, "\"new-etag\""}, 4 * kBlock);
  BOOST_TEST_REQUIRE(other != nullptr);
  BOOST_TEST(!other->has_block(0));
  BOOST_TEST(!other->read(0, 10, out.data()));
}

BOOST_AUTO_TEST_CASE(partial_last_block_is_accounted_in_whole_4k_units) {
  Store s;
  const std::uint64_t size = 2 * kBlock + 100;
  auto object = s->open(kOrbit, size);
  BOOST_TEST(object->block_count() == 3u);
  BOOST_TEST(object->block_length(2) == 100u);
  BOOST_TEST(object->block_length(3) == 0u);
  BOOST_TEST(!object->reserve(3));  // beyond the object
  BOOST_TEST_REQUIRE(test::put_block(*object, 7, 2));
  BOOST_TEST(test::reads_right(*object, 7, 2 * kBlock + 50, 50));
  BOOST_TEST(test::reads_right(*object, 7, 2 * kBlock, 100));
  BOOST_TEST(s->stats().bytes_used == test::sidecar_cost(kOrbit, size) + 4096);
  BOOST_TEST(test::allocated_bytes(s.dir) <= s->stats().bytes_used);
}

BOOST_AUTO_TEST_CASE(reservation_beyond_the_limit_evicts_least_recent_blocks_and_the_disk_stays_within_it) {
  const std::uint64_t size = 4 * kBlock;
  // Room for the three sidecars and six blocks.
  const std::uint64_t limit = test::sidecar_cost(kEvents, size) + test::sidecar_cost(kOrbit, size) +
                              test::sidecar_cost(kImage, size) + 6 * kBlock;
  Store s(limit);
  auto events = s->open(kEvents, size), orbit = s->open(kOrbit, size), image = s->open(kImage, size);
  auto check_limit = [&] {
    BOOST_TEST(s->stats().bytes_used <= limit);
    BOOST_TEST(test::allocated_bytes(s.dir) <= limit);
  };
  for (std::uint64_t i = 0; i < 4; ++i) {
    BOOST_TEST_REQUIRE(test::put_block(*events, 1, i));
    check_limit();
  }
  for (std::uint64_t i = 0; i < 2; ++i) {
    BOOST_TEST_REQUIRE(test::put_block(*orbit, 2, i));
    check_limit();
  }
  BOOST_TEST(s->stats().evictions == 0u);
  // Events block 0 becomes the most recently used; block 1 is now the least.
  BOOST_TEST(test::reads_right(*events, 1, 0, 100));
  // A reserved block counts at once: reserving two in the image evicts two before any byte.
  BOOST_TEST_REQUIRE(image->reserve(0));
  BOOST_TEST_REQUIRE(image->reserve(1));
  check_limit();
  BOOST_TEST(s->stats().evictions == 2u);
  BOOST_TEST(!events->has_block(1));
  BOOST_TEST(!events->has_block(2));
  BOOST_TEST(events->has_block(0));
  BOOST_TEST(events->has_block(3));
  for (std::uint64_t i : {0u, 1u}) {
    const auto bytes = test::object_bytes(3, i * kBlock, kBlock);
    BOOST_TEST(image->write(i * kBlock, bytes) == 0);
    image->commit(i, test::crc_of(bytes));
    check_limit();
  }
  // The evicted ranges are holes again: the data file holds only its present blocks.
  struct stat st {};
  BOOST_TEST_REQUIRE(::stat(test::object_path(s.dir, kEvents, ".data").c_str(), &st) == 0);
  BOOST_TEST(static_cast<std::uint64_t>(st.st_blocks) * 512 <= 2 * kBlock);
  BOOST_TEST(test::reads_right(*events, 1, 3 * kBlock, kBlock));
  BOOST_TEST(test::reads_right(*image, 3, 0, 2 * kBlock));
  BOOST_TEST(test::reads_right(*orbit, 2, 0, 2 * kBlock));

  // LRU now (least recent last): orbit 1, orbit 0, image 1, image 0, events 3, events 0.
  // Two more image blocks evict the events' last two: an object with no block left loses its
  // files (and its sidecar's share of the limit).
  BOOST_TEST_REQUIRE(test::put_block(*image, 3, 2));
  BOOST_TEST_REQUIRE(test::put_block(*image, 3, 3));
  check_limit();
  BOOST_TEST(s->stats().evictions == 4u);
  BOOST_TEST(!stdfs::exists(test::object_path(s.dir, kEvents, ".data")));
  BOOST_TEST(!stdfs::exists(test::object_path(s.dir, kEvents, ".meta")));
  BOOST_TEST(s->stats().objects == 2u);
  BOOST_TEST(s->stats().bytes_used == test::sidecar_cost(kOrbit, size) + test::sidecar_cost(kImage, size) + 6 * kBlock);
  // Written again, it gets new files (evicting the image's least recent block to fit).
  BOOST_TEST_REQUIRE(test::put_block(*events, 1, 1));
  check_limit();
  BOOST_TEST(!image->has_block(0));
  BOOST_TEST(test::reads_right(*events, 1, kBlock, kBlock));
  BOOST_TEST(test::reads_right(*orbit, 2, 0, 2 * kBlock));
}

BOOST_AUTO_TEST_CASE(a_block_larger_than_the_whole_limit_is_not_reserved) {
  Store s(test::sidecar_cost(kEvents, 2 * kBlock) + kBlock / 2);
  auto object = s->open(kEvents, 2 * kBlock);
  BOOST_TEST(!object->reserve(0));
  BOOST_TEST(s->stats().bytes_used == 0u);
  BOOST_TEST(!stdfs::exists(test::object_path(s.dir, kEvents, ".meta")));
}

BOOST_AUTO_TEST_CASE(pinned_blocks_are_not_evicted_and_read_right_through_the_fd) {
  const std::uint64_t size = 4 * kBlock;
  const std::uint64_t limit = test::sidecar_cost(kEvents, size) + test::sidecar_cost(kOrbit, size) + 4 * kBlock;
  Store s(limit);
  auto events = s->open(kEvents, size), orbit = s->open(kOrbit, size);
  BOOST_TEST_REQUIRE(test::put_block(*events, 1, 0));
  BOOST_TEST_REQUIRE(test::put_block(*events, 1, 1));
  {
    auto pin = events->pin(kBlock / 2, kBlock);  // both blocks
    BOOST_TEST_REQUIRE(pin != nullptr);
    // Fill the cache with the orbit: only two more blocks fit while the events are pinned.
    BOOST_TEST(test::put_block(*orbit, 2, 0));
    BOOST_TEST(test::put_block(*orbit, 2, 1));
    BOOST_TEST(test::put_block(*orbit, 2, 2));  // evicts the orbit's own least recent block
    BOOST_TEST(events->has_block(0));
    BOOST_TEST(events->has_block(1));
    BOOST_TEST(s->stats().bytes_used <= limit);
    BOOST_TEST(test::allocated_bytes(s.dir) <= limit);
    std::string out(kBlock, '\0');
    BOOST_TEST(::pread(pin->fd(), out.data(), kBlock, kBlock / 2) == static_cast<ssize_t>(kBlock));
    BOOST_TEST(out == test::object_bytes(1, kBlock / 2, kBlock));
  }
  // Unpinned, they are ordinary blocks again (and the least recently used ones).
  BOOST_TEST(test::put_block(*orbit, 2, 3));
  BOOST_TEST(!events->has_block(0));
}

BOOST_AUTO_TEST_CASE(when_everything_else_is_pinned_or_reserved_a_reservation_fails_rather_than_overshoot) {
  const std::uint64_t size = 4 * kBlock;
  const std::uint64_t limit = test::sidecar_cost(kEvents, size) + test::sidecar_cost(kOrbit, size) + 2 * kBlock;
  Store s(limit);
  auto events = s->open(kEvents, size), orbit = s->open(kOrbit, size);
  BOOST_TEST_REQUIRE(test::put_block(*events, 1, 0));
  auto pin = events->pin(0, 10);
  BOOST_TEST_REQUIRE(pin != nullptr);
  BOOST_TEST_REQUIRE(orbit->reserve(0));
  BOOST_TEST(!orbit->reserve(1));
  BOOST_TEST(!orbit->reserve(0));  // already reserved
  BOOST_TEST(s->stats().bytes_used <= limit);
  orbit->abandon(0);
  BOOST_TEST(orbit->reserve(1));
  orbit->abandon(1);
}

BOOST_AUTO_TEST_CASE(abandon_releases_the_space_and_the_files) {
  Store s;
  auto object = s->open(kEvents, 2 * kBlock);
  BOOST_TEST_REQUIRE(test::put_block(*object, 1, 0));
  const auto used = s->stats().bytes_used;
  const auto allocated = test::allocated_bytes(s.dir);
  BOOST_TEST_REQUIRE(object->reserve(1));
  BOOST_TEST(s->stats().bytes_used == used + kBlock);
  BOOST_TEST(object->write(kBlock, test::object_bytes(1, kBlock, kBlock)) == 0);
  object->abandon(1);
  BOOST_TEST(s->stats().bytes_used == used);
  BOOST_TEST(test::allocated_bytes(s.dir) == allocated);
  BOOST_TEST(!object->has_block(1));
  std::string out(10, '\0');
  BOOST_TEST(!object->read(kBlock, 10, out.data()));
  BOOST_TEST(test::put_block(*object, 1, 1));  // can be written again

  // The only block of a new object abandoned: no files left.
  auto orbit = s->open(kOrbit, kBlock);
  BOOST_TEST_REQUIRE(orbit->reserve(0));
  BOOST_TEST(stdfs::exists(test::object_path(s.dir, kOrbit, ".meta")));
  orbit->abandon(0);
  BOOST_TEST(!stdfs::exists(test::object_path(s.dir, kOrbit, ".meta")));
  BOOST_TEST(!stdfs::exists(test::object_path(s.dir, kOrbit, ".data")));
  BOOST_TEST(s->stats().objects == 1u);
}

BOOST_AUTO_TEST_CASE(writes_outside_reserved_blocks_and_unreserved_commits_are_refused) {
  Store s;
  auto object = s->open(kEvents, 2 * kBlock);
  BOOST_TEST_REQUIRE(test::put_block(*object, 1, 0));
  BOOST_TEST(object->write(10, "garbage") == EINVAL);         // present, not reserved
  BOOST_TEST(object->write(kBlock, "garbage") == EINVAL);     // not reserved
  BOOST_TEST(object->write(2 * kBlock - 1, "xx") == EINVAL);  // past the end
  object->commit(1, 1234);
  BOOST_TEST(!object->has_block(1));
  BOOST_TEST(test::reads_right(*object, 1, 0, kBlock));
}

BOOST_AUTO_TEST_CASE(the_descriptor_cache_is_bounded_and_reads_stay_right_beyond_it) {
  test::TempDir temp;
  cache::ObjectStoreOptions options;
  options.open_objects = 2;
  auto store = cache::open_object_store(temp.path() / "cache", 64ull << 20, options);
  std::vector<std::shared_ptr<cache::CachedObject>> objects;
  for (unsigned i = 0; i < 6; ++i) {
    objects.push_back(store->open({kEvents.url + std::to_string(i), "v"}, kBlock));
    BOOST_TEST_REQUIRE(test::put_block(*objects.back(), i, 0));
  }
  for (int round = 0; round < 3; ++round)
    for (unsigned i = 0; i < 6; ++i) BOOST_TEST(test::reads_right(*objects[i], i, 100, 1000));
  // Two objects' data + sidecar, the lock file and the objects/ directory.
  BOOST_TEST(open_fds_under(temp.path() / "cache") <= 2u * 2u + 2u);
}

BOOST_AUTO_TEST_CASE(hash_collisions_are_another_object_never_its_bytes) {
  // Every key hashes alike: the second object cannot be cached next to the first.
  cache::ObjectStoreOptions options;
  options.object_hash = [](const ObjectKey&) { return std::uint64_t{0x1234567890abcdefull}; };
  Store s(64ull << 20, options);
  auto events = s->open(kEvents, kBlock);
  BOOST_TEST_REQUIRE(test::put_block(*events, 1, 0));
  BOOST_TEST(s->open(kOrbit, kBlock) == nullptr);
  BOOST_TEST(s->open(kEvents, kBlock + 1) == nullptr);  // same version, other size: not this copy
  events.reset();
  s.reopen(64ull << 20, options);
  BOOST_TEST(s->open(kOrbit, kBlock) == nullptr);
  auto reopened = s->open(kEvents, kBlock);
  BOOST_TEST_REQUIRE(reopened != nullptr);
  BOOST_TEST(test::reads_right(*reopened, 1, 0, kBlock));
}

// Several threads reserve, write, commit, abandon, read and pin blocks of the same and of
// different objects under a limit that keeps eviction running; every byte read must be right.
BOOST_AUTO_TEST_CASE(concurrent_writers_and_readers_see_only_right_bytes_within_the_limit) {
  const std::vector<std::pair<ObjectKey, std::uint64_t>> objects = {{kEvents, 6 * kBlock},
                                                                    {kOrbit, 3 * kBlock + 777},
                                                                    {kImage, 5 * kBlock},
                                                                    {{kEvents.url, "\"v2\""}, 2 * kBlock + 1}};
  std::uint64_t limit = 8 * kBlock;
  for (const auto& [key, size] : objects) limit += test::sidecar_cost(key, size);
  Store s(limit);
  std::vector<std::shared_ptr<cache::CachedObject>> handles;
  for (const auto& [key, size] : objects) handles.push_back(s->open(key, size));

  std::atomic<int> wrong{0}, good_reads{0}, commits{0};
  std::atomic<std::uint64_t> worst_used{0};
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 random(t);
      for (int op = 0; op < 300; ++op) {
        const unsigned o = random() % handles.size();
        auto& object = *handles[o];
        const std::uint64_t index = random() % object.block_count();
        switch (random() % 4) {
          case 0: {  // download a block (sometimes given up halfway)
            if (!object.reserve(index)) break;
            const std::uint64_t start = index * kBlock, length = object.block_length(index);
            const auto bytes = test::object_bytes(o, start, length);
            if (object.write(start, std::string_view(bytes).substr(0, length / 2)) != 0) {
              ++wrong;
              object.abandon(index);
              break;
            }
            if (random() % 5 == 0) {
              object.abandon(index);
              break;
            }
            if (object.write(start + length / 2, std::string_view(bytes).substr(length / 2)) != 0) ++wrong;
            object.commit(index, test::crc_of(bytes));
            ++commits;
            break;
          }
          case 1:
          case 2: {  // read a range inside one block or across two
            const std::uint64_t offset = index * kBlock + random() % object.block_length(index);
            const std::uint64_t length =
                std::min<std::uint64_t>(1 + random() % (kBlock + 5000), object.size() - offset);
            std::string out(length, '\0');
            if (object.read(offset, length, out.data())) {
              ++good_reads;
              if (out != test::object_bytes(o, offset, length)) ++wrong;
            }
            break;
          }
          default: {  // pin and read through the descriptor
            const std::uint64_t offset = index * kBlock, length = object.block_length(index);
            if (auto pin = object.pin(offset, length)) {
              std::string out(length, '\0');
              if (::pread(pin->fd(), out.data(), length, static_cast<off_t>(offset)) != static_cast<ssize_t>(length) ||
                  out != test::object_bytes(o, offset, length))
                ++wrong;
            }
          }
        }
        const auto used = s->stats().bytes_used;
        for (auto seen = worst_used.load(); used > seen && !worst_used.compare_exchange_weak(seen, used);) {
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();

  BOOST_TEST(wrong == 0);
  BOOST_TEST(commits > 0);
  BOOST_TEST(good_reads > 0);
  BOOST_TEST(worst_used <= limit);
  // Whatever is present now reads right, and the disk matches the accounting.
  for (unsigned o = 0; o < handles.size(); ++o)
    for (std::uint64_t i = 0; i < handles[o]->block_count(); ++i)
      if (handles[o]->has_block(i))
        BOOST_TEST(test::reads_right(*handles[o], o, i * kBlock, handles[o]->block_length(i)));
  auto stats = s->stats();
  BOOST_TEST(stats.bytes_used <= limit);
  BOOST_TEST(test::allocated_bytes(s.dir) <= limit);
  BOOST_TEST(stats.corrupt_blocks == 0u);
  BOOST_TEST(stats.write_errors == 0u);
  BOOST_TEST(stats.evictions > 0u);
}
