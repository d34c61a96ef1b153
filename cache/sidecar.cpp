#include "cache/sidecar.h"

#include <zlib.h>

namespace hfs::cache::sidecar {
namespace {

void put_le(std::string& out, std::uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

std::uint64_t get_le(std::string_view in, std::size_t at, int bytes) {
  std::uint64_t value = 0;
  for (int i = bytes - 1; i >= 0; --i) value = (value << 8) | static_cast<unsigned char>(in[at + i]);
  return value;
}

std::uint32_t crc_update(std::uint32_t crc, std::string_view bytes) {
  return static_cast<std::uint32_t>(
      crc32(crc, reinterpret_cast<const Bytef*>(bytes.data()), static_cast<uInt>(bytes.size())));
}

// CRC of the fixed fields before the CRC itself, then the URL and validator.
std::uint32_t header_crc(std::string_view fixed_before_crc, std::string_view names) {
  return crc_update(crc_update(static_cast<std::uint32_t>(crc32(0L, Z_NULL, 0)), fixed_before_crc), names);
}

std::uint64_t pad8(std::uint64_t bytes) { return (bytes + 7) / 8 * 8; }

}  // namespace

bool cacheable(const ObjectKey& key, std::uint64_t object_size) {
  return object_size <= kMaxObjectSize && key.url.size() <= kMaxNameBytes && key.validator.size() <= kMaxNameBytes;
}

std::uint64_t block_count(std::uint64_t object_size) {
  return object_size / kBlockSize + (object_size % kBlockSize != 0 ? 1 : 0);
}

std::uint64_t records_offset(const ObjectKey& key) {
  return pad8(kFixedHeaderBytes + key.url.size() + key.validator.size());
}

std::uint64_t record_offset(const ObjectKey& key, std::uint64_t index) {
  return records_offset(key) + index * kRecordBytes;
}

std::uint64_t file_size(const ObjectKey& key, std::uint64_t object_size) {
  return records_offset(key) + block_count(object_size) * kRecordBytes;
}

ChecksumKind checksum_of_version(std::uint32_t version) {
  return version == 1 ? ChecksumKind::crc32 : ChecksumKind::xxh3;
}

std::uint32_t version_of_checksum(ChecksumKind kind) { return kind == ChecksumKind::crc32 ? 1 : 2; }

std::string encode_header(const ObjectKey& key, std::uint64_t object_size, ChecksumKind kind) {
  std::string header;
  header.reserve(records_offset(key));
  header.append(kMagic, sizeof kMagic);
  put_le(header, version_of_checksum(kind), 4);
  put_le(header, kBlockSize, 4);
  put_le(header, object_size, 8);
  put_le(header, key.url.size(), 4);
  put_le(header, key.validator.size(), 4);
  std::string names = key.url + key.validator;
  put_le(header, header_crc(header, names), 4);
  header += names;
  header.resize(records_offset(key), '\0');
  return header;
}

std::array<char, kRecordBytes> encode_record(const Record& record) {
  // No allocation: commits and evictions encode records where nothing may throw.
  std::array<char, kRecordBytes> out{};
  const std::uint32_t fields[2] = {record.present ? 1u : 0u, record.present ? record.crc : 0u};
  for (int field = 0; field < 2; ++field)
    for (int i = 0; i < 4; ++i) out[field * 4 + i] = static_cast<char>((fields[field] >> (8 * i)) & 0xff);
  return out;
}

std::optional<Decoded> decode(std::string_view file, std::string& problem) {
  if (file.size() < kFixedHeaderBytes) {
    problem = "truncated header (" + std::to_string(file.size()) + " bytes)";
    return std::nullopt;
  }
  if (file.substr(0, sizeof kMagic) != std::string_view(kMagic, sizeof kMagic)) {
    problem = "bad magic";
    return std::nullopt;
  }
  const auto version = static_cast<std::uint32_t>(get_le(file, 8, 4));
  if (version != kFormatVersion && version != 1) {
    problem = "format version " + std::to_string(version) + ", expected 1 or " + std::to_string(kFormatVersion);
    return std::nullopt;
  }
  if (auto block_size = get_le(file, 12, 4); block_size != kBlockSize) {
    problem = "block size " + std::to_string(block_size) + ", expected " + std::to_string(kBlockSize);
    return std::nullopt;
  }
  const std::uint64_t object_size = get_le(file, 16, 8);
  const std::uint64_t url_length = get_le(file, 24, 4);
  const std::uint64_t validator_length = get_le(file, 28, 4);
  if (object_size > kMaxObjectSize) {
    problem = "object size " + std::to_string(object_size) + " beyond the cacheable maximum";
    return std::nullopt;
  }
  if (url_length > kMaxNameBytes || validator_length > kMaxNameBytes) {
    problem = "URL or validator length beyond the maximum";
    return std::nullopt;
  }
  const std::uint64_t names_end = kFixedHeaderBytes + url_length + validator_length;
  if (file.size() < names_end) {
    problem = "truncated header (" + std::to_string(file.size()) + " bytes, the names end at " +
              std::to_string(names_end) + ")";
    return std::nullopt;
  }
  const std::string_view names = file.substr(kFixedHeaderBytes, url_length + validator_length);
  if (header_crc(file.substr(0, 32), names) != get_le(file, 32, 4)) {
    problem = "header CRC mismatch";
    return std::nullopt;
  }
  const std::uint64_t first_record = pad8(names_end);
  if (file.size() < first_record) {
    problem = "truncated header padding";
    return std::nullopt;
  }
  for (std::uint64_t i = names_end; i < first_record; ++i) {
    if (file[i] != '\0') {
      problem = "non-zero header padding";
      return std::nullopt;
    }
  }
  const std::uint64_t blocks = block_count(object_size);
  const std::uint64_t record_bytes = file.size() - first_record;
  // Compared by division: blocks * kRecordBytes cannot overflow with the size bound above,
  // but the file size is what was actually read, so it bounds the work done.
  if (record_bytes / kRecordBytes != blocks || record_bytes % kRecordBytes != 0) {
    problem = "records are " + std::to_string(record_bytes) + " bytes, expected " + std::to_string(blocks) + " x " +
              std::to_string(kRecordBytes) +
              (record_bytes < blocks * kRecordBytes ? " (truncated)" : " (trailing bytes)");
    return std::nullopt;
  }

  Decoded decoded;
  decoded.key.url.assign(names.substr(0, url_length));
  decoded.key.validator.assign(names.substr(url_length));
  decoded.object_size = object_size;
  decoded.checksum = checksum_of_version(version);
  decoded.records.resize(blocks);
  for (std::uint64_t i = 0; i < blocks; ++i) {
    const std::size_t at = first_record + i * kRecordBytes;
    const std::uint64_t state = get_le(file, at, 4);
    const auto crc = static_cast<std::uint32_t>(get_le(file, at + 4, 4));
    // An absent record is all zeros: anything else there is damage, not a state.
    if (state > 1 || (state == 0 && crc != 0)) {
      problem = "record " + std::to_string(i) + " is damaged (state " + std::to_string(state) + ")";
      return std::nullopt;
    }
    decoded.records[i] = Record{state == 1, crc};
  }
  return decoded;
}

}  // namespace hfs::cache::sidecar
