// The object store's files across reopens: damaged data and sidecars are never served,
// recency and verification across remounts, cleanup that follows no symlink, permissions,
// the lock, and write errors (ENOSPC on a small tmpfs, EFBIG). Tests run as root (mounting a
// tmpfs, chown to nobody); root ignores file modes, so unwritable files are made other ways.
#define BOOST_TEST_MODULE object_store_disk
#include <fcntl.h>
#include <pwd.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <csignal>
#include <functional>

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

constexpr std::uint64_t kBig = 64ull << 20;

std::unique_ptr<cache::ObjectStore> open_store(const stdfs::path& dir, std::uint64_t limit = kBig,
                                               cache::ObjectStoreOptions options = {}) {
  return cache::open_object_store(dir, limit, std::move(options));
}

// Writes every block of a fresh object and closes the store.
void populate(const stdfs::path& dir, const ObjectKey& key, std::uint64_t seed, std::uint64_t size) {
  auto store = open_store(dir);
  auto object = store->open(key, size);
  for (std::uint64_t i = 0; i < object->block_count(); ++i) BOOST_TEST_REQUIRE(test::put_block(*object, seed, i));
}

mode_t mode_of(const stdfs::path& path) {
  struct stat st {};
  BOOST_TEST_REQUIRE(::lstat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

void set_mtime(const stdfs::path& path, time_t seconds) {
  const timespec times[2] = {{seconds, 0}, {seconds, 0}};
  BOOST_TEST_REQUIRE(::utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW) == 0);
}

time_t mtime_of(const stdfs::path& path) {
  struct stat st {};
  BOOST_TEST_REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mtim.tv_sec;
}

// The umask for one scope.
struct Umask {
  mode_t saved;
  explicit Umask(mode_t mask) : saved(::umask(mask)) {}
  ~Umask() { ::umask(saved); }
};

}  // namespace

BOOST_AUTO_TEST_CASE(reopen_keeps_blocks_and_verifies_them_again_on_first_use) {
  test::TempDir temp;
  const auto dir = temp.path() / "cache";
  populate(dir, kEvents, 1, 3 * kBlock);
  auto store = open_store(dir);
  auto object = store->open(kEvents, 3 * kBlock);
  for (std::uint64_t i = 0; i < 3; ++i) BOOST_TEST(object->has_block(i));
  BOOST_TEST(!object->verified(0, 10));  // not checked in this process yet
  BOOST_TEST(test::reads_right(*object, 1, 100, 10));
  BOOST_TEST(object->verified(0, kBlock));
  BOOST_TEST(!object->verified(0, kBlock + 1));
  auto pin = object->pin(kBlock, 2 * kBlock);  // verifies blocks 1 and 2
  BOOST_TEST_REQUIRE(pin != nullptr);
  BOOST_TEST(object->verified(0, 3 * kBlock));
  BOOST_TEST(test::reads_right(*object, 1, 0, 3 * kBlock));
  auto stats = store->stats();
  BOOST_TEST(stats.blocks == 3u);
  BOOST_TEST(stats.corrupt_blocks == 0u);
  BOOST_TEST(stats.bytes_used == test::sidecar_cost(kEvents, 3 * kBlock) + 3 * kBlock);
}

BOOST_AUTO_TEST_CASE(a_corrupt_data_byte_is_never_returned_and_the_block_is_dropped) {
  test::TempDir temp;
  const auto dir = temp.path() / "cache";
  populate(dir, kEvents, 1, 2 * kBlock);
  const auto data = test::object_path(dir, kEvents, ".data"), meta = test::object_path(dir, kEvents, ".meta");
  auto flipped = test::object_bytes(1, kBlock + 1000, 1);
  flipped[0] = static_cast<char>(flipped[0] ^ 0x01);
  test::patch_file(data, kBlock + 1000, flipped);

  auto store = open_store(dir);
  auto object = store->open(kEvents, 2 * kBlock);
  std::string out(100, '\0');
  BOOST_TEST(!object->read(kBlock + 10, 100, out.data()));  // a range that does not touch the byte
  BOOST_TEST(!object->has_block(1));
  BOOST_TEST(!object->read(kBlock + 10, 100, out.data()));  // absent now
  BOOST_TEST(store->stats().corrupt_blocks == 1u);
  BOOST_TEST(store->stats().blocks == 1u);
  BOOST_TEST(test::reads_right(*object, 1, 0, kBlock));  // the other block is fine
  // On disk: the range is a hole and the record says absent.
  struct stat st {};
  BOOST_TEST_REQUIRE(::stat(data.c_str(), &st) == 0);
  BOOST_TEST(static_cast<std::uint64_t>(st.st_blocks) * 512 <= kBlock);
  std::string problem;
  auto decoded = cache::sidecar::decode(test::read_file(meta), problem);
  BOOST_TEST_REQUIRE(decoded.has_value(), problem);
  BOOST_TEST(decoded->records[0].present);
  BOOST_TEST(!decoded->records[1].present);
  // It can be downloaded again.
  BOOST_TEST(test::put_block(*object, 1, 1));
  BOOST_TEST(test::reads_right(*object, 1, 0, 2 * kBlock));
}

BOOST_AUTO_TEST_CASE(a_cache_of_sidecar_format_1_with_crc32_is_still_served_and_checked) {
  // A cache written before format 2: CRC-32 records. Nothing in it is lost by the upgrade.
  test::TempDir temp;
  const auto dir = temp.path() / "cache";
  const std::uint64_t size = 3 * kBlock;
  populate(dir, kEvents, 1, size);
  const auto meta = test::object_path(dir, kEvents, ".meta");
  std::string old = cache::sidecar::encode_header(kEvents, size, cache::ChecksumKind::crc32);
  for (std::uint64_t i = 0; i < 3; ++i) {
    const std::string bytes = test::object_bytes(1, i * kBlock, kBlock);
    const cache::sidecar::Record record{i < 2, i < 2 ? cache::block_checksum(cache::ChecksumKind::crc32, bytes) : 0};
    auto encoded = cache::sidecar::encode_record(record);
    old.append(encoded.data(), encoded.size());
  }
  test::write_file(meta, old);
  BOOST_TEST(static_cast<unsigned char>(old[8]) == 1u);  // format version 1
  {
    auto store = open_store(dir);
    auto object = store->open(kEvents, size);
    BOOST_TEST_REQUIRE(object != nullptr);
    BOOST_TEST((object->checksum_kind() == cache::ChecksumKind::crc32));
    BOOST_TEST(test::reads_right(*object, 1, 0, 2 * kBlock));  // verified with CRC-32
    BOOST_TEST(!object->has_block(2));
    BOOST_TEST(test::put_block(*object, 1, 2));  // a new block of it: CRC-32 as well
    BOOST_TEST(store->stats().corrupt_blocks == 0u);
  }
  std::string problem;
  auto decoded = cache::sidecar::decode(test::read_file(meta), problem);
  BOOST_TEST_REQUIRE(decoded.has_value(), problem);
  BOOST_TEST((decoded->checksum == cache::ChecksumKind::crc32));
  BOOST_TEST(decoded->records[2].crc ==
             cache::block_checksum(cache::ChecksumKind::crc32, test::object_bytes(1, 2 * kBlock, kBlock)));
  // And damage to one of its blocks is caught by the CRC-32 after a remount.
  test::patch_file(test::object_path(dir, kEvents, ".data"), kBlock + 5, "XYZ");
  auto store = open_store(dir);
  auto object = store->open(kEvents, size);
  std::string out(100, '\0');
  BOOST_TEST(!object->read(kBlock, 100, out.data()));
  BOOST_TEST(store->stats().corrupt_blocks == 1u);
  BOOST_TEST(test::reads_right(*object, 1, 0, kBlock));
  BOOST_TEST(test::reads_right(*object, 1, 2 * kBlock, kBlock));
}

BOOST_AUTO_TEST_CASE(new_objects_are_written_in_format_2_with_xxh3) {
  test::TempDir temp;
  const auto dir = temp.path() / "cache";
  populate(dir, kEvents, 1, kBlock);
  std::string problem;
  auto decoded = cache::sidecar::decode(test::read_file(test::object_path(dir, kEvents, ".meta")), problem);
  BOOST_TEST_REQUIRE(decoded.has_value(), problem);
  BOOST_TEST((decoded->checksum == cache::ChecksumKind::xxh3));
  BOOST_TEST(decoded->records[0].crc ==
             cache::block_checksum(cache::ChecksumKind::xxh3, test::object_bytes(1, 0, kBlock)));
}

BOOST_AUTO_TEST_CASE(a_pin_over_a_corrupt_block_is_refused) {
  test::TempDir temp;
  const auto dir = temp.path() / "cache";
  populate(dir, kEvents, 1, kBlock);
  test::patch_file(test::object_path(dir, kEvents, ".data"), 5, "XYZ");
  auto store = open_store(dir);
  auto object = store->open(kEvents, kBlock);
  BOOST_TEST(object->pin(0, kBlock) == nullptr);
  BOOST_TEST(store->stats().corrupt_blocks == 1u);
  // Its only block gone, the object loses its files.
  BOOST_TEST(!stdfs::exists(test::object_path(dir, kEvents, ".data")));
  BOOST_TEST(store->stats().objects == 0u);
  BOOST_TEST(store->stats().bytes_used == 0u);
}

BOOST_AUTO_TEST_CASE(a_wrong_crc_in_a_sidecar_record_is_not_served) {
  test::TempDir temp;
  const auto dir = temp.path() / "cache";
  populate(dir, kEvents, 1, 2 * kBlock);
  const auto meta = test::object_path(dir, kEvents, ".meta");
  const auto at = cache::sidecar::record_offset(kEvents, 0) + 5;  // a CRC byte of block 0
  auto byte = test::read_file(meta).substr(at, 1);
  byte[0] = static_cast<char>(byte[0] ^ 0x40);
  test::patch_file(meta, at, byte);
  auto store = open_store(dir);
  auto object = store->open(kEvents, 2 * kBlock);
  std::string out(kBlock, '\0');
  BOOST_TEST(!object->read(0, kBlock, out.data()));
  BOOST_TEST(store->stats().corrupt_blocks == 1u);
  BOOST_TEST(test::reads_right(*object, 1, kBlock, kBlock));
}

BOOST_AUTO_TEST_CASE(damaged_truncated_or_foreign_sidecars_drop_their_object) {
  struct Damage {
    const char* what;
    std::function<void(const stdfs::path& meta)> apply;
  };
  const std::vector<Damage> damages = {
      {"garbled record state",
       [](const stdfs::path& meta) { test::patch_file(meta, cache::sidecar::record_offset(kEvents, 1), "\x07"); }},
      {"truncated records",
       [](const stdfs::path& meta) { stdfs::resize_file(meta, cache::sidecar::record_offset(kEvents, 1) + 3); }},
      {"truncated header", [](const stdfs::path& meta) { stdfs::resize_file(meta, 20); }},
      {"empty file", [](const stdfs::path& meta) { stdfs::resize_file(meta, 0); }},
      {"garbled URL byte", [](const stdfs::path& meta) { test::patch_file(meta, 40, "#"); }},
      {"trailing bytes", [](const stdfs::path& meta) { stdfs::resize_file(meta, stdfs::file_size(meta) + 8); }},
      {"another object's sidecar under this name (a hash collision)",
       [](const stdfs::path& meta) {
         // A well-formed sidecar of another URL, all records present with the right CRCs.
         const ObjectKey other{kEvents.url + "?other", kEvents.validator};
         std::string bytes = cache::sidecar::encode_header(other, 2 * kBlock);
         for (std::uint64_t i = 0; i < 2; ++i) {
           auto record = cache::sidecar::encode_record({true, test::crc_of(test::object_bytes(1, i * kBlock, kBlock))});
           bytes.append(record.data(), record.size());
         }
         test::write_file(meta, bytes);
       }},
  };
  for (const auto& damage : damages) {
    BOOST_TEST_CONTEXT(damage.what) {
      test::TempDir temp;
      const auto dir = temp.path() / "cache";
      populate(dir, kEvents, 1, 2 * kBlock);
      populate(dir, kOrbit, 2, kBlock);
      damage.apply(test::object_path(dir, kEvents, ".meta"));
      auto store = open_store(dir);
      BOOST_TEST(!stdfs::exists(test::object_path(dir, kEvents, ".meta")));
      BOOST_TEST(!stdfs::exists(test::object_path(dir, kEvents, ".data")));
      auto object = store->open(kEvents, 2 * kBlock);
      BOOST_TEST_REQUIRE(object != nullptr);
      BOOST_TEST(!object->has_block(0));
      std::string out(10, '\0');
      BOOST_TEST(!object->read(0, 10, out.data()));
      auto orbit = store->open(kOrbit, kBlock);  // the other object is untouched
      BOOST_TEST(test::reads_right(*orbit, 2, 0, kBlock));
      BOOST_TEST(store->stats().objects == 1u);
      BOOST_TEST(store->stats().bytes_used == test::sidecar_cost(kOrbit, kBlock) + kBlock);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_data_file_of_the_wrong_size_drops_its_object) {
  test::TempDir temp;
  const auto dir = temp.path() / "cache";
  populate(dir, kEvents, 1, 2 * kBlock);
  stdfs::resize_file(test::object_path(dir, kEvents, ".data"), kBlock);
  auto store = open_store(dir);
  BOOST_TEST(store->stats().objects == 0u);
  BOOST_TEST(!stdfs::exists(test::object_path(dir, kEvents, ".meta")));
}

BOOST_AUTO_TEST_CASE(recency_survives_a_reopen_and_the_oldest_objects_go_first_when_the_limit_shrinks) {
  test::TempDir temp;
  const auto dir = temp.path() / "cache";
  populate(dir, kEvents, 1, 2 * kBlock);
  populate(dir, kOrbit, 2, 2 * kBlock);
  populate(dir, kImage, 3, 2 * kBlock);
  // Recency is the sidecar's mtime: events oldest, then image, then orbit.
  set_mtime(test::object_path(dir, kEvents, ".meta"), 1000000000);
  set_mtime(test::object_path(dir, kImage, ".meta"), 1000002000);
  set_mtime(test::object_path(dir, kOrbit, ".meta"), 1000003000);
  const std::uint64_t one = test::sidecar_cost(kEvents, 2 * kBlock) + 2 * kBlock;  // the URLs are alike in length
  BOOST_TEST_REQUIRE(test::sidecar_cost(kOrbit, 2 * kBlock) + 2 * kBlock == one);
  BOOST_TEST_REQUIRE(test::sidecar_cost(kImage, 2 * kBlock) + 2 * kBlock == one);
  {
    auto store = open_store(dir, 2 * one);
    BOOST_TEST(store->stats().objects == 2u);
    BOOST_TEST(store->stats().evictions == 2u);
    BOOST_TEST(!stdfs::exists(test::object_path(dir, kEvents, ".meta")));
    BOOST_TEST(test::allocated_bytes(dir) <= 2 * one);
  }
  {
    // Room for the orbit and one block of the image: the image's older block goes.
    auto store = open_store(dir, one + test::sidecar_cost(kImage, 2 * kBlock) + kBlock);
    BOOST_TEST(store->stats().objects == 2u);
    auto image = store->open(kImage, 2 * kBlock), orbit = store->open(kOrbit, 2 * kBlock);
    BOOST_TEST(orbit->has_block(0));
    BOOST_TEST(orbit->has_block(1));
    BOOST_TEST(image->has_block(0));
    BOOST_TEST(!image->has_block(1));
    // Eviction is not a use: clearing the record left the sidecar's mtime as it was.
    BOOST_TEST(mtime_of(test::object_path(dir, kImage, ".meta")) == 1000002000);
  }
  {
    auto store = open_store(dir, one);
    BOOST_TEST(store->stats().objects == 1u);
    auto orbit = store->open(kOrbit, 2 * kBlock);
    BOOST_TEST(test::reads_right(*orbit, 2, 0, 2 * kBlock));
  }
}

BOOST_AUTO_TEST_CASE(reads_refresh_the_sidecar_mtime_at_most_once_a_minute) {
  test::TempDir temp;
  const auto dir = temp.path() / "cache";
  populate(dir, kEvents, 1, kBlock);
  const auto meta = test::object_path(dir, kEvents, ".meta");
  set_mtime(meta, 1000000000);
  test::ManualClock clock;
  cache::ObjectStoreOptions options;
  options.clock = clock.function();
  auto store = open_store(dir, kBig, options);
  auto object = store->open(kEvents, kBlock);
  BOOST_TEST(test::reads_right(*object, 1, 0, 10));
  BOOST_TEST(mtime_of(meta) > 1000000000);  // first use since the open: refreshed
  set_mtime(meta, 1000000000);
  clock.advance(std::chrono::seconds(59));
  BOOST_TEST(test::reads_right(*object, 1, 0, 10));
  BOOST_TEST(mtime_of(meta) == 1000000000);  // within the minute: left alone
  clock.advance(std::chrono::seconds(1));
  BOOST_TEST(test::reads_right(*object, 1, 0, 10));
  BOOST_TEST(mtime_of(meta) > 1000000000);
}

BOOST_AUTO_TEST_CASE(temp_and_stray_files_are_removed_at_open) {
  test::TempDir temp;
  const auto dir = temp.path() / "cache";
  populate(dir, kEvents, 1, kBlock);
  const auto meta = test::object_path(dir, kEvents, ".meta");
  const auto sub = meta.parent_path();
  test::write_file(sub / (meta.filename().string() + ".tmp"), "half a sidecar");
  test::write_file(sub / "notes.txt", "not ours");
  test::write_file(sub / "0123456789abcdef.data", "a data file of another prefix");
  stdfs::create_directories(dir / "objects" / "ee");
  test::write_file(dir / "objects" / "ee" / "ee00000000000000.data", "a data file without its sidecar");
  stdfs::create_directories(dir / "objects" / "not-hex" / "deeper");
  test::write_file(dir / "objects" / "not-hex" / "deeper" / "file", "x");
  test::write_file(dir / "objects" / "loose-file", "x");

  auto store = open_store(dir);
  std::vector<std::string> left;
  for (auto& entry : stdfs::recursive_directory_iterator(dir / "objects"))
    if (!entry.is_directory()) left.push_back(entry.path().lexically_relative(dir / "objects").string());
  std::sort(left.begin(), left.end());
  const std::string stem = cache::object_file_stem(cache::object_file_hash(kEvents));
  BOOST_TEST(left == (std::vector<std::string>{stem + ".data", stem + ".meta"}), boost::test_tools::per_element());
  BOOST_TEST(!stdfs::exists(dir / "objects" / "not-hex"));
  auto object = store->open(kEvents, kBlock);
  BOOST_TEST(test::reads_right(*object, 1, 0, kBlock));
}

BOOST_AUTO_TEST_CASE(cleanup_never_follows_a_symlink) {
  test::TempDir temp;
  const auto dir = temp.path() / "cache";
  const auto outside = temp.path() / "outside";
  stdfs::create_directories(outside / "sub");
  test::write_file(outside / "precious", "keep me");
  test::write_file(outside / "sub" / "also", "keep me too");
  populate(dir, kEvents, 1, kBlock);
  const auto sub = test::object_path(dir, kEvents, ".meta").parent_path();
  // Links where a 2-hex subdirectory, an object file, or something inside a stray dir would be.
  stdfs::create_directory_symlink(outside, dir / "objects" / "ab");
  stdfs::create_directory_symlink(outside, dir / "objects" / "stray-link");
  stdfs::create_symlink(outside / "precious", sub / "00112233445566ff.data");
  stdfs::create_symlink(outside / "precious", sub / (sub.filename().string() + "11223344556677.meta"));
  stdfs::create_directories(dir / "objects" / "stray-dir");
  stdfs::create_directory_symlink(outside, dir / "objects" / "stray-dir" / "link");
  stdfs::create_symlink(outside / "precious", dir / "objects" / "stray-dir" / "file-link");

  auto store = open_store(dir);
  BOOST_TEST(test::read_file(outside / "precious") == "keep me");
  BOOST_TEST(test::read_file(outside / "sub" / "also") == "keep me too");
  BOOST_TEST(!stdfs::exists(stdfs::symlink_status(dir / "objects" / "ab")));
  BOOST_TEST(!stdfs::exists(stdfs::symlink_status(dir / "objects" / "stray-link")));
  BOOST_TEST(!stdfs::exists(stdfs::symlink_status(dir / "objects" / "stray-dir")));
  BOOST_TEST(!stdfs::exists(stdfs::symlink_status(sub / "00112233445566ff.data")));
  auto object = store->open(kEvents, kBlock);
  BOOST_TEST(test::reads_right(*object, 1, 0, kBlock));
}

BOOST_AUTO_TEST_CASE(objects_symlinked_away_is_replaced_by_a_private_directory) {
  test::TempDir temp;
  const auto dir = temp.path() / "cache";
  const auto outside = temp.path() / "outside";
  stdfs::create_directories(outside / "00");
  test::write_file(outside / "00" / "0000000000000000.data", "keep me");
  { open_store(dir); }
  stdfs::remove_all(dir / "objects");
  stdfs::create_directory_symlink(outside, dir / "objects");
  auto store = open_store(dir);
  BOOST_TEST(stdfs::is_directory(stdfs::symlink_status(dir / "objects")));
  BOOST_TEST(test::read_file(outside / "00" / "0000000000000000.data") == "keep me");
}

BOOST_AUTO_TEST_CASE(directories_are_0700_and_files_0600_whatever_the_umask) {
  for (mode_t mask : {mode_t{022}, mode_t{0}, mode_t{0777}}) {
    BOOST_TEST_CONTEXT("umask " << std::oct << mask) {
      test::TempDir temp;
      const auto dir = temp.path() / "new" / "cache";
      {
        Umask umask(mask);
        auto store = open_store(dir);
        auto object = store->open(kEvents, kBlock);
        BOOST_TEST_REQUIRE(test::put_block(*object, 1, 0));
      }
      BOOST_TEST(mode_of(dir) == 0700u);
      BOOST_TEST(mode_of(dir / "objects") == 0700u);
      BOOST_TEST(mode_of(test::object_path(dir, kEvents, ".meta").parent_path()) == 0700u);
      BOOST_TEST(mode_of(test::object_path(dir, kEvents, ".meta")) == 0600u);
      BOOST_TEST(mode_of(test::object_path(dir, kEvents, ".data")) == 0600u);
      BOOST_TEST(mode_of(dir / "lock") == 0600u);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_dir_writable_by_others_or_owned_by_another_user_is_refused) {
  test::TempDir temp;
  const auto dir = temp.path() / "cache";
  { open_store(dir); }
  for (mode_t mode : {mode_t{0777}, mode_t{0770}, mode_t{0702}, mode_t{01777}}) {
    BOOST_TEST_CONTEXT("mode " << std::oct << mode) {
      BOOST_TEST_REQUIRE(::chmod(dir.c_str(), mode) == 0);
      std::string message;
      BOOST_TEST(test::errno_of([&] { open_store(dir); }, &message) == EACCES);
      BOOST_TEST(message.find(dir.string()) != std::string::npos, message);
      BOOST_TEST(message.find("writable by group or others") != std::string::npos, message);
    }
  }
  BOOST_TEST_REQUIRE(::chmod(dir.c_str(), 0755) == 0);  // readable is fine: the files are 0600
  BOOST_TEST(test::errno_of([&] { open_store(dir); }) == 0);

  const passwd* nobody = ::getpwnam("nobody");
  BOOST_TEST_REQUIRE(nobody != nullptr);
  BOOST_TEST_REQUIRE(::chmod(dir.c_str(), 0700) == 0);
  BOOST_TEST_REQUIRE(::chown(dir.c_str(), nobody->pw_uid, nobody->pw_gid) == 0);
  std::string message;
  BOOST_TEST(test::errno_of([&] { open_store(dir); }, &message) == EACCES);
  BOOST_TEST(message.find(dir.string()) != std::string::npos, message);
  BOOST_TEST(message.find("owned by uid " + std::to_string(nobody->pw_uid)) != std::string::npos, message);
}

BOOST_AUTO_TEST_CASE(a_second_open_of_the_same_dir_is_ebusy) {
  test::TempDir temp;
  const auto dir = temp.path() / "cache";
  auto first = open_store(dir);
  std::string message;
  BOOST_TEST(test::errno_of([&] { open_store(dir); }, &message) == EBUSY);
  BOOST_TEST(message.find("pid " + std::to_string(::getpid())) != std::string::npos, message);
  first.reset();
  BOOST_TEST(test::errno_of([&] { open_store(dir); }) == 0);
}

// Tests run as root, for whom modes change nothing: a path through a regular file fails for
// everyone (ENOTDIR).
BOOST_AUTO_TEST_CASE(an_uncreatable_dir_throws_its_errno) {
  test::TempDir temp;
  test::write_file(temp.path() / "plain-file", "x");
  BOOST_TEST(test::errno_of([&] { open_store(temp.path() / "plain-file" / "cache"); }) == ENOTDIR);
}

// RLIMIT_FSIZE makes a write fail halfway (EFBIG), for root too: a disk filling up mid-block.
BOOST_AUTO_TEST_CASE(a_failed_write_is_logged_counted_and_not_committed) {
  test::TempDir temp;
  const auto dir = temp.path() / "cache";
  auto store = open_store(dir);
  auto object = store->open(kEvents, 4 * kBlock);
  BOOST_TEST_REQUIRE(test::put_block(*object, 1, 0));
  BOOST_TEST_REQUIRE(object->reserve(2));
  rlimit saved{};
  ::getrlimit(RLIMIT_FSIZE, &saved);
  auto saved_handler = std::signal(SIGXFSZ, SIG_IGN);
  rlimit small = saved;
  small.rlim_cur = kBlock;
  BOOST_TEST_REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
  int err = 0;
  BOOST_CHECK_NO_THROW(err = object->write(2 * kBlock, test::object_bytes(1, 2 * kBlock, kBlock)));
  ::setrlimit(RLIMIT_FSIZE, &saved);
  std::signal(SIGXFSZ, saved_handler);
  BOOST_TEST(err == EFBIG);
  object->abandon(2);
  BOOST_TEST(!object->has_block(2));
  auto stats = store->stats();
  BOOST_TEST(stats.write_errors == 1u);
  BOOST_TEST(stats.blocks == 1u);
  BOOST_TEST(stats.bytes_used == test::sidecar_cost(kEvents, 4 * kBlock) + kBlock);
  BOOST_TEST(test::reads_right(*object, 1, 0, kBlock));
}

BOOST_AUTO_TEST_CASE(files_that_cannot_be_created_make_reserve_fail_without_a_throw) {
  test::TempDir temp;
  const auto dir = temp.path() / "cache";
  auto store = open_store(dir);
  // A directory where the data file goes: creating it fails (EISDIR).
  const auto stem = cache::object_file_stem(cache::object_file_hash(kEvents));
  stdfs::create_directories(dir / "objects" / (stem + ".data"));
  auto object = store->open(kEvents, kBlock);
  bool reserved = true;
  BOOST_CHECK_NO_THROW(reserved = object->reserve(0));
  BOOST_TEST(!reserved);
  auto stats = store->stats();
  BOOST_TEST(stats.write_errors == 1u);
  BOOST_TEST(stats.bytes_used == 0u);
  BOOST_TEST(stats.objects == 0u);
}

// A 1 MiB tmpfs fills up long before the store's limit: writes fail with ENOSPC, are logged and
// counted, the blocks are not committed, and what was cached before still reads right.
BOOST_AUTO_TEST_CASE(enospc_on_a_full_disk_is_a_write_error_not_a_throw) {
  test::TempDir temp;
  const auto mountpoint = temp.path() / "tmpfs";
  stdfs::create_directories(mountpoint);
  BOOST_TEST_REQUIRE(::mount("tmpfs", mountpoint.c_str(), "tmpfs", 0, "size=1m") == 0, "mount tmpfs needs root");
  struct Unmount {
    stdfs::path path;
    ~Unmount() { ::umount2(path.c_str(), MNT_DETACH); }
  } unmount{mountpoint};

  const auto dir = mountpoint / "cache";
  auto store = open_store(dir, 8ull << 20);
  auto object = store->open(kEvents, 32 * kBlock);
  std::uint64_t committed = 0;
  int first_error = 0;
  for (std::uint64_t i = 0; i < 32; ++i) {
    if (!object->reserve(i)) break;
    const auto bytes = test::object_bytes(1, i * kBlock, kBlock);
    int err = 0;
    BOOST_CHECK_NO_THROW(err = object->write(i * kBlock, bytes));
    if (err != 0) {
      first_error = err;
      object->abandon(i);
      break;
    }
    object->commit(i, test::crc_of(bytes));
    ++committed;
  }
  BOOST_TEST(first_error == ENOSPC);
  BOOST_TEST(committed > 0u);
  BOOST_TEST(committed < 16u);
  BOOST_TEST(!object->has_block(committed));
  auto stats = store->stats();
  BOOST_TEST(stats.write_errors >= 1u);
  BOOST_TEST(stats.blocks == committed);
  BOOST_TEST(test::reads_right(*object, 1, 0, committed * kBlock));
}
