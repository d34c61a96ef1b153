// Positions and angles on the sky.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace hfs::vo {

struct SkyPosition {
  double ra_deg = 0;   // ICRS/J2000, degrees
  double dec_deg = 0;  // degrees
};

// Great-circle distance between two positions, degrees (haversine; exact for small angles).
double angular_distance_deg(const SkyPosition& a, const SkyPosition& b);

// "30arcsec", "5arcmin", "0.5deg", "1d", "2'", "10\"" -> degrees. nullopt when malformed,
// negative, not finite, or larger than 180 degrees.
std::optional<double> parse_angle_deg(std::string_view text);

// "182.6357,39.4059" (decimal degrees, optional spaces, RA in [0,360), Dec in [-90,90]).
std::optional<SkyPosition> parse_decimal_position(std::string_view text);

}  // namespace hfs::vo
