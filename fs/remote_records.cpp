#include "fs/remote_records.h"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <limits>
#include <stdexcept>

namespace hfs::fs::records {
namespace {

enum Kind : std::uint8_t { kTables = 1, kPosition = 2, kCone = 3, kDirectory = 4, kListing = 5 };
// 2: a field's precision and width (written into .results.vot) are kept.
constexpr std::uint8_t kVersion = 2;

class Writer {
 public:
  Writer(Kind kind) {
    out_.push_back(static_cast<char>(kind));
    out_.push_back(static_cast<char>(kVersion));
  }
  void u8(std::uint8_t value) { out_.push_back(static_cast<char>(value)); }
  void u64(std::uint64_t value) {
    for (int i = 0; i < 8; ++i) out_.push_back(static_cast<char>(value >> (8 * i) & 0xff));
  }
  void i64(std::int64_t value) { u64(static_cast<std::uint64_t>(value)); }
  void f64(double value) { u64(std::bit_cast<std::uint64_t>(value)); }
  void str(std::string_view value) {
    u64(value.size());
    out_.append(value);
  }
  void opt_str(const std::optional<std::string>& value) {
    u8(value ? 1 : 0);
    if (value) str(*value);
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

struct Malformed : std::runtime_error {
  Malformed() : std::runtime_error("malformed record") {}
};

class Reader {
 public:
  Reader(std::string_view bytes, Kind kind) : bytes_(bytes) {
    if (u8() != kind || u8() != kVersion) throw Malformed();
  }
  std::uint8_t u8() {
    need(1);
    return static_cast<std::uint8_t>(bytes_[at_++]);
  }
  std::uint64_t u64() {
    need(8);
    std::uint64_t value = 0;
    for (int i = 7; i >= 0; --i) value = value << 8 | static_cast<unsigned char>(bytes_[at_ + i]);
    at_ += 8;
    return value;
  }
  std::int64_t i64() { return static_cast<std::int64_t>(u64()); }
  double f64() { return std::bit_cast<double>(u64()); }
  bool flag() {
    auto value = u8();
    if (value > 1) throw Malformed();
    return value == 1;
  }
  std::string str() {
    std::uint64_t size = u64();
    need(size);
    std::string value(bytes_.substr(at_, size));
    at_ += size;
    return value;
  }
  std::optional<std::string> opt_str() {
    if (!flag()) return std::nullopt;
    return str();
  }
  // A count of items that each take at least `min_bytes`: bounded by what is left, so a
  // damaged count cannot make a huge allocation.
  std::size_t count(std::size_t min_bytes) {
    std::uint64_t n = u64();
    if (n > (bytes_.size() - at_) / std::max<std::size_t>(min_bytes, 1)) throw Malformed();
    return static_cast<std::size_t>(n);
  }
  void finish() const {
    if (at_ != bytes_.size()) throw Malformed();
  }

 private:
  void need(std::uint64_t n) const {
    if (n > bytes_.size() - at_) throw Malformed();
  }
  std::string_view bytes_;
  std::size_t at_ = 0;
};

template <class Value, class Body>
std::optional<Value> decode(std::string_view bytes, Kind kind, Body&& body) {
  try {
    Reader in(bytes, kind);
    Value value = body(in);
    in.finish();
    return value;
  } catch (const Malformed&) {
    return std::nullopt;
  }
}

void write_field(Writer& out, const vo::VoField& field) {
  for (const auto* text : {&field.name, &field.id, &field.datatype, &field.arraysize, &field.unit, &field.ucd,
                           &field.utype, &field.xtype, &field.precision, &field.width, &field.description})
    out.str(*text);
  out.opt_str(field.null_value);
}
vo::VoField read_field(Reader& in) {
  vo::VoField field;
  for (auto* text : {&field.name, &field.id, &field.datatype, &field.arraysize, &field.unit, &field.ucd, &field.utype,
                     &field.xtype, &field.precision, &field.width, &field.description})
    *text = in.str();
  field.null_value = in.opt_str();
  return field;
}

void write_param(Writer& out, const vo::VoParam& param) {
  for (const auto* text : {&param.name, &param.id, &param.ref, &param.datatype, &param.arraysize, &param.value})
    out.str(*text);
}
vo::VoParam read_param(Reader& in) {
  vo::VoParam param;
  for (auto* text : {&param.name, &param.id, &param.ref, &param.datatype, &param.arraysize, &param.value})
    *text = in.str();
  return param;
}

}  // namespace

std::string encode_tables(const std::vector<vo::TableService>& tables) {
  Writer out(kTables);
  out.u64(tables.size());
  for (const auto& table : tables) {
    out.str(table.name);
    out.str(table.ivoid);
    out.str(table.title);
    out.str(table.cone_url);
  }
  return out.take();
}

std::optional<std::vector<vo::TableService>> decode_tables(std::string_view bytes) {
  return decode<std::vector<vo::TableService>>(bytes, kTables, [](Reader& in) {
    std::vector<vo::TableService> tables(in.count(32));
    for (auto& table : tables) {
      table.name = in.str();
      table.ivoid = in.str();
      table.title = in.str();
      table.cone_url = in.str();
    }
    return tables;
  });
}

std::string encode_position(const std::optional<vo::SkyPosition>& position) {
  Writer out(kPosition);
  out.u8(position ? 1 : 0);
  if (position) {
    out.f64(position->ra_deg);
    out.f64(position->dec_deg);
  }
  return out.take();
}

std::optional<std::optional<vo::SkyPosition>> decode_position(std::string_view bytes) {
  return decode<std::optional<vo::SkyPosition>>(bytes, kPosition, [](Reader& in) -> std::optional<vo::SkyPosition> {
    if (!in.flag()) return std::nullopt;
    vo::SkyPosition position;
    position.ra_deg = in.f64();
    position.dec_deg = in.f64();
    return position;
  });
}

std::string encode_cone(const vo::ConeResult& cone) {
  Writer out(kCone);
  const vo::VoTableData& table = cone.table;
  out.str(table.name);
  out.u64(table.fields.size());
  for (const auto& field : table.fields) write_field(out, field);
  out.u64(table.params.size());
  for (const auto& param : table.params) write_param(out, param);
  out.u64(table.infos.size());
  for (const auto& info : table.infos) {
    out.str(info.name);
    out.str(info.value);
    out.str(info.text);
  }
  out.u64(table.rows.size());
  for (const auto& row : table.rows) {
    out.u64(row.size());
    for (const auto& cell : row) out.opt_str(cell);
  }
  out.u8(cone.datalink ? 1 : 0);
  if (cone.datalink) {
    out.str(cone.datalink->access_url);
    out.u64(cone.datalink->inputs.size());
    for (const auto& input : cone.datalink->inputs) {
      out.str(input.name);
      out.str(input.ref);
      out.str(input.value);
    }
  }
  return out.take();
}

std::optional<vo::ConeResult> decode_cone(std::string_view bytes) {
  return decode<vo::ConeResult>(bytes, kCone, [](Reader& in) {
    vo::ConeResult cone;
    vo::VoTableData& table = cone.table;
    table.name = in.str();
    table.fields.resize(in.count(9 * 8 + 1));
    for (auto& field : table.fields) field = read_field(in);
    table.params.resize(in.count(6 * 8));
    for (auto& param : table.params) param = read_param(in);
    table.infos.resize(in.count(3 * 8));
    for (auto& info : table.infos) {
      info.name = in.str();
      info.value = in.str();
      info.text = in.str();
    }
    table.rows.resize(in.count(8));
    for (auto& row : table.rows) {
      row.resize(in.count(1));
      for (auto& cell : row) cell = in.opt_str();
    }
    if (in.flag()) {
      vo::DataLinkService service;
      service.access_url = in.str();
      service.inputs.resize(in.count(3 * 8));
      for (auto& input : service.inputs) {
        input.name = in.str();
        input.ref = in.str();
        input.value = in.str();
      }
      cone.datalink = std::move(service);
    }
    return cone;
  });
}

std::string encode_directory(const std::optional<std::string>& directory) {
  Writer out(kDirectory);
  out.opt_str(directory);
  return out.take();
}

std::optional<std::optional<std::string>> decode_directory(std::string_view bytes) {
  return decode<std::optional<std::string>>(bytes, kDirectory, [](Reader& in) { return in.opt_str(); });
}

std::string encode_listing(const ArchiveListing& listing) {
  Writer out(kListing);
  out.str(listing.url);
  out.u64(listing.entries.size());
  for (const auto& entry : listing.entries) {
    out.str(entry.name);
    out.u8(entry.is_dir ? 1 : 0);
    out.str(entry.url);
    out.i64(entry.mtime);
    out.u8(entry.object ? 1 : 0);
    if (entry.object) {
      out.str(entry.object->url);
      out.u64(entry.object->size);
      out.i64(entry.object->mtime);
      out.str(entry.object->etag);
      out.i64(entry.object->listed_at);
    }
    out.i64(entry.stat_errno);
    out.str(entry.stat_error);
  }
  return out.take();
}

std::optional<ArchiveListing> decode_listing(std::string_view bytes) {
  return decode<ArchiveListing>(bytes, kListing, [](Reader& in) {
    ArchiveListing listing;
    listing.url = in.str();
    listing.entries.resize(in.count(8 + 1 + 8 + 8 + 1 + 8 + 8));
    for (auto& entry : listing.entries) {
      entry.name = in.str();
      entry.is_dir = in.flag();
      entry.url = in.str();
      entry.mtime = in.i64();
      if (in.flag()) {
        vo::ObjectInfo info;
        info.url = in.str();
        info.size = in.u64();
        info.mtime = in.i64();
        info.etag = in.str();
        info.listed_at = in.i64();
        entry.object = std::move(info);
      }
      const std::int64_t stat_errno = in.i64();
      if (stat_errno < std::numeric_limits<int>::min() || stat_errno > std::numeric_limits<int>::max())
        throw Malformed();
      entry.stat_errno = static_cast<int>(stat_errno);
      entry.stat_error = in.str();
    }
    return listing;
  });
}

}  // namespace hfs::fs::records
