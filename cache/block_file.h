// The on-disk format of one cached block, and the names of block files.
//
// A block file is a fixed 40-byte header, the URL, the validator, then the payload:
//
//   offset  size  field
//        0     8  magic "HFSBLK1\0"
//        8     4  format version (kBlockFormatVersion)
//       12     4  URL length in bytes
//       16     4  validator length in bytes
//       20     8  block index within the object
//       28     8  payload length
//       36     4  CRC-32 (zlib) of the payload
//       40     …  URL, validator, payload
//
// All integers are little-endian. The header carries the full URL + validator because the file
// name only carries a 64-bit hash of them: a hash collision is detected on read and treated as
// a miss, never as the other object's bytes.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "cache/block_cache.h"

namespace hfs::cache {

inline constexpr std::uint32_t kBlockFormatVersion = 1;
inline constexpr std::size_t kBlockHeaderFixedBytes = 40;
// Usage is accounted in whole file-system blocks, which is what a block file costs on disk.
inline constexpr std::uint64_t kDiskAllocationUnit = 4096;

// Names one block of one object version: the file <2 hex>/<16 hex hash>-<index>.
struct BlockId {
  std::uint64_t object_hash = 0;
  std::uint64_t index = 0;
  bool operator==(const BlockId&) const = default;
};

// FNV-1a 64 of url + '\n' + validator: stable across builds and machines (std::hash is not).
std::uint64_t object_hash(const ObjectKey& key);
BlockId block_id(const ObjectKey& key, std::uint64_t index);

// "<2 hex>/<16 hex>-<index>", relative to <cache dir>/blocks.
std::filesystem::path block_relative_path(const BlockId& id);
// The id named by a block file's name ("<16 hex>-<index>"), nullopt for anything else.
std::optional<BlockId> parse_block_file_name(std::string_view name);

// The header bytes for a payload (everything before it in the file).
std::string encode_block_header(const ObjectKey& key, std::uint64_t index, std::string_view payload);
std::uint64_t round_up_to_allocation_unit(std::uint64_t bytes);

// Writes header then payload to fd, all bytes; returns 0 or the errno of the failed write.
int write_block(int fd, std::string_view header, std::string_view payload);

// What reading a block file found. When !ok, `problem` says what did not match (for the log)
// and `corrupt` tells a bad block (mismatched or damaged content) from an I/O error.
struct BlockReadResult {
  bool ok = false;
  bool corrupt = false;
  std::string payload;
  std::string problem;
};

// Reads and checks every header field against (key, index), then the payload and its CRC.
BlockReadResult read_block(int fd, const ObjectKey& key, std::uint64_t index);

}  // namespace hfs::cache
