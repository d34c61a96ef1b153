#include "vo/datalink.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "common/error.h"

namespace hfs::vo {
namespace {

std::string lower_trimmed(std::string_view text) {
  auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  text = text.substr(first, text.find_last_not_of(" \t\r\n") - first + 1);
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

std::optional<std::uint64_t> to_length(const std::optional<std::string>& text) {
  if (!text) return std::nullopt;
  std::uint64_t value = 0;
  auto [end, error] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (error != std::errc() || end != text->data() + text->size()) return std::nullopt;  // "-1", "", junk
  return value;
}

// The MIME type without parameters: "text/html;charset=utf-8" -> "text/html".
std::string mime_type(std::string_view content_type) {
  return lower_trimmed(content_type.substr(0, content_type.find(';')));
}

}  // namespace

std::vector<DataLink> parse_datalinks(const VoDocument& document) {
  if (document.query_status() == "ERROR") {
    throw Error(EIO, "DataLink query failed: " + document.query_status_message());
  }
  const VoTableData* table = document.results_table();
  if (!table) throw Error(EPROTO, "DataLink: no TABLE at the service's answer");
  auto access_url = table->field_index("access_url");
  if (!access_url) throw Error(EPROTO, "DataLink: no access_url FIELD at the {links} TABLE");
  auto column = [&](const char* name) { return table->field_index(name); };
  const auto id = column("ID"), service_def = column("service_def"), error_message = column("error_message"),
             description = column("description"), semantics = column("semantics"),
             content_type = column("content_type"), content_length = column("content_length");

  std::vector<DataLink> links;
  links.reserve(table->rows.size());
  for (const auto& row : table->rows) {
    auto text = [&](std::optional<std::size_t> index) -> std::optional<std::string> {
      if (!index || *index >= row.size()) return std::nullopt;
      return row[*index];
    };
    links.push_back(DataLink{text(id).value_or(""), text(access_url).value_or(""), text(service_def).value_or(""),
                             text(error_message).value_or(""), text(description).value_or(""),
                             text(semantics).value_or(""), text(content_type).value_or(""),
                             to_length(text(content_length))});
  }
  return links;
}

std::optional<DataLink> find_directory_link(const std::vector<DataLink>& links) {
  for (const auto& link : links) {
    if (!link.access_url.empty() && lower_trimmed(link.content_type) == "directory") return link;
  }
  // The 2026 drift (astroquery issue 3652): the directory row labelled text/html. Only an
  // archive directory URL qualifies, not the bibliography page that is text/html too.
  for (const auto& link : links) {
    const std::string& url = link.access_url;
    if (mime_type(link.content_type) == "text/html" && !url.empty() && url.back() == '/' &&
        url.find("/FTP/") != std::string::npos) {
      return link;
    }
  }
  return std::nullopt;
}

}  // namespace hfs::vo
