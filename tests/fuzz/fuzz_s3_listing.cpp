// Any bytes as an S3 ListObjectsV2 page, and as an archive URL: the parser may throw hfs::Error,
// never crash or hang; an archive path never climbs out of the tree it is mapped into.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/error.h"
#include "vo/archive_path.h"
#include "vo/s3_listing.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  try {
    auto page = hfs::vo::parse_s3_list_page(input);
    if (page.next_token && page.next_token->empty()) __builtin_trap();  // a token is never empty
  } catch (const hfs::Error&) {
  }
  if (auto path = hfs::vo::archive_path_of(input)) {
    if (path->find("//") != std::string::npos || (!path->empty() && path->front() == '/')) __builtin_trap();
    if (*path == ".." || path->rfind("../", 0) == 0 || path->find("/../") != std::string::npos) __builtin_trap();
  }
  (void)hfs::vo::parse_iso8601_utc(input);
  return 0;
}
