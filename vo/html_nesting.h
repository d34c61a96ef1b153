// Internal to the autoindex reader: a cheap guard run before gumbo.
//
// Gumbo's tree builder is quadratic in the depth of its stack of open elements: 50,000 nested
// <div> (250 KB) cost 7 s of CPU, 50,000 <b> 1.2 s. A listing page is a few elements deep, so a
// page that would nest much deeper is refused before gumbo sees it.
#pragma once

#include <cstddef>
#include <string_view>

namespace hfs::vo::detail {

// True when the HTML tree builder's stack of open elements (plus its list of active formatting
// elements, which it re-opens) could grow beyond limit for this page. The estimate follows the
// HTML5 tree-building rules that close elements (end tags within their scope, <p>/<li>/<td>/..
// closing their predecessor) only where the builder is sure to close at least as much, so it
// errs on the deep side; it costs O(size * limit) at worst.
bool html_nests_deeper_than(std::string_view html, std::size_t limit);

}  // namespace hfs::vo::detail
