// Any damage to a cache directory between two mounts: an object of up to three blocks is
// written through the store, the store is closed, the input then overwrites bytes of its data
// file and its sidecar (cache/sidecar.h) and may truncate either, and the store is opened again
// and every block read (copy and pin). Nothing may crash, and a block whose bytes and whose
// sidecar record were both left alone must read back exactly as written: the CRC check on first
// use drops whatever damage touched, never returning other bytes for an untouched block.
//
// Input: [size hint][key byte] then edits of 8 bytes each: [file: bit 0 = sidecar, bit 1 =
// truncate][4 bytes offset, little-endian][length 0..255][2 bytes: the byte written, twice];
// at most 32 edits (a large sample replayed as input must not take minutes).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <fcntl.h>

#include "cache/block_checksum.h"
#include "cache/object_store.h"
#include "cache/sidecar.h"
#include "common/error.h"
#include "common/log.h"

namespace {

namespace cache = hfs::cache;
namespace stdfs = std::filesystem;

const stdfs::path& directory() {
  static const stdfs::path path = [] {
    hfs::log::set_threshold(hfs::log::Level::error);  // damage is logged at warn: not the fuzzer's output
    // $TMPDIR first: on a tmpfs (TMPDIR=/dev/shm) the store's fsyncs cost nothing, which is what
    // makes a long run of this harness take minutes instead of hours.
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/fuzz-cache-blocks-XXXXXX";
    if (!mkdtemp(pattern.data())) std::abort();
    return stdfs::path(pattern);
  }();
  return path;
}

std::vector<stdfs::path> files_ending(const stdfs::path& root, const std::string& suffix) {
  std::vector<stdfs::path> found;
  for (const auto& entry : stdfs::recursive_directory_iterator(root))
    if (entry.is_regular_file() && entry.path().string().ends_with(suffix)) found.push_back(entry.path());
  return found;
}

// The bytes of every object: computed once, since a byte loop per input was most of a run's time.
const std::string& content() {
  static const std::string bytes = [] {
    std::string out(1 + 2 * hfs::cache::kBlockSize + 255 * 97u, '\0');
    for (std::uint64_t i = 0; i < out.size(); ++i) out[i] = static_cast<char>((i * 2654435761u) >> 13);
    return out;
  }();
  return bytes;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const stdfs::path dir = directory() / "cache";
  std::error_code ignored;
  stdfs::remove_all(dir, ignored);

  const std::uint64_t object_size = 1 + (data[0] % 3) * cache::kBlockSize + data[0] * 97u;
  const cache::ObjectKey key{"http://archive.example/FTP/" + std::to_string(data[1]), "\"etag\""};
  const std::string_view bytes = std::string_view(content()).substr(0, object_size);
  {
    auto store = cache::open_object_store(dir, 64ull << 20);
    auto object = store->open(key, object_size);
    if (!object) std::abort();
    for (std::uint64_t block = 0; block < object->block_count(); ++block) {
      const std::uint64_t first = block * cache::kBlockSize, length = object->block_length(block);
      if (!object->reserve(block) || object->write(first, bytes.substr(first, length)) != 0) std::abort();
      object->commit(block, cache::block_checksum(object->checksum_kind(), bytes.data() + first, length));
    }
  }

  auto data_files = files_ending(dir, ".data"), meta_files = files_ending(dir, ".meta");
  if (data_files.size() != 1 || meta_files.size() != 1) std::abort();
  const std::uint64_t records = cache::sidecar::records_offset(key);
  const std::uint64_t meta_size = cache::sidecar::file_size(key, object_size);
  std::set<std::uint64_t> touched;  // blocks whose bytes or record the edits reached
  bool object_may_go = false;
  bool meta_edited = false;
  for (std::size_t at = 2; at + 8 <= size && at < 2 + 8 * 32; at += 8) {  // at most 32 edits
    const bool meta = data[at] & 1, truncate = data[at] & 2;
    const std::uint64_t offset =
        data[at + 1] | data[at + 2] << 8 | data[at + 3] << 16 | std::uint64_t{data[at + 4]} << 24;
    const std::uint64_t limit = meta ? records + 8 * 4 + 64 : 4 * cache::kBlockSize;
    const std::uint64_t where = offset % limit, length = data[at + 5];
    const stdfs::path& file = meta ? meta_files[0] : data_files[0];
    int fd = ::open(file.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) std::abort();
    if (truncate) {
      if (::ftruncate(fd, static_cast<off_t>(where)) != 0) std::abort();
    } else {
      std::string patch(length, static_cast<char>(data[at + 6]));
      for (std::size_t i = 1; i < patch.size(); i += 2) patch[i] = static_cast<char>(data[at + 7]);
      if (::pwrite(fd, patch.data(), patch.size(), static_cast<off_t>(where)) != static_cast<ssize_t>(patch.size()))
        std::abort();
    }
    ::close(fd);
    if (meta) {
      meta_edited = true;
      // Header damage or another file size: the whole object may go.
      if (truncate || where < records || where + length > meta_size) object_may_go = true;
      const std::uint64_t end = truncate ? UINT64_MAX : where + length;
      for (std::uint64_t block = 0; block < 4; ++block) {
        const std::uint64_t first = records + 8 * block;
        if (where < first + 8 && end > first) touched.insert(block);
      }
    } else {
      // A data file of another size than the object is damage too (cache/store_dir.cpp drops it).
      if ((truncate && where != object_size) || (!truncate && where + length > object_size)) object_may_go = true;
      const std::uint64_t end = truncate ? UINT64_MAX : where + length;
      for (std::uint64_t block = 0; block < 4; ++block) {
        const std::uint64_t first = block * cache::kBlockSize;
        if (where < first + cache::kBlockSize && end > first) touched.insert(block);
      }
    }
  }

  try {
    auto store = cache::open_object_store(dir, 64ull << 20);
    auto object = store->open(key, object_size);
    if (!object) return 0;
    std::string out(cache::kBlockSize, '\0');
    for (std::uint64_t block = 0; block < object->block_count(); ++block) {
      const std::uint64_t first = block * cache::kBlockSize, length = object->block_length(block);
      const bool intact = !object_may_go && !touched.count(block);
      const bool present = object->has_block(block);
      // An untouched block is not lost, unless the sidecar was edited at all: a malformed record
      // (a state other than 0 or 1) makes the whole sidecar damaged, by design.
      if (intact && !meta_edited && !present) __builtin_trap();
      if (object->read(first, length, out.data())) {
        if (intact && std::string_view(out.data(), length) != bytes.substr(first, length)) __builtin_trap();
      } else if (intact && !meta_edited) {
        __builtin_trap();
      }
      (void)object->pin(first, length);
    }
  } catch (const hfs::Error&) {
    // A damaged directory may be refused as a whole, with an errno.
  }
  return 0;
}
