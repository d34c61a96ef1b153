#define BOOST_TEST_MODULE http_vo_client
#include <boost/test/unit_test.hpp>

#include <array>
#include <chrono>

#include "common/error.h"
#include "tests/support/errors.h"
#include "tests/support/fake_transport.h"
#include "tests/support/samples.h"
#include "vo/regtap.h"
#include "vo/sesame.h"
#include "vo/vo_client.h"

using namespace hfs;
using namespace std::chrono_literals;
using hfs::test::error_of;
using hfs::test::FakeTransport;
using hfs::test::read_sample;

namespace {

const std::string kRegistrySync = "https://reg.g-vo.org/tap/sync";
const std::string kNumasterCone = "https://heasarc.gsfc.nasa.gov/xamin/vo/cone?showoffsets&table=numaster&";
const vo::SkyPosition kNgc4151{182.63573325, 39.40585097};

vo::RetryPolicy fast_retries() {
  vo::RetryPolicy policy;
  policy.initial_backoff = 1ms;
  policy.max_backoff = 5ms;
  return policy;
}

struct Client {
  std::shared_ptr<FakeTransport> transport = std::make_shared<FakeTransport>();
  std::unique_ptr<vo::VoClient> vo = vo::make_http_vo_client(transport, vo::VoEndpoints{}, fast_retries());
};

// A registry answer in the shape of the ADQL heasarcfs sends (one row per interface).
std::string regtap_answer(const std::vector<std::array<std::string, 5>>& rows, const std::string& status = "OK") {
  std::string xml = R"(<?xml version="1.0" encoding="utf-8"?>
<VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3">
<RESOURCE type="results"><INFO name="QUERY_STATUS" value=")" +
                    status + R"(">query failed: syntax error</INFO>
<TABLE>
<FIELD name="ivoid" datatype="char" arraysize="*"/><FIELD name="res_title" datatype="unicodeChar" arraysize="*"/>
<FIELD name="access_url" datatype="char" arraysize="*"/><FIELD name="standard_id" datatype="char" arraysize="*"/>
<FIELD name="intf_role" datatype="char" arraysize="*"/>
<DATA><TABLEDATA>
)";
  for (const auto& row : rows) {
    xml += "<TR>";
    for (const auto& value : row) xml += "<TD>" + value + "</TD>";
    xml += "</TR>\n";
  }
  return xml + "</TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>\n";
}

std::array<std::string, 5> numaster_row() {
  return {"ivo://nasa.heasarc/numaster", "NuSTAR Master Catalog",
          "https://heasarc.gsfc.nasa.gov/xamin/vo/cone?showoffsets&amp;table=numaster&amp;",
          "ivo://ivoa.net/std/conesearch", "std"};
}

// A numaster answer at VERB=2 as Xamin sends it (columns of the live run, the DataLink block
// after the results); the obsid FIELD carries ID="DataLinkID", so rows link by obsid.
std::string numaster_cone_answer() {
  return R"(<?xml version="1.0"?>
<VOTABLE xmlns="http://www.ivoa.net/xml/VOTable/v1.3" version="1.4">
 <RESOURCE type="results">
  <INFO name="QUERY_STATUS" value="OK"/>
  <TABLE>
   <FIELD datatype="char" arraysize="*" name="__row"/>
   <FIELD datatype="char" arraysize="*" ucd="meta.id;meta.main" name="name"/>
   <FIELD unit="degree" datatype="double" ucd="pos.eq.ra;meta.main" name="ra"/>
   <FIELD unit="degree" datatype="double" ucd="pos.eq.dec;meta.main" name="dec"/>
   <FIELD unit="d" datatype="double" name="time"/>
   <FIELD datatype="char" arraysize="*" ucd="ID_MAIN" name="obsid" ID="DataLinkID"/>
   <FIELD datatype="char" arraysize="*" name="status"/>
   <FIELD unit="s" datatype="double" name="exposure_a"/>
   <FIELD datatype="char" arraysize="*" name="observation_mode"/>
   <FIELD datatype="char" arraysize="*" name="obs_type"/>
   <FIELD unit="d" datatype="double" name="processing_date"/>
   <FIELD unit="d" datatype="int" name="public_date"/>
   <FIELD datatype="short" name="issue_flag"/>
   <FIELD unit="arcmin" datatype="double" name="Search_Offset"/>
   <DATA><TABLEDATA>
<TR><TD>3290</TD><TD>NGC_4151</TD><TD>182.6361</TD><TD>39.4058</TD><TD>56273.8</TD><TD>60001111002</TD><TD>archived</TD><TD>21864</TD><TD>SCIENCE</TD><TD>EGS</TD><TD>59170.1</TD><TD>56400</TD><TD>0</TD><TD>0.0290</TD></TR>
<TR><TD>3291</TD><TD>NGC_4151</TD><TD>182.6359</TD><TD>39.4061</TD><TD>56274.9</TD><TD>60001111003</TD><TD>archived</TD><TD>57036</TD><TD>SCIENCE</TD><TD>EGS</TD><TD>59170.1</TD><TD>56400</TD><TD>0</TD><TD>0.0160</TD></TR>
<TR><TD>3292</TD><TD>NGC_4151</TD><TD>182.6353</TD><TD>39.4063</TD><TD>56277.3</TD><TD>60001111005</TD><TD>archived</TD><TD>61531</TD><TD>SCIENCE</TD><TD>EGS</TD><TD>59170.1</TD><TD>56400</TD><TD>0</TD><TD>0.0290</TD></TR>
   </TABLEDATA></DATA>
  </TABLE>
 </RESOURCE>
 <RESOURCE utype="adhoc:service" type="meta">
  <PARAM datatype="char" arraysize="*" name="standardID" value="ivo://ivoa.net/std/DataLink#links-1.0"/>
  <PARAM datatype="char" arraysize="*" name="accessURL" value="https://heasarc.gsfc.nasa.gov/xamin/vo/datalink/numaster"/>
  <GROUP name="inputParams">
   <PARAM ref="DataLinkID" datatype="char" arraysize="*" name="id" value=""/>
  </GROUP>
 </RESOURCE>
</VOTABLE>
)";
}

// The real three-row answer for a numaster obsid (see the EXTRACT sample), as VOTable.
std::string numaster_datalink_answer(const std::string& obsid) {
  std::string id = "ivo://nasa.heasarc/numaster?" + obsid;
  std::string dir = "https://heasarc.gsfc.nasa.gov/FTP/nustar/data/obs/" + obsid.substr(1, 2) + "/" +
                    obsid.substr(0, 1) + "//" + obsid + "/";
  auto row = [&](const std::string& url, const std::string& type, const std::string& length) {
    return "<TR><TD>" + id + "</TD><TD>" + url + "</TD><TD></TD><TD></TD><TD></TD><TD>#this</TD><TD>" + type +
           "</TD><TD>" + length + "</TD></TR>\n";
  };
  return R"(<?xml version="1.0"?>
<VOTABLE xmlns="http://www.ivoa.net/xml/VOTable/v1.3" version="1.4"><RESOURCE type="results">
<INFO name="QUERY_STATUS" value="OK"/><TABLE>
<FIELD name="ID" datatype="char" arraysize="*"/><FIELD name="access_url" datatype="char" arraysize="*"/>
<FIELD name="service_def" datatype="char" arraysize="*"/><FIELD name="error_message" datatype="char" arraysize="*"/>
<FIELD name="description" datatype="char" arraysize="*"/><FIELD name="semantics" datatype="char" arraysize="*"/>
<FIELD name="content_type" datatype="char" arraysize="*"/><FIELD name="content_length" datatype="long"/>
<DATA><TABLEDATA>
)" + row("https://heasarc.gsfc.nasa.gov/xamin/bib?table=numaster&amp;id=" + obsid, "text/html", "") +
         row("https://heasarc.gsfc.nasa.gov/xamin/vo/datalink?datalink_key&amp;id=" + id + "/nustar.obs",
             "application/x-votable+xml;content=datalink", "") +
         row(dir, "directory", "527203978") + "</TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>\n";
}

const std::string kQueryError = R"(<?xml version="1.0"?>
<VOTABLE xmlns="http://www.ivoa.net/xml/VOTable/v1.3" version="1.4"><RESOURCE type="results">
<INFO name="QUERY_STATUS" value="ERROR">Table 'nosuchtable' not found</INFO></RESOURCE></VOTABLE>
)";

vo::TableService numaster() {
  return {"numaster", "ivo://nasa.heasarc/numaster", "NuSTAR Master Catalog", kNumasterCone};
}

}  // namespace

BOOST_AUTO_TEST_CASE(cone_tables_posts_the_regtap_query) {
  Client client;
  std::string body = vo::tap_sync_form(vo::regtap_cone_tables_query("ivo://nasa.heasarc"));
  auto chanmaster = numaster_row();
  chanmaster[0] = "ivo://nasa.heasarc/chanmaster";
  chanmaster[2] = "https://heasarc.gsfc.nasa.gov/xamin/vo/cone?showoffsets&amp;table=chanmaster&amp;";
  auto elsewhere = numaster_row();
  elsewhere[0] = "ivo://nasa.heasarcx/other";  // another authority: dropped
  client.transport->add_post(kRegistrySync, body,
                             FakeTransport::ok(regtap_answer({numaster_row(), chanmaster, elsewhere})));

  auto tables = client.vo->cone_tables(CallContext{});
  BOOST_REQUIRE(tables.size() == 2u);
  BOOST_TEST(tables[0].name == "chanmaster");
  BOOST_TEST(tables[1].name == "numaster");
  BOOST_TEST(tables[1].cone_url == kNumasterCone);
  BOOST_TEST(tables[1].title == "NuSTAR Master Catalog");

  auto requests = client.transport->requests();
  BOOST_REQUIRE(requests.size() == 1u);
  BOOST_TEST((requests[0].method == vo::HttpRequest::Method::post));
  BOOST_TEST(requests[0].url == kRegistrySync);
  BOOST_TEST(requests[0].body == body);
  BOOST_TEST(requests[0].body.starts_with("REQUEST=doQuery&LANG=ADQL&QUERY=SELECT+ivoid"));
  BOOST_TEST(requests[0].content_type == "application/x-www-form-urlencoded");
}

BOOST_AUTO_TEST_CASE(cone_tables_reads_the_real_binary_registry_answer) {
  Client client;
  client.transport->add(kRegistrySync, FakeTransport::ok(read_sample("pyvo_registry_tests_data_regtap.xml")));
  auto tables = client.vo->cone_tables(CallContext{});
  std::vector<std::string> names;
  for (const auto& table : tables) names.push_back(table.name);
  BOOST_TEST((names == std::vector<std::string>{"atnfpulsar", "fermil2psr", "pmpulsar", "pulsar"}));
  BOOST_TEST(tables.at(3).cone_url == "https://heasarc.gsfc.nasa.gov/xamin/vo/cone?showoffsets&table=pulsar&");
}

BOOST_AUTO_TEST_CASE(cone_table_asks_for_one_lower_cased_ivoid) {
  Client client;
  std::string body = vo::tap_sync_form(vo::regtap_cone_table_query("ivo://nasa.heasarc/numaster"));
  client.transport->add_post(kRegistrySync, body, FakeTransport::ok(regtap_answer({numaster_row()})));
  auto table = client.vo->cone_table("NuMaster", CallContext{});
  BOOST_TEST(table.name == "numaster");
  BOOST_TEST(table.ivoid == "ivo://nasa.heasarc/numaster");
  BOOST_TEST(table.cone_url == kNumasterCone);
  BOOST_TEST(client.transport->requests().at(0).body == body);
  BOOST_TEST(body.find("ivo%3A%2F%2Fnasa.heasarc%2Fnumaster") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(unknown_tables_are_enoent) {
  Client client;
  client.transport->add(kRegistrySync, FakeTransport::ok(regtap_answer({})));
  auto error = error_of([&] { client.vo->cone_table("nosuchtable", CallContext{}); });
  BOOST_TEST(error.errnum == ENOENT);
  BOOST_TEST(error.message.find("ivo://nasa.heasarc/nosuchtable") != std::string::npos, error.message);
  std::size_t sent = client.transport->request_count();
  BOOST_TEST(error_of([&] { client.vo->cone_table("x' OR '1'='1", CallContext{}); }).errnum == ENOENT);
  BOOST_TEST(error_of([&] { client.vo->cone_table("", CallContext{}); }).errnum == ENOENT);
  BOOST_TEST(client.transport->request_count() == sent);  // not even asked
}

BOOST_AUTO_TEST_CASE(registry_errors) {
  Client client;
  client.transport->add(kRegistrySync, FakeTransport::ok(regtap_answer({}, "ERROR")));
  auto error = error_of([&] { client.vo->cone_tables(CallContext{}); });
  BOOST_TEST(error.errnum == EIO);
  BOOST_TEST(error.message.find(kRegistrySync) != std::string::npos, error.message);
  client.transport->add(kRegistrySync, FakeTransport::ok("<html>maintenance</html>"));
  BOOST_TEST(error_of([&] { client.vo->cone_tables(CallContext{}); }).errnum == EPROTO);
  client.transport->add(kRegistrySync, FakeTransport::response(400, "bad query"));
  error = error_of([&] { client.vo->cone_tables(CallContext{}); });
  BOOST_TEST(error.errnum == EIO);
  BOOST_TEST(error.message.find("HTTP 400") != std::string::npos, error.message);
}

BOOST_AUTO_TEST_CASE(resolve_reads_the_sesame_j_line) {
  Client client;
  vo::VoEndpoints endpoints;
  std::string url = vo::sesame_url(endpoints.resolver, "NGC 3642");
  BOOST_TEST(url == "https://cds.unistra.fr/cgi-bin/nph-sesame/SNV?NGC%203642");
  client.transport->add(url, FakeTransport::ok(read_sample("sesame_ngc3642_all_from_astropy_tests.txt")));
  auto position = client.vo->resolve("NGC 3642", CallContext{});
  BOOST_TEST(position.ra_deg == 170.57458768232, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(position.dec_deg == 59.07452101151, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(client.transport->request_urls() == std::vector<std::string>{url});
}

BOOST_AUTO_TEST_CASE(unresolved_names_are_enoent) {
  Client client;
  std::string url = vo::sesame_url(vo::VoEndpoints{}.resolver, "no such object");
  client.transport->add(url,
                        FakeTransport::ok("# no such object    #Q1\n#! *** Nothing found *** \n\n#====Done====\n"));
  auto error = error_of([&] { client.vo->resolve("no such object", CallContext{}); });
  BOOST_TEST(error.errnum == ENOENT);
  BOOST_TEST(error.message == "Sesame has no position for 'no such object'");

  // An empty answer or an error page is no answer about the name: not ENOENT (which the
  // filesystem keeps as "unknown name" for minutes), but a protocol error.
  for (const char* body : {"", "<html><body><h1>Service Unavailable</h1></body></html>\n"}) {
    client.transport->add(url, FakeTransport::ok(body));
    error = error_of([&] { client.vo->resolve("no such object", CallContext{}); });
    BOOST_TEST(error.errnum == EPROTO, error.message);
    BOOST_TEST(error.message.find(url) != std::string::npos, error.message);
  }
  // Nor is a 404: that is a resolver= URL pointing at no Sesame at all.
  client.transport->add(url, FakeTransport::response(404, "<html>Not Found</html>"));
  error = error_of([&] { client.vo->resolve("no such object", CallContext{}); });
  BOOST_TEST(error.errnum == EIO, error.message);
  BOOST_TEST(error.message.find("resolver=") != std::string::npos, error.message);
}

BOOST_AUTO_TEST_CASE(cone_search_sends_pyvos_url_and_parses_the_answer) {
  Client client;
  std::string url =
      "https://heasarc.gsfc.nasa.gov/xamin/vo/cone?showoffsets&table=numaster&&RA=182.63573325&"
      "DEC=39.40585097&SR=1.0&VERB=2";
  client.transport->add(url, FakeTransport::ok(numaster_cone_answer()));
  auto result = client.vo->cone_search(numaster(), kNgc4151, 1.0, CallContext{});
  BOOST_TEST(client.transport->request_urls() == std::vector<std::string>{url});
  BOOST_TEST(result.table.rows.size() == 3u);
  BOOST_REQUIRE(result.datalink.has_value());
  BOOST_TEST(result.datalink->access_url == "https://heasarc.gsfc.nasa.gov/xamin/vo/datalink/numaster");

  std::string datalink_url = "https://heasarc.gsfc.nasa.gov/xamin/vo/datalink/numaster?ID=60001111005";
  client.transport->add(datalink_url, FakeTransport::ok(numaster_datalink_answer("60001111005")));
  auto links = client.vo->datalinks(result, 2, CallContext{});
  BOOST_TEST(client.transport->request_urls().back() == datalink_url);
  BOOST_REQUIRE(links.size() == 3u);
  auto directory = vo::find_directory_link(links);
  BOOST_REQUIRE(directory.has_value());
  BOOST_TEST(directory->access_url == "https://heasarc.gsfc.nasa.gov/FTP/nustar/data/obs/00/6//60001111005/");
  BOOST_TEST(directory->content_length.value_or(0) == 527203978u);
}

BOOST_AUTO_TEST_CASE(datalinks_of_the_real_xamin_answer) {
  Client client;
  vo::TableService chanmaster{"chanmaster", "ivo://nasa.heasarc/chanmaster", "Chandra",
                              "https://heasarc.gsfc.nasa.gov/xamin/vo/cone?showoffsets&table=chanmaster&"};
  std::string cone_url = vo::cone_search_url(chanmaster.cone_url, {182.63, 39.4}, 0.35);
  client.transport->add(cone_url, FakeTransport::ok(read_sample("heasarc_xamin_chanmaster_ngc4151_with_datalink.xml")));
  auto result = client.vo->cone_search(chanmaster, {182.63, 39.4}, 0.35, CallContext{});
  BOOST_TEST(result.table.rows.size() == 2u);
  auto datalink_url = vo::datalink_url_for_row(result, 0);
  BOOST_REQUIRE(datalink_url.has_value());
  BOOST_TEST(datalink_url->starts_with("https://heasarc.gsfc.nasa.gov/xamin_aws/vo/datalink/chanmaster?"));
  BOOST_TEST(datalink_url->find("ID=18423%3Achandra.obs.img") != std::string::npos, *datalink_url);
  client.transport->add(*datalink_url, FakeTransport::ok(read_sample("pyvo_dal_tests_data_datalink.xml")));
  auto links = client.vo->datalinks(result, 0, CallContext{});
  BOOST_TEST(!links.empty());
  BOOST_TEST(client.transport->request_urls().back() == *datalink_url);

  result.datalink.reset();  // a result without a DataLink service: no request, no links
  auto sent = client.transport->request_count();
  BOOST_TEST(client.vo->datalinks(result, 0, CallContext{}).empty());
  BOOST_TEST(client.transport->request_count() == sent);
}

BOOST_AUTO_TEST_CASE(cone_search_errors) {
  Client client;
  std::string url = vo::cone_search_url(kNumasterCone, kNgc4151, 1.0);
  client.transport->add(url, FakeTransport::ok(kQueryError));
  auto error = error_of([&] { client.vo->cone_search(numaster(), kNgc4151, 1.0, CallContext{}); });
  BOOST_TEST(error.errnum == EIO);
  BOOST_TEST(error.message.find("nosuchtable") != std::string::npos, error.message);
  BOOST_TEST(error.message.find(url) != std::string::npos, error.message);

  client.transport->add(url, FakeTransport::ok("not xml at all"));
  BOOST_TEST(error_of([&] { client.vo->cone_search(numaster(), kNgc4151, 1.0, CallContext{}); }).errnum == EPROTO);

  // A 404 is a wrong service URL, not an unknown name (those are answered in-band).
  client.transport->add(url, FakeTransport::response(404, "gone"));
  error = error_of([&] { client.vo->cone_search(numaster(), kNgc4151, 1.0, CallContext{}); });
  BOOST_TEST(error.errnum == EIO);
  BOOST_TEST(error.message.find("no such service") != std::string::npos, error.message);

  client.transport->clear_requests();
  client.transport->add(url, FakeTransport::response(503, "busy", {{"Retry-After", "0"}}));
  error = error_of([&] { client.vo->cone_search(numaster(), kNgc4151, 1.0, CallContext{}); });
  BOOST_TEST(error.errnum == EIO);
  BOOST_TEST(error.message == "HTTP 503 from " + url);
  BOOST_TEST(client.transport->request_count() == 4u);  // 1 + 3 retries

  client.transport->clear_requests();
  client.transport->add(url, FakeTransport::response(403, "no"));
  BOOST_TEST(error_of([&] { client.vo->cone_search(numaster(), kNgc4151, 1.0, CallContext{}); }).errnum == EIO);
  BOOST_TEST(client.transport->request_count() == 1u);  // 4xx never retried
}
