// Any bytes as a stored remote answer (fs/remote_records.h), what a damaged or hostile cache
// directory's meta/ can hold once past the store's CRC: every decoder must never crash, read
// out of bounds or allocate beyond the input, and whatever it accepts must encode back to
// exactly the same bytes (nothing it accepts is read two ways).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fs/remote_records.h"

namespace {

namespace records = hfs::fs::records;

template <class Decoded, class Encode>
void round_trip(const Decoded& decoded, std::string_view input, Encode encode) {
  if (decoded && encode(*decoded) != input) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  round_trip(records::decode_tables(input), input, [](const auto& v) { return records::encode_tables(v); });
  round_trip(records::decode_position(input), input, [](const auto& v) { return records::encode_position(v); });
  round_trip(records::decode_cone(input), input, [](const auto& v) { return records::encode_cone(v); });
  round_trip(records::decode_directory(input), input, [](const auto& v) { return records::encode_directory(v); });
  round_trip(records::decode_listing(input), input, [](const auto& v) { return records::encode_listing(v); });
  return 0;
}
