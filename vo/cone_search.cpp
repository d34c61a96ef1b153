#include "vo/cone_search.h"
#include "common/text.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>

#include "common/error.h"
#include "vo/url_codec.h"

namespace hfs::vo {
namespace {

constexpr std::string_view kDataLinkStandard = "ivo://ivoa.net/std/datalink";
constexpr std::string_view kDataLinkMime = "application/x-votable+xml;content=datalink";

using text::lower;

const VoParam* find_param(const std::vector<VoParam>& params, std::string_view name) {
  for (const auto& param : params) {
    if (param.name == name) return &param;
  }
  return nullptr;
}

// The first adhoc:service resource declaring a DataLink service (pyvo's
// get_adhocservice_by_ivoid: standardID starts with the DataLink id, case-insensitively).
std::optional<DataLinkService> find_datalink_service(const VoDocument& document) {
  for (const auto& resource : document.resources) {
    if (resource.type != "meta" || resource.utype != "adhoc:service") continue;
    const VoParam* standard = find_param(resource.params, "standardID");
    const VoParam* access = find_param(resource.params, "accessURL");
    if (!standard || !access || access->value.empty()) continue;
    if (lower(standard->value).rfind(kDataLinkStandard, 0) != 0) continue;
    DataLinkService service{access->value, {}};
    for (const auto& group : resource.groups) {
      if (group.name != "inputParams") continue;
      for (const auto& param : group.params) service.inputs.push_back({param.name, param.ref, param.value});
    }
    return service;
  }
  return std::nullopt;
}

std::optional<std::string> cell(const VoTableData& table, std::size_t row, std::optional<std::size_t> column) {
  if (!column || row >= table.rows.size() || *column >= table.rows[row].size()) return std::nullopt;
  return table.rows[row][*column];
}

std::string without_spaces(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c != ' ' && c != '\t') out += c;
  }
  return lower(out);
}

}  // namespace

std::string python_float_repr(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  // Shortest round-trip digits in scientific form, "d.ddde±x", then laid out the way Python's
  // float_repr_style 'short' does: fixed notation when -4 <= exponent < 16, with ".0" on
  // integral values, else "de±xx" with at least two exponent digits.
  char buffer[64];
  auto result = std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::scientific);
  std::string_view sci(buffer, static_cast<std::size_t>(result.ptr - buffer));
  std::string sign;
  if (sci.front() == '-') {
    sign = "-";
    sci.remove_prefix(1);
  }
  auto e = sci.find('e');
  std::string digits;
  for (char c : sci.substr(0, e)) {
    if (c != '.') digits += c;
  }
  int exponent = std::atoi(std::string(sci.substr(e + 1)).c_str());
  std::string out;
  if (exponent >= -4 && exponent < 16) {
    if (exponent < 0) {
      out = "0." + std::string(static_cast<std::size_t>(-exponent - 1), '0') + digits;
    } else {
      auto integral = static_cast<std::size_t>(exponent) + 1;
      if (digits.size() <= integral) {
        out = digits + std::string(integral - digits.size(), '0') + ".0";
      } else {
        out = digits.substr(0, integral) + "." + digits.substr(integral);
      }
    }
  } else {
    out = digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    int magnitude = std::abs(exponent);
    out += exponent < 0 ? "e-" : "e+";
    if (magnitude < 10) out += '0';
    out += std::to_string(magnitude);
  }
  return sign + out;
}

std::string cone_search_url(const std::string& service_url, const SkyPosition& position, double radius_deg,
                            int verbosity) {
  // pyvo hands these to requests as floats; requests writes str(float) and urlencodes it.
  std::string query = "RA=" + form_encode(python_float_repr(position.ra_deg)) +
                      "&DEC=" + form_encode(python_float_repr(position.dec_deg)) +
                      "&SR=" + form_encode(python_float_repr(radius_deg)) + "&VERB=" + std::to_string(verbosity);
  return append_query(service_url, query);
}

namespace {

const VoTableData& results_of(const VoDocument& document) {
  if (document.query_status() == "ERROR") {
    throw Error(EIO, "cone search failed: " + document.query_status_message());
  }
  const VoTableData* table = document.results_table();
  if (!table) throw Error(EPROTO, "cone search: no TABLE at the service's answer");
  return *table;
}

}  // namespace

ConeResult parse_cone_result(const VoDocument& document) {
  return ConeResult{results_of(document), find_datalink_service(document)};
}

ConeResult parse_cone_result(VoDocument&& document) {
  // The table is part of `document`, which is the caller's to consume: not const.
  auto& table = const_cast<VoTableData&>(results_of(document));
  auto datalink = find_datalink_service(document);
  return ConeResult{std::move(table), std::move(datalink)};
}

std::optional<std::string> datalink_url_for_row(const ConeResult& result, std::size_t row) {
  const VoTableData& table = result.table;
  if (row >= table.rows.size()) return std::nullopt;
  if (!result.datalink) {
    // pyvo's fallback: a row that is itself a link to a DataLink document.
    auto format = cell(table, row, table.field_index("access_format"));
    auto url = cell(table, row, table.field_index("access_url"));
    if (format && url && !url->empty() && without_spaces(*format) == kDataLinkMime) return *url;
    return std::nullopt;
  }
  // pyvo's DatalinkQuery(accessURL, **inputs): an input named exactly "id" lands in the id=
  // keyword, which is sent as "ID" after all the others; the rest go in input order. Inputs
  // without a ref are sent only when they have a value.
  std::string others, id;
  for (const auto& input : result.datalink->inputs) {
    std::string value;
    if (!input.ref.empty()) {
      auto column = table.field_index_by_id(input.ref);
      auto filled = cell(table, row, column);
      if (!filled || filled->empty()) return std::nullopt;  // no such FIELD, null or "": nothing to ask for
      value = *filled;
    } else if (input.value.empty()) {
      continue;
    } else {
      value = input.value;
    }
    if (input.name == "id") {
      id = "ID=" + form_encode(value);
    } else {
      if (!others.empty()) others += '&';
      others += form_encode(input.name) + "=" + form_encode(value);
    }
  }
  std::string query = others;
  if (!id.empty()) query += (query.empty() ? "" : "&") + id;
  if (query.empty()) return result.datalink->access_url;
  return append_query(result.datalink->access_url, query);
}

}  // namespace hfs::vo
