// What the filesystem makes of one cone-search answer: a directory name per row (the key
// column), filters over columns, and the .results.csv text.
//
// Key column rule (the README documents it): the first of
//   1. a column named "obsid" (every HEASARC master table),
//   2. the column whose UCD is ID_MAIN (the old-style main identifier),
//   3. the column the DataLink service reads (its FIELD ID is the adhoc:service input's ref),
//   4. a column with UCD "meta.id;meta.main",
//   5. "__row",
// else the 1-based row number. Values are made safe as file names ('/' and NUL become '_',
// "" becomes "row<N>"), and a name seen before in the same answer gets "~<N>" appended, N being
// the row's 1-based position (again, if that name is taken too; ".results.csv" and
// ".results.vot" count as taken), so every row has exactly one stable, distinct name.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "fs/path_grammar.h"
#include "vo/cone_search.h"

namespace hfs::fs {

// The files every query directory holds besides its rows; no row is ever given these names.
inline constexpr std::string_view kResultsCsvName = ".results.csv";
inline constexpr std::string_view kResultsVotName = ".results.vot";

struct ResultRows {
  vo::ConeResult cone;
  std::string key_column;              // "" when rows are named by number
  std::vector<std::string> row_names;  // one per row, distinct
  std::map<std::string, std::size_t> row_by_name;
};

ResultRows name_rows(vo::ConeResult cone);

// Rows (indices into cone.table.rows) passing every filter. Throws hfs::Error(ENOENT) naming
// the column and the valid ones when a column is unknown, or naming the value when a numeric
// column is compared with something that is not a number.
std::vector<std::size_t> filter_rows(const ResultRows& rows, const std::vector<FilterSpec>& filters);

// Checks one filter against the answer's columns without evaluating it (same errors).
void validate_filter(const ResultRows& rows, const FilterSpec& filter);

// CSV with RFC 4180 quoting and LF line ends: a header line with every column name, then the
// given rows, every column. NULL cells are empty.
std::string results_csv(const ResultRows& rows, const std::vector<std::size_t>& row_indices);

// The same rows as a VOTable 1.4 TABLEDATA document with the service's FIELD metadata and its
// DataLink service declaration (vo/votable_writer.h).
std::string results_votable(const ResultRows& rows, const std::vector<std::size_t>& row_indices);

}  // namespace hfs::fs
