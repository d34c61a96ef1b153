#define BOOST_TEST_MODULE datalink
#include <boost/test/unit_test.hpp>

#include "common/error.h"
#include "tests/support/samples.h"
#include "vo/datalink.h"

using namespace hfs::vo;
using hfs::test::read_sample;

namespace {

struct Row {
  std::string access_url, description, content_type, content_length;
};

// A {links} answer with the 8 standard columns, like HEASARC's.
std::string links_answer(const std::string& id, const std::vector<Row>& rows) {
  std::string xml =
      "<?xml version=\"1.0\"?><VOTABLE version=\"1.4\" xmlns=\"http://www.ivoa.net/xml/VOTable/v1.3\">"
      "<RESOURCE type=\"results\"><INFO name=\"QUERY_STATUS\" value=\"OK\"/><TABLE>"
      "<FIELD name=\"ID\" datatype=\"char\" arraysize=\"*\"/><FIELD name=\"access_url\" datatype=\"char\" "
      "arraysize=\"*\"/>"
      "<FIELD name=\"service_def\" datatype=\"char\" arraysize=\"*\"/>"
      "<FIELD name=\"error_message\" datatype=\"char\" arraysize=\"*\"/>"
      "<FIELD name=\"description\" datatype=\"char\" arraysize=\"*\"/>"
      "<FIELD name=\"semantics\" datatype=\"char\" arraysize=\"*\"/>"
      "<FIELD name=\"content_type\" datatype=\"char\" arraysize=\"*\"/>"
      "<FIELD name=\"content_length\" datatype=\"long\" unit=\"byte\"/><DATA><TABLEDATA>";
  for (const auto& row : rows) {
    xml += "<TR><TD>" + id + "</TD><TD>" + row.access_url + "</TD><TD/><TD/><TD>" + row.description +
           "</TD><TD>#auxiliary</TD><TD>" + row.content_type + "</TD><TD>" + row.content_length + "</TD></TR>";
  }
  return xml + "</TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>";
}

const Row kBib{"https://heasarc.gsfc.nasa.gov/xamin/bib?table=numaster&amp;id=60061044002", "Bibliographic references",
               "text/html", ""};
const Row kNested{
    "https://heasarc.gsfc.nasa.gov/xamin/vo/datalink?datalink_key&amp;id=ivo://nasa.heasarc/numaster?60061044002/"
    "nustar.obs",
    "NuSTAR observation", "application/x-votable+xml;content=datalink", ""};
const Row kDirectory{"https://heasarc.gsfc.nasa.gov/FTP/nustar/data/obs/00/6//60061044002/", "Data directory",
                     "directory", "527203978"};

}  // namespace

BOOST_AUTO_TEST_CASE(real_generic_answer) {
  auto links = parse_datalinks(parse_votable(read_sample("pyvo_dal_tests_data_datalink.xml")));
  BOOST_TEST_REQUIRE(links.size() == 4u);
  BOOST_TEST(links[0].id == "ivo://org.gavo.dc/~?flashheros/data/ca90/f0011.mt");
  BOOST_TEST(links[0].semantics == "#progenitor");
  BOOST_TEST(links[0].content_type == "application/x-votable+xml;content=datalink");
  BOOST_TEST(!links[0].content_length.has_value());  // -1, the declared null
  BOOST_TEST(links[1].access_url == "");
  BOOST_TEST(links[1].service_def == "ndndtdihpgea");
  BOOST_TEST(links[2].access_url == "http://dc.zah.uni-heidelberg.de/getproduct/flashheros/data/ca90/f0011.mt");
  BOOST_TEST(links[2].description == "The full dataset.");
  BOOST_TEST(*links[2].content_length == 100800u);
  BOOST_TEST(links[3].semantics == "#preview");
  BOOST_TEST(!find_directory_link(links).has_value());
}

BOOST_AUTO_TEST_CASE(numaster_three_rows) {
  auto links = parse_datalinks(
      parse_votable(links_answer("ivo://nasa.heasarc/numaster?60061044002", {kBib, kNested, kDirectory})));
  BOOST_TEST_REQUIRE(links.size() == 3u);
  BOOST_TEST(links[0].access_url == "https://heasarc.gsfc.nasa.gov/xamin/bib?table=numaster&id=60061044002");
  BOOST_TEST(!links[0].content_length.has_value());
  auto directory = find_directory_link(links);
  BOOST_TEST_REQUIRE(directory.has_value());
  // The double slash is the service's, kept verbatim.
  BOOST_TEST(directory->access_url == "https://heasarc.gsfc.nasa.gov/FTP/nustar/data/obs/00/6//60061044002/");
  BOOST_TEST(*directory->content_length == 527203978u);
  BOOST_TEST(directory->id == "ivo://nasa.heasarc/numaster?60061044002");
}

BOOST_AUTO_TEST_CASE(directory_labelled_text_html) {
  Row drifted = kDirectory;
  drifted.content_type = "text/html";
  auto links = parse_datalinks(parse_votable(links_answer("x", {kBib, kNested, drifted})));
  auto directory = find_directory_link(links);
  BOOST_TEST_REQUIRE(directory.has_value());  // not the bibliography page, also text/html
  BOOST_TEST(directory->access_url == "https://heasarc.gsfc.nasa.gov/FTP/nustar/data/obs/00/6//60061044002/");
  drifted.content_type = "text/html;charset=UTF-8";
  BOOST_TEST(find_directory_link(parse_datalinks(parse_votable(links_answer("x", {kBib, drifted})))).has_value());
  // A real "directory" row wins over a drifted one listed first.
  Row other = drifted;
  other.access_url = "https://heasarc.gsfc.nasa.gov/FTP/other/";
  auto both = find_directory_link(parse_datalinks(parse_votable(links_answer("x", {other, kDirectory}))));
  BOOST_TEST(both->content_type == "directory");
}

BOOST_AUTO_TEST_CASE(proprietary_data_has_no_directory) {
  auto links = parse_datalinks(parse_votable(links_answer("x", {kBib, kNested})));
  BOOST_TEST(links.size() == 2u);
  BOOST_TEST(!find_directory_link(links).has_value());
  Row not_ftp = kDirectory;
  not_ftp.content_type = "text/html";
  not_ftp.access_url = "https://heasarc.gsfc.nasa.gov/docs/nustar/";
  BOOST_TEST(!find_directory_link(parse_datalinks(parse_votable(links_answer("x", {not_ftp})))).has_value());
  BOOST_TEST(!find_directory_link({}).has_value());
}

BOOST_AUTO_TEST_CASE(errors) {
  try {
    parse_datalinks(
        parse_votable("<VOTABLE><RESOURCE type=\"results\"><INFO name=\"QUERY_STATUS\" value=\"ERROR\">NotFoundFault: "
                      "60061044002</INFO><TABLE><FIELD name=\"access_url\" datatype=\"char\" arraysize=\"*\"/></TABLE>"
                      "</RESOURCE></VOTABLE>"));
    BOOST_ERROR("no error");
  } catch (const hfs::Error& error) {
    BOOST_TEST(error.errnum() == EIO);
    BOOST_TEST(std::string(error.what()).find("NotFoundFault: 60061044002") != std::string::npos);
  }
  try {
    parse_datalinks(
        parse_votable("<VOTABLE><RESOURCE><TABLE><FIELD name=\"x\" datatype=\"int\"/></TABLE></RESOURCE></VOTABLE>"));
    BOOST_ERROR("no error");
  } catch (const hfs::Error& error) {
    BOOST_TEST(error.errnum() == EPROTO);
  }
}
