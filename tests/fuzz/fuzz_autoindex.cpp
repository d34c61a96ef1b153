// Any bytes as an archive listing page, under a few page URLs (the NuSTAR double slash among them).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/error.h"
#include "vo/autoindex.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string kPages[] = {
      "https://heasarc.gsfc.nasa.gov/FTP/nustar/data/obs/00/8/80002092008/",
      "https://heasarc.gsfc.nasa.gov/FTP/nustar/data/obs/00/6//60001111003/",
      "http://127.0.0.1:8080/FTP/",
      "http://localhost/a%20b/c",
  };
  if (size == 0) return 0;
  const std::string& page = kPages[data[0] % 4];
  std::string_view html(reinterpret_cast<const char*>(data) + 1, size - 1);
  try {
    const std::string directory = page.back() == '/' ? page : page + "/";
    for (const auto& entry : hfs::vo::parse_autoindex(html, page)) {
      // Every entry is a direct child: a name without '/', a URL under the page's directory.
      if (entry.name.empty() || entry.name.find('/') != std::string::npos || entry.url.rfind(directory, 0) != 0) {
        __builtin_trap();
      }
    }
  } catch (const hfs::Error&) {
  }
  return 0;
}
