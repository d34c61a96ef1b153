// The on-disk format of an object's sidecar (<hash>.meta): which object version the data file
// next to it holds, and which of its blocks are present with what checksum.
//
//   offset  size  field
//        0     8  magic "HFSMETA\0"
//        8     4  format version: 2 (kFormatVersion), or 1 (still read: see below)
//       12     4  block size (kBlockSize; another size is another format)
//       16     8  object size in bytes
//       24     4  URL length in bytes
//       28     4  validator length in bytes
//       32     4  CRC-32 (zlib) of bytes 0..31 followed by the URL and the validator
//       36     …  URL, validator, then zero bytes up to the next multiple of 8
//   records_offset  one 8-byte record per block of the object, in block order:
//                   4 bytes state (0 absent, 1 present), 4 bytes checksum of the block's bytes
//                   (0 when absent): format 2, the low 32 bits of XXH3-64; format 1, CRC-32
//                   (zlib). The formats differ in nothing else (cache/block_checksum.h: why).
//
// All integers are little-endian. The file is exactly records_offset + 8 * block count bytes.
// Records are 8-aligned, so a record never straddles a sector: one pwrite() updates one block.
// The header CRC makes a garbled URL or size read as "damaged", not as another object; a record
// is checked for shape here and its CRC against the block's bytes on first use.
//
// decode() accepts any bytes: whatever it is given, it returns a Decoded only when every field
// holds, and otherwise says what is wrong (tests/fuzz/fuzz_sidecar.cpp checks this).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cache/block_checksum.h"
#include "cache/object_store.h"

namespace hfs::cache::sidecar {

inline constexpr char kMagic[8] = {'H', 'F', 'S', 'M', 'E', 'T', 'A', '\0'};
inline constexpr std::uint32_t kFormatVersion = 2;
// The checksum kind of a format version, and back (versions 1 and 2 only).
ChecksumKind checksum_of_version(std::uint32_t version);
std::uint32_t version_of_checksum(ChecksumKind kind);
inline constexpr std::size_t kFixedHeaderBytes = 36;
inline constexpr std::size_t kRecordBytes = 8;
// Larger objects are not cached: their sidecar (8 bytes per 64 KiB) would pass 64 MiB, which
// is read whole at open.
inline constexpr std::uint64_t kMaxObjectSize = std::uint64_t{1} << 39;  // 512 GiB
// A URL or validator longer than this is not cached (and such a sidecar is not read).
inline constexpr std::uint32_t kMaxNameBytes = 64 * 1024;

struct Record {
  bool present = false;
  std::uint32_t crc = 0;
  bool operator==(const Record&) const = default;
};

// Whether an object with this key and size can have a sidecar at all (limits above).
bool cacheable(const ObjectKey& key, std::uint64_t object_size);
std::uint64_t block_count(std::uint64_t object_size);
// Where the first record starts (the header, padded to 8 bytes).
std::uint64_t records_offset(const ObjectKey& key);
std::uint64_t record_offset(const ObjectKey& key, std::uint64_t index);
// The whole file's size for an object: records_offset + 8 * block count.
std::uint64_t file_size(const ObjectKey& key, std::uint64_t object_size);

// The header bytes, padding included (records_offset(key) bytes). The records that follow
// start absent: zero bytes, which is what extending the file with ftruncate() gives.
// `kind`: the object's checksum kind (its format version); new objects use kCurrentChecksum.
std::string encode_header(const ObjectKey& key, std::uint64_t object_size, ChecksumKind kind = kCurrentChecksum);
std::array<char, kRecordBytes> encode_record(const Record& record);

struct Decoded {
  ObjectKey key;
  std::uint64_t object_size = 0;
  ChecksumKind checksum = kCurrentChecksum;  // of the records' checksums (the format version)
  std::vector<Record> records;               // block_count(object_size) of them
};

// Parses and validates a whole sidecar file. nullopt with `problem` saying what is wrong (one
// short phrase, for a log line) when anything does not hold.
std::optional<Decoded> decode(std::string_view file, std::string& problem);

}  // namespace hfs::cache::sidecar
