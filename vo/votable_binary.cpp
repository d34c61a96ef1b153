// VOTable BINARY and BINARY2 streams (VOTable 1.4 section 5.4, 5.5): every row is its cells in
// FIELD order, big-endian, variable-length arrays prefixed by a 4-byte element count; BINARY2
// rows start with a null bitmap (one bit per FIELD, most significant bit first).
#include "vo/votable_binary.h"
#include "common/text.h"

#include <array>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "common/error.h"

namespace hfs::vo::detail {
namespace {

enum class Kind { boolean, bit, u8, i16, i32, i64, f32, f64, c32, c64, chr, uchr };

// How one FIELD is laid out in the stream.
struct Codec {
  Kind kind = Kind::chr;
  std::size_t element_size = 1;   // bytes per element (bit: 0, the count is in bits)
  bool variable = false;          // preceded by a 4-byte count
  std::uint64_t fixed_count = 1;  // elements when not variable
  bool scalar = true;             // no arraysize at all
  std::optional<std::int64_t> integer_null;
  const VoField* field = nullptr;
};

// Arrays larger than this cannot be in any document we accept; it keeps the products of
// multi-dimensional arraysizes far from overflow.
constexpr std::uint64_t kMaxElements = std::uint64_t{1} << 40;

[[noreturn]] void fail(const std::string& message) { throw Error(EPROTO, "VOTable: " + message); }

using text::trim;

std::optional<std::uint64_t> parse_count(std::string_view text) {
  std::uint64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value == 0 || value > kMaxElements) {
    return std::nullopt;
  }
  return value;
}

// "" scalar, "*" / "10*" variable, "10" fixed, "3x2" fixed 6, "3x*" / "3x2*" variable.
void parse_arraysize(const VoField& field, Codec& codec) {
  std::string_view text = trim(field.arraysize);
  if (text.empty()) return;
  codec.scalar = false;
  std::uint64_t product = 1;
  std::size_t start = 0;
  while (true) {
    auto x = text.find('x', start);
    std::string_view dim = text.substr(start, x == std::string_view::npos ? std::string_view::npos : x - start);
    bool last = x == std::string_view::npos;
    if (last && !dim.empty() && dim.back() == '*') {
      codec.variable = true;
      dim.remove_suffix(1);
      if (dim.empty()) break;  // "*": no bound
    }
    auto count = parse_count(dim);
    if (!count || product > kMaxElements / *count) {
      fail("bad arraysize '" + field.arraysize + "' of FIELD '" + field.name + "'");
    }
    product *= *count;
    if (last) break;
    start = x + 1;
  }
  codec.fixed_count = product;
}

Codec make_codec(const VoField& field) {
  static const struct {
    const char* name;
    Kind kind;
    std::size_t size;
  } kTypes[] = {{"boolean", Kind::boolean, 1},    {"bit", Kind::bit, 0},    {"unsignedByte", Kind::u8, 1},
                {"short", Kind::i16, 2},          {"int", Kind::i32, 4},    {"long", Kind::i64, 8},
                {"float", Kind::f32, 4},          {"double", Kind::f64, 8}, {"floatComplex", Kind::c32, 8},
                {"doubleComplex", Kind::c64, 16}, {"char", Kind::chr, 1},   {"unicodeChar", Kind::uchr, 2}};
  Codec codec;
  codec.field = &field;
  bool known = false;
  for (const auto& type : kTypes) {
    if (field.datatype == type.name) {
      codec.kind = type.kind;
      codec.element_size = type.size;
      known = true;
    }
  }
  if (!known) fail("unknown datatype '" + field.datatype + "' of FIELD '" + field.name + "'");
  parse_arraysize(field, codec);
  bool integral =
      codec.kind == Kind::u8 || codec.kind == Kind::i16 || codec.kind == Kind::i32 || codec.kind == Kind::i64;
  if (integral && field.null_value) {
    std::string_view text = trim(*field.null_value);
    std::int64_t value = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error == std::errc() && end == text.data() + text.size()) codec.integer_null = value;
  }
  return codec;
}

// Bounds-checked reads from the decoded stream.
class Reader {
 public:
  explicit Reader(const std::vector<unsigned char>& bytes) : bytes_(bytes) {}
  std::size_t position() const { return position_; }
  bool at_end() const { return position_ == bytes_.size(); }
  bool has(std::uint64_t count) const { return bytes_.size() - position_ >= count; }
  const unsigned char* take(std::size_t count) {
    const unsigned char* start = bytes_.data() + position_;
    position_ += count;
    return start;
  }

 private:
  const std::vector<unsigned char>& bytes_;
  std::size_t position_ = 0;
};

std::uint64_t big_endian(const unsigned char* bytes, std::size_t size) {
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < size; ++i) value = (value << 8) | bytes[i];
  return value;
}

std::int64_t signed_value(const unsigned char* bytes, std::size_t size) {
  std::uint64_t raw = big_endian(bytes, size);
  if (size < 8 && (raw >> (size * 8 - 1)) != 0) raw |= ~std::uint64_t{0} << (size * 8);  // sign-extend
  return static_cast<std::int64_t>(raw);
}

float read_float(const unsigned char* bytes) {
  return std::bit_cast<float>(static_cast<std::uint32_t>(big_endian(bytes, 4)));
}
double read_double(const unsigned char* bytes) { return std::bit_cast<double>(big_endian(bytes, 8)); }

void append_utf8(std::string& out, std::uint32_t code) {
  if (code < 0x80) {
    out += static_cast<char>(code);
  } else if (code < 0x800) {
    out += static_cast<char>(0xC0 | (code >> 6));
    out += static_cast<char>(0x80 | (code & 0x3F));
  } else if (code < 0x10000) {
    out += static_cast<char>(0xE0 | (code >> 12));
    out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (code >> 18));
    out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code & 0x3F));
  }
}

// UCS-2 (and UTF-16 surrogate pairs, which newer writers emit) big-endian to UTF-8; a lone
// surrogate becomes U+FFFD. Stops at the first U+0000, like a C string.
std::string utf16be_to_utf8(const unsigned char* bytes, std::uint64_t units) {
  std::string out;
  for (std::uint64_t i = 0; i < units; ++i) {
    std::uint32_t unit = (std::uint32_t{bytes[2 * i]} << 8) | bytes[2 * i + 1];
    if (unit == 0) break;
    if (unit >= 0xD800 && unit < 0xDC00 && i + 1 < units) {
      std::uint32_t low = (std::uint32_t{bytes[2 * i + 2]} << 8) | bytes[2 * i + 3];
      if (low >= 0xDC00 && low < 0xE000) {
        append_utf8(out, 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00));
        ++i;
        continue;
      }
    }
    append_utf8(out, unit >= 0xD800 && unit < 0xE000 ? 0xFFFD : unit);
  }
  return out;
}

std::string integer_text(std::int64_t value) {
  char buffer[24];
  auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, result.ptr);
}

// One cell whose `count` elements start at bytes; count is in bits for Kind::bit.
VoCell format_cell(const Codec& codec, const unsigned char* bytes, std::uint64_t count) {
  const VoField& field = *codec.field;
  if (codec.kind == Kind::chr || codec.kind == Kind::uchr) {
    std::string text = codec.kind == Kind::chr
                           ? std::string(reinterpret_cast<const char*>(bytes), static_cast<std::size_t>(count))
                           : utf16be_to_utf8(bytes, count);
    if (auto nul = text.find('\0'); nul != std::string::npos) text.resize(nul);
    // A fixed-length string is padded to its size (NULs or spaces); the padding is not data.
    if (!codec.variable) text.erase(text.find_last_not_of(' ') + 1);
    if (field.null_value && text == *field.null_value) return std::nullopt;
    return text;
  }
  std::string out;
  bool scalar_null = false;
  for (std::uint64_t i = 0; i < count; ++i) {
    if (i > 0) out += ' ';
    switch (codec.kind) {
      case Kind::boolean: {
        const char c = static_cast<char>(bytes[i]);
        const auto value = text::boolean_token(std::string_view(&c, 1));
        out += value.value_or('?');
        scalar_null = !value;
        break;
      }
      case Kind::bit: out += (bytes[i / 8] >> (7 - i % 8)) & 1 ? '1' : '0'; break;
      case Kind::u8:
      case Kind::i16:
      case Kind::i32:
      case Kind::i64: {
        std::int64_t value =
            codec.kind == Kind::u8 ? bytes[i] : signed_value(bytes + i * codec.element_size, codec.element_size);
        scalar_null = codec.integer_null && value == *codec.integer_null;
        out += integer_text(value);
        break;
      }
      case Kind::f32: {
        float value = read_float(bytes + 4 * i);
        scalar_null = std::isnan(value);
        out += format_real(value);
        break;
      }
      case Kind::f64: {
        double value = read_double(bytes + 8 * i);
        scalar_null = std::isnan(value);
        out += format_real(value);
        break;
      }
      case Kind::c32: {
        float re = read_float(bytes + 8 * i), im = read_float(bytes + 8 * i + 4);
        scalar_null = std::isnan(re) || std::isnan(im);
        out += format_real(re) + ' ' + format_real(im);
        break;
      }
      case Kind::c64: {
        double re = read_double(bytes + 16 * i), im = read_double(bytes + 16 * i + 8);
        scalar_null = std::isnan(re) || std::isnan(im);
        out += format_real(re) + ' ' + format_real(im);
        break;
      }
      case Kind::chr:
      case Kind::uchr: break;  // handled above
    }
  }
  if (codec.scalar && scalar_null) return std::nullopt;
  return out;
}

std::string where(const Reader& reader, std::size_t row, const VoField& field) {
  return "at byte " + std::to_string(reader.position()) + " of the BINARY stream (row " + std::to_string(row + 1) +
         ", FIELD '" + field.name + "')";
}

VoCell read_cell(const Codec& codec, Reader& reader, std::size_t row) {
  std::uint64_t count = codec.fixed_count;
  if (codec.variable) {
    if (!reader.has(4)) fail("stream ends inside an array length " + where(reader, row, *codec.field));
    count = big_endian(reader.take(4), 4);
  }
  // Checked against what is left before anything is allocated: a declared 2^31 elements with a
  // short stream is an error, not a 2 GB allocation.
  std::uint64_t size = codec.kind == Kind::bit ? (count + 7) / 8 : count * codec.element_size;
  if (!reader.has(size)) fail("stream ends inside a value " + where(reader, row, *codec.field));
  return format_cell(codec, reader.take(static_cast<std::size_t>(size)), count);
}

// Sextet of each base64 character; -1 for the others, -2 for the whitespace allowed between them.
constexpr std::array<signed char, 256> kBase64 = [] {
  std::array<signed char, 256> table{};
  table.fill(-1);
  const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (int i = 0; i < 64; ++i) table[static_cast<unsigned char>(alphabet[i])] = static_cast<signed char>(i);
  for (char space : {' ', '\n', '\r', '\t'}) table[static_cast<unsigned char>(space)] = -2;
  return table;
}();

template <class Real>
std::string format_real_impl(Real value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buffer[64];
  auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, result.ptr);
}

}  // namespace

std::string format_real(double value) { return format_real_impl(value); }
std::string format_real(float value) { return format_real_impl(value); }

std::vector<unsigned char> decode_base64(std::string_view text) {
  std::vector<unsigned char> out;
  out.reserve(text.size() / 4 * 3 + 3);
  std::uint32_t bits = 0;
  int pending = 0;  // sextets in `bits`
  bool padding = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const int value = kBase64[static_cast<unsigned char>(c)];
    if (value == -2) continue;
    if (c == '=') {
      padding = true;
      continue;
    }
    if (value < 0 || padding) {
      const char* hex = "0123456789abcdef";
      std::string shown = value < 0 ? std::string("character 0x") + hex[(c >> 4) & 0xF] + hex[c & 0xF]
                                    : std::string("data after '=' padding");
      fail("bad base64 (" + shown + ") at offset " + std::to_string(i) + " of STREAM");
    }
    bits = (bits << 6) | static_cast<std::uint32_t>(value);
    if (++pending == 4) {
      out.push_back(static_cast<unsigned char>(bits >> 16));
      out.push_back(static_cast<unsigned char>(bits >> 8));
      out.push_back(static_cast<unsigned char>(bits));
      bits = 0;
      pending = 0;
    }
  }
  if (pending == 1) fail("bad base64 (a lone final character) at the end of STREAM");
  if (pending == 2) out.push_back(static_cast<unsigned char>(bits >> 4));
  if (pending == 3) {
    out.push_back(static_cast<unsigned char>(bits >> 10));
    out.push_back(static_cast<unsigned char>(bits >> 2));
  }
  return out;
}

void decode_binary_rows(const std::vector<unsigned char>& stream, bool binary2, const std::vector<VoField>& fields,
                        std::vector<VoRow>& rows, std::size_t& cell_budget) {
  if (fields.empty()) fail("BINARY data in a TABLE without FIELDs");
  std::vector<Codec> codecs;
  codecs.reserve(fields.size());
  for (const auto& field : fields) codecs.push_back(make_codec(field));
  const std::size_t bitmap_size = binary2 ? (fields.size() + 7) / 8 : 0;

  Reader reader(stream);
  while (!reader.at_end()) {
    const std::size_t row_index = rows.size();
    const std::size_t row_start = reader.position();
    if (cell_budget < fields.size())
      fail("table larger than its document allows at row " + std::to_string(row_index + 1));
    cell_budget -= fields.size();
    if (!reader.has(bitmap_size)) fail("stream ends inside a null bitmap " + where(reader, row_index, fields[0]));
    const unsigned char* bitmap = reader.take(bitmap_size);
    VoRow row;
    row.reserve(fields.size());
    for (std::size_t i = 0; i < codecs.size(); ++i) {
      VoCell cell = read_cell(codecs[i], reader, row_index);
      if (binary2 && (bitmap[i / 8] >> (7 - i % 8)) & 1) cell.reset();
      row.push_back(std::move(cell));
    }
    // Rows of zero bytes (only empty fixed arrays) would never reach the end of the stream.
    if (reader.position() == row_start) fail("rows of zero bytes in a BINARY stream");
    rows.push_back(std::move(row));
  }
}

}  // namespace hfs::vo::detail
