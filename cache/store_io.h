// Small helpers of the object store for whole-range file I/O, hole punching and block
// geometry.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>

#include "cache/object_store.h"

namespace hfs::cache::store_io {

// The block size under the short name the store's files use.
inline constexpr std::uint64_t kBlock = kBlockSize;
// What a block costs on disk as accounted: whole file-system blocks.
inline constexpr std::uint64_t kAllocationUnit = 4096;

inline std::uint64_t round_up(std::uint64_t bytes) {
  return (bytes + kAllocationUnit - 1) / kAllocationUnit * kAllocationUnit;
}

inline std::uint64_t block_length(std::uint64_t object_size, std::uint64_t index) {
  const std::uint64_t start = index * kBlock;
  if (start >= object_size) return 0;
  return object_size - start < kBlock ? object_size - start : kBlock;
}

// Writes all bytes at offset: 0 or the errno.
inline int pwrite_all(int fd, const char* bytes, std::size_t length, std::uint64_t offset) {
  while (length > 0) {
    ssize_t n = ::pwrite(fd, bytes, length, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    if (n == 0) return EIO;
    bytes += n;
    length -= static_cast<std::size_t>(n);
    offset += static_cast<std::uint64_t>(n);
  }
  return 0;
}

// Reads exactly `length` bytes at offset: 0, the errno, or -1 when the file ends first.
inline int pread_all(int fd, char* bytes, std::size_t length, std::uint64_t offset) {
  while (length > 0) {
    ssize_t n = ::pread(fd, bytes, length, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    if (n == 0) return -1;
    bytes += n;
    length -= static_cast<std::size_t>(n);
    offset += static_cast<std::uint64_t>(n);
  }
  return 0;
}

// Frees the file-system blocks of [offset, offset + length) (the length rounded up to whole
// file-system blocks, so the tail of a last block goes too). 0 or the errno.
inline int punch_hole(int fd, std::uint64_t offset, std::uint64_t length) {
  if (::fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(offset),
                  static_cast<off_t>(round_up(length))) != 0)
    return errno;
  return 0;
}

}  // namespace hfs::cache::store_io
