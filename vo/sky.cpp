#include "vo/sky.h"
#include "common/text.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <numbers>

namespace hfs::vo {
namespace {

constexpr double kRadPerDeg = std::numbers::pi / 180.0;

using text::trim;

// A finite decimal number at the start of text; `used` is how many characters it took.
// std::from_chars refuses a leading '+', so it is skipped by hand; it accepts "nan"/"inf",
// which are refused here.
std::optional<double> leading_number(std::string_view text, std::size_t& used) {
  std::size_t start = (!text.empty() && text[0] == '+') ? 1 : 0;
  if (start == 1 && text.size() > 1 && text[1] == '-') return std::nullopt;  // "+-5"
  double value = 0;
  auto [end, error] = std::from_chars(text.data() + start, text.data() + text.size(), value);
  if (error != std::errc() || !std::isfinite(value)) return std::nullopt;
  used = static_cast<std::size_t>(end - text.data());
  return value;
}

std::optional<double> whole_number(std::string_view text) {
  text = trim(text);
  std::size_t used = 0;
  auto value = leading_number(text, used);
  if (!value || used != text.size()) return std::nullopt;
  return value;
}

// Degrees per unit of the suffixes people write after a radius.
std::optional<double> unit_scale(std::string_view unit) {
  if (unit.empty() || unit == "d" || unit == "deg" || unit == "degree" || unit == "degrees") return 1.0;
  if (unit == "arcmin" || unit == "amin" || unit == "'") return 1.0 / 60.0;
  if (unit == "arcsec" || unit == "asec" || unit == "\"") return 1.0 / 3600.0;
  return std::nullopt;
}

}  // namespace

double angular_distance_deg(const SkyPosition& a, const SkyPosition& b) {
  double dec1 = a.dec_deg * kRadPerDeg;
  double dec2 = b.dec_deg * kRadPerDeg;
  double half_ddec = (dec2 - dec1) / 2;
  double half_dra = (b.ra_deg - a.ra_deg) * kRadPerDeg / 2;
  double h = std::sin(half_ddec) * std::sin(half_ddec) +
             std::cos(dec1) * std::cos(dec2) * std::sin(half_dra) * std::sin(half_dra);
  h = std::clamp(h, 0.0, 1.0);  // rounding can push it a hair outside asin's domain
  return 2 * std::asin(std::sqrt(h)) / kRadPerDeg;
}

std::optional<double> parse_angle_deg(std::string_view text) {
  text = trim(text);
  std::size_t used = 0;
  auto number = leading_number(text, used);
  if (!number) return std::nullopt;
  auto scale = unit_scale(trim(text.substr(used)));
  if (!scale) return std::nullopt;
  double degrees = *number * *scale;
  if (!(degrees >= 0) || degrees > 180) return std::nullopt;
  if (degrees == 0) return 0.0;  // "-0" is zero, not negative
  return degrees;
}

std::optional<SkyPosition> parse_decimal_position(std::string_view text) {
  auto comma = text.find(',');
  if (comma == std::string_view::npos) return std::nullopt;
  auto ra = whole_number(text.substr(0, comma));
  auto dec = whole_number(text.substr(comma + 1));
  if (!ra || !dec) return std::nullopt;
  if (*ra < 0 || *ra >= 360 || *dec < -90 || *dec > 90) return std::nullopt;
  return SkyPosition{*ra + 0.0, *dec + 0.0};  // + 0.0 turns -0 into 0
}

}  // namespace hfs::vo
