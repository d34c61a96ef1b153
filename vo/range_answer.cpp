#include "vo/range_answer.h"

#include <algorithm>

#include "common/error.h"
#include "common/text.h"

namespace hfs::vo {

HttpRequest range_request(const ObjectInfo& expected, std::uint64_t offset, std::uint64_t length) {
  HttpRequest request;
  request.url = expected.url;
  request.range = ByteRange{offset, offset + length - 1};
  request.body_limit = length;
  request.headers.emplace_back("Accept-Encoding", "identity");
  return request;
}

void check_range_head(const ObjectInfo& expected, std::uint64_t offset, std::uint64_t length,
                      const ResponseHead& head) {
  const std::uint64_t last = offset + length - 1;
  const std::string where = expected.url + " bytes " + std::to_string(offset) + "-" + std::to_string(last);
  const long status = head.status;
  if (status == 429 || (status >= 500 && status <= 599 && status != 501 && status != 505))
    throw RetryableStatusError(status, where + ": HTTP " + std::to_string(status),
                               parse_retry_after(head.header("retry-after"), std::chrono::system_clock::now()));
  if (status == 404 || status == 410) throw Error(ENOENT, where + ": HTTP " + std::to_string(status));
  if (status == 416) throw Error(ESTALE, where + ": range not satisfiable any more (object shrank)");
  if (status != 200 && status != 206) throw Error(EIO, where + ": HTTP " + std::to_string(status));

  // The object must still be the version `expected` describes: the ETag when both sides have
  // one, else Last-Modified.
  auto etag = head.header("etag");
  if (!expected.etag.empty() && etag && *etag != expected.etag)
    throw Error(ESTALE, where + ": ETag is now " + *etag + ", was " + expected.etag);
  if ((expected.etag.empty() || !etag) && expected.mtime != 0) {
    if (auto modified = head.header("last-modified")) {
      auto seconds = parse_http_date(*modified);
      if (seconds && *seconds != expected.mtime)
        throw Error(ESTALE, where + ": Last-Modified is now " + *modified + ", was " + std::to_string(expected.mtime) +
                                " (epoch seconds)");
    }
  }
  if (auto encoding = head.header("content-encoding"); encoding && !encoding->empty() && *encoding != "identity")
    throw Error(EIO, where + ": body is encoded (" + *encoding + ") although identity was asked for");

  if (status == 200) {
    // An ignored Range is fine only when the whole object was asked for.
    if (offset == 0 && length == expected.size) return;
    throw Error(EIO, where + ": server ignored the Range (HTTP 200)");
  }
  auto content_range = parse_content_range(head.header("content-range").value_or(""));
  if (!content_range || !content_range->satisfied)
    throw Error(EIO,
                where + ": 206 without a valid Content-Range ('" + head.header("content-range").value_or("") + "')");
  if (content_range->total && *content_range->total != expected.size)
    throw Error(ESTALE, where + ": object is now " + std::to_string(*content_range->total) + " bytes, was " +
                            std::to_string(expected.size));
  if (content_range->first != offset || content_range->last != last)
    throw Error(EIO, where + ": server sent bytes " + std::to_string(content_range->first) + "-" +
                         std::to_string(content_range->last) + " instead");
}

}  // namespace hfs::vo
