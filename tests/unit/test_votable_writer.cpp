#define BOOST_TEST_MODULE votable_writer
#include <boost/test/unit_test.hpp>

#include <pugixml.hpp>

#include <numeric>
#include <sstream>

#include "tests/support/samples.h"
#include "vo/cone_search.h"
#include "vo/votable.h"
#include "vo/votable_writer.h"

using namespace hfs;
using namespace hfs::vo;
using hfs::test::read_sample;

namespace {

void check_same_field(const VoField& written, const VoField& original) {
  BOOST_TEST(written.name == original.name);
  BOOST_TEST(written.datatype == original.datatype);
  BOOST_TEST(written.arraysize == original.arraysize);
  BOOST_TEST(written.unit == original.unit);
  BOOST_TEST(written.ucd == original.ucd);
  BOOST_TEST(written.utype == original.utype);
  BOOST_TEST(written.xtype == original.xtype);
  BOOST_TEST(written.precision == original.precision);
  BOOST_TEST(written.width == original.width);
  BOOST_TEST(written.description == original.description);
  BOOST_TEST((written.null_value == original.null_value));
}

std::vector<std::size_t> all_rows(const VoTableData& table) {
  std::vector<std::size_t> rows(table.rows.size());
  std::iota(rows.begin(), rows.end(), 0);
  return rows;
}

}  // namespace

// The real Xamin answer written out and read back: every FIELD attribute, every cell, the
// DataLink service.
BOOST_AUTO_TEST_CASE(real_answer_round_trips) {
  auto original = parse_cone_result(parse_votable(read_sample("heasarc_xamin_chanmaster_ngc4151_with_datalink.xml")));
  BOOST_TEST_REQUIRE(original.table.rows.size() >= 2u);
  BOOST_TEST_REQUIRE(original.datalink.has_value());
  const std::string xml = write_votable(original.table, all_rows(original.table), &*original.datalink);
  BOOST_TEST(xml.rfind("<?xml version=\"1.0\" encoding=\"UTF-8\"?>", 0) == 0);
  auto document = parse_votable(xml);
  BOOST_TEST(document.version == "1.4");
  BOOST_TEST(document.query_status() == "OK");
  auto written = parse_cone_result(document);
  BOOST_TEST_REQUIRE(written.table.fields.size() == original.table.fields.size());
  for (std::size_t i = 0; i < original.table.fields.size(); ++i)
    check_same_field(written.table.fields[i], original.table.fields[i]);
  BOOST_TEST((written.table.rows == original.table.rows));
  BOOST_TEST_REQUIRE(written.datalink.has_value());
  BOOST_TEST(written.datalink->access_url == original.datalink->access_url);
  BOOST_TEST_REQUIRE(written.datalink->inputs.size() == original.datalink->inputs.size());
  for (std::size_t i = 0; i < original.datalink->inputs.size(); ++i) {
    BOOST_TEST(written.datalink->inputs[i].name == original.datalink->inputs[i].name);
    BOOST_TEST(written.datalink->inputs[i].value == original.datalink->inputs[i].value);
    // A ref names the same FIELD, now by its name (astropy's Table.read names columns by ID).
    const auto& ref = original.datalink->inputs[i].ref;
    if (ref.empty()) continue;
    auto field = original.table.field_index_by_id(ref);
    BOOST_TEST_REQUIRE(field.has_value());
    BOOST_TEST(written.datalink->inputs[i].ref == original.table.fields[*field].name);
    BOOST_TEST((written.table.field_index_by_id(written.datalink->inputs[i].ref) == field));
  }
  // No other FIELD has an ID.
  std::size_t with_id = 0;
  for (const auto& field : written.table.fields) with_id += !field.id.empty();
  BOOST_TEST(with_id == 1u);
  // A row's DataLink request from the written file is the one from the service's answer.
  BOOST_TEST((datalink_url_for_row(written, 1) == datalink_url_for_row(original, 1)));
  BOOST_TEST(datalink_url_for_row(written, 1).has_value());
}

BOOST_AUTO_TEST_CASE(only_the_selected_rows_in_their_order) {
  auto original = parse_cone_result(parse_votable(read_sample("heasarc_xamin_chanmaster_ngc4151_with_datalink.xml")));
  BOOST_TEST_REQUIRE(original.table.rows.size() >= 2u);
  auto document = parse_votable(write_votable(original.table, {1, 0}));
  auto written = document.results_table();
  BOOST_TEST_REQUIRE(written);
  BOOST_TEST_REQUIRE(written->rows.size() == 2u);
  BOOST_TEST((written->rows[0] == original.table.rows[1]));
  BOOST_TEST((written->rows[1] == original.table.rows[0]));
  auto empty_document = parse_votable(write_votable(original.table, {}));
  auto empty = empty_document.results_table();
  BOOST_TEST_REQUIRE(empty);
  BOOST_TEST(empty->fields.size() == original.table.fields.size());
  BOOST_TEST(empty->rows.empty());
}

// Markup in names, descriptions and cells is escaped; characters XML cannot carry become
// U+FFFD; nulls come back as nulls, through the FIELD's null value where it has one.
BOOST_AUTO_TEST_CASE(escaping_and_nulls) {
  VoTableData table;
  table.name = "t<&>";
  VoField text;
  text.name = "a<b&\"c\"";
  text.datatype = "char";
  text.arraysize = "*";
  text.unit = "'q'";
  text.description = "x ]]> y <z/> & \"w\"";
  VoField counted;
  counted.name = "n";
  counted.datatype = "int";
  counted.null_value = "-999";
  VoField measured;
  measured.name = "f";
  measured.datatype = "double";
  measured.unit = "erg/s/cm**2";
  table.fields = {text, counted, measured};
  table.rows.push_back({std::string("<td>&amp; \"quoted\" 'single'"), std::string("7"), std::string("1.5e-12")});
  table.rows.push_back({std::string("bell\x01 bad\xff utf8 \xc3\xa9"), std::nullopt, std::nullopt});
  table.rows.push_back({std::string("  spaces kept  "), std::string("0"), std::string("-0.25")});

  const std::string xml = write_votable(table, {0, 1, 2});
  BOOST_TEST(xml.find("<VALUES null=\"-999\"") != std::string::npos);
  auto document = parse_votable(xml);
  auto parsed = document.results_table();
  BOOST_TEST_REQUIRE(parsed);
  BOOST_TEST(parsed->name == table.name);
  BOOST_TEST_REQUIRE(parsed->fields.size() == 3u);
  check_same_field(parsed->fields[0], text);
  check_same_field(parsed->fields[1], counted);
  check_same_field(parsed->fields[2], measured);
  BOOST_TEST_REQUIRE(parsed->rows.size() == 3u);
  BOOST_TEST((parsed->rows[0] == table.rows[0]));
  BOOST_TEST(*parsed->rows[1][0] == "bell\xEF\xBF\xBD bad\xEF\xBF\xBD utf8 \xc3\xa9");
  BOOST_TEST(!parsed->rows[1][1].has_value());
  BOOST_TEST(!parsed->rows[1][2].has_value());
  BOOST_TEST((parsed->rows[2] == table.rows[2]));
}

// The rows are written as text, not as a pugixml tree (a 64 MiB answer's tree cost half a GiB):
// the document is byte for byte what pugixml writes for it (its tree, parsed back and saved with
// the writer's flags), escapes, nulls and an empty table included.
BOOST_AUTO_TEST_CASE(rows_are_written_as_pugixml_writes_them) {
  VoTableData table;
  table.name = "t<&>";
  VoField text, counted, empty;
  text.name = "a";
  text.description = "d <!--rows--> & more";
  counted.name = "n";
  counted.datatype = "int";
  counted.null_value = "-9&9";
  empty.name = "e";
  table.fields = {text, counted, empty};
  table.rows.push_back({std::string("<td>&amp; \"q\" 'single' >"), std::string("7"), std::string("")});
  table.rows.push_back({std::string("bell\x01 tab\t bad\xff \xc3\xa9\nline"), std::nullopt, std::nullopt});
  table.rows.push_back({std::string("  spaces  "), std::string("0")});  // a short row: nulls
  DataLinkService service{"http://dl.example/links?a=1&b=<2>", {{"id", "", "x"}}};
  VoTableData no_fields;
  no_fields.rows.push_back({});
  for (const auto& [written, rows] :
       {std::pair{write_votable(table, {0, 1, 2, 0}, &service), 4u}, std::pair{write_votable(table, {}), 0u},
        std::pair{write_votable(no_fields, {0}), 1u}}) {
    pugi::xml_document tree;
    BOOST_TEST_REQUIRE(tree.load_buffer(written.data(), written.size(), pugi::parse_default | pugi::parse_declaration));
    std::ostringstream saved;
    tree.save(saved, " ", pugi::format_indent | pugi::format_no_empty_element_tags, pugi::encoding_utf8);
    BOOST_TEST(saved.str() == written);
    BOOST_TEST(parse_votable(written).results_table()->rows.size() == rows);
  }
}

// A referred FIELD whose name cannot be an ID keeps its own; two refs to one FIELD share it.
BOOST_AUTO_TEST_CASE(ids_of_referred_fields) {
  VoTableData table;
  VoField first, second, third;
  first.name = "2 bad name";
  first.id = "keep";
  second.name = "obsid";
  second.id = "DataLinkID";
  third.name = "other";
  third.id = "dropped";
  table.fields = {first, second, third};
  table.rows.push_back({std::string("x"), std::string("600"), std::string("y")});
  DataLinkService service{"http://dl.example/links",
                          {{"id", "DataLinkID", ""}, {"a", "keep", ""}, {"b", "DataLinkID", ""}}};
  auto written = parse_cone_result(parse_votable(write_votable(table, {0}, &service)));
  BOOST_TEST(written.table.fields[0].id == "keep");
  BOOST_TEST(written.table.fields[1].id == "obsid");
  BOOST_TEST(written.table.fields[2].id == "");
  BOOST_TEST_REQUIRE(written.datalink.has_value());
  BOOST_TEST(written.datalink->inputs[0].ref == "obsid");
  BOOST_TEST(written.datalink->inputs[1].ref == "keep");
  BOOST_TEST(written.datalink->inputs[2].ref == "obsid");
  BOOST_TEST((datalink_url_for_row(written, 0) == datalink_url_for_row(ConeResult{table, service}, 0)));
}
