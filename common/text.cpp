#include "common/text.h"

#include <algorithm>
#include <ctime>

namespace hfs::text {
namespace {

constexpr std::string_view kSpace = " \t\r\n\f\v";

char lower_char(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

}  // namespace

std::string_view trim(std::string_view text) {
  auto first = text.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(kSpace) - first + 1);
}

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), lower_char);
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](char x, char y) { return lower_char(x) == lower_char(y); });
}

std::optional<char> boolean_token(std::string_view token) {
  if (iequals(token, "T") || iequals(token, "true") || token == "1") return 'T';
  if (iequals(token, "F") || iequals(token, "false") || token == "0") return 'F';
  return std::nullopt;
}

std::string utc_text(std::int64_t seconds, const char* strftime_format) {
  const std::time_t time = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&time, &tm);
  char text[128];
  const std::size_t length = std::strftime(text, sizeof text, strftime_format, &tm);
  return std::string(text, length);
}

}  // namespace hfs::text
