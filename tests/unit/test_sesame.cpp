#define BOOST_TEST_MODULE sesame
#include <boost/test/unit_test.hpp>

#include "tests/support/samples.h"
#include "vo/sesame.h"

using namespace hfs::vo;
using hfs::test::read_sample;

BOOST_AUTO_TEST_CASE(real_answers) {
  struct Case {
    const char* file;
    double ra, dec;
  } cases[] = {
      {"sesame_castor_all_from_astropy_tests.txt", 113.649471640, 31.888282216},
      {"sesame_castor_simbad_from_astropy_tests.txt", 113.649471640, 31.888282216},
      {"sesame_ngc3642_all_from_astropy_tests.txt", 170.57458768232000, 59.07452101151000},
      {"sesame_ngc3642_simbad_from_astropy_tests.txt", 170.5750583, 59.0742417},
      {"sesame_ngc3642_vizier_from_astropy_tests.txt", 170.56, 59.08},
  };
  for (const auto& c : cases) {
    auto position = parse_sesame(read_sample(c.file));
    BOOST_TEST_REQUIRE(position.has_value(), c.file);
    BOOST_TEST(position->ra_deg == c.ra, c.file);
    BOOST_TEST(position->dec_deg == c.dec, c.file);
  }
}

BOOST_AUTO_TEST_CASE(unresolved_names) {
  BOOST_TEST(!parse_sesame("").has_value());
  BOOST_TEST(!parse_sesame("# nosuchthing    #Q1234\n#! *** Nothing found *** \n\n#====Done====\n").has_value());
  // The error-ellipse line alone is not a position.
  BOOST_TEST(!parse_sesame("%J.E [34.72 25.95 90] A 2007A&A...474..653V\n").has_value());
  BOOST_TEST(!parse_sesame("%J abc def\n").has_value());
  BOOST_TEST(!parse_sesame("%J 400.0 +10.0 = junk\n").has_value());
  // A malformed %J line does not hide a good one after it; CRLF is fine.
  auto later = parse_sesame("%J x y\r\n%J 10.5 -20.25 = 00:42:00 -20:15:00\r\n");
  BOOST_TEST_REQUIRE(later.has_value());
  BOOST_TEST(later->ra_deg == 10.5);
  BOOST_TEST(later->dec_deg == -20.25);
}

BOOST_AUTO_TEST_CASE(urls_like_astropy) {
  // The captured astropy request: GET /sesame/A?ngc%204151.
  BOOST_TEST(sesame_url("http://127.0.0.1:43107/sesame", "ngc 4151", "A") ==
             "http://127.0.0.1:43107/sesame/A?ngc%204151");
  BOOST_TEST(sesame_url("https://cds.unistra.fr/cgi-bin/nph-sesame/", "NGC 4151") ==
             "https://cds.unistra.fr/cgi-bin/nph-sesame/SNV?NGC%204151");
  BOOST_TEST(sesame_url("https://cds.unistra.fr/cgi-bin/nph-sesame//", "M31") ==
             "https://cds.unistra.fr/cgi-bin/nph-sesame/SNV?M31");
  // quote(): '/' stays, '+', '&', '?', '#' and non-ASCII are escaped; "_.-~" stay.
  BOOST_TEST(sesame_url("http://h/s", "alf Cen/A+B&C?#_.-~", "A") == "http://h/s/A?alf%20Cen/A%2BB%26C%3F%23_.-~");
  BOOST_TEST(sesame_url("http://h/s", "\xCE\xB1 Ori", "A") == "http://h/s/A?%CE%B1%20Ori");
}

BOOST_AUTO_TEST_CASE(what_is_a_sesame_answer) {
  // Every real answer, found or not, starts with the "# <name>  #Q<n>" line.
  for (const char* file :
       {"sesame_castor_all_from_astropy_tests.txt", "sesame_ngc3642_vizier_from_astropy_tests.txt"}) {
    BOOST_TEST(is_sesame_answer(read_sample(file)), file);
  }
  BOOST_TEST(is_sesame_answer("# nosuchthing    #Q1234\n#! *** Nothing found *** \n\n#====Done====\n"));
  BOOST_TEST(is_sesame_answer("\n\r\n# x #Q1\n"));
  // What a proxy, a captive portal or an overloaded service sends instead says nothing about the name.
  BOOST_TEST(!is_sesame_answer(""));
  BOOST_TEST(!is_sesame_answer("  \n"));
  BOOST_TEST(!is_sesame_answer("<html><head><title>502 Bad Gateway</title></head></html>"));
  BOOST_TEST(!is_sesame_answer("<?xml version=\"1.0\"?><Sesame></Sesame>"));
}
