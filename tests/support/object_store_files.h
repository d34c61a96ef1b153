// Helpers for the object store's tests: deterministic block bytes, writing a block the way the
// fetcher does, and looking at the store's files on disk.
#pragma once

#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include "cache/object_store.h"
#include "cache/object_store_options.h"
#include "cache/sidecar.h"
#include "common/error.h"

namespace hfs::test {

// Three object versions of the kinds the archive has: validated by ETag, by size, by date.
inline const cache::ObjectKey kEvents{
    "https://heasarc.gsfc.nasa.gov/FTP/nustar/data/obs/00/6/60001111005/event_cl/a.evt", "\"5a3e-1f2b3c\""};
inline const cache::ObjectKey kOrbit{"https://heasarc.gsfc.nasa.gov/FTP/nicer/data/obs/sgr1830.orb", "size:123456"};
inline const cache::ObjectKey kImage{"https://heasarc.gsfc.nasa.gov/FTP/swift/data/obs/img.fits",
                                     "Tue, 01 Feb 2022 10:00:00 GMT"};

// kBlockSize as a value of this file (std::min binds references; see cache/store_io.h).
inline constexpr std::uint64_t kBlock = cache::kBlockSize;

// The checksum a new object's commit() takes (the current sidecar format).
inline std::uint32_t crc_of(std::string_view bytes) { return cache::block_checksum(cache::kCurrentChecksum, bytes); }

// The bytes of [offset, offset + length) of a synthetic object named by `seed`: a function of
// the position, so any range of any object can be checked wherever it came from.
inline std::string object_bytes(std::uint64_t seed, std::uint64_t offset, std::uint64_t length) {
  std::string bytes(length, '\0');
  for (std::uint64_t i = 0; i < length; ++i) {
    std::uint64_t x = (offset + i) * 0x9e3779b97f4a7c15ull ^ (seed + 1) * 0xbf58476d1ce4e5b9ull;
    x ^= x >> 29;
    bytes[i] = static_cast<char>(x * 0x94d049bb133111ebull >> 56);
  }
  return bytes;
}

// Reserve, write in two pieces, commit: what a download does. False when not reserved or a
// write failed (then abandoned).
inline bool put_block(cache::CachedObject& object, std::uint64_t seed, std::uint64_t index) {
  if (!object.reserve(index)) return false;
  const std::uint64_t start = index * kBlock, length = object.block_length(index);
  const std::string bytes = object_bytes(seed, start, length);
  const std::size_t half = bytes.size() / 2;
  if (object.write(start, std::string_view(bytes).substr(0, half)) != 0 ||
      object.write(start + half, std::string_view(bytes).substr(half)) != 0) {
    object.abandon(index);
    return false;
  }
  object.commit(index, cache::block_checksum(object.checksum_kind(), bytes));
  return true;
}

inline bool reads_right(cache::CachedObject& object, std::uint64_t seed, std::uint64_t offset, std::uint64_t length) {
  std::string out(length, '\0');
  return object.read(offset, length, out.data()) && out == object_bytes(seed, offset, length);
}

inline std::filesystem::path object_path(const std::filesystem::path& store_dir, const cache::ObjectKey& key,
                                         const char* suffix) {
  return store_dir / "objects" / (cache::object_file_stem(cache::object_file_hash(key)) + suffix);
}

inline std::uint64_t round_up_4k(std::uint64_t bytes) { return (bytes + 4095) / 4096 * 4096; }

// What the store accounts for an object's sidecar.
inline std::uint64_t sidecar_cost(const cache::ObjectKey& key, std::uint64_t size) {
  return round_up_4k(cache::sidecar::file_size(key, size));
}

// The bytes the file system actually allocated to the regular files under <dir>/objects
// (st_blocks, symlinks not followed): what `du` counts of the cached data.
inline std::uint64_t allocated_bytes(const std::filesystem::path& store_dir) {
  std::uint64_t total = 0;
  std::error_code ec;
  for (std::filesystem::recursive_directory_iterator it(store_dir / "objects", ec), end; !ec && it != end;
       it.increment(ec)) {
    struct stat st {};
    if (::lstat(it->path().c_str(), &st) == 0 && S_ISREG(st.st_mode))
      total += static_cast<std::uint64_t>(st.st_blocks) * 512;
  }
  return total;
}

inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

inline void write_file(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

// Overwrites bytes in place (no truncation).
inline void patch_file(const std::filesystem::path& path, std::uint64_t offset, const std::string& bytes) {
  std::fstream file(path, std::ios::binary | std::ios::in | std::ios::out);
  file.seekp(static_cast<std::streamoff>(offset));
  file.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline int errno_of(const std::function<void()>& action, std::string* message = nullptr) {
  try {
    action();
  } catch (const Error& e) {
    if (message) *message = e.what();
    return e.errnum();
  }
  return 0;
}

// A steady clock the test moves by hand.
struct ManualClock {
  std::atomic<std::chrono::steady_clock::rep> ticks{std::chrono::steady_clock::duration(std::chrono::hours(1)).count()};
  void advance(std::chrono::steady_clock::duration by) { ticks += by.count(); }
  std::function<std::chrono::steady_clock::time_point()> function() {
    return [this] { return std::chrono::steady_clock::time_point(std::chrono::steady_clock::duration(ticks.load())); };
  }
};

}  // namespace hfs::test
