// Any bytes as a path segment below a table: a target ("NGC 4151", "182.6,39.4@5arcmin") or a
// filter ("exposure_a>=50000"). Parsing must never crash, and what it accepts must hold:
// coordinates in range, a positive radius, a filter with a column, an operator and a value
// that together spell the segment again.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fs/path_grammar.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view segment(reinterpret_cast<const char*>(data), size);
  if (auto target = hfs::fs::parse_target_segment(segment)) {
    if (target->segment != segment) __builtin_trap();
    if (segment.empty() || segment.front() == '.') __builtin_trap();  // ".", "..", hidden names
    if (target->is_position) {
      const auto& p = target->position;
      if (!(p.ra_deg >= 0 && p.ra_deg < 360 && std::abs(p.dec_deg) <= 90)) __builtin_trap();
    } else if (target->object_name.empty()) {
      __builtin_trap();
    }
    if (target->radius_deg && !(*target->radius_deg > 0 && *target->radius_deg <= 180)) __builtin_trap();
  }
  if (auto filter = hfs::fs::parse_filter_segment(segment)) {
    if (filter->column.empty() || filter->value.empty()) __builtin_trap();
    std::string again = filter->column + std::string(hfs::fs::to_string(filter->op)) + filter->value;
    if (again != segment) __builtin_trap();
  }
  return 0;
}
