// The checksum of one cache block, as its sidecar record keeps it (cache/sidecar.h), and the
// incremental form a download computes while the block's bytes stream in.
//
// Sidecars of format 1 hold CRC-32 (zlib); format 2, written since, the low 32 bits of XXH3-64
// (libxxhash). Why the change: every block is checked on its first read in a mount, so a warm
// re-read after a remount runs at the checksum's speed -- XXH3 is about 4x zlib's CRC-32 on the
// machines we measured. For damage to a block (a torn write, a flipped bit, a stray write)
// both miss with the same odds, 1 in 2^32. Format 1 caches stay readable: each object keeps
// the kind its sidecar was written with.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

namespace hfs::cache {

enum class ChecksumKind : std::uint8_t {
  crc32 = 1,  // sidecar format 1
  xxh3 = 2,   // sidecar format 2: what new objects use
};
inline constexpr ChecksumKind kCurrentChecksum = ChecksumKind::xxh3;

std::uint32_t block_checksum(ChecksumKind kind, const char* bytes, std::size_t length);
inline std::uint32_t block_checksum(ChecksumKind kind, std::string_view bytes) {
  return block_checksum(kind, bytes.data(), bytes.size());
}

// The checksum of bytes fed in pieces: update() with each, value() at the end equals
// block_checksum() of them all. reset() starts over. Not thread-safe.
class BlockHasher {
 public:
  explicit BlockHasher(ChecksumKind kind);
  ~BlockHasher();
  BlockHasher(const BlockHasher&) = delete;
  BlockHasher& operator=(const BlockHasher&) = delete;

  void reset();
  void update(std::string_view bytes);
  std::uint32_t value() const;

 private:
  struct State;
  ChecksumKind kind_;
  std::unique_ptr<State> state_;
};

}  // namespace hfs::cache
