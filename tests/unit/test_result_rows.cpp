#define BOOST_TEST_MODULE result_rows
#include <boost/test/unit_test.hpp>
#include <set>

#include "common/error.h"
#include "fs/result_rows.h"

using namespace hfs;

namespace {

vo::VoField field(std::string name, std::string datatype, std::string ucd = "", std::string id = "") {
  vo::VoField f;
  f.name = std::move(name);
  f.datatype = std::move(datatype);
  f.ucd = std::move(ucd);
  f.id = std::move(id);
  return f;
}

vo::ConeResult cone(std::vector<vo::VoField> fields, std::vector<vo::VoRow> rows) {
  vo::ConeResult result;
  result.table.fields = std::move(fields);
  result.table.rows = std::move(rows);
  return result;
}

}  // namespace

BOOST_AUTO_TEST_CASE(obsid_names_rows) {
  auto rows =
      fs::name_rows(cone({field("__row", "char"), field("obsid", "char"), field("name", "char", "meta.id;meta.main")},
                         {{std::string("1"), std::string("60001111003"), std::string("NGC 4151")},
                          {std::string("2"), std::string("60001111005"), std::string("NGC 4151")}}));
  BOOST_TEST(rows.key_column == "obsid");
  BOOST_TEST((rows.row_names == std::vector<std::string>{"60001111003", "60001111005"}));
}

BOOST_AUTO_TEST_CASE(fallbacks_in_order) {
  // ID_MAIN before the DataLink field before meta.id;meta.main before __row.
  auto id_main = fs::name_rows(cone({field("seq", "char", "ID_MAIN"), field("name", "char", "meta.id;meta.main")},
                                    {{std::string("a"), std::string("x")}}));
  BOOST_TEST(id_main.key_column == "seq");
  auto with_datalink = cone({field("name", "char", "meta.id;meta.main"), field("link", "char", "", "DataLinkID")},
                            {{std::string("x"), std::string("L1")}});
  with_datalink.datalink = vo::DataLinkService{"http://dl", {{"id", "DataLinkID", ""}}};
  BOOST_TEST(fs::name_rows(with_datalink).key_column == "link");
  auto main_id = fs::name_rows(cone({field("name", "char", "meta.id;meta.main"), field("__row", "char")},
                                    {{std::string("3C 273"), std::string("9")}}));
  BOOST_TEST(main_id.row_names.at(0) == "3C 273");
  auto by_row =
      fs::name_rows(cone({field("__row", "char"), field("x", "double")}, {{std::string("17"), std::string("1")}}));
  BOOST_TEST(by_row.row_names.at(0) == "17");
  auto by_number = fs::name_rows(cone({field("x", "double")}, {{std::string("1")}, {std::string("2")}}));
  BOOST_TEST(by_number.key_column == "");
  BOOST_TEST((by_number.row_names == std::vector<std::string>{"row1", "row2"}));
}

BOOST_AUTO_TEST_CASE(unsafe_empty_and_duplicate_keys) {
  auto rows = fs::name_rows(
      cone({field("obsid", "char")},
           {{std::string("a/b")}, {std::string("")}, {std::nullopt}, {std::string("a/b")}, {std::string("..")}}));
  BOOST_TEST((rows.row_names == std::vector<std::string>{"a_b", "row2", "row3", "a_b~4", "_.."}));
  BOOST_TEST(rows.row_by_name.size() == 5u);
}

BOOST_AUTO_TEST_CASE(numeric_and_string_filters_with_nulls) {
  auto rows = fs::name_rows(cone({field("obsid", "char"), field("exposure_a", "double"), field("status", "char")},
                                 {{std::string("1"), std::string("57036.1"), std::string("archived")},
                                  {std::string("2"), std::string("9e3"), std::string("accepted")},
                                  {std::string("3"), std::nullopt, std::string("archived")},
                                  {std::string("4"), std::string("NaN"), std::nullopt}}));
  auto select = [&](std::string segment) { return fs::filter_rows(rows, {*fs::parse_filter_segment(segment)}); };
  BOOST_TEST((select("exposure_a>=50000") == std::vector<std::size_t>{0}));
  BOOST_TEST((select("exposure_a<1e4") == std::vector<std::size_t>{1}));
  BOOST_TEST((select("exposure_a!=1") == std::vector<std::size_t>{0, 1}));  // NULL and NaN match nothing
  BOOST_TEST((select("status=archived") == std::vector<std::size_t>{0, 2}));
  BOOST_TEST((select("STATUS>accepted") == std::vector<std::size_t>{0, 2}));  // column names ignore case
  try {
    select("exposure>=1");
    BOOST_FAIL("unknown column accepted");
  } catch (const Error& error) {
    BOOST_TEST(error.errnum() == ENOENT);
    std::string message = error.what();
    BOOST_TEST(message.find("'exposure'") != std::string::npos);
    BOOST_TEST(message.find("obsid, exposure_a, status") != std::string::npos);
  }
  try {
    select("exposure_a>=abc");
    BOOST_FAIL("non-number accepted for a numeric column");
  } catch (const Error& error) {
    BOOST_TEST(error.errnum() == ENOENT);
    BOOST_TEST(std::string(error.what()).find("'abc'") != std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(csv_quotes_like_rfc4180) {
  auto rows = fs::name_rows(
      cone({field("obsid", "char"), field("name", "char")}, {{std::string("1"), std::string("NGC 4151, nucleus")},
                                                             {std::string("2"), std::string("say \"hi\"")},
                                                             {std::string("3"), std::nullopt}}));
  BOOST_TEST(fs::results_csv(rows, {0, 1, 2}) == "obsid,name\n1,\"NGC 4151, nucleus\"\n2,\"say \"\"hi\"\"\"\n3,\n");
}

BOOST_AUTO_TEST_CASE(row_names_never_collide_with_results_csv_or_a_suffixed_name) {
  // ".results.csv" is in every query directory: a row with that key must not shadow it.
  auto csv = fs::name_rows(cone({field("obsid", "char")}, {{std::string(".results.csv")}, {std::string("x")}}));
  BOOST_TEST(csv.row_names.at(0) != ".results.csv");
  BOOST_TEST(csv.row_names.at(0) == ".results.csv~1");
  auto vot = fs::name_rows(cone({field("obsid", "char")}, {{std::string(".results.vot")}}));
  BOOST_TEST(vot.row_names.at(0) == ".results.vot~1");
  // A value that is already the "~<N>" name a later duplicate would get.
  auto rows = fs::name_rows(
      cone({field("obsid", "char")},
           {{std::string("a")}, {std::string("a~3")}, {std::string("a")}, {std::string("row4")}, {std::nullopt}}));
  std::set<std::string> distinct(rows.row_names.begin(), rows.row_names.end());
  BOOST_TEST(distinct.size() == rows.row_names.size());
  BOOST_TEST(rows.row_by_name.size() == rows.row_names.size());
  for (std::size_t i = 0; i < rows.row_names.size(); ++i) BOOST_TEST(rows.row_by_name.at(rows.row_names[i]) == i);
  BOOST_TEST(rows.row_names.at(0) == "a");
  BOOST_TEST(rows.row_names.at(1) == "a~3");
  BOOST_TEST(rows.row_names.at(3) == "row4");
}

BOOST_AUTO_TEST_CASE(key_values_too_long_for_a_file_name_become_row_n) {
  auto rows = fs::name_rows(
      cone({field("obsid", "char")}, {{std::string(200, 'k')}, {std::string(201, 'k')}, {std::string(300, 'x')}}));
  BOOST_TEST(rows.row_names.at(0) == std::string(200, 'k'));
  BOOST_TEST(rows.row_names.at(1) == "row2");
  BOOST_TEST(rows.row_names.at(2) == "row3");
  for (const auto& name : rows.row_names) BOOST_TEST(name.size() <= 255u);
}

BOOST_AUTO_TEST_CASE(string_filters_compare_bytes_and_numeric_filters_numbers) {
  auto rows = fs::name_rows(cone({field("obsid", "char"), field("name", "char"), field("n", "int")},
                                 {{std::string("1"), std::string("M 31"), std::string("9")},
                                  {std::string("2"), std::string("NGC 4151"), std::string("10")},
                                  {std::string("3"), std::string("m 31"), std::string(" 11 ")}}));
  auto select = [&](std::string segment) { return fs::filter_rows(rows, {*fs::parse_filter_segment(segment)}); };
  BOOST_TEST((select("name=M 31") == std::vector<std::size_t>{0}));  // case-sensitive
  BOOST_TEST((select("name<N") == std::vector<std::size_t>{0}));     // byte order: 'm' > 'N'
  BOOST_TEST((select("name>=NGC 4151") == std::vector<std::size_t>{1, 2}));
  BOOST_TEST((select("n>9.5") == std::vector<std::size_t>{1, 2}));     // 10 > 9.5 as numbers
  BOOST_TEST((select("obsid>10") == std::vector<std::size_t>{1, 2}));  // "2" > "10" as text
  // The same filter twice is the same filter.
  BOOST_TEST((fs::filter_rows(rows, {*fs::parse_filter_segment("n>=10"), *fs::parse_filter_segment("n>=10")}) ==
              std::vector<std::size_t>{1, 2}));
}

BOOST_AUTO_TEST_CASE(csv_quotes_newlines_and_header_names) {
  auto rows = fs::name_rows(cone({field("obsid", "char"), field("a,b", "char"), field("note", "char")},
                                 {{std::string("1"), std::string("line1\nline2"), std::string("cr\rhere")},
                                  {std::string("2"), std::string(""), std::string("\"")}}));
  BOOST_TEST(fs::results_csv(rows, {0, 1}) == "obsid,\"a,b\",note\n1,\"line1\nline2\",\"cr\rhere\"\n2,,\"\"\"\"\n");
}
