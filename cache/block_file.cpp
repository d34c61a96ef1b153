#include "cache/block_file.h"

#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>

namespace hfs::cache {
namespace {

constexpr char kMagic[8] = {'H', 'F', 'S', 'B', 'L', 'K', '1', '\0'};

void put_le(std::string& out, std::uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

std::uint64_t get_le(const unsigned char* in, int bytes) {
  std::uint64_t value = 0;
  for (int i = bytes - 1; i >= 0; --i) value = (value << 8) | in[i];
  return value;
}

std::uint32_t crc_of(std::string_view payload) {
  return static_cast<std::uint32_t>(
      crc32(crc32(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(payload.data()), static_cast<uInt>(payload.size())));
}

// Reads exactly `length` bytes at `offset`; returns 0, or errno, or -1 when the file is shorter.
int read_exact(int fd, char* buffer, std::size_t length, off_t offset) {
  while (length > 0) {
    ssize_t n = ::pread(fd, buffer, length, offset);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (n == 0) return -1;
    buffer += n;
    length -= static_cast<std::size_t>(n);
    offset += n;
  }
  return 0;
}

BlockReadResult corrupt(std::string problem) {
  BlockReadResult result;
  result.corrupt = true;
  result.problem = std::move(problem);
  return result;
}

BlockReadResult io_error(int errnum, const std::string& what) {
  BlockReadResult result;
  result.problem = what + ": " + std::strerror(errnum);
  return result;
}

}  // namespace

std::uint64_t object_hash(const ObjectKey& key) {
  std::uint64_t hash = 0xcbf29ce484222325ull;
  auto mix = [&hash](std::string_view bytes) {
    for (unsigned char c : bytes) {
      hash ^= c;
      hash *= 0x100000001b3ull;
    }
  };
  mix(key.url);
  mix("\n");
  mix(key.validator);
  return hash;
}

BlockId block_id(const ObjectKey& key, std::uint64_t index) { return BlockId{object_hash(key), index}; }

std::filesystem::path block_relative_path(const BlockId& id) {
  char hash[17];
  std::snprintf(hash, sizeof hash, "%016llx", static_cast<unsigned long long>(id.object_hash));
  return std::filesystem::path(std::string(hash, 2)) / (std::string(hash) + "-" + std::to_string(id.index));
}

std::optional<BlockId> parse_block_file_name(std::string_view name) {
  if (name.size() < 18 || name[16] != '-') return std::nullopt;
  BlockId id;
  for (int i = 0; i < 16; ++i) {
    char c = name[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return std::nullopt;
  }
  auto hash_end = name.data() + 16;
  if (std::from_chars(name.data(), hash_end, id.object_hash, 16).ptr != hash_end) return std::nullopt;
  auto index_begin = name.data() + 17, index_end = name.data() + name.size();
  if (*index_begin < '0' || *index_begin > '9') return std::nullopt;
  if (std::from_chars(index_begin, index_end, id.index).ptr != index_end) return std::nullopt;
  return id;
}

std::string encode_block_header(const ObjectKey& key, std::uint64_t index, std::string_view payload) {
  std::string header;
  header.reserve(kBlockHeaderFixedBytes + key.url.size() + key.validator.size());
  header.append(kMagic, sizeof kMagic);
  put_le(header, kBlockFormatVersion, 4);
  put_le(header, key.url.size(), 4);
  put_le(header, key.validator.size(), 4);
  put_le(header, index, 8);
  put_le(header, payload.size(), 8);
  put_le(header, crc_of(payload), 4);
  header += key.url;
  header += key.validator;
  return header;
}

std::uint64_t round_up_to_allocation_unit(std::uint64_t bytes) {
  return (bytes + kDiskAllocationUnit - 1) / kDiskAllocationUnit * kDiskAllocationUnit;
}

int write_block(int fd, std::string_view header, std::string_view payload) {
  iovec parts[2] = {{const_cast<char*>(header.data()), header.size()},
                    {const_cast<char*>(payload.data()), payload.size()}};
  iovec* next = parts;
  int remaining = 2;
  while (remaining > 0) {
    ssize_t n = ::writev(fd, next, remaining);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (n == 0) return EIO;
    auto written = static_cast<std::size_t>(n);
    while (remaining > 0 && written >= next->iov_len) {
      written -= next->iov_len;
      ++next;
      --remaining;
    }
    if (remaining > 0) {
      next->iov_base = static_cast<char*>(next->iov_base) + written;
      next->iov_len -= written;
    }
  }
  return 0;
}

BlockReadResult read_block(int fd, const ObjectKey& key, std::uint64_t index) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return io_error(errno, "fstat");
  const auto file_size = static_cast<std::uint64_t>(st.st_size);
  if (file_size < kBlockHeaderFixedBytes)
    return corrupt("file is " + std::to_string(file_size) + " bytes, shorter than a block header");

  unsigned char fixed[kBlockHeaderFixedBytes];
  if (int err = read_exact(fd, reinterpret_cast<char*>(fixed), sizeof fixed, 0); err != 0)
    return err < 0 ? corrupt("truncated header") : io_error(err, "reading the header");
  if (std::memcmp(fixed, kMagic, sizeof kMagic) != 0) return corrupt("bad magic");
  if (auto version = get_le(fixed + 8, 4); version != kBlockFormatVersion)
    return corrupt("format version " + std::to_string(version) + ", expected " + std::to_string(kBlockFormatVersion));
  const auto url_length = get_le(fixed + 12, 4);
  const auto validator_length = get_le(fixed + 16, 4);
  const auto stored_index = get_le(fixed + 20, 8);
  const auto payload_length = get_le(fixed + 28, 8);
  const auto stored_crc = static_cast<std::uint32_t>(get_le(fixed + 36, 4));

  // Lengths first: they say whether this block can be ours before anything else is read.
  if (url_length != key.url.size()) return corrupt("url differs (length " + std::to_string(url_length) + ")");
  if (validator_length != key.validator.size()) return corrupt("validator differs");
  if (stored_index != index)
    return corrupt("block index " + std::to_string(stored_index) + ", expected " + std::to_string(index));
  if (payload_length > kBlockSize) return corrupt("payload length " + std::to_string(payload_length) + " too large");
  const std::uint64_t header_size = kBlockHeaderFixedBytes + url_length + validator_length;
  if (file_size != header_size + payload_length)
    return corrupt("file is " + std::to_string(file_size) + " bytes, header says " +
                   std::to_string(header_size + payload_length) + (file_size < header_size + payload_length
                                                                        ? " (truncated)"
                                                                        : " (trailing bytes)"));

  std::string names(url_length + validator_length, '\0');
  if (int err = read_exact(fd, names.data(), names.size(), kBlockHeaderFixedBytes); err != 0)
    return err < 0 ? corrupt("truncated header") : io_error(err, "reading the header");
  if (std::string_view(names).substr(0, url_length) != key.url) return corrupt("url differs");
  if (std::string_view(names).substr(url_length) != key.validator) return corrupt("validator differs");

  BlockReadResult result;
  result.payload.resize(payload_length);
  if (int err = read_exact(fd, result.payload.data(), payload_length, static_cast<off_t>(header_size)); err != 0)
    return err < 0 ? corrupt("truncated payload") : io_error(err, "reading the payload");
  if (auto crc = crc_of(result.payload); crc != stored_crc) {
    char message[64];
    std::snprintf(message, sizeof message, "payload CRC %08x, header says %08x", crc, stored_crc);
    return corrupt(message);
  }
  result.ok = true;
  return result;
}

}  // namespace hfs::cache
