// VOTable documents (IVOA VOTable 1.1-1.4): TABLEDATA, BINARY and BINARY2 serializations.
//
// Cells are kept as text in the TABLEDATA form whatever the serialization, so a BINARY double
// 182.63573325 reads "182.63573325" (shortest round-trip form); a null cell is std::nullopt.
// Arrays of numbers are space-separated, as in TABLEDATA; booleans read "T"/"F", complex
// numbers "re im", unicodeChar is converted to UTF-8.
//
// Null cells (std::nullopt): a FIELD's VALUES null= value, a scalar float/double NaN, a BINARY2
// null bit, an unset boolean, and an empty TD of a scalar numeric/boolean field. An empty string
// or array stays "" (a char TD that is empty, a zero-length BINARY char array).
//
// Element names are matched on their local part, so <vot:TABLE> and <TABLE> in any namespace
// (1.1..1.4 or none) read the same.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hfs::vo {

struct VoInfo {
  std::string name;
  std::string value;
  std::string text;  // element content
};

struct VoField {
  std::string name;
  std::string id;
  std::string datatype;   // char, unicodeChar, boolean, unsignedByte, short, int, long, float, double, ...
  std::string arraysize;  // "" for a scalar, "*", "10", "10*", ...
  std::string unit;
  std::string ucd;
  std::string utype;
  std::string xtype;
  std::string precision;  // display hints, kept so a written copy of the table shows the same
  std::string width;
  std::string description;
  std::optional<std::string> null_value;  // <VALUES null="..."> (cells equal to it read as nullopt)

  // True for the numeric datatypes (unsignedByte, short, int, long, float, double) with a scalar
  // arraysize ("" or "1"); false for char & co, complex numbers and arrays.
  bool is_numeric() const;
};

struct VoParam {
  std::string name;
  std::string id;
  std::string ref;  // for PARAMref-like use in adhoc:service inputParams
  std::string datatype;
  std::string arraysize;
  std::string value;
};

struct VoGroup {
  std::string name;
  std::vector<VoParam> params;
};

using VoCell = std::optional<std::string>;
using VoRow = std::vector<VoCell>;

struct VoTableData {
  std::string name;
  std::vector<VoField> fields;
  std::vector<VoParam> params;  // PARAMs of the TABLE
  std::vector<VoInfo> infos;    // INFOs of the TABLE (e.g. after DATA)
  std::vector<VoRow> rows;

  // Index of the field of that name (case-insensitive), if any.
  std::optional<std::size_t> field_index(std::string_view name) const;
  // Index of the field with that ID attribute (exact), if any.
  std::optional<std::size_t> field_index_by_id(std::string_view id) const;
};

struct VoResource {
  std::string type;   // "results", "meta", ...
  std::string utype;  // "adhoc:service", ...
  std::string id;
  std::string name;
  std::vector<VoInfo> infos;
  std::vector<VoParam> params;
  std::vector<VoGroup> groups;
  std::vector<VoTableData> tables;
};

struct VoDocument {
  std::string version;
  std::vector<VoInfo> infos;          // INFOs directly under VOTABLE
  std::vector<VoResource> resources;  // in document order, nested resources flattened after their parent

  // QUERY_STATUS from the document's or any resource's INFOs, "" when absent. Services may send
  // several (DaCHS: "OK" before the table, "OVERFLOW" after it): ERROR wins, then OVERFLOW,
  // then the first one.
  std::string query_status() const;
  // The QUERY_STATUS INFO's text (the service's error message), "" when absent.
  std::string query_status_message() const;
  // The first TABLE of the first resource of type "results" (the default type of a RESOURCE),
  // or else the first table at all; nullptr when there is no table.
  const VoTableData* results_table() const;
};

// Parses a whole document. Throws hfs::Error(EPROTO) with a message naming what was wrong
// (not XML, no VOTABLE root, a BINARY stream shorter than its fields, bad base64, DATA without
// FIELDs, a TR with more TDs than FIELDs, FITS or external streams, ...). The rows it builds are
// bounded by the size of the document, whatever its declared arraysizes.
VoDocument parse_votable(std::string_view xml);
// The same, parsing in the caller's buffer (pugixml's load_buffer_inplace) instead of a copy of
// it: a 64 MiB answer costs 64 MiB less while it is parsed. `xml` is consumed.
VoDocument parse_votable_in_place(std::string&& xml);

}  // namespace hfs::vo
