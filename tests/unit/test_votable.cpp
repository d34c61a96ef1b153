#define BOOST_TEST_MODULE votable
#include <boost/test/unit_test.hpp>

#include <boost/property_tree/json_parser.hpp>
#include <boost/property_tree/ptree.hpp>

#include <bit>
#include <cstdint>

#include "common/error.h"
#include "tests/support/samples.h"
#include "vo/votable.h"

using namespace hfs::vo;
using hfs::test::read_sample;

namespace {

// A BINARY stream under construction: big-endian values, as the VOTable spec writes them.
struct Bytes {
  std::string data;
  Bytes& u8(std::uint8_t v) {
    data += static_cast<char>(v);
    return *this;
  }
  Bytes& be(std::uint64_t v, int size) {
    for (int i = size - 1; i >= 0; --i) data += static_cast<char>((v >> (8 * i)) & 0xFF);
    return *this;
  }
  Bytes& f32(float v) { return be(std::bit_cast<std::uint32_t>(v), 4); }
  Bytes& f64(double v) { return be(std::bit_cast<std::uint64_t>(v), 8); }
  Bytes& text(std::string_view v) {
    data += v;
    return *this;
  }
  Bytes& counted(std::string_view v) {
    be(v.size(), 4);
    return text(v);
  }
};

std::string base64(std::string_view bytes) {
  static const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    std::uint32_t chunk = static_cast<unsigned char>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) chunk |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    if (i + 2 < bytes.size()) chunk |= static_cast<unsigned char>(bytes[i + 2]);
    out += alphabet[(chunk >> 18) & 63];
    out += alphabet[(chunk >> 12) & 63];
    out += i + 1 < bytes.size() ? alphabet[(chunk >> 6) & 63] : '=';
    out += i + 2 < bytes.size() ? alphabet[chunk & 63] : '=';
    if (out.size() % 77 == 76) out += '\n';  // line breaks, as real writers put them
  }
  return out;
}

std::string document(const std::string& fields, const std::string& data) {
  return "<?xml version=\"1.0\"?>\n<VOTABLE version=\"1.4\" xmlns=\"http://www.ivoa.net/xml/VOTable/v1.3\">"
         "<RESOURCE type=\"results\"><TABLE name=\"t\">" +
         fields + "<DATA>" + data + "</DATA></TABLE></RESOURCE></VOTABLE>";
}

std::string binary_document(const std::string& fields, std::string_view stream, bool binary2 = false) {
  std::string element = binary2 ? "BINARY2" : "BINARY";
  return document(fields,
                  "<" + element + "><STREAM encoding=\"base64\">" + base64(stream) + "</STREAM></" + element + ">");
}

void expect_eproto(const std::string& xml, const std::string& fragment) {
  try {
    parse_votable(xml);
    BOOST_ERROR("no error; expected one mentioning '" << fragment << "'");
  } catch (const hfs::Error& error) {
    BOOST_TEST(error.errnum() == EPROTO);
    BOOST_TEST(std::string(error.what()).find(fragment) != std::string::npos, error.what());
  }
}

// Every datatype of VOTable 1.4, scalars and the array forms.
const std::string kAllTypes =
    "<FIELD name=\"b\" datatype=\"boolean\"/>"
    "<FIELD name=\"bits\" datatype=\"bit\" arraysize=\"10\"/>"
    "<FIELD name=\"ub\" datatype=\"unsignedByte\"/>"
    "<FIELD name=\"s\" datatype=\"short\"/>"
    "<FIELD name=\"i\" datatype=\"int\"><VALUES null=\"-99\"/></FIELD>"
    "<FIELD name=\"l\" datatype=\"long\"/>"
    "<FIELD name=\"fixed\" datatype=\"char\" arraysize=\"8\"/>"
    "<FIELD name=\"var\" datatype=\"char\" arraysize=\"*\"/>"
    "<FIELD name=\"uc\" datatype=\"unicodeChar\" arraysize=\"*\"/>"
    "<FIELD name=\"f\" datatype=\"float\"/>"
    "<FIELD name=\"d\" datatype=\"double\"/>"
    "<FIELD name=\"fc\" datatype=\"floatComplex\"/>"
    "<FIELD name=\"dc\" datatype=\"doubleComplex\"/>"
    "<FIELD name=\"matrix\" datatype=\"double\" arraysize=\"3x2\"/>"
    "<FIELD name=\"bounded\" datatype=\"int\" arraysize=\"4*\"/>"
    "<FIELD name=\"empty\" datatype=\"short\" arraysize=\"*\"/>"
    "<FIELD name=\"c1\" datatype=\"char\"/>";

void first_row(Bytes& b) {
  b.u8('T').be(0b1011000001000000, 2).u8(255).be(static_cast<std::uint16_t>(-2), 2).be(7, 4);
  b.be(static_cast<std::uint64_t>(-9007199254740993LL), 8);
  b.text(std::string("abc\0\0\0\0\0", 8)).counted("hello world");
  b.be(3, 4).be(0x00E9, 2).be(0x20AC, 2).be(0x0041, 2);  // "é€A"
  b.f32(0.1f).f64(182.63573325).f32(1.5f).f32(-2).f64(1e-300).f64(-0.5);
  for (double v : {1.0, 2.5, -3.0, 4e20, 5.25, 6.0}) b.f64(v);
  b.be(3, 4).be(1, 4).be(2, 4).be(3, 4);
  b.be(0, 4);
  b.u8('x');
}

void second_row(Bytes& b) {
  b.u8('?').be(0, 2).u8(0).be(0x7FFF, 2).be(static_cast<std::uint32_t>(-99), 4).be(0, 8);
  b.text("ab      ").counted("");
  b.be(2, 4).be(0xD83D, 2).be(0xDE00, 2);  // U+1F600 as a surrogate pair
  b.f32(std::numeric_limits<float>::quiet_NaN()).f64(std::numeric_limits<double>::quiet_NaN());
  b.f32(0).f32(0).f64(std::numeric_limits<double>::infinity()).f64(0);
  for (int i = 0; i < 6; ++i) b.f64(std::numeric_limits<double>::quiet_NaN());
  b.be(0, 4);
  b.be(2, 4).be(-1, 2).be(1, 2);
  b.u8(' ');
}

}  // namespace

BOOST_AUTO_TEST_CASE(binary_every_datatype) {
  Bytes stream;
  first_row(stream);
  second_row(stream);
  auto doc = parse_votable(binary_document(kAllTypes, stream.data));
  const VoTableData* table = doc.results_table();
  BOOST_TEST_REQUIRE(table != nullptr);
  BOOST_TEST_REQUIRE(table->rows.size() == 2u);
  const VoRow& a = table->rows[0];
  const VoRow& b = table->rows[1];
  BOOST_TEST(*a[0] == "T");
  BOOST_TEST(*a[1] == "1 0 1 1 0 0 0 0 0 1");
  BOOST_TEST(*a[2] == "255");
  BOOST_TEST(*a[3] == "-2");
  BOOST_TEST(*a[4] == "7");
  BOOST_TEST(*a[5] == "-9007199254740993");
  BOOST_TEST(*a[6] == "abc");
  BOOST_TEST(*a[7] == "hello world");
  BOOST_TEST(*a[8] ==
             "\xC3\xA9\xE2\x82\xAC"
             "A");
  BOOST_TEST(*a[9] == "0.1");  // shortest float form, not 0.10000000149011612
  BOOST_TEST(*a[10] == "182.63573325");
  BOOST_TEST(*a[11] == "1.5 -2");
  BOOST_TEST(*a[12] == "1e-300 -0.5");
  BOOST_TEST(*a[13] == "1 2.5 -3 4e+20 5.25 6");
  BOOST_TEST(*a[14] == "1 2 3");
  BOOST_TEST(*a[15] == "");
  BOOST_TEST(*a[16] == "x");

  BOOST_TEST(!b[0].has_value());  // '?' boolean
  BOOST_TEST(*b[1] == "0 0 0 0 0 0 0 0 0 0");
  BOOST_TEST(*b[2] == "0");
  BOOST_TEST(*b[3] == "32767");
  BOOST_TEST(!b[4].has_value());  // VALUES null="-99"
  BOOST_TEST(*b[6] == "ab");      // fixed-length char: trailing spaces are padding
  BOOST_TEST(*b[7] == "");
  BOOST_TEST(*b[8] == "\xF0\x9F\x98\x80");
  BOOST_TEST(!b[9].has_value());
  BOOST_TEST(!b[10].has_value());
  BOOST_TEST(*b[11] == "0 0");
  BOOST_TEST(*b[12] == "+Inf 0");
  BOOST_TEST(*b[13] == "NaN NaN NaN NaN NaN NaN");  // arrays keep NaN elements
  BOOST_TEST(*b[14] == "");
  BOOST_TEST(*b[15] == "-1 1");
  BOOST_TEST(*b[16] == "");
}

BOOST_AUTO_TEST_CASE(binary2_null_bitmap) {
  // 17 fields: a 3-byte bitmap per row. Row 1: no nulls. Row 2: fields 0, 7 (var char), 9 and 16.
  Bytes stream;
  stream.be(0, 3);
  first_row(stream);
  stream.u8(0b10000001).u8(0b01000000).u8(0b10000000);
  first_row(stream);
  auto doc = parse_votable(binary_document(kAllTypes, stream.data, true));
  const auto& rows = doc.results_table()->rows;
  BOOST_TEST_REQUIRE(rows.size() == 2u);
  for (const auto& cell : rows[0]) BOOST_TEST(cell.has_value());
  BOOST_TEST(*rows[0][10] == "182.63573325");
  for (std::size_t i = 0; i < rows[1].size(); ++i) {
    bool null = i == 0 || i == 7 || i == 9 || i == 16;
    BOOST_TEST(rows[1][i].has_value() == !null, "field " << i);
  }
  BOOST_TEST(*rows[1][8] == *rows[0][8]);  // the values after a null one are read in step
}

BOOST_AUTO_TEST_CASE(real_regtap_binary_matches_decoded_json) {
  auto doc = parse_votable(read_sample("pyvo_registry_tests_data_regtap.xml"));
  BOOST_TEST(doc.version == "1.4");
  BOOST_TEST(doc.query_status() == "OK");
  BOOST_TEST(doc.query_status_message() == "Query successful");
  const VoTableData* table = doc.results_table();
  BOOST_TEST_REQUIRE(table != nullptr);
  BOOST_TEST(table->name == "resource_capability_interface_alt_identifier_table_column");
  BOOST_TEST(table->fields.size() == 22u);
  BOOST_TEST(table->rows.size() == 30u);
  BOOST_TEST(table->fields[3].datatype == "unicodeChar");

  boost::property_tree::ptree json;
  std::istringstream text(read_sample("DERIVED_regtap_heasarc_rows_decoded.json"));
  boost::property_tree::read_json(text, json);
  std::size_t compared_rows = 0, compared_cells = 0;
  for (const auto& [unused, expected] : json.get_child("rows")) {
    std::string ivoid = expected.get<std::string>("ivoid");
    const VoRow* found = nullptr;
    for (const auto& row : table->rows) {
      if (row[0] && *row[0] == ivoid) found = &row;
    }
    BOOST_TEST_REQUIRE(found != nullptr, ivoid);
    for (const auto& [name, value] : expected) {
      auto column = table->field_index(name);
      BOOST_TEST_REQUIRE(column.has_value(), name);
      const VoCell& cell = (*found)[*column];
      std::string wanted = value.get_value<std::string>();
      if (wanted == "null") {  // property_tree reads JSON null as the text "null"
        BOOST_TEST(!cell.has_value(), ivoid << " " << name);
      } else {
        BOOST_TEST_REQUIRE(cell.has_value(), ivoid << " " << name);
        BOOST_TEST(*cell == wanted, ivoid << " " << name);
      }
      ++compared_cells;
    }
    ++compared_rows;
  }
  BOOST_TEST(compared_rows == 4u);
  BOOST_TEST(compared_cells == 4u * 22u);
  // A few by hand, in case the JSON reader were lenient.
  const VoRow& last = table->rows.back();
  BOOST_TEST(*last[0] == "ivo://nasa.heasarc/pulsar");
  BOOST_TEST(*last[3] == "Pulsar Catalog");
  BOOST_TEST(*last[13] == "1993ApJS...88..529T");
  BOOST_TEST(!last[14].has_value());  // region_of_regard: float NaN
}

BOOST_AUTO_TEST_CASE(real_scs_result_binary) {
  auto doc = parse_votable(read_sample("pyvo_dal_tests_data_scs_result.xml"));
  BOOST_TEST(doc.version == "1.1");
  BOOST_TEST(doc.query_status() == "OK");
  const VoTableData* table = doc.results_table();
  BOOST_TEST_REQUIRE(table != nullptr);
  BOOST_TEST(table->fields.size() == 9u);
  BOOST_TEST_REQUIRE(table->rows.size() == 1273u);
  std::vector<std::string> first{"77.6581", "1.68358", "1990.65777659664",   "0.15", "5", "199.248",
                                 "-21.432", "384.78",  "1522124650242182041"};
  for (std::size_t i = 0; i < first.size(); ++i) BOOST_TEST(*table->rows[0][i] == first[i]);
  BOOST_TEST(*table->rows.back()[0] == "78.2784");
  BOOST_TEST(*table->rows.back()[8] == "446896630097839093");
  BOOST_TEST(table->fields[0].is_numeric());
  BOOST_TEST(!table->fields[8].is_numeric());
  BOOST_TEST(*table->fields[8].null_value == "-1");
}

BOOST_AUTO_TEST_CASE(real_datalink_tabledata) {
  auto doc = parse_votable(read_sample("pyvo_dal_tests_data_datalink.xml"));
  BOOST_TEST_REQUIRE(doc.resources.size() == 2u);
  const VoTableData* table = doc.results_table();
  BOOST_TEST_REQUIRE(table != nullptr);
  BOOST_TEST(table->name == "dlresponse");
  BOOST_TEST_REQUIRE(table->rows.size() == 4u);
  BOOST_TEST(*table->rows[0][6] == "application/x-votable+xml;content=datalink");
  BOOST_TEST(!table->rows[0][7].has_value());  // -1 is the declared null
  BOOST_TEST(*table->rows[2][7] == "100800");
  BOOST_TEST(*table->rows[1][2] == "ndndtdihpgea");
  BOOST_TEST(*table->rows[1][1] == "");  // <TD/> of a char field: empty, not null
  const VoResource& service = doc.resources[1];
  BOOST_TEST(service.type == "meta");
  BOOST_TEST(service.utype == "adhoc:service");
  BOOST_TEST(service.id == "ndndtdihpgea");
  BOOST_TEST_REQUIRE(service.groups.size() == 1u);
  BOOST_TEST(service.groups[0].name == "inputParams");
  BOOST_TEST(service.groups[0].params.size() == 4u);
  BOOST_TEST(service.groups[0].params[0].value == "ivo://org.gavo.dc/~?flashheros/data/ca90/f0011.mt");
  BOOST_TEST(service.params.size() == 2u);
  BOOST_TEST(service.params[1].value == "ivo://ivoa.net/std/SODA#sync-1.0");
}

BOOST_AUTO_TEST_CASE(real_xamin_chanmaster) {
  auto doc = parse_votable(read_sample("heasarc_xamin_chanmaster_ngc4151_with_datalink.xml"));
  BOOST_TEST(doc.version == "1.4");
  BOOST_TEST(doc.query_status() == "OK");
  const VoTableData* table = doc.results_table();
  BOOST_TEST_REQUIRE(table != nullptr);
  BOOST_TEST(table->fields.size() == 49u);
  BOOST_TEST_REQUIRE(table->rows.size() == 2u);  // the sample keeps two of the "limit 3" rows
  auto datalink = table->field_index_by_id("DataLinkID");
  BOOST_TEST_REQUIRE(datalink.has_value());
  BOOST_TEST(table->fields[*datalink].name == "datalink");
  BOOST_TEST(*table->rows[0][*datalink] == "18423:chandra.obs.img");
  BOOST_TEST(*table->rows[0][*table->field_index("OBSID")] == "3052");
  BOOST_TEST(*table->rows[0][*table->field_index("ra")] == "182.63625");
  BOOST_TEST(*table->rows[0][*table->field_index("exposure")] == "156600.0");
  BOOST_TEST(!table->rows[0][*table->field_index("t_resolution")].has_value());  // empty double TD
  BOOST_TEST(*table->rows[0][*table->field_index("pol_states")] == "");
  BOOST_TEST(table->fields[0].ucd == "ID_MAIN");
  BOOST_TEST(table->fields[0].description == "Observation Identifier");
  BOOST_TEST(table->fields[*table->field_index("public_date")].is_numeric());
  BOOST_TEST(!table->fields[*table->field_index("SIA_naxis")].is_numeric());  // int arraysize="*"
  BOOST_TEST_REQUIRE(doc.resources.size() == 2u);
  BOOST_TEST(doc.resources[0].infos.size() == 4u);  // three before the TABLE, "Query Limit" after it
  const VoResource& meta = doc.resources[1];
  BOOST_TEST(meta.utype == "adhoc:service");
  BOOST_TEST(meta.params[1].value == "https://heasarc.gsfc.nasa.gov/xamin_aws/vo/datalink/chanmaster");
  BOOST_TEST(meta.groups[0].params[0].ref == "DataLinkID");
  BOOST_TEST(meta.groups[0].params[0].name == "id");
}

BOOST_AUTO_TEST_CASE(prefixes_and_no_namespace) {
  std::string prefixed =
      "<vot:VOTABLE xmlns:vot=\"http://www.ivoa.net/xml/VOTable/v1.3\" version=\"1.3\"><vot:RESOURCE>"
      "<vot:INFO name=\"QUERY_STATUS\" value=\"OK\"/><vot:TABLE><vot:FIELD name=\"x\" datatype=\"int\"/>"
      "<vot:DATA><vot:TABLEDATA><vot:TR><vot:TD>42</vot:TD></vot:TR></vot:TABLEDATA></vot:DATA></vot:TABLE>"
      "</vot:RESOURCE></vot:VOTABLE>";
  auto doc = parse_votable(prefixed);
  BOOST_TEST(doc.resources[0].type == "results");  // the schema's default
  BOOST_TEST(*doc.results_table()->rows[0][0] == "42");
  auto plain = parse_votable(
      "<VOTABLE><RESOURCE><TABLE><FIELD name=\"x\" datatype=\"char\" arraysize=\"*\"/>"
      "<DATA><TABLEDATA><TR><TD> a b </TD></TR><TR/></TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>");
  BOOST_TEST(*plain.results_table()->rows[0][0] == " a b ");   // character data kept verbatim
  BOOST_TEST(!plain.results_table()->rows[1][0].has_value());  // a missing TD is null
}

BOOST_AUTO_TEST_CASE(structure_infos_params_groups_nested) {
  auto doc = parse_votable(
      "<VOTABLE version=\"1.3\"><INFO name=\"top\" value=\"1\">doc info</INFO>"
      "<RESOURCE type=\"results\" name=\"outer\"><INFO name=\"QUERY_STATUS\" value=\"OK\"/>"
      "<RESOURCE type=\"meta\" name=\"inner\"><PARAM name=\"p\" value=\"v\"/>"
      "<RESOURCE name=\"innermost\"/></RESOURCE>"
      "<TABLE name=\"late\"><PARAM name=\"tp\" value=\"3\"/><GROUP name=\"g\"/>"
      "<FIELD name=\"x\" datatype=\"double\"/><DATA><TABLEDATA><TR><TD>NaN</TD></TR><TR><TD> 1.5 </TD></TR>"
      "</TABLEDATA></DATA></TABLE><INFO name=\"QUERY_STATUS\" value=\"OVERFLOW\"/></RESOURCE></VOTABLE>");
  BOOST_TEST(doc.infos.size() == 1u);
  BOOST_TEST(doc.infos[0].text == "doc info");
  BOOST_TEST_REQUIRE(doc.resources.size() == 3u);  // parent first, then its nested ones
  BOOST_TEST(doc.resources[0].name == "outer");
  BOOST_TEST(doc.resources[1].name == "inner");
  BOOST_TEST(doc.resources[2].name == "innermost");
  BOOST_TEST(doc.resources[0].tables.size() == 1u);  // the TABLE after the nested RESOURCE
  BOOST_TEST(doc.resources[1].params[0].value == "v");
  BOOST_TEST(doc.query_status() == "OVERFLOW");
  const VoTableData* table = doc.results_table();
  BOOST_TEST(table->params[0].value == "3");
  BOOST_TEST(!table->rows[0][0].has_value());
  BOOST_TEST(*table->rows[1][0] == "1.5");
  BOOST_TEST(table->field_index("X").has_value());
  BOOST_TEST(!table->field_index("y").has_value());
}

BOOST_AUTO_TEST_CASE(error_status_message) {
  auto doc = parse_votable(
      "<VOTABLE><RESOURCE type=\"results\"><INFO name=\"QUERY_STATUS\" value=\"ERROR\">"
      "Table 'nosuch' not found</INFO></RESOURCE></VOTABLE>");
  BOOST_TEST(doc.query_status() == "ERROR");
  BOOST_TEST(doc.query_status_message() == "Table 'nosuch' not found");
  BOOST_TEST(doc.results_table() == nullptr);
  BOOST_TEST(parse_votable("<VOTABLE/>").query_status() == "");
}

BOOST_AUTO_TEST_CASE(malformed_documents) {
  expect_eproto("", "malformed XML");
  expect_eproto("<VOTABLE><RESOURCE></VOTABLE>", "malformed XML");
  expect_eproto("<html><body/></html>", "no VOTABLE root");
  std::string field = "<FIELD name=\"x\" datatype=\"int\"/>";
  expect_eproto(document(field, "<TABLEDATA><TR><TD>1</TD><TD>2</TD></TR></TABLEDATA>"), "more TDs");
  expect_eproto(document("", "<BINARY><STREAM encoding=\"base64\">AAAA</STREAM></BINARY>"), "without FIELDs");
  expect_eproto(document(field, "<BINARY><STREAM encoding=\"base64\">AA!A</STREAM></BINARY>"), "bad base64");
  expect_eproto(document(field, "<BINARY><STREAM encoding=\"base64\">AAAAA</STREAM></BINARY>"), "bad base64");
  expect_eproto(document(field, "<BINARY><STREAM encoding=\"base64\">AA==AA</STREAM></BINARY>"), "bad base64");
  expect_eproto(document(field, "<BINARY><STREAM href=\"http://x/y\"/></BINARY>"), "href");
  expect_eproto(document(field, "<BINARY><STREAM encoding=\"gzip\">AAAA</STREAM></BINARY>"), "encoding");
  expect_eproto(document(field, "<FITS><STREAM href=\"x.fits\"/></FITS>"), "FITS");
  expect_eproto(binary_document("<FIELD name=\"x\" datatype=\"quad\"/>", "AAAA"), "unknown datatype");
  expect_eproto(binary_document("<FIELD name=\"x\" datatype=\"int\" arraysize=\"ax2\"/>", "AAAA"), "bad arraysize");
  std::string nested;
  for (int i = 0; i < 100; ++i) nested += "<RESOURCE>";
  for (int i = 0; i < 100; ++i) nested += "</RESOURCE>";
  expect_eproto("<VOTABLE>" + nested + "</VOTABLE>", "nested deeper");
}

BOOST_AUTO_TEST_CASE(truncated_binary_streams) {
  std::string fields = "<FIELD name=\"ra\" datatype=\"double\"/><FIELD name=\"id\" datatype=\"char\" arraysize=\"*\"/>";
  Bytes full;
  full.f64(1.0).counted("abc").f64(2.0).counted("defg");
  BOOST_TEST(parse_votable(binary_document(fields, full.data)).results_table()->rows.size() == 2u);
  for (std::size_t cut :
       {std::size_t{1}, std::size_t{7}, std::size_t{9}, std::size_t{13}, std::size_t{20}, full.data.size() - 1}) {
    expect_eproto(binary_document(fields, full.data.substr(0, cut)), "BINARY stream");
  }
  expect_eproto(binary_document(fields, full.data.substr(0, 17)), "row 2, FIELD 'ra'");
  BOOST_TEST(parse_votable(binary_document(fields, "")).results_table()->rows.empty());
  // BINARY2: a row with its null bitmap and nothing else.
  expect_eproto(binary_document(fields, std::string(1, '\0'), true), "ends inside a value");
}

BOOST_AUTO_TEST_CASE(declared_sizes_never_allocate) {
  // 2^31 elements declared, 8 bytes sent: an error, not a 16 GB allocation.
  expect_eproto(
      binary_document("<FIELD name=\"x\" datatype=\"double\" arraysize=\"2147483648\"/>", std::string(8, '\0')),
      "ends inside a value");
  Bytes huge_count;
  huge_count.be(0x7FFFFFFF, 4).text("abcd");
  expect_eproto(binary_document("<FIELD name=\"x\" datatype=\"char\" arraysize=\"*\"/>", huge_count.data),
                "ends inside a value");
  expect_eproto(binary_document("<FIELD name=\"x\" datatype=\"double\" arraysize=\"65536x65536x65536x65536\"/>",
                                std::string(8, '\0')),
                "bad arraysize");
  // Empty rows under thousands of FIELDs: far more cells than the document has bytes.
  std::string fields;
  for (int i = 0; i < 3000; ++i) fields += "<FIELD name=\"f" + std::to_string(i) + "\" datatype=\"int\"/>";
  std::string rows;
  for (int i = 0; i < 20000; ++i) rows += "<TR/>";
  expect_eproto(document(fields, "<TABLEDATA>" + rows + "</TABLEDATA>"), "larger than its document");
}

BOOST_AUTO_TEST_CASE(tabledata_booleans_read_like_binary_ones) {
  // TABLEDATA may spell a boolean T, F, t, f, 1, 0, true, false (any case); BINARY streams read
  // "T"/"F", and so must these, or a filter "flag=T" would depend on the serialization.
  std::string fields =
      "<FIELD name=\"flag\" datatype=\"boolean\"/><FIELD name=\"flags\" datatype=\"boolean\" "
      "arraysize=\"*\"/>";
  std::string rows;
  for (const char* value : {"T", "true", " TRUE ", "t", "1", "F", "false", "f", "0", "?", ""}) {
    rows += std::string("<TR><TD>") + value + "</TD><TD>true 0 ? F</TD></TR>";
  }
  auto doc = parse_votable(document(fields, "<TABLEDATA>" + rows + "</TABLEDATA>"));
  const auto& table = *doc.results_table();
  BOOST_TEST_REQUIRE(table.rows.size() == 11u);
  for (std::size_t i = 0; i < 5; ++i) BOOST_TEST(table.rows[i][0].value_or("null") == "T", "row " << i);
  for (std::size_t i = 5; i < 9; ++i) BOOST_TEST(table.rows[i][0].value_or("null") == "F", "row " << i);
  BOOST_TEST(!table.rows[9][0].has_value());
  BOOST_TEST(!table.rows[10][0].has_value());
  BOOST_TEST(table.rows[0][1].value_or("null") == "T F ? F");
}
