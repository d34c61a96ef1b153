#include "vo/regtap.h"
#include "common/text.h"

#include <algorithm>
#include <cctype>
#include <map>

#include "common/error.h"
#include "vo/url_codec.h"

namespace hfs::vo {
namespace {

constexpr std::string_view kConeSearchId = "ivo://ivoa.net/std/conesearch";
// The separator pyvo's ivo_string_agg queries join interface lists with.
constexpr std::string_view kListSeparator = ":::py VO sep:::";

using text::lower;

// An ADQL string literal: quotes doubled. RegTAP stores ivoids lower-cased (RegTAP 1.1, 4.1),
// so the value is lower-cased too or "ivo://nasa.heasarc/NuMaster" would match nothing.
std::string adql_literal(std::string_view text) {
  std::string out = "'";
  for (char c : lower(text)) {
    out += c;
    if (c == '\'') out += '\'';
  }
  return out + "'";
}

std::string cone_query(const std::string& condition) {
  return "SELECT ivoid, res_title, access_url, standard_id, intf_role\n"
         "FROM rr.resource NATURAL JOIN rr.capability NATURAL JOIN rr.interface\n"
         "WHERE " +
         condition +
         " AND standard_id LIKE 'ivo://ivoa.net/std/conesearch%'\n"
         "  AND intf_role = 'std'";
}

std::vector<std::string> split(std::string_view text, std::string_view separator) {
  std::vector<std::string> parts;
  while (true) {
    auto at = text.find(separator);
    parts.emplace_back(text.substr(0, at));
    if (at == std::string_view::npos) return parts;
    text.remove_prefix(at + separator.size());
  }
}

// pyvo's Interface.supports(): the standard id without its "#fragment", case-insensitively;
// get_service() then keeps only role "std".
bool is_std_cone_search(std::string_view standard_id, std::string_view role) {
  return lower(standard_id.substr(0, standard_id.find('#'))) == kConeSearchId && role == "std";
}

// "ivo://nasa.heasarc/numaster" -> "numaster"; "" when the ivoid has no usable last segment.
std::string table_name(std::string_view ivoid) {
  auto authority_start = ivoid.find("://");
  auto slash = ivoid.rfind('/');
  if (authority_start == std::string_view::npos || slash == std::string_view::npos || slash < authority_start + 3) {
    return {};
  }
  std::string name(ivoid.substr(slash + 1));
  if (name == "." || name == ".." || name.find('\0') != std::string::npos) return {};
  return name;
}

std::string cell(const VoRow& row, std::optional<std::size_t> column) {
  if (!column || *column >= row.size() || !row[*column]) return {};
  return *row[*column];
}

struct Columns {
  std::optional<std::size_t> ivoid, title, url, standard_id, role;
  bool aggregated = false;
};

Columns find_columns(const VoTableData& table) {
  Columns columns;
  columns.ivoid = table.field_index("ivoid");
  columns.title = table.field_index("res_title");
  columns.url = table.field_index("access_url");
  columns.standard_id = table.field_index("standard_id");
  columns.role = table.field_index("intf_role");
  if (!columns.url) {
    columns.aggregated = true;
    columns.url = table.field_index("access_urls");
    columns.standard_id = table.field_index("standard_ids");
    columns.role = table.field_index("intf_roles");
  }
  if (!columns.ivoid || !columns.url || !columns.standard_id || !columns.role) {
    throw Error(EPROTO,
                "RegTAP: the answer lacks one of the columns ivoid, access_url(s), standard_id(s), intf_role(s) at "
                "its results TABLE");
  }
  return columns;
}

// The access URL of the row's std cone-search interface, "" if it has none.
std::string cone_url_of(const VoRow& row, const Columns& columns) {
  std::string urls = cell(row, columns.url), ids = cell(row, columns.standard_id), roles = cell(row, columns.role);
  if (!columns.aggregated) return is_std_cone_search(ids, roles) ? urls : std::string();
  auto url_list = split(urls, kListSeparator);
  auto id_list = split(ids, kListSeparator);
  auto role_list = split(roles, kListSeparator);
  std::size_t count = std::min({url_list.size(), id_list.size(), role_list.size()});  // zip(), as pyvo
  for (std::size_t i = 0; i < count; ++i) {
    if (is_std_cone_search(id_list[i], role_list[i]) && !url_list[i].empty()) return url_list[i];
  }
  return {};
}

}  // namespace

std::string regtap_cone_tables_query(const std::string& authority) {
  std::string prefix = authority;
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  // '%' and '_' in the authority would be LIKE wildcards; authorities have neither in practice,
  // and a wider match is filtered by the caller's ivoid check anyway.
  std::string pattern = adql_literal(prefix + "/%");
  return cone_query("ivoid LIKE " + pattern);
}

std::string regtap_cone_table_query(const std::string& ivoid) { return cone_query("ivoid = " + adql_literal(ivoid)); }

std::string tap_sync_form(const std::string& adql) { return "REQUEST=doQuery&LANG=ADQL&QUERY=" + form_encode(adql); }

std::vector<TableService> parse_regtap_cone_tables(const VoDocument& document) {
  if (document.query_status() == "ERROR") {
    throw Error(EIO, "RegTAP query failed: " + document.query_status_message());
  }
  const VoTableData* table = document.results_table();
  if (!table) throw Error(EPROTO, "RegTAP: no TABLE at the registry's answer");
  Columns columns = find_columns(*table);

  std::map<std::string, TableService> by_ivoid;  // the first std cone interface of each resource
  for (const auto& row : table->rows) {
    std::string ivoid = cell(row, columns.ivoid);
    std::string name = table_name(ivoid);
    if (name.empty() || by_ivoid.count(ivoid)) continue;
    std::string url = cone_url_of(row, columns);
    if (url.empty()) continue;
    by_ivoid[ivoid] = TableService{name, ivoid, cell(row, columns.title), url};
  }
  std::vector<TableService> services;
  services.reserve(by_ivoid.size());
  for (auto& [ivoid, service] : by_ivoid) services.push_back(std::move(service));
  std::stable_sort(services.begin(), services.end(),
                   [](const TableService& a, const TableService& b) { return a.name < b.name; });
  return services;
}

}  // namespace hfs::vo
