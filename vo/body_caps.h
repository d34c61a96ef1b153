// How large each kind of answer may be (bytes). An answer is read into memory whole before it
// is parsed, so each kind has a cap a little above what the real service ever sends; a larger
// answer fails with EFBIG ("File too large") and one warn line naming the URL, the kind and its
// cap (vo/engine_transport.cpp), instead of growing memory. The README lists them.
//
// Archive bytes are not capped here: a ranged read asks for a length and is cut there
// (HttpRequest::body_limit), a HEAD has no body, and a size probe reads at most 64 KiB.
#pragma once

#include <cstdint>

namespace hfs::vo::body_cap {

// RegTAP: HEASARC's ~1,100 cone-search tables with descriptions are about 3 MiB.
inline constexpr std::uint64_t registry = 16ull << 20;
// Sesame: a few lines per name.
inline constexpr std::uint64_t sesame = 1ull << 20;
// A cone search: a few hundred rows per degree for the large master tables, VERB=2.
inline constexpr std::uint64_t cone_search = 64ull << 20;
// DataLink: a handful of rows per observation.
inline constexpr std::uint64_t datalink = 4ull << 20;
// An Apache index page: about 100 bytes per entry; vo/html_nesting.h bounds what is parsed.
inline constexpr std::uint64_t index_page = 64ull << 20;

}  // namespace hfs::vo::body_cap
