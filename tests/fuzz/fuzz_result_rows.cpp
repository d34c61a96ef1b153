// Any bytes as a cone-search answer's table (a header line of "name|ucd|datatype" fields, then
// rows of tab-separated cells, "\x01" for NULL) and a filter: naming the rows must give every row
// exactly one distinct name that is a usable file name (1..255 bytes, no '/' or NUL, not "." or
// "..", never ".results.csv"); filtering returns rows of the table; the CSV has one record per
// row plus the header (records counted outside quotes); the .results.vot of the chosen rows
// parses back as a VOTable with as many fields and rows (bytes XML cannot hold are replaced).
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "fs/result_rows.h"
#include "vo/votable.h"

namespace {

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  while (true) {
    auto at = text.find(separator);
    parts.push_back(text.substr(0, at));
    if (at == std::string_view::npos) return parts;
    text.remove_prefix(at + 1);
  }
}

std::size_t csv_records(std::string_view csv) {
  std::size_t records = 0;
  bool quoted = false;
  for (char c : csv) {
    if (c == '"') quoted = !quoted;
    if (c == '\n' && !quoted) ++records;
  }
  if (quoted) __builtin_trap();
  return records;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto lines = split(input, '\n');
  if (lines.size() < 2) return 0;
  hfs::vo::ConeResult cone;
  for (auto spec : split(lines[0], '\t')) {
    auto parts = split(spec, '|');
    hfs::vo::VoField field;
    field.name = std::string(parts[0]);
    if (parts.size() > 1) field.ucd = std::string(parts[1]);
    field.datatype = parts.size() > 2 ? std::string(parts[2]) : "char";
    if (field.datatype == "char") field.arraysize = "*";
    cone.table.fields.push_back(std::move(field));
  }
  std::string filter_text(lines[1]);
  for (std::size_t i = 2; i < lines.size() && i < 2000; ++i) {
    hfs::vo::VoRow row;
    for (auto cell : split(lines[i], '\t')) {
      if (cell == "\x01") row.emplace_back(std::nullopt);
      else row.emplace_back(std::string(cell));
    }
    row.resize(cone.table.fields.size());
    cone.table.rows.push_back(std::move(row));
  }
  const std::size_t row_count = cone.table.rows.size();
  auto rows = hfs::fs::name_rows(std::move(cone));
  if (rows.row_names.size() != row_count || rows.row_by_name.size() != row_count) __builtin_trap();
  std::set<std::string> seen;
  for (std::size_t i = 0; i < row_count; ++i) {
    const std::string& name = rows.row_names[i];
    if (name.empty() || name.size() > 255 || name == "." || name == ".." || name == hfs::fs::kResultsCsvName)
      __builtin_trap();
    if (name.find('/') != std::string::npos || name.find('\0') != std::string::npos) __builtin_trap();
    if (!seen.insert(name).second || rows.row_by_name.at(name) != i) __builtin_trap();
  }
  std::vector<std::size_t> chosen;
  if (auto filter = hfs::fs::parse_filter_segment(filter_text)) {
    try {
      hfs::fs::validate_filter(rows, *filter);
      chosen = hfs::fs::filter_rows(rows, {*filter});
      for (auto index : chosen)
        if (index >= row_count) __builtin_trap();
    } catch (const hfs::Error&) {
    }
  }
  if (csv_records(hfs::fs::results_csv(rows, chosen)) != chosen.size() + 1) __builtin_trap();
  const auto document = hfs::vo::parse_votable(hfs::fs::results_votable(rows, chosen));
  const auto* table = document.results_table();
  if (!table || table->rows.size() != chosen.size() || table->fields.size() != rows.cone.table.fields.size())
    __builtin_trap();
  return 0;
}
