#define BOOST_TEST_MODULE cone_search
#include <boost/test/unit_test.hpp>

#include "common/error.h"
#include "tests/support/samples.h"
#include "vo/cone_search.h"

using namespace hfs::vo;
using hfs::test::read_sample;

namespace {

// A numaster answer shaped like Xamin's: results, then the adhoc:service block.
std::string numaster_answer(const std::string& service_block) {
  return "<VOTABLE version=\"1.4\" xmlns=\"http://www.ivoa.net/xml/VOTable/v1.3\"><RESOURCE type=\"results\">"
         "<INFO name=\"QUERY_STATUS\" value=\"OK\"/><TABLE>"
         "<FIELD name=\"obsid\" datatype=\"char\" arraysize=\"*\" ucd=\"ID_MAIN\"/>"
         "<FIELD name=\"exposure_a\" datatype=\"double\" unit=\"s\"/>"
         "<FIELD name=\"datalink\" ID=\"DataLinkID\" datatype=\"char\" arraysize=\"*\"/>"
         "<DATA><TABLEDATA>"
         "<TR><TD>60001111002</TD><TD>21864.0</TD><TD>60001111002</TD></TR>"
         "<TR><TD>60001111005</TD><TD>61531.0</TD><TD>60001111005</TD></TR>"
         "<TR><TD>60001111009</TD><TD>1.0</TD><TD></TD></TR>"
         "</TABLEDATA></DATA></TABLE></RESOURCE>" +
         service_block + "</VOTABLE>";
}

const std::string kNumasterService =
    "<RESOURCE type=\"meta\" utype=\"adhoc:service\">"
    "<PARAM datatype=\"char\" arraysize=\"*\" name=\"standardID\" value=\"ivo://ivoa.net/std/DataLink#links-1.0\"/>"
    "<PARAM datatype=\"char\" arraysize=\"*\" name=\"accessURL\" "
    "value=\"http://127.0.0.1:43107/xamin/vo/datalink/numaster\"/>"
    "<GROUP name=\"inputParams\"><PARAM ref=\"DataLinkID\" datatype=\"char\" arraysize=\"*\" name=\"id\" value=\"\"/>"
    "</GROUP></RESOURCE>";

}  // namespace

BOOST_AUTO_TEST_CASE(python_float_reprs) {
  struct Case {
    double value;
    const char* repr;  // Python 3: repr(value)
  } cases[] = {{182.63573325, "182.63573325"},
               {39.40585097, "39.40585097"},
               {1.0, "1.0"},
               {0.5, "0.5"},
               {1e-5, "1e-05"},
               {0.0001, "0.0001"},
               {1e16, "1e+16"},
               {1e15, "1000000000000000.0"},
               {123456789012345678.0, "1.2345678901234568e+17"},
               {0.1 + 0.2, "0.30000000000000004"},
               {-0.0, "-0.0"},
               {5.0 / 60, "0.08333333333333333"},
               {30.0 / 3600, "0.008333333333333333"},
               {1.5e-7, "1.5e-07"},
               {-12.5, "-12.5"},
               {1e300, "1e+300"},
               {5e-324, "5e-324"},
               {9007199254740992.0, "9007199254740992.0"},
               {0.00012345, "0.00012345"}};
  for (const auto& c : cases) BOOST_TEST(python_float_repr(c.value) == c.repr);
}

BOOST_AUTO_TEST_CASE(urls_as_pyvo_sends_them) {
  SkyPosition ngc4151{182.63573325, 39.40585097};
  // The captured request of pyvo 1.4, 1.6.2 and 1.8.1, byte for byte.
  BOOST_TEST(cone_search_url("https://heasarc.gsfc.nasa.gov/xamin/vo/cone?showoffsets&table=numaster&", ngc4151, 1.0) ==
             "https://heasarc.gsfc.nasa.gov/xamin/vo/cone?showoffsets&table=numaster&&RA=182.63573325&DEC=39.40585097"
             "&SR=1.0&VERB=2");
  BOOST_TEST(cone_search_url("http://h/cone", {10, -5.5}, 5.0 / 60, 3) ==
             "http://h/cone?RA=10.0&DEC=-5.5&SR=0.08333333333333333&VERB=3");
  BOOST_TEST(cone_search_url("http://vizier.cds.unistra.fr/viz-bin/conesearch/VII/156/table1?", {0, 0}, 1e-5) ==
             "http://vizier.cds.unistra.fr/viz-bin/conesearch/VII/156/table1?RA=0.0&DEC=0.0&SR=1e-05&VERB=2");
  BOOST_TEST(cone_search_url("http://h/cone?table=x", {1, 2}, 0.5) ==
             "http://h/cone?table=x&RA=1.0&DEC=2.0&SR=0.5&VERB=2");
}

BOOST_AUTO_TEST_CASE(real_chanmaster_answer) {
  auto result = parse_cone_result(parse_votable(read_sample("heasarc_xamin_chanmaster_ngc4151_with_datalink.xml")));
  BOOST_TEST(result.table.rows.size() == 2u);
  BOOST_TEST_REQUIRE(result.datalink.has_value());
  BOOST_TEST(result.datalink->access_url == "https://heasarc.gsfc.nasa.gov/xamin_aws/vo/datalink/chanmaster");
  BOOST_TEST_REQUIRE(result.datalink->inputs.size() == 2u);
  BOOST_TEST(result.datalink->inputs[0].name == "id");
  BOOST_TEST(result.datalink->inputs[0].ref == "DataLinkID");
  BOOST_TEST(result.datalink->inputs[1].name == "source");
  BOOST_TEST(result.datalink->inputs[1].value == "prem");
  // pyvo: the fixed "source" input first, then ID from the row's DataLinkID field, form-encoded.
  BOOST_TEST(*datalink_url_for_row(result, 0) ==
             "https://heasarc.gsfc.nasa.gov/xamin_aws/vo/datalink/chanmaster?source=prem&ID=18423%3Achandra.obs.img");
  BOOST_TEST(*datalink_url_for_row(result, 1) ==
             "https://heasarc.gsfc.nasa.gov/xamin_aws/vo/datalink/chanmaster?source=prem&ID=18424%3Achandra.obs.img");
  BOOST_TEST(!datalink_url_for_row(result, 2).has_value());
}

BOOST_AUTO_TEST_CASE(numaster_datalink_urls) {
  auto result = parse_cone_result(parse_votable(numaster_answer(kNumasterService)));
  BOOST_TEST(result.table.rows.size() == 3u);
  // The captured pyvo request: GET /xamin/vo/datalink/numaster?ID=60001111005.
  BOOST_TEST(*datalink_url_for_row(result, 1) == "http://127.0.0.1:43107/xamin/vo/datalink/numaster?ID=60001111005");
  BOOST_TEST(!datalink_url_for_row(result, 2).has_value());  // an empty DataLinkID: nothing to ask for
  // An accessURL that already has a query gets '&'.
  std::string with_query = kNumasterService;
  with_query.replace(with_query.find("numaster\"/>"), 11, "numaster?fmt=v\"/>");
  auto queried = parse_cone_result(parse_votable(numaster_answer(with_query)));
  BOOST_TEST(*datalink_url_for_row(queried, 0) ==
             "http://127.0.0.1:43107/xamin/vo/datalink/numaster?fmt=v&ID=60001111002");
}

BOOST_AUTO_TEST_CASE(services_that_are_not_datalink) {
  // SODA and an adhoc service without accessURL are ignored; no service means no URL.
  std::string soda =
      "<RESOURCE type=\"meta\" utype=\"adhoc:service\"><PARAM name=\"standardID\" "
      "value=\"ivo://ivoa.net/std/SODA#sync-1.0\"/>"
      "<PARAM name=\"accessURL\" value=\"http://x/soda\"/></RESOURCE>"
      "<RESOURCE type=\"meta\" utype=\"adhoc:service\"><PARAM name=\"standardID\" "
      "value=\"ivo://ivoa.net/std/datalink\"/>"
      "</RESOURCE>";
  auto result = parse_cone_result(parse_votable(numaster_answer(soda)));
  BOOST_TEST(!result.datalink.has_value());
  BOOST_TEST(!datalink_url_for_row(result, 0).has_value());
}

BOOST_AUTO_TEST_CASE(access_format_fallback) {
  auto doc = parse_votable(
      "<VOTABLE><RESOURCE><TABLE><FIELD name=\"access_url\" datatype=\"char\" arraysize=\"*\"/>"
      "<FIELD name=\"access_format\" datatype=\"char\" arraysize=\"*\"/><DATA><TABLEDATA>"
      "<TR><TD>http://x/dl?ID=1</TD><TD>application/x-votable+xml; content=datalink</TD></TR>"
      "<TR><TD>http://x/file.fits</TD><TD>image/fits</TD></TR>"
      "</TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>");
  auto result = parse_cone_result(doc);
  BOOST_TEST(*datalink_url_for_row(result, 0) == "http://x/dl?ID=1");
  BOOST_TEST(!datalink_url_for_row(result, 1).has_value());
}

BOOST_AUTO_TEST_CASE(error_answers) {
  try {
    parse_cone_result(
        parse_votable("<VOTABLE version=\"1.4\"><RESOURCE type=\"results\"><INFO name=\"QUERY_STATUS\" value=\"ERROR\">"
                      "Unknown table: nosuch</INFO></RESOURCE></VOTABLE>"));
    BOOST_ERROR("no error");
  } catch (const hfs::Error& error) {
    BOOST_TEST(error.errnum() == EIO);
    BOOST_TEST(std::string(error.what()).find("Unknown table: nosuch") != std::string::npos);
  }
  try {
    parse_cone_result(parse_votable("<VOTABLE><RESOURCE/></VOTABLE>"));
    BOOST_ERROR("no error");
  } catch (const hfs::Error& error) {
    BOOST_TEST(error.errnum() == EPROTO);
  }
}
