// Any bytes as the head of an HTTP answer: header lines as libcurl hands them over, and the
// values the clients parse from them (Content-Range, HTTP-dates in Last-Modified, Retry-After),
// then the range check every cached byte goes through. Nothing may crash; what is accepted must
// hold: a Content-Range with first <= last < total, a Retry-After between 0 and a day (delta)
// or not in the past (date), and a range check that passes only for exactly the asked bytes.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/error.h"
#include "vo/curl_request.h"
#include "vo/range_answer.h"

namespace {

namespace vo = hfs::vo;

void check_value(const std::string& value) {
  if (auto range = vo::parse_content_range(value)) {
    if (range->satisfied && range->first > range->last) __builtin_trap();
    if (range->satisfied && range->total && range->last >= *range->total) __builtin_trap();
    if (!range->satisfied && !range->total) __builtin_trap();
  }
  (void)vo::parse_http_date(value);
  const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1700000000));
  if (auto wait = vo::parse_retry_after(value, now)) {
    if (wait->count() < 0) __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  check_value(std::string(input));

  // Lines: the first two bytes pick the status and the asked range, the rest are header lines.
  if (size < 2) return 0;
  vo::ResponseHead head;
  static constexpr long kStatuses[] = {200, 206, 301, 404, 410, 416, 429, 500, 501, 503, 599, 0};
  head.status = kStatuses[data[0] % (sizeof kStatuses / sizeof kStatuses[0])];
  std::string_view rest = input.substr(2);
  while (!rest.empty()) {
    auto end = rest.find('\n');
    std::string_view line = rest.substr(0, end == std::string_view::npos ? rest.size() : end + 1);
    vo::curl::collect_header_line(line, head.headers);
    rest.remove_prefix(line.size());
  }
  for (const auto& [name, value] : head.headers) {
    for (char c : name)
      if (c >= 'A' && c <= 'Z') __builtin_trap();  // names are lower-cased
    check_value(value);
  }
  vo::ObjectInfo expected;
  expected.url = "http://archive.example/FTP/file";
  expected.size = 1000;
  expected.etag = data[1] & 1 ? "\"v1\"" : "";
  expected.mtime = data[1] & 2 ? 1604693400 : 0;
  const std::uint64_t offset = (data[1] >> 2) * 15, length = 1 + (data[1] & 0x3C);
  try {
    vo::check_range_head(expected, offset, length, head);
    if (head.status == 200) {
      if (offset != 0 || length != expected.size) __builtin_trap();
    } else {
      auto range = vo::parse_content_range(head.header("content-range").value_or(""));
      if (head.status != 206 || !range || range->first != offset || range->last != offset + length - 1)
        __builtin_trap();
    }
  } catch (const hfs::Error&) {
  }
  return 0;
}
