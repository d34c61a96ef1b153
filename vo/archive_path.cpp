#include "vo/archive_path.h"

namespace hfs::vo {

std::optional<std::string> archive_path_of(std::string_view url) {
  // The path starts after "scheme://authority".
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return std::nullopt;
  const auto path_start = url.find('/', scheme_end + 3);
  if (path_start == std::string_view::npos) return std::nullopt;
  std::string_view path = url.substr(path_start);
  path = path.substr(0, path.find_first_of("?#"));
  // Find "/FTP/" with any run of slashes around it ("//FTP//x" is the same place).
  std::string collapsed;
  collapsed.reserve(path.size());
  for (char c : path) {
    if (c == '/' && !collapsed.empty() && collapsed.back() == '/') continue;
    collapsed += c;
  }
  constexpr std::string_view kMarker = "/FTP/";
  const auto marker = collapsed.find(kMarker);
  if (marker == std::string::npos) return std::nullopt;
  std::string rest = collapsed.substr(marker + kMarker.size());
  // No "." or ".." segment: a path must not leave the tree it is mapped into.
  std::size_t begin = 0;
  while (begin <= rest.size()) {
    auto end = rest.find('/', begin);
    if (end == std::string::npos) end = rest.size();
    std::string_view segment(rest.data() + begin, end - begin);
    if (segment == "." || segment == "..") return std::nullopt;
    begin = end + 1;
  }
  return rest;
}

std::optional<std::string> rebase_archive_url(std::string_view url, const std::string& prefix) {
  if (url.substr(0, prefix.size()) == prefix) return std::string(url);
  auto path = archive_path_of(url);
  if (!path) return std::nullopt;
  return prefix + *path;
}

}  // namespace hfs::vo
