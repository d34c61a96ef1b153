// Any bytes as a Sesame answer, an object name, a radius and a position.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "vo/sesame.h"
#include "vo/sky.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  if (auto position = hfs::vo::parse_sesame(input)) {
    if (!(position->ra_deg >= 0 && position->ra_deg < 360 && std::abs(position->dec_deg) <= 90)) __builtin_trap();
  }
  std::string url = hfs::vo::sesame_url("https://cds.unistra.fr/cgi-bin/nph-sesame/", input);
  if (url.find_first_of(" \r\n#", 0) != std::string::npos) __builtin_trap();  // the name is escaped
  if (auto radius = hfs::vo::parse_angle_deg(input)) {
    if (!(*radius >= 0 && *radius <= 180)) __builtin_trap();
  }
  if (auto position = hfs::vo::parse_decimal_position(input)) {
    (void)hfs::vo::angular_distance_deg(*position, {182.63573325, 39.40585097});
  }
  return 0;
}
