#include "vo/s3_listing.h"

#include <pugixml.hpp>

#include <charconv>
#include <ctime>

#include "common/error.h"
#include "common/text.h"
#include "vo/url_codec.h"

namespace hfs::vo {
namespace {

[[noreturn]] void fail(const std::string& message) { throw Error(EPROTO, "S3 listing: " + message); }

std::string_view local_name(const pugi::xml_node& node) {
  std::string_view name = node.name();
  auto colon = name.rfind(':');
  return colon == std::string_view::npos ? name : name.substr(colon + 1);
}

pugi::xml_node child(const pugi::xml_node& node, std::string_view name) {
  for (const auto& c : node.children())
    if (c.type() == pugi::node_element && local_name(c) == name) return c;
  return {};
}

// Character data of a child element ("" when absent); whitespace kept: keys may hold it.
std::string child_text(const pugi::xml_node& node, std::string_view name) {
  std::string text;
  for (const auto& c : child(node, name).children())
    if (c.type() == pugi::node_pcdata || c.type() == pugi::node_cdata) text += c.value();
  return text;
}

}  // namespace

std::string s3_list_query(std::string_view prefix, std::string_view continuation_token) {
  std::string query = "list-type=2&prefix=" + percent_encode(prefix, "") + "&delimiter=%2F";
  if (!continuation_token.empty()) query += "&continuation-token=" + percent_encode(continuation_token, "");
  return query;
}

std::optional<std::int64_t> parse_iso8601_utc(std::string_view text) {
  // YYYY-MM-DDTHH:MM:SS, then optional .fraction, then Z (or nothing).
  if (text.size() < 19 || text[4] != '-' || text[7] != '-' || (text[10] != 'T' && text[10] != 't') || text[13] != ':' ||
      text[16] != ':')
    return std::nullopt;
  auto number = [&](std::size_t at, std::size_t length) -> std::optional<int> {
    int value = 0;
    auto [end, ec] = std::from_chars(text.data() + at, text.data() + at + length, value);
    if (ec != std::errc() || end != text.data() + at + length) return std::nullopt;
    return value;
  };
  auto year = number(0, 4), month = number(5, 2), day = number(8, 2);
  auto hour = number(11, 2), minute = number(14, 2), second = number(17, 2);
  if (!year || !month || !day || !hour || !minute || !second) return std::nullopt;
  if (*month < 1 || *month > 12 || *day < 1 || *day > 31 || *hour > 23 || *minute > 59 || *second > 60)
    return std::nullopt;
  std::size_t rest = 19;
  if (rest < text.size() && text[rest] == '.') {
    ++rest;
    while (rest < text.size() && text[rest] >= '0' && text[rest] <= '9') ++rest;
  }
  if (rest < text.size() && (text[rest] == 'Z' || text[rest] == 'z')) ++rest;
  if (rest != text.size()) return std::nullopt;
  std::tm tm{};
  tm.tm_year = *year - 1900;
  tm.tm_mon = *month - 1;
  tm.tm_mday = *day;
  tm.tm_hour = *hour;
  tm.tm_min = *minute;
  tm.tm_sec = *second;
  return static_cast<std::int64_t>(timegm(&tm));
}

S3ListPage parse_s3_list_page(std::string_view xml) {
  pugi::xml_document document;
  auto result = document.load_buffer(xml.data(), xml.size(), pugi::parse_default, pugi::encoding_utf8);
  if (!result) fail(std::string("not XML (") + result.description() + ")");
  pugi::xml_node root = document.document_element();
  if (local_name(root) == "Error")
    fail("the service answered " + child_text(root, "Code") + ": " + child_text(root, "Message"));
  if (local_name(root) != "ListBucketResult") fail("root element is <" + std::string(root.name()) + ">");

  // encoding-type=url (asked or not): keys and prefixes come percent-encoded.
  const bool url_encoded = text::lower(std::string(text::trim(child_text(root, "EncodingType")))) == "url";
  auto decoded = [&](std::string value) { return url_encoded ? percent_decode(value) : value; };

  S3ListPage page;
  for (const auto& node : root.children()) {
    if (node.type() != pugi::node_element) continue;
    const auto name = local_name(node);
    if (name == "Contents") {
      if (!child(node, "Key")) fail("an object without <Key>");
      S3Object object;
      object.key = decoded(child_text(node, "Key"));
      const std::string size_text(text::trim(child_text(node, "Size")));
      auto [end, ec] = std::from_chars(size_text.data(), size_text.data() + size_text.size(), object.size);
      if (size_text.empty() || ec != std::errc() || end != size_text.data() + size_text.size())
        fail("object '" + object.key + "' has no usable <Size> ('" + size_text + "')");
      object.etag = std::string(text::trim(child_text(node, "ETag")));
      object.mtime = parse_iso8601_utc(text::trim(child_text(node, "LastModified"))).value_or(0);
      page.objects.push_back(std::move(object));
    } else if (name == "CommonPrefixes") {
      for (const auto& prefix : node.children()) {
        if (prefix.type() != pugi::node_element || local_name(prefix) != "Prefix") continue;
        std::string value;
        for (const auto& c : prefix.children())
          if (c.type() == pugi::node_pcdata || c.type() == pugi::node_cdata) value += c.value();
        page.prefixes.push_back(decoded(value));
      }
    }
  }
  if (text::lower(std::string(text::trim(child_text(root, "IsTruncated")))) == "true") {
    std::string token = child_text(root, "NextContinuationToken");
    if (token.empty()) fail("IsTruncated is true without a NextContinuationToken");
    page.next_token = std::move(token);
  }
  return page;
}

}  // namespace hfs::vo
