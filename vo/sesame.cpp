#include "vo/sesame.h"

#include <charconv>
#include <cmath>

#include "vo/url_codec.h"

namespace hfs::vo {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r'; }

// Next whitespace-separated token of line starting at pos.
std::string_view next_token(std::string_view line, std::size_t& pos) {
  while (pos < line.size() && is_space(line[pos])) ++pos;
  std::size_t start = pos;
  while (pos < line.size() && !is_space(line[pos])) ++pos;
  return line.substr(start, pos - start);
}

std::optional<double> to_double(std::string_view token) {
  if (!token.empty() && token[0] == '+') token.remove_prefix(1);
  double value = 0;
  auto [end, error] = std::from_chars(token.data(), token.data() + token.size(), value);
  if (error != std::errc() || end != token.data() + token.size() || !std::isfinite(value)) return std::nullopt;
  return value;
}

// "%J 113.649471640 +31.888282216 = 07:34:35.87 +31:53:17.8" -> the two decimal numbers.
std::optional<SkyPosition> parse_j_line(std::string_view line) {
  std::size_t pos = 2;  // after "%J"
  auto ra = to_double(next_token(line, pos));
  auto dec = to_double(next_token(line, pos));
  if (!ra || !dec || *ra < 0 || *ra >= 360 || *dec < -90 || *dec > 90) return std::nullopt;
  return SkyPosition{*ra, *dec};
}

}  // namespace

std::string sesame_url(const std::string& base, std::string_view name, std::string_view db) {
  std::string url = base;
  while (!url.empty() && url.back() == '/') url.pop_back();
  url += '/';
  url += db;
  url += '?';
  url += percent_encode(name);  // urllib.parse.quote, as astropy: "ngc 4151" -> "ngc%204151"
  return url;
}

std::optional<SkyPosition> parse_sesame(std::string_view answer) {
  std::size_t start = 0;
  while (start < answer.size()) {
    auto end = answer.find('\n', start);
    if (end == std::string_view::npos) end = answer.size();
    auto line = answer.substr(start, end - start);
    start = end + 1;
    // "%J " and not "%J.E" (the error ellipse line that follows it).
    if (line.size() > 2 && line.substr(0, 2) == "%J" && is_space(line[2])) {
      if (auto position = parse_j_line(line)) return position;
    }
  }
  return std::nullopt;
}

bool is_sesame_answer(std::string_view answer) {
  auto first = answer.find_first_not_of(" \t\r\n");
  return first != std::string_view::npos && answer[first] == '#';
}

}  // namespace hfs::vo
