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
  for (const char* segment : {"", ".", "..", ".Trash", ".hidden", "NGC4151@", "NGC4151@wide", "NGC4151@-1deg", "@1deg",
                              "400,10", "10,95", "1,2,3", "abc,def"})
    BOOST_TEST(!parse_target_segment(segment).has_value(), segment);
}

BOOST_AUTO_TEST_CASE(filters) {
  struct Case {
    const char* segment;
    const char* column;
    CompareOp op;
    const char* value;
  };
  for (const auto& c :
       {Case{"exposure_a>=50000", "exposure_a", CompareOp::ge, "50000"},
        Case{"exposure_a<=5e4", "exposure_a", CompareOp::le, "5e4"},
        Case{"exposure_a>1", "exposure_a", CompareOp::gt, "1"}, Case{"exposure_a<1", "exposure_a", CompareOp::lt, "1"},
        Case{"status=archived", "status", CompareOp::eq, "archived"},
        Case{"status!=archived", "status", CompareOp::ne, "archived"},
        Case{"name=NGC 4151", "name", CompareOp::eq, "NGC 4151"}, Case{"x==1", "x", CompareOp::eq, "=1"}}) {
    auto spec = parse_filter_segment(c.segment);
    BOOST_TEST_REQUIRE(spec.has_value(), c.segment);
    BOOST_TEST(spec->column == c.column);
    BOOST_TEST((spec->op == c.op));
    BOOST_TEST(spec->value == c.value);
  }
  for (const char* segment :
       {"60001111003", "exposure_a", "exposure_a>=", ">=5", "1abc>=5", "ex posure>=5", "exposure_a!5", "NGC4151"})
    BOOST_TEST(!parse_filter_segment(segment).has_value(), segment);
}

BOOST_AUTO_TEST_CASE(position_forms) {
  struct Case {
    const char* segment;
    double ra, dec;
  };
  for (const auto& c : {Case{"201.3651,-43.0191", 201.3651, -43.0191}, Case{"201.3651, -43.0191", 201.3651, -43.0191},
                        Case{"182.6357,+39.4059", 182.6357, 39.4059}, Case{"0,-90", 0, -90},
                        Case{"359.999,90", 359.999, 90}, Case{"10,-0", 10, 0}}) {
    auto spec = parse_target_segment(c.segment);
    BOOST_TEST_REQUIRE(spec.has_value(), c.segment);
    BOOST_TEST(spec->is_position, c.segment);
    BOOST_TEST(spec->position.ra_deg == c.ra, tt::tolerance(1e-12));
    BOOST_TEST(spec->position.dec_deg == c.dec, tt::tolerance(1e-12));
    BOOST_TEST(!spec->radius_deg);
  }
  auto south = parse_target_segment("201.3651,-43.0191@2'");
  BOOST_TEST_REQUIRE(south.has_value());
  BOOST_TEST(south->position.dec_deg == -43.0191, tt::tolerance(1e-12));
  BOOST_TEST(*south->radius_deg == 2.0 / 60, tt::tolerance(1e-12));
  for (const char* segment : {"10,-90.5", "360,0", "-1,0", "10,", ",10", "10,-", "10 20"}) {
    auto spec = parse_target_segment(segment);
    BOOST_TEST((!spec || !spec->is_position), segment);
  }
}

BOOST_AUTO_TEST_CASE(radius_forms) {
  BOOST_TEST(*parse_target_segment("M31@10\"")->radius_deg == 10.0 / 3600, tt::tolerance(1e-12));
  BOOST_TEST(*parse_target_segment("M31@2'")->radius_deg == 2.0 / 60, tt::tolerance(1e-12));
  BOOST_TEST(*parse_target_segment("M31@0.25")->radius_deg == 0.25, tt::tolerance(1e-12));
  BOOST_TEST(*parse_target_segment("M 31@ 5 arcmin")->radius_deg == 5.0 / 60, tt::tolerance(1e-12));
  BOOST_TEST(parse_target_segment("M 31@ 5 arcmin")->object_name == "M 31");
  for (const char* segment : {"M31@0", "M31@0deg", "M31@181deg", "M31@nan", "M31@inf", "M31@1e999"})
    BOOST_TEST(!parse_target_segment(segment).has_value(), segment);
}

BOOST_AUTO_TEST_CASE(names_pass_through_as_written) {
  // '+', '-', unicode and inner spaces are Sesame's business; only '@' splits off a radius.
  for (const char* name : {"PSR B1919+21", "SN 1987A", "\xCF\x81 Oph", "V* V404 Cyg", "[VV2006] J1225+3201"}) {
    auto spec = parse_target_segment(name);
    BOOST_TEST_REQUIRE(spec.has_value(), name);
    BOOST_TEST(!spec->is_position);
    BOOST_TEST(spec->object_name == name);
  }
  auto with_radius = parse_target_segment("PSR B1919+21@30arcsec");
  BOOST_TEST_REQUIRE(with_radius.has_value());
  BOOST_TEST(with_radius->object_name == "PSR B1919+21");
  BOOST_TEST(with_radius->segment == "PSR B1919+21@30arcsec");
}

BOOST_AUTO_TEST_CASE(filter_values_are_taken_verbatim) {
  auto spaced = parse_filter_segment("name=NGC 4151, nucleus");
  BOOST_TEST_REQUIRE(spaced.has_value());
  BOOST_TEST(spaced->value == "NGC 4151, nucleus");
  auto comparison = parse_filter_segment("name>=M 31");
  BOOST_TEST_REQUIRE(comparison.has_value());
  BOOST_TEST((comparison->op == CompareOp::ge));
  BOOST_TEST(comparison->value == "M 31");
  auto negative = parse_filter_segment("dec<-43.5");
  BOOST_TEST_REQUIRE(negative.has_value());
  BOOST_TEST((negative->op == CompareOp::lt));
  BOOST_TEST(negative->value == "-43.5");
  auto op_in_value = parse_filter_segment("name!=a<b");
  BOOST_TEST_REQUIRE(op_in_value.has_value());
  BOOST_TEST((op_in_value->op == CompareOp::ne));
  BOOST_TEST(op_in_value->value == "a<b");
  for (const char* segment : {"=x", "!=x", "status!", "status<", ".results.csv", "status =x"})
    BOOST_TEST(!parse_filter_segment(segment).has_value(), segment);
}
