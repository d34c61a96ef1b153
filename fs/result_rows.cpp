#include "fs/result_rows.h"
#include "common/text.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <set>

#include "common/error.h"
#include "vo/votable_writer.h"

namespace hfs::fs {
namespace {

using text::iequals;

std::optional<std::size_t> find_key_column(const vo::ConeResult& cone) {
  const auto& fields = cone.table.fields;
  auto by_name = [&](std::string_view name) -> std::optional<std::size_t> {
    for (std::size_t i = 0; i < fields.size(); ++i)
      if (iequals(fields[i].name, name)) return i;
    return std::nullopt;
  };
  auto by_ucd = [&](std::string_view ucd) -> std::optional<std::size_t> {
    for (std::size_t i = 0; i < fields.size(); ++i)
      if (iequals(fields[i].ucd, ucd)) return i;
    return std::nullopt;
  };
  if (auto i = by_name("obsid")) return i;
  if (auto i = by_ucd("ID_MAIN")) return i;
  if (cone.datalink) {
    for (const auto& input : cone.datalink->inputs) {
      if (input.ref.empty()) continue;
      if (auto i = cone.table.field_index_by_id(input.ref)) return i;
    }
  }
  if (auto i = by_ucd("meta.id;meta.main")) return i;
  if (auto i = by_name("__row")) return i;
  return std::nullopt;
}

std::string safe_name(std::string value) {
  for (char& c : value)
    if (c == '/' || c == '\0') c = '_';
  if (value == "." || value == "..") value = "_" + value;
  return value;
}

std::optional<double> parse_number(std::string_view text) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

std::string valid_columns(const vo::VoTableData& table) {
  std::string names;
  for (const auto& field : table.fields) {
    if (!names.empty()) names += ", ";
    names += field.name;
  }
  return names;
}

template <class T>
bool compare(const T& a, CompareOp op, const T& b) {
  switch (op) {
    case CompareOp::eq: return a == b;
    case CompareOp::ne: return a != b;
    case CompareOp::lt: return a < b;
    case CompareOp::le: return a <= b;
    case CompareOp::gt: return a > b;
    case CompareOp::ge: return a >= b;
  }
  return false;
}

struct CompiledFilter {
  std::size_t column;
  CompareOp op;
  bool numeric;
  double number = 0;
  std::string text;
};

CompiledFilter compile(const ResultRows& rows, const FilterSpec& filter) {
  const auto& table = rows.cone.table;
  auto column = table.field_index(filter.column);
  if (!column) {
    throw Error(ENOENT, "filter '" + filter.segment + "': no column '" + filter.column +
                            "'; the columns are: " + valid_columns(table));
  }
  CompiledFilter compiled{*column, filter.op, table.fields[*column].is_numeric(), 0, {}};
  if (compiled.numeric) {
    auto number = parse_number(filter.value);
    if (!number || std::isnan(*number)) {
      throw Error(ENOENT, "filter '" + filter.segment + "': column '" + table.fields[*column].name + "' is numeric (" +
                              table.fields[*column].datatype + ") and '" + filter.value + "' is not a number");
    }
    compiled.number = *number;
  } else {
    compiled.text = filter.value;
  }
  return compiled;
}

bool matches(const vo::VoRow& row, const CompiledFilter& filter) {
  if (filter.column >= row.size() || !row[filter.column]) return false;  // NULL matches nothing
  const std::string& cell = *row[filter.column];
  if (filter.numeric) {
    auto value = parse_number(cell);
    if (!value || std::isnan(*value)) return false;
    return compare(*value, filter.op, filter.number);
  }
  return compare(std::string_view(cell), filter.op, std::string_view(filter.text));
}

void append_csv_field(std::string& out, std::string_view value) {
  if (value.find_first_of(",\"\r\n") == std::string_view::npos) {
    out += value;
    return;
  }
  out += '"';
  for (char c : value) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

}  // namespace

ResultRows name_rows(vo::ConeResult cone) {
  ResultRows rows;
  rows.cone = std::move(cone);
  auto key = find_key_column(rows.cone);
  if (key) rows.key_column = rows.cone.table.fields[*key].name;
  const auto& table_rows = rows.cone.table.rows;
  rows.row_names.reserve(table_rows.size());
  for (std::size_t i = 0; i < table_rows.size(); ++i) {
    std::string name;
    // A value too long for a file name (NAME_MAX 255, with room left for a "~<N>" suffix)
    // would be listed yet fail every lookup with ENAMETOOLONG: it gets row<N> too.
    constexpr std::size_t kMaxKeyNameBytes = 200;
    if (key && *key < table_rows[i].size() && table_rows[i][*key] && !table_rows[i][*key]->empty() &&
        table_rows[i][*key]->size() <= kMaxKeyNameBytes) {
      name = safe_name(*table_rows[i][*key]);
    } else {
      name = "row" + std::to_string(i + 1);
    }
    // Taken by an earlier row, or by the .results.* files every query directory holds. A value may
    // itself be the "~<N>" name a duplicate would get ("a", "a~3", "a"): suffix until distinct.
    const std::string suffix = "~" + std::to_string(i + 1);
    while (name == kResultsCsvName || name == kResultsVotName || rows.row_by_name.count(name)) name += suffix;
    rows.row_by_name.emplace(name, i);
    rows.row_names.push_back(std::move(name));
  }
  return rows;
}

void validate_filter(const ResultRows& rows, const FilterSpec& filter) { (void)compile(rows, filter); }

std::vector<std::size_t> filter_rows(const ResultRows& rows, const std::vector<FilterSpec>& filters) {
  std::vector<CompiledFilter> compiled;
  compiled.reserve(filters.size());
  for (const auto& filter : filters) compiled.push_back(compile(rows, filter));
  std::vector<std::size_t> selected;
  const auto& table_rows = rows.cone.table.rows;
  for (std::size_t i = 0; i < table_rows.size(); ++i) {
    if (std::all_of(compiled.begin(), compiled.end(),
                    [&](const CompiledFilter& f) { return matches(table_rows[i], f); }))
      selected.push_back(i);
  }
  return selected;
}

std::string results_csv(const ResultRows& rows, const std::vector<std::size_t>& row_indices) {
  const auto& table = rows.cone.table;
  std::string out;
  for (std::size_t c = 0; c < table.fields.size(); ++c) {
    if (c) out += ',';
    append_csv_field(out, table.fields[c].name);
  }
  out += "\n";
  for (std::size_t index : row_indices) {
    const auto& row = table.rows.at(index);
    for (std::size_t c = 0; c < table.fields.size(); ++c) {
      if (c) out += ',';
      if (c < row.size() && row[c]) append_csv_field(out, *row[c]);
    }
    out += "\n";
  }
  return out;
}

std::string results_votable(const ResultRows& rows, const std::vector<std::size_t>& row_indices) {
  return vo::write_votable(rows.cone.table, row_indices, rows.cone.datalink ? &*rows.cone.datalink : nullptr);
}

}  // namespace hfs::fs
