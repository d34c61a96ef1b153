#define BOOST_TEST_MODULE regtap
#include <boost/test/unit_test.hpp>

#include "common/error.h"
#include "tests/support/samples.h"
#include "vo/regtap.h"

using namespace hfs::vo;
using hfs::test::read_sample;

namespace {

std::string tabledata(const std::vector<std::string>& columns, const std::vector<std::vector<std::string>>& rows) {
  std::string xml =
      "<VOTABLE version=\"1.3\"><RESOURCE type=\"results\"><INFO name=\"QUERY_STATUS\" value=\"OK\"/><TABLE>";
  for (const auto& column : columns) xml += "<FIELD name=\"" + column + "\" datatype=\"char\" arraysize=\"*\"/>";
  xml += "<DATA><TABLEDATA>";
  for (const auto& row : rows) {
    xml += "<TR>";
    for (const auto& cell : row) xml += "<TD>" + cell + "</TD>";
    xml += "</TR>";
  }
  return xml + "</TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>";
}

}  // namespace

BOOST_AUTO_TEST_CASE(query_builders) {
  BOOST_TEST(regtap_cone_tables_query("ivo://nasa.heasarc") ==
             "SELECT ivoid, res_title, access_url, standard_id, intf_role\n"
             "FROM rr.resource NATURAL JOIN rr.capability NATURAL JOIN rr.interface\n"
             "WHERE ivoid LIKE 'ivo://nasa.heasarc/%' AND standard_id LIKE 'ivo://ivoa.net/std/conesearch%'\n"
             "  AND intf_role = 'std'");
  BOOST_TEST(regtap_cone_tables_query("ivo://NASA.heasarc/") == regtap_cone_tables_query("ivo://nasa.heasarc"));
  BOOST_TEST(regtap_cone_table_query("ivo://nasa.heasarc/numaster") ==
             "SELECT ivoid, res_title, access_url, standard_id, intf_role\n"
             "FROM rr.resource NATURAL JOIN rr.capability NATURAL JOIN rr.interface\n"
             "WHERE ivoid = 'ivo://nasa.heasarc/numaster' AND standard_id LIKE 'ivo://ivoa.net/std/conesearch%'\n"
             "  AND intf_role = 'std'");
  // A quote cannot end the literal.
  BOOST_TEST(regtap_cone_table_query("ivo://x/a' OR 1=1 --").find("'ivo://x/a'' or 1=1 --'") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(sync_form_encoding) {
  // Byte for byte what Python's urlencode({'REQUEST':..,'LANG':..,'QUERY':q}) gives (as pyvo sends).
  BOOST_TEST(tap_sync_form(regtap_cone_table_query("ivo://nasa.heasarc/numaster")) ==
             "REQUEST=doQuery&LANG=ADQL&QUERY=SELECT+ivoid%2C+res_title%2C+access_url%2C+standard_id%2C+intf_role%0A"
             "FROM+rr.resource+NATURAL+JOIN+rr.capability+NATURAL+JOIN+rr.interface%0AWHERE+ivoid+%3D+%27ivo%3A%2F%2F"
             "nasa.heasarc%2Fnumaster%27+AND+standard_id+LIKE+%27ivo%3A%2F%2Fivoa.net%2Fstd%2Fconesearch%25%27%0A++AND+"
             "intf_role+%3D+%27std%27");
}

BOOST_AUTO_TEST_CASE(real_aggregated_answer) {
  auto services = parse_regtap_cone_tables(parse_votable(read_sample("pyvo_registry_tests_data_regtap.xml")));
  // All 30 resources of the sample have a std conesearch interface (26 VizieR, 4 HEASARC).
  BOOST_TEST_REQUIRE(services.size() == 30u);
  BOOST_TEST(services.front().name == "100");
  BOOST_TEST(services.front().cone_url == "http://vizier.cds.unistra.fr/viz-bin/conesearch/J/ApJ/916/100/table5?");
  struct Expected {
    const char* name;
    const char* title;
  } heasarc[] = {{"atnfpulsar", "ATNF Pulsar Catalog"},
                 {"fermil2psr", "Fermi LAT Second Catalog of Gamma-Ray Pulsars (2PC)"},
                 {"pmpulsar", "Parkes Multibeam Survey New Pulsar Catalog"},
                 {"pulsar", "Pulsar Catalog"}};
  for (std::size_t i = 0; i < 4; ++i) {
    const TableService& service = services[26 + i];
    BOOST_TEST(service.name == heasarc[i].name);
    BOOST_TEST(service.ivoid == "ivo://nasa.heasarc/" + std::string(heasarc[i].name));
    BOOST_TEST(service.title == heasarc[i].title);
    // The 4th interface (after the web page, getvotable.pl and TAP), verbatim with its '&'.
    BOOST_TEST(service.cone_url ==
               "https://heasarc.gsfc.nasa.gov/xamin/vo/cone?showoffsets&table=" + std::string(heasarc[i].name) + "&");
  }
  for (std::size_t i = 1; i < services.size(); ++i) BOOST_TEST((services[i - 1].name <= services[i].name));
}

BOOST_AUTO_TEST_CASE(row_per_interface_answer) {
  std::string xml = tabledata(
      {"ivoid", "res_title", "access_url", "standard_id", "intf_role"},
      {
          {"ivo://nasa.heasarc/numaster", "NuSTAR Master Catalog", "https://heasarc.gsfc.nasa.gov/xamin/vo/tap",
           "ivo://ivoa.net/std/tap#aux", "std"},
          {"ivo://nasa.heasarc/numaster", "NuSTAR Master Catalog",
           "https://heasarc.gsfc.nasa.gov/xamin/vo/cone?showoffsets&amp;table=numaster&amp;",
           "ivo://ivoa.net/std/conesearch", "std"},
          {"ivo://nasa.heasarc/numaster", "NuSTAR Master Catalog", "https://mirror.example/cone?",
           "ivo://ivoa.net/std/conesearch", "std"},  // a second one: the first wins
          {"ivo://nasa.heasarc/chanmaster", "Chandra Observations", "https://example/not-std?",
           "ivo://ivoa.net/std/conesearch", ""},
          {"ivo://nasa.heasarc/chanmaster", "Chandra Observations",
           "https://heasarc.gsfc.nasa.gov/xamin/vo/cone?showoffsets&amp;table=chanmaster&amp;",
           "ivo://ivoa.net/std/ConeSearch#1.03", "std"},  // fragment and case do not matter
          {"ivo://nasa.heasarc/webonly", "Web page only", "https://heasarc.gsfc.nasa.gov/W3Browse/", "", ""},
          {"ivo://nasa.heasarc/notcone", "SIA only", "https://x/sia?", "ivo://ivoa.net/std/sia", "std"},
          {"ivo://nasa.heasarc", "the authority itself", "https://x/cone?", "ivo://ivoa.net/std/conesearch", "std"},
      });
  auto services = parse_regtap_cone_tables(parse_votable(xml));
  BOOST_TEST_REQUIRE(services.size() == 2u);
  BOOST_TEST(services[0].name == "chanmaster");
  BOOST_TEST(services[0].cone_url == "https://heasarc.gsfc.nasa.gov/xamin/vo/cone?showoffsets&table=chanmaster&");
  BOOST_TEST(services[1].name == "numaster");
  BOOST_TEST(services[1].title == "NuSTAR Master Catalog");
  BOOST_TEST(services[1].cone_url == "https://heasarc.gsfc.nasa.gov/xamin/vo/cone?showoffsets&table=numaster&");
}

BOOST_AUTO_TEST_CASE(aggregated_lists_of_unequal_length) {
  std::string sep = ":::py VO sep:::";
  std::string xml = tabledata({"ivoid", "res_title", "access_urls", "standard_ids", "intf_roles"},
                              {{"ivo://nasa.heasarc/a", "A", "u1" + sep + "u2",
                                "ivo://ivoa.net/std/tap" + sep + "ivo://ivoa.net/std/conesearch", "std"},
                               {"ivo://nasa.heasarc/b", "B", "web" + sep + "https://b/cone?",
                                sep + "ivo://ivoa.net/std/conesearch", sep + "std"}});
  auto services = parse_regtap_cone_tables(parse_votable(xml));
  BOOST_TEST_REQUIRE(services.size() == 1u);  // a's cone interface has no role: zip() drops it
  BOOST_TEST(services[0].name == "b");
  BOOST_TEST(services[0].cone_url == "https://b/cone?");
}

BOOST_AUTO_TEST_CASE(errors) {
  try {
    parse_regtap_cone_tables(parse_votable(
        "<VOTABLE><RESOURCE type=\"results\"><INFO name=\"QUERY_STATUS\" value=\"ERROR\">Could not parse your "
        "query: Expected SELECT</INFO></RESOURCE></VOTABLE>"));
    BOOST_ERROR("no error");
  } catch (const hfs::Error& error) {
    BOOST_TEST(error.errnum() == EIO);
    BOOST_TEST(std::string(error.what()).find("Could not parse your query: Expected SELECT") != std::string::npos);
  }
  try {
    parse_regtap_cone_tables(parse_votable(tabledata({"ivoid", "res_title"}, {})));
    BOOST_ERROR("no error");
  } catch (const hfs::Error& error) {
    BOOST_TEST(error.errnum() == EPROTO);
  }
  BOOST_CHECK_THROW(parse_regtap_cone_tables(parse_votable("<VOTABLE/>")), hfs::Error);
  BOOST_TEST(parse_regtap_cone_tables(
                 parse_votable(tabledata({"ivoid", "res_title", "access_url", "standard_id", "intf_role"}, {})))
                 .empty());
}
