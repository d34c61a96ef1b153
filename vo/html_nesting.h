// Internal to the autoindex reader: a cheap guard run before gumbo.
//
// Gumbo's tree builder is quadratic in the depth of its stack of open elements: 50,000 nested
// <div> (250 KB) cost 7 s of CPU, 50,000 <b> 1.2 s. Its tokenizer is quadratic in the number
// of attributes of one tag (each new one is compared with all before it), and its tree costs
// about 150 bytes per element. A listing page is a few elements deep, has a handful of
// attributes per tag and a few elements per entry, so a page beyond any of the limits below is
// refused before gumbo sees it.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace hfs::vo::detail {

struct HtmlLimits {
  // Open elements plus active formatting elements. Apache's pages are under 10 deep; the tree
  // builder's cost per end tag grows with it (64: about 0.3 s of CPU per MiB at worst).
  std::size_t depth = 64;
  std::size_t elements = 2'000'000;  // start tags in the page (an Apache line has 2 to 6)
  std::size_t attributes = 64;       // attributes of one tag
};

// Why the page is refused (one phrase naming the limit), or nullopt when gumbo may parse it.
// The depth estimate follows the HTML5 tree-building rules that close elements (end tags within
// their scope, <p>/<li>/<td>/.. closing their predecessor) only where the builder is sure to
// close at least as much, so it errs on the deep side. Linear in the page's size: every tag
// costs O(1) plus the elements it closes, each of which its start tag opened.
std::optional<std::string> html_refusal(std::string_view html, const HtmlLimits& limits = {});

}  // namespace hfs::vo::detail
