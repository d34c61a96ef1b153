// VOTable documents: the XML structure (pugixml) and TABLEDATA; BINARY/BINARY2 streams are in
// votable_binary.cpp.
#include "vo/votable.h"
#include "common/text.h"

#include <pugixml.hpp>

#include <algorithm>
#include <cctype>

#include "common/error.h"
#include "vo/votable_binary.h"

namespace hfs::vo {
namespace {

// Real documents nest RESOURCEs two or three deep; anything deeper is hostile (and recursion).
constexpr int kMaxResourceDepth = 32;

[[noreturn]] void fail(const std::string& message) { throw Error(EPROTO, "VOTable: " + message); }

using text::trim;

using text::iequals;

// "vot:TABLE" and "TABLE" are the same element: namespaces vary between services (1.1, 1.3,
// none) and some use prefixes, so only the local name counts.
std::string_view local_name(const pugi::xml_node& node) {
  std::string_view name = node.name();
  auto colon = name.rfind(':');
  return colon == std::string_view::npos ? name : name.substr(colon + 1);
}

bool is(const pugi::xml_node& node, std::string_view name) {
  return node.type() == pugi::node_element && local_name(node) == name;
}

std::string attribute(const pugi::xml_node& node, const char* name) { return node.attribute(name).value(); }

// All character data directly inside node (comments may split it, CDATA may hold it). With
// parse_embed_pcdata the character data before the first child is the element's own value.
std::string text_of(const pugi::xml_node& node) {
  std::string text = node.value();
  for (const auto& child : node.children()) {
    if (child.type() == pugi::node_pcdata || child.type() == pugi::node_cdata) text += child.value();
  }
  return text;
}

pugi::xml_node child(const pugi::xml_node& node, std::string_view name) {
  for (const auto& c : node.children()) {
    if (is(c, name)) return c;
  }
  return {};
}

VoInfo read_info(const pugi::xml_node& node) {
  return {attribute(node, "name"), attribute(node, "value"), std::string(trim(text_of(node)))};
}

VoParam read_param(const pugi::xml_node& node) {
  return {attribute(node, "name"),     attribute(node, "ID"),        attribute(node, "ref"),
          attribute(node, "datatype"), attribute(node, "arraysize"), attribute(node, "value")};
}

VoGroup read_group(const pugi::xml_node& node) {
  VoGroup group{attribute(node, "name"), {}};
  for (const auto& c : node.children()) {
    if (is(c, "PARAM")) group.params.push_back(read_param(c));
  }
  return group;
}

VoField read_field(const pugi::xml_node& node) {
  VoField field;
  field.name = attribute(node, "name");
  field.id = attribute(node, "ID");
  field.datatype = attribute(node, "datatype");
  field.arraysize = attribute(node, "arraysize");
  field.unit = attribute(node, "unit");
  field.ucd = attribute(node, "ucd");
  field.utype = attribute(node, "utype");
  field.xtype = attribute(node, "xtype");
  field.precision = attribute(node, "precision");
  field.width = attribute(node, "width");
  field.description = std::string(trim(text_of(child(node, "DESCRIPTION"))));
  if (auto values = child(node, "VALUES")) {
    if (auto null = values.attribute("null")) field.null_value = null.value();
  }
  return field;
}

bool is_scalar(const VoField& field) {
  auto size = trim(field.arraysize);
  return size.empty() || size == "1";
}

bool is_text(const VoField& field) { return field.datatype == "char" || field.datatype == "unicodeChar"; }

// TABLEDATA booleans ("T", "t", "1", "true", "F", "0", "false", any case; else unknown) in the
// form the BINARY reader gives them: "T", "F" and "?", space-separated in arrays.
std::string boolean_text(std::string_view value) {
  std::string out;
  while (!value.empty()) {
    auto end = std::min(value.find_first_of(" \t\r\n"), value.size());
    std::string_view token = value.substr(0, end);
    value = trim(value.substr(end));
    if (!out.empty()) out += ' ';
    out += text::boolean_token(token).value_or('?');
  }
  return out;
}

// A TD's text as a cell. Character data is kept verbatim; numbers & co are trimmed, and an empty
// or NaN scalar is null.
VoCell tabledata_cell(const VoField& field, std::string text) {
  if (is_text(field)) {
    if (field.null_value && text == *field.null_value) return std::nullopt;
    return text;
  }
  std::string_view value = trim(text);
  if (field.datatype == "boolean") {
    std::string normalized = boolean_text(value);
    if (is_scalar(field) && (normalized.empty() || normalized == "?")) return std::nullopt;
    return normalized;
  }
  if (field.null_value && value == trim(*field.null_value)) return std::nullopt;
  if (is_scalar(field) && (value.empty() || iequals(value, "NaN") || value == "?")) return std::nullopt;
  return std::string(value);
}

class Parser {
 public:
  explicit Parser(std::size_t document_size) : cell_budget_(document_size + 4096) {}

  VoDocument read(const pugi::xml_node& root) {
    document_.version = attribute(root, "version");
    for (const auto& c : root.children()) {
      if (is(c, "INFO")) document_.infos.push_back(read_info(c));
      if (is(c, "RESOURCE")) read_resource(c, 1);
    }
    return std::move(document_);
  }

 private:
  // Nested resources go after their parent: the parent's slot is taken first, filled last.
  void read_resource(const pugi::xml_node& node, int depth) {
    if (depth > kMaxResourceDepth) fail("RESOURCEs nested deeper than " + std::to_string(kMaxResourceDepth));
    std::size_t slot = document_.resources.size();
    document_.resources.emplace_back();
    VoResource resource;
    resource.type = node.attribute("type") ? attribute(node, "type") : "results";  // the schema default
    resource.utype = attribute(node, "utype");
    resource.id = attribute(node, "ID");
    resource.name = attribute(node, "name");
    for (const auto& c : node.children()) {
      if (is(c, "INFO")) resource.infos.push_back(read_info(c));
      if (is(c, "PARAM")) resource.params.push_back(read_param(c));
      if (is(c, "GROUP")) resource.groups.push_back(read_group(c));
      if (is(c, "TABLE")) resource.tables.push_back(read_table(c));
      if (is(c, "RESOURCE")) read_resource(c, depth + 1);
    }
    document_.resources[slot] = std::move(resource);
  }

  VoTableData read_table(const pugi::xml_node& node) {
    VoTableData table;
    table.name = attribute(node, "name");
    for (const auto& c : node.children()) {
      if (is(c, "FIELD")) table.fields.push_back(read_field(c));
      if (is(c, "PARAM")) table.params.push_back(read_param(c));
      if (is(c, "INFO")) table.infos.push_back(read_info(c));
    }
    for (const auto& c : node.children()) {
      if (is(c, "DATA")) read_data(c, table);
    }
    return table;
  }

  void read_data(const pugi::xml_node& data, VoTableData& table) {
    for (const auto& c : data.children()) {
      if (is(c, "TABLEDATA")) read_tabledata(c, table);
      if (is(c, "BINARY")) read_binary(c, false, table);
      if (is(c, "BINARY2")) read_binary(c, true, table);
      if (is(c, "FITS")) fail("FITS serialization of TABLE '" + table.name + "' is not supported");
      if (is(c, "INFO")) table.infos.push_back(read_info(c));
    }
  }

  void read_tabledata(const pugi::xml_node& node, VoTableData& table) {
    const std::size_t width = table.fields.size();
    for (const auto& tr : node.children()) {
      if (!is(tr, "TR")) continue;
      spend(std::max<std::size_t>(width, 1), table.rows.size());
      VoRow row;
      row.reserve(width);
      for (const auto& td : tr.children()) {
        if (!is(td, "TD")) continue;
        if (row.size() == width) {
          fail("TR " + std::to_string(table.rows.size() + 1) + " of TABLE '" + table.name + "' has more TDs than its " +
               std::to_string(width) + " FIELDs");
        }
        row.push_back(tabledata_cell(table.fields[row.size()], text_of(td)));
      }
      row.resize(width);  // missing trailing TDs are nulls
      table.rows.push_back(std::move(row));
    }
  }

  void read_binary(const pugi::xml_node& node, bool binary2, VoTableData& table) {
    const char* kind = binary2 ? "BINARY2" : "BINARY";
    auto stream = child(node, "STREAM");
    if (!stream) fail(std::string(kind) + " without STREAM in TABLE '" + table.name + "'");
    if (!attribute(stream, "href").empty()) fail("external STREAM href in TABLE '" + table.name + "' is not supported");
    if (!iequals(attribute(stream, "encoding"), "base64")) {
      fail("STREAM encoding '" + attribute(stream, "encoding") + "' in TABLE '" + table.name + "' is not supported");
    }
    if (table.fields.empty()) fail(std::string(kind) + " data in TABLE '" + table.name + "' without FIELDs");
    auto bytes = detail::decode_base64(text_of(stream));
    detail::decode_binary_rows(bytes, binary2, table.fields, table.rows, cell_budget_);
  }

  void spend(std::size_t cells, std::size_t row) {
    if (cell_budget_ < cells) fail("table larger than its document allows at row " + std::to_string(row + 1));
    cell_budget_ -= cells;
  }

  // Cells the whole document may produce, proportional to its size: real data never has more
  // than about one cell per byte, while an empty <TR/> under thousands of FIELDs would.
  std::size_t cell_budget_;
  VoDocument document_;
};

const VoInfo* find_query_status(const VoDocument& document) {
  std::vector<const VoInfo*> statuses;
  auto collect = [&](const std::vector<VoInfo>& infos) {
    for (const auto& info : infos) {
      if (info.name == "QUERY_STATUS") statuses.push_back(&info);
    }
  };
  collect(document.infos);
  for (const auto& resource : document.resources) {
    collect(resource.infos);
    for (const auto& table : resource.tables) collect(table.infos);
  }
  for (const char* wanted : {"ERROR", "OVERFLOW"}) {
    for (const auto* info : statuses) {
      if (iequals(trim(info->value), wanted)) return info;
    }
  }
  return statuses.empty() ? nullptr : statuses.front();
}

}  // namespace

bool VoField::is_numeric() const {
  static constexpr std::string_view kNumeric[] = {"unsignedByte", "short", "int", "long", "float", "double"};
  return is_scalar(*this) && std::find(std::begin(kNumeric), std::end(kNumeric), datatype) != std::end(kNumeric);
}

std::optional<std::size_t> VoTableData::field_index(std::string_view wanted) const {
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (iequals(fields[i].name, wanted)) return i;
  }
  return std::nullopt;
}

std::optional<std::size_t> VoTableData::field_index_by_id(std::string_view wanted) const {
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (!fields[i].id.empty() && fields[i].id == wanted) return i;
  }
  return std::nullopt;
}

std::string VoDocument::query_status() const {
  const VoInfo* info = find_query_status(*this);
  return info ? std::string(trim(info->value)) : std::string();
}

std::string VoDocument::query_status_message() const {
  const VoInfo* info = find_query_status(*this);
  return info ? info->text : std::string();
}

const VoTableData* VoDocument::results_table() const {
  for (const auto& resource : resources) {
    if (resource.type == "results" && !resource.tables.empty()) return &resource.tables.front();
  }
  for (const auto& resource : resources) {
    if (!resource.tables.empty()) return &resource.tables.front();
  }
  return nullptr;
}

namespace {

VoDocument read_document(const pugi::xml_document& tree, const pugi::xml_parse_result& parsed, std::size_t size) {
  if (!parsed) {
    fail(std::string("malformed XML (") + parsed.description() + ") at byte " + std::to_string(parsed.offset));
  }
  auto root = tree.document_element();
  if (!root || local_name(root) != "VOTABLE") {
    fail(std::string("no VOTABLE root element (found <") + (root ? root.name() : "nothing") + ">) at byte 0");
  }
  return Parser(size).read(root);
}

// parse_embed_pcdata: a TD's text is stored in the TD element itself, not in a child node of
// its own (pugixml's nodes are 64 bytes each: half of the tree of a TABLEDATA answer).
constexpr unsigned kParseOptions = pugi::parse_default | pugi::parse_embed_pcdata;

}  // namespace

VoDocument parse_votable(std::string_view xml) {
  pugi::xml_document tree;
  auto parsed = tree.load_buffer(xml.data(), xml.size(), kParseOptions, pugi::encoding_auto);
  return read_document(tree, parsed, xml.size());
}

VoDocument parse_votable_in_place(std::string&& xml) {
  std::string buffer = std::move(xml);
  pugi::xml_document tree;
  auto parsed = tree.load_buffer_inplace(buffer.data(), buffer.size(), kParseOptions, pugi::encoding_auto);
  return read_document(tree, parsed, buffer.size());
}

}  // namespace hfs::vo
