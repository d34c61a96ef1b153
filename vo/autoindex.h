// Apache mod_autoindex listings (the HEASARC /FTP/ pages), parsed with a real HTML parser
// (gumbo). Sizes in these pages are rounded ("3.4K"): hints only, never file sizes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hfs::vo {

struct IndexEntry {
  std::string name;  // decoded, without trailing '/'
  bool is_dir = false;
  std::string url;                           // absolute URL of the entry (directories end with '/')
  std::optional<std::int64_t> mtime;         // "2020-11-06 20:20" as UTC seconds
  std::optional<std::uint64_t> approx_size;  // "3.4K" -> 3482 (3.4 * 1024, rounded); hint only
};

// Entries of the listing at page_url, in page order: skips sort links (?C=..), the parent
// directory, links leaving the directory (absolute paths elsewhere, other hosts, "../", deeper
// paths) and duplicates; names containing '/' are rejected. Reads both Apache layouts (<pre>
// FancyIndexing and HTMLTable). page_url is taken as a directory (a missing final '/' is added);
// an entry's url is page_url + its href's last segment, so the NuSTAR "00/6//600.../" double
// slash is kept. Throws hfs::Error(EPROTO) when the page is no listing (no "Index of" title or
// heading, no sort links and no entry with a date), hfs::Error(EINVAL) for a bad page_url.
std::vector<IndexEntry> parse_autoindex(std::string_view html, const std::string& page_url);

// Resolves href against base per RFC 3986 (libcurl's URL API). Throws hfs::Error(EINVAL).
std::string resolve_url(const std::string& base, const std::string& href);

}  // namespace hfs::vo
