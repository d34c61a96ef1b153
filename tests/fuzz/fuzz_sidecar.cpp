// Any bytes as an object store sidecar (cache/sidecar.h): decode() must never crash, read out
// of bounds or allocate beyond the input, and whatever it accepts must encode back to exactly
// the same bytes (so nothing it accepts is read two ways). A second pass builds a sidecar with
// a valid header from the input (fuzzed names, size and record bytes), so the fuzzer gets past
// the header CRC and exercises the record checks too.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "cache/sidecar.h"

namespace {

namespace sidecar = hfs::cache::sidecar;

void check(std::string_view file) {
  std::string problem;
  auto decoded = sidecar::decode(file, problem);
  if (!decoded) {
    if (problem.empty()) __builtin_trap();  // a refusal always says why
    return;
  }
  if (decoded->records.size() != sidecar::block_count(decoded->object_size)) __builtin_trap();
  std::string again = sidecar::encode_header(decoded->key, decoded->object_size);
  for (const auto& record : decoded->records) {
    auto bytes = sidecar::encode_record(record);
    again.append(bytes.data(), bytes.size());
  }
  if (again != file) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  check(input);

  // Structured: [url length][validator length][object size: 3 bytes, 0 to 8 blocks][names][records...]
  if (size < 5) return 0;
  const std::size_t url_length = data[0] % 64, validator_length = data[1] % 16;
  const std::uint64_t object_size =
      (data[2] % 8) * std::uint64_t{hfs::cache::kBlockSize} + (std::uint64_t{data[3]} << 8 | std::uint64_t{data[4]});
  std::string_view rest = input.substr(5);
  if (rest.size() < url_length + validator_length) return 0;
  hfs::cache::ObjectKey key{std::string(rest.substr(0, url_length)),
                            std::string(rest.substr(url_length, validator_length))};
  std::string file = sidecar::encode_header(key, object_size);
  file.append(rest.substr(url_length + validator_length));
  check(file);
  return 0;
}
