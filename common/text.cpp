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

std::string redact_urls(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t copied = 0;
  for (std::size_t at = text.find("://"); at != std::string_view::npos; at = text.find("://", at + 3)) {
    const std::size_t authority = at + 3;
    std::size_t end = authority;
    while (end < text.size() && std::string_view("/?#\"'<> \t\r\n\f\v").find(text[end]) == std::string_view::npos)
      ++end;
    const std::size_t at_sign = text.substr(authority, end - authority).rfind('@');
    if (at_sign == std::string_view::npos) continue;
    out.append(text.substr(copied, authority - copied));
    copied = authority + at_sign + 1;
  }
  out.append(text.substr(copied));
  return out;
}

std::string escape_controls(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  auto escape = [&](std::string& out, unsigned char c) {
    out += "\\x";
    out += kHex[c >> 4];
    out += kHex[c & 0xF];
  };
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c == 0x7F) {
      escape(out, c);
    } else if (c == 0xC2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) >= 0x80 &&
               static_cast<unsigned char>(text[i + 1]) <= 0x9F) {
      escape(out, c);  // U+0080..U+009F: C1 controls (CSI and co.)
      escape(out, static_cast<unsigned char>(text[++i]));
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

std::string loggable(std::string_view text) { return escape_controls(redact_urls(text)); }

}  // namespace hfs::text
