#include "cache/block_checksum.h"

#include <xxhash.h>
#include <zlib.h>

#include <new>

namespace hfs::cache {

std::uint32_t block_checksum(ChecksumKind kind, const char* bytes, std::size_t length) {
  if (kind == ChecksumKind::crc32)
    return static_cast<std::uint32_t>(
        crc32(crc32(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(bytes), static_cast<uInt>(length)));
  return static_cast<std::uint32_t>(XXH3_64bits(bytes, length));
}

struct BlockHasher::State {
  uLong crc = 0;
  XXH3_state_t* xxh3 = nullptr;  // XXH3's state must be 64-byte aligned: the library allocates it
};

BlockHasher::BlockHasher(ChecksumKind kind) : kind_(kind), state_(std::make_unique<State>()) {
  if (kind_ == ChecksumKind::xxh3) {
    state_->xxh3 = XXH3_createState();
    if (!state_->xxh3) throw std::bad_alloc();
  }
  reset();
}

BlockHasher::~BlockHasher() {
  if (state_->xxh3) XXH3_freeState(state_->xxh3);
}

void BlockHasher::reset() {
  if (kind_ == ChecksumKind::crc32) state_->crc = crc32(0L, Z_NULL, 0);
  else XXH3_64bits_reset(state_->xxh3);
}

void BlockHasher::update(std::string_view bytes) {
  if (kind_ == ChecksumKind::crc32)
    state_->crc = crc32(state_->crc, reinterpret_cast<const Bytef*>(bytes.data()), static_cast<uInt>(bytes.size()));
  else XXH3_64bits_update(state_->xxh3, bytes.data(), bytes.size());
}

std::uint32_t BlockHasher::value() const {
  if (kind_ == ChecksumKind::crc32) return static_cast<std::uint32_t>(state_->crc);
  return static_cast<std::uint32_t>(XXH3_64bits_digest(state_->xxh3));
}

}  // namespace hfs::cache
