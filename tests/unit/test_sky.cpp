#define BOOST_TEST_MODULE sky
#include <boost/test/unit_test.hpp>

#include "vo/sky.h"

using namespace hfs::vo;
namespace tt = boost::test_tools;

BOOST_AUTO_TEST_CASE(haversine_distances) {
  SkyPosition ngc4151{182.63573325, 39.40585097};
  BOOST_TEST(angular_distance_deg(ngc4151, ngc4151) == 0.0);
  BOOST_TEST(angular_distance_deg({0, 0}, {90, 0}) == 90.0, tt::tolerance(1e-12));
  BOOST_TEST(angular_distance_deg({10, -90}, {200, 90}) == 180.0, tt::tolerance(1e-12));
  BOOST_TEST(angular_distance_deg({359.5, 0}, {0.5, 0}) == 1.0, tt::tolerance(1e-9));  // across RA 0
  // One arcsecond in Dec, and one arcsecond of RA at Dec 60 (cos 60 = 1/2), without cancellation.
  BOOST_TEST(angular_distance_deg({10, 20}, {10, 20 + 1.0 / 3600}) == 1.0 / 3600, tt::tolerance(1e-9));
  BOOST_TEST(angular_distance_deg({10, 60}, {10 + 2.0 / 3600, 60}) == 1.0 / 3600, tt::tolerance(1e-6));
  // A chanmaster row vs the NGC 4151 position, ~2.06 arcsec (Vincenty formula, computed apart).
  BOOST_TEST(angular_distance_deg(ngc4151, {182.63625, 39.40544}) == 0.0005729913312, tt::tolerance(1e-9));
}

BOOST_AUTO_TEST_CASE(angles_with_units) {
  BOOST_TEST(*parse_angle_deg("30arcsec") == 30.0 / 3600, tt::tolerance(1e-15));
  BOOST_TEST(*parse_angle_deg("5arcmin") == 5.0 / 60, tt::tolerance(1e-15));
  BOOST_TEST(*parse_angle_deg("0.5deg") == 0.5);
  BOOST_TEST(*parse_angle_deg("1d") == 1.0);
  BOOST_TEST(*parse_angle_deg("2'") == 2.0 / 60, tt::tolerance(1e-15));
  BOOST_TEST(*parse_angle_deg("10\"") == 10.0 / 3600, tt::tolerance(1e-15));
  BOOST_TEST(*parse_angle_deg("1.5") == 1.5);
  BOOST_TEST(*parse_angle_deg("180") == 180.0);
  BOOST_TEST(*parse_angle_deg("0") == 0.0);
  BOOST_TEST(*parse_angle_deg(" 3 arcmin ") == 0.05, tt::tolerance(1e-15));
  BOOST_TEST(*parse_angle_deg("+2deg") == 2.0);
  BOOST_TEST(*parse_angle_deg("1e-3deg") == 0.001);
}

BOOST_AUTO_TEST_CASE(bad_angles) {
  for (const char* text : {"", "abc", "-1deg", "-0.1", "nan", "NaN", "inf", "200deg", "180.0001", "1e999",
                           "1e999arcsec", "5 furlongs", "deg", "1..2", "+-1", "1deg2", "0x10", "10800.1arcmin"}) {
    BOOST_TEST(!parse_angle_deg(text).has_value(), "'" << text << "'");
  }
  BOOST_TEST(*parse_angle_deg("10800arcmin") == 180.0);
}

BOOST_AUTO_TEST_CASE(decimal_positions) {
  auto p = parse_decimal_position("182.63573325,39.40585097");
  BOOST_TEST_REQUIRE(p.has_value());
  BOOST_TEST(p->ra_deg == 182.63573325);
  BOOST_TEST(p->dec_deg == 39.40585097);
  auto spaced = parse_decimal_position(" 0 , -90 ");
  BOOST_TEST_REQUIRE(spaced.has_value());
  BOOST_TEST(spaced->ra_deg == 0.0);
  BOOST_TEST(spaced->dec_deg == -90.0);
  BOOST_TEST(parse_decimal_position("359.999,+90").has_value());
  for (const char* text :
       {"", "182.6", "360,0", "-0.1,0", "10,90.01", "10,-91", "a,b", "1,2,3", "nan,0", "10;20", "1e999,0"}) {
    BOOST_TEST(!parse_decimal_position(text).has_value(), "'" << text << "'");
  }
}
