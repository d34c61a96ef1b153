#include "vo/votable_writer.h"

#include <pugixml.hpp>

#include <cstdint>
#include <map>
#include <set>
#include <string_view>

namespace hfs::vo {
namespace {

constexpr char kReplacement[] = "\xEF\xBF\xBD";  // U+FFFD
constexpr char kDataLinkStandardId[] = "ivo://ivoa.net/std/DataLink#links-1.0";

bool allowed_in_xml(std::uint32_t code) {
  return code == 0x9 || code == 0xA || code == 0xD || (code >= 0x20 && code <= 0xD7FF) ||
         (code >= 0xE000 && code <= 0xFFFD) || (code >= 0x10000 && code <= 0x10FFFF);
}

// The text with every byte sequence that is not well-formed UTF-8, and every character XML 1.0
// cannot carry, replaced by U+FFFD.
std::string xml_text(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    std::size_t length = 0;
    std::uint32_t code = 0, minimum = 0;
    if (lead < 0x80) {
      length = 1;
      code = lead;
    } else if ((lead & 0xE0) == 0xC0) {
      length = 2;
      code = lead & 0x1F;
      minimum = 0x80;
    } else if ((lead & 0xF0) == 0xE0) {
      length = 3;
      code = lead & 0x0F;
      minimum = 0x800;
    } else if ((lead & 0xF8) == 0xF0) {
      length = 4;
      code = lead & 0x07;
      minimum = 0x10000;
    }
    bool good = length > 0 && i + length <= text.size();
    for (std::size_t k = 1; good && k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      good = (next & 0xC0) == 0x80;
      code = (code << 6) | (next & 0x3F);
    }
    good = good && code >= minimum && allowed_in_xml(code);
    if (good) {
      out.append(text.substr(i, length));
      i += length;
    } else {
      out += kReplacement;
      ++i;  // resynchronise on the next byte
    }
  }
  return out;
}

void set_attribute(pugi::xml_node node, const char* name, std::string_view value) {
  if (value.empty()) return;
  node.append_attribute(name).set_value(xml_text(value).c_str());
}

void set_text(pugi::xml_node node, std::string_view value) {
  if (value.empty()) return;
  node.append_child(pugi::node_pcdata).set_value(xml_text(value).c_str());
}

void add_param(pugi::xml_node parent, const char* name, const std::string& value, const std::string& ref = {}) {
  auto param = parent.append_child("PARAM");
  param.append_attribute("name").set_value(name);
  param.append_attribute("datatype").set_value("char");
  param.append_attribute("arraysize").set_value("*");
  set_attribute(param, "ref", ref);
  param.append_attribute("value").set_value(xml_text(value).c_str());
}

// An XML NCName, ASCII only: what an ID attribute may be.
bool is_xml_name(std::string_view text) {
  if (text.empty()) return false;
  auto letter = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  if (!letter(text.front())) return false;
  for (char c : text)
    if (!letter(c) && !(c >= '0' && c <= '9') && c != '.' && c != '-') return false;
  return true;
}

// The IDs written: by FIELD index, and the DataLink inputs' refs (parsed ID -> written ID).
struct WrittenIds {
  std::map<std::size_t, std::string> by_field;
  std::map<std::string, std::string> by_ref;
};

WrittenIds written_ids(const VoTableData& table, const DataLinkService* datalink) {
  WrittenIds ids;
  if (!datalink) return ids;
  std::set<std::string> used;
  for (const auto& input : datalink->inputs) {
    if (input.ref.empty() || ids.by_ref.count(input.ref)) continue;
    auto index = table.field_index_by_id(input.ref);
    if (!index) continue;
    const std::string& name = table.fields[*index].name;
    std::string id = is_xml_name(name) && !used.count(name) ? name : input.ref;
    if (!used.insert(id).second) continue;
    ids.by_field.emplace(*index, id);
    ids.by_ref.emplace(input.ref, id);
  }
  return ids;
}

void add_field(pugi::xml_node table, const VoField& field, const std::string& id) {
  auto node = table.append_child("FIELD");
  set_attribute(node, "name", field.name);
  set_attribute(node, "ID", id);
  set_attribute(node, "datatype", field.datatype.empty() ? std::string("char") : field.datatype);
  set_attribute(node, "arraysize", field.arraysize);
  set_attribute(node, "unit", field.unit);
  set_attribute(node, "ucd", field.ucd);
  set_attribute(node, "utype", field.utype);
  set_attribute(node, "xtype", field.xtype);
  set_attribute(node, "precision", field.precision);
  set_attribute(node, "width", field.width);
  if (!field.description.empty()) set_text(node.append_child("DESCRIPTION"), field.description);
  if (field.null_value)
    node.append_child("VALUES").append_attribute("null").set_value(xml_text(*field.null_value).c_str());
}

// Character data as pugixml writes it (format_default): & < > escaped, and the control
// characters other than tab, LF and CR (xml_text leaves none) as character references.
void append_pcdata(std::string& out, std::string_view text) {
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '&') {
      out += "&amp;";
    } else if (c == '<') {
      out += "&lt;";
    } else if (c == '>') {
      out += "&gt;";
    } else if (byte < 0x20 && c != '\t' && c != '\n' && c != '\r') {
      out += "&#";
      out += static_cast<char>('0' + byte / 10);
      out += static_cast<char>('0' + byte % 10);
      out += ';';
    } else {
      out += c;
    }
  }
}

// The rows, one TR per line and one TD per line below it, as pugixml's format_indent |
// format_no_empty_element_tags writes them with `indent` before each TR. Written as text, not
// as a tree: pugixml's nodes cost 64 bytes each, two per cell (the TD and its text), which made
// the .results.vot of a 64 MiB answer cost half a GiB while it was written.
void append_rows(std::string& out, const VoTableData& table, const std::vector<std::size_t>& row_indices,
                 const std::string& indent) {
  const std::string td_indent = indent + " ";
  for (std::size_t index : row_indices) {
    const VoRow& row = table.rows.at(index);
    if (table.fields.empty()) {
      out += indent + "<TR></TR>\n";
      continue;
    }
    out += indent + "<TR>\n";
    for (std::size_t c = 0; c < table.fields.size(); ++c) {
      out += td_indent + "<TD>";
      if (c < row.size() && row[c]) append_pcdata(out, xml_text(*row[c]));
      else if (table.fields[c].null_value) append_pcdata(out, xml_text(*table.fields[c].null_value));
      out += "</TD>\n";
    }
    out += indent + "</TR>\n";
  }
}

// Stands for the rows in the tree; every '<' of a text or an attribute is escaped, so the
// written document holds this text once, at its place.
constexpr std::string_view kRowsMark = "<!--rows-->\n";

struct StringWriter final : pugi::xml_writer {
  std::string out;
  void write(const void* data, std::size_t size) override { out.append(static_cast<const char*>(data), size); }
};

}  // namespace

std::string write_votable(const VoTableData& table, const std::vector<std::size_t>& row_indices,
                          const DataLinkService* datalink) {
  pugi::xml_document document;
  auto declaration = document.append_child(pugi::node_declaration);
  declaration.append_attribute("version").set_value("1.0");
  declaration.append_attribute("encoding").set_value("UTF-8");
  auto root = document.append_child("VOTABLE");
  root.append_attribute("version").set_value("1.4");
  root.append_attribute("xmlns").set_value("http://www.ivoa.net/xml/VOTable/v1.3");
  root.append_attribute("xmlns:xsi").set_value("http://www.w3.org/2001/XMLSchema-instance");

  auto resource = root.append_child("RESOURCE");
  resource.append_attribute("type").set_value("results");
  auto status = resource.append_child("INFO");
  status.append_attribute("name").set_value("QUERY_STATUS");
  status.append_attribute("value").set_value("OK");
  auto table_node = resource.append_child("TABLE");
  set_attribute(table_node, "name", table.name);
  const auto ids = written_ids(table, datalink);
  for (std::size_t i = 0; i < table.fields.size(); ++i) {
    auto id = ids.by_field.find(i);
    add_field(table_node, table.fields[i], id != ids.by_field.end() ? id->second : std::string());
  }
  auto rows = table_node.append_child("DATA").append_child("TABLEDATA");
  if (!row_indices.empty()) rows.append_child(pugi::node_comment).set_value("rows");

  if (datalink) {
    auto service = root.append_child("RESOURCE");
    service.append_attribute("type").set_value("meta");
    service.append_attribute("utype").set_value("adhoc:service");
    add_param(service, "standardID", kDataLinkStandardId);
    add_param(service, "accessURL", datalink->access_url);
    auto inputs = service.append_child("GROUP");
    inputs.append_attribute("name").set_value("inputParams");
    for (const auto& input : datalink->inputs) {
      auto id = ids.by_ref.find(input.ref);
      add_param(inputs, input.name.c_str(), input.value, id != ids.by_ref.end() ? id->second : input.ref);
    }
  }

  StringWriter writer;
  document.save(writer, " ", pugi::format_indent | pugi::format_no_empty_element_tags, pugi::encoding_utf8);
  if (row_indices.empty()) return writer.out;
  const std::size_t mark = writer.out.find(kRowsMark);
  const std::size_t line = writer.out.rfind('\n', mark) + 1;
  std::string out = writer.out.substr(0, line);
  append_rows(out, table, row_indices, writer.out.substr(line, mark - line));
  out.append(writer.out, mark + kRowsMark.size());
  return out;
}

}  // namespace hfs::vo
