#define BOOST_TEST_MODULE path_grammar
#include <boost/test/unit_test.hpp>

#include "fs/path_grammar.h"

using namespace hfs::fs;
namespace tt = boost::test_tools;

BOOST_AUTO_TEST_CASE(object_names) {
  for (const char* name : {"NGC4151", "NGC 4151", "M 31", "3C 273", "Cyg X-1"}) {
    auto spec = parse_target_segment(name);
    BOOST_TEST_REQUIRE(spec.has_value());
    BOOST_TEST(!spec->is_position);
    BOOST_TEST(spec->object_name == name);
    BOOST_TEST(!spec->radius_deg);
  }
}

BOOST_AUTO_TEST_CASE(positions_and_radii) {
  auto spec = parse_target_segment("182.63573325,39.40585097");
  BOOST_TEST_REQUIRE(spec.has_value());
  BOOST_TEST(spec->is_position);
  BOOST_TEST(spec->position.ra_deg == 182.63573325, tt::tolerance(1e-12));
  BOOST_TEST(spec->position.dec_deg == 39.40585097, tt::tolerance(1e-12));
  auto with_radius = parse_target_segment("NGC 4151@5arcmin");
  BOOST_TEST_REQUIRE(with_radius.has_value());
  BOOST_TEST(with_radius->object_name == "NGC 4151");
  BOOST_TEST(*with_radius->radius_deg == 5.0 / 60, tt::tolerance(1e-12));
  BOOST_TEST(*parse_target_segment("10.68,41.27@30arcsec")->radius_deg == 30.0 / 3600, tt::tolerance(1e-12));
  BOOST_TEST(*parse_target_segment("M31@0.5deg")->radius_deg == 0.5, tt::tolerance(1e-12));
}

BOOST_AUTO_TEST_CASE(not_targets) {
  for (const char* segment : {"", ".", "..", ".Trash", ".hidden", "NGC4151@", "NGC4151@wide", "NGC4151@-1deg",
                              "@1deg", "400,10", "10,95", "1,2,3", "abc,def"})
    BOOST_TEST(!parse_target_segment(segment).has_value(), segment);
}

BOOST_AUTO_TEST_CASE(filters) {
  struct Case {
    const char* segment;
    const char* column;
    CompareOp op;
    const char* value;
  };
  for (const auto& c : {Case{"exposure_a>=50000", "exposure_a", CompareOp::ge, "50000"},
                        Case{"exposure_a<=5e4", "exposure_a", CompareOp::le, "5e4"},
                        Case{"exposure_a>1", "exposure_a", CompareOp::gt, "1"},
                        Case{"exposure_a<1", "exposure_a", CompareOp::lt, "1"},
                        Case{"status=archived", "status", CompareOp::eq, "archived"},
                        Case{"status!=archived", "status", CompareOp::ne, "archived"},
                        Case{"name=NGC 4151", "name", CompareOp::eq, "NGC 4151"},
                        Case{"x==1", "x", CompareOp::eq, "=1"}}) {
    auto spec = parse_filter_segment(c.segment);
    BOOST_TEST_REQUIRE(spec.has_value(), c.segment);
    BOOST_TEST(spec->column == c.column);
    BOOST_TEST((spec->op == c.op));
    BOOST_TEST(spec->value == c.value);
  }
  for (const char* segment : {"60001111003", "exposure_a", "exposure_a>=", ">=5", "1abc>=5", "ex posure>=5",
                              "exposure_a!5", "NGC4151"})
    BOOST_TEST(!parse_filter_segment(segment).has_value(), segment);
}
