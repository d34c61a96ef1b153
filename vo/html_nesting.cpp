// The element-closing rules follow the WHATWG HTML "in body" / "in table" insertion modes,
// simplified; where a rule is unsure whether the tree builder closes an element, it keeps it open.
#include "vo/html_nesting.h"
#include "common/text.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace hfs::vo::detail {
namespace {

using Names = std::initializer_list<std::string_view>;

const Names kVoid = {"area", "base",  "basefont", "bgsound", "br",   "col",   "embed",  "frame", "hr",
                     "img",  "input", "keygen",   "link",    "meta", "param", "source", "track", "wbr"};
const Names kFormatting = {"a",    "b", "big",   "code",   "em",     "font", "i",
                           "nobr", "s", "small", "strike", "strong", "tt",   "u"};
// Where "has an element in scope" searches stop.
const Names kScope = {"applet", "caption", "html", "table", "td", "th", "marquee", "object", "template", "svg", "math"};
const Names kTableScope = {"html", "table", "template"};
// The "special" category: an end tag of an ordinary element is ignored when one of these is in the way.
const Names kSpecial = {"address",    "applet",  "area",   "article", "aside",     "base",     "basefont", "bgsound",
                        "blockquote", "body",    "br",     "button",  "caption",   "center",   "col",      "colgroup",
                        "dd",         "details", "dir",    "div",     "dl",        "dt",       "embed",    "fieldset",
                        "figcaption", "figure",  "footer", "form",    "frame",     "frameset", "h1",       "h2",
                        "h3",         "h4",      "h5",     "h6",      "head",      "header",   "hgroup",   "hr",
                        "html",       "iframe",  "img",    "input",   "keygen",    "li",       "link",     "listing",
                        "main",       "marquee", "menu",   "meta",    "nav",       "noembed",  "noframes", "noscript",
                        "object",     "ol",      "p",      "param",   "plaintext", "pre",      "script",   "section",
                        "select",     "source",  "style",  "summary", "table",     "tbody",    "td",       "template",
                        "textarea",   "tfoot",   "th",     "thead",   "title",     "tr",       "track",    "ul",
                        "wbr",        "xmp"};
// End tags that close their element through anything but a scope boundary.
const Names kBlocks = {"address", "article", "aside",   "blockquote", "button",     "center", "details", "dialog",
                       "dir",     "div",     "dl",      "fieldset",   "figcaption", "figure", "footer",  "form",
                       "header",  "hgroup",  "listing", "main",       "menu",       "nav",    "ol",      "pre",
                       "section", "summary", "ul",      "applet",     "marquee",    "object"};
// Start tags that close an open <p> first.
const Names kClosesP = {"address", "article", "aside",    "blockquote", "center", "details", "dialog",  "dir",
                        "div",     "dl",      "fieldset", "figcaption", "figure", "footer",  "header",  "hgroup",
                        "main",    "menu",    "nav",      "ol",         "p",      "section", "summary", "ul",
                        "h1",      "h2",      "h3",       "h4",         "h5",     "h6",      "pre",     "listing",
                        "form",    "hr",      "xmp",      "plaintext"};
const Names kTableParts = {"table", "tbody", "thead", "tfoot", "tr", "td", "th", "caption"};
const Names kHeadings = {"h1", "h2", "h3", "h4", "h5", "h6"};
// Their content is text to the tokenizer, not tags.
const Names kRawText = {"script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes"};

// What a tag name is to the rules below, as bits.
enum Kind : std::uint8_t {
  kIsVoid = 1,
  kIsFormatting = 2,
  kIsSpecial = 4,
  kIsScope = 8,
  kIsTableScope = 16,
  kIsRawText = 32,
};

std::uint8_t kind_of(std::string_view name) {
  static const std::unordered_map<std::string_view, std::uint8_t> kinds = [] {
    std::unordered_map<std::string_view, std::uint8_t> table;
    auto mark = [&](Names names, std::uint8_t bit) {
      for (auto n : names) table[n] |= bit;
    };
    mark(kVoid, kIsVoid);
    mark(kFormatting, kIsFormatting);
    mark(kSpecial, kIsSpecial);
    mark(kScope, kIsScope);
    mark(kTableScope, kIsTableScope);
    mark(kRawText, kIsRawText);
    return table;
  }();
  auto it = kinds.find(name);
  return it == kinds.end() ? 0 : it->second;
}

bool in(std::string_view name, Names names) { return std::find(names.begin(), names.end(), name) != names.end(); }

// The builder's stack of open elements, as far as depth goes. Every operation is O(1) plus the
// elements it pops: where the nearest element of a name, or the nearest element of a blocking
// category, sits is kept per name and per category instead of being searched for.
class OpenElements {
 public:
  std::size_t depth() const { return stack_.size() + active_formatting_; }

  void start_tag(const std::string& name, std::uint8_t kind) {
    if (kind & kIsVoid) return;
    if (in(name, kClosesP)) close({"p"}, kScopeBlocks, {"button"});
    if (name == "li") close({"li"}, kSpecialButAdpBlocks);
    if (name == "dd" || name == "dt") close({"dd", "dt"}, kSpecialButAdpBlocks);
    if (name == "td" || name == "th") close({"td", "th"}, kTableScopeBlocks);
    if (name == "tr") close({"tr"}, kTableScopeBlocks);
    if (name == "option" && !stack_.empty() && stack_.back().name == "option") pop_to(stack_.size() - 1);
    open(name, kind);
  }

  void end_tag(const std::string& name, std::uint8_t kind) {
    if (kind & kIsFormatting) {
      auto it = formatting_.find(name);
      if (it != formatting_.end() && it->second > 0) {
        if (--it->second == 0) formatting_.erase(it);
        --active_formatting_;
      }
      close({name}, kSpecialBlocks);  // with a special element in the way the builder restructures instead
    } else if (name == "p") {
      close({"p"}, kScopeBlocks, {"button"});
    } else if (name == "li") {
      close({"li"}, kScopeBlocks, {"ol", "ul"});
    } else if (name == "dd" || name == "dt") {
      close({name}, kScopeBlocks);
    } else if (in(name, kTableParts)) {
      close({name}, kTableScopeBlocks);
    } else if (in(name, kHeadings)) {
      close(kHeadings, kScopeBlocks);
    } else if (in(name, kBlocks)) {
      close({name}, kScopeBlocks);
    } else {
      close({name}, kSpecialBlocks);
    }
  }

 private:
  // Categories that stop a search for the element to close.
  enum Blockers { kSpecialBlocks, kSpecialButAdpBlocks, kScopeBlocks, kTableScopeBlocks, kBlockerCount };

  struct Open {
    std::string name;
    std::uint8_t blocks = 0;  // bit b: a blocker of category b
  };

  static std::uint8_t blocks_of(std::string_view name, std::uint8_t kind) {
    std::uint8_t blocks = 0;
    if (kind & kIsSpecial) blocks |= 1 << kSpecialBlocks;
    if ((kind & kIsSpecial) && name != "address" && name != "div" && name != "p") blocks |= 1 << kSpecialButAdpBlocks;
    if (kind & kIsScope) blocks |= 1 << kScopeBlocks;
    if (kind & kIsTableScope) blocks |= 1 << kTableScopeBlocks;
    return blocks;
  }

  // Position + 1 of the nearest open element named so; 0 when none is open.
  std::size_t nearest(std::string_view name) const {
    auto it = positions_.find(std::string(name));
    return it == positions_.end() ? 0 : it->second.back() + 1;
  }

  void open(const std::string& name, std::uint8_t kind) {
    if (kind & kIsFormatting) {
      ++formatting_[name];
      ++active_formatting_;
    }
    Open element{name, blocks_of(name, kind)};
    const std::size_t at = stack_.size();
    positions_[name].push_back(at);
    for (int b = 0; b < kBlockerCount; ++b)
      if (element.blocks & (1 << b)) blockers_[b].push_back(at);
    stack_.push_back(std::move(element));
  }

  // Pops every element from the top down to position `at`, that one included.
  void pop_to(std::size_t at) {
    while (stack_.size() > at) {
      Open& top = stack_.back();
      auto it = positions_.find(top.name);
      it->second.pop_back();
      if (it->second.empty()) positions_.erase(it);
      for (int b = 0; b < kBlockerCount; ++b)
        if (top.blocks & (1 << b)) blockers_[b].pop_back();
      stack_.pop_back();
    }
  }

  // Pops down to and including the nearest element named in targets, unless an element of the
  // blocking category (or named in also_blocking) is above it. An element that is both a target
  // and a blocker is closed.
  void close(Names targets, Blockers blockers, Names also_blocking = {}) {
    std::size_t target = 0;
    for (auto name : targets) target = std::max(target, nearest(name));
    if (target == 0) return;
    std::size_t blocker = blockers_[blockers].empty() ? 0 : blockers_[blockers].back() + 1;
    for (auto name : also_blocking) blocker = std::max(blocker, nearest(name));
    if (target >= blocker) pop_to(target - 1);
  }

  std::vector<Open> stack_;
  // Open elements by name: their positions in stack_, nearest last (only names open now).
  std::unordered_map<std::string, std::vector<std::size_t>> positions_;
  std::vector<std::size_t> blockers_[kBlockerCount];         // positions of each category's elements, nearest last
  std::unordered_map<std::string, std::size_t> formatting_;  // active formatting elements by name
  std::size_t active_formatting_ = 0;
};

using text::lower;

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r'; }

// From just after a tag's name: its attributes as the HTML tokenizer reads them (quoted values
// may hold '>' and '<'), counted into `count` up to `limit` + 1. Returns the position after the
// tag's '>', or npos when the page ends inside the tag (the tokenizer then drops it) or when the
// count passed the limit.
std::size_t skip_attributes(std::string_view html, std::size_t i, std::size_t limit, std::size_t& count) {
  const std::size_t n = html.size();
  while (i < n) {
    const char c = html[i];
    if (is_space(c) || c == '/') {
      ++i;
      continue;
    }
    if (c == '>') return i + 1;
    if (++count > limit) return std::string_view::npos;
    ++i;  // the name's first character may be '='
    while (i < n && !is_space(html[i]) && html[i] != '/' && html[i] != '>' && html[i] != '=') ++i;
    while (i < n && is_space(html[i])) ++i;
    if (i < n && html[i] == '=') {
      ++i;
      while (i < n && is_space(html[i])) ++i;
      if (i < n && (html[i] == '"' || html[i] == '\'')) {
        const std::size_t quote = html.find(html[i], i + 1);
        if (quote == std::string_view::npos) return quote;
        i = quote + 1;
      } else {
        while (i < n && !is_space(html[i]) && html[i] != '>') ++i;
      }
    }
  }
  return std::string_view::npos;
}

// Position after the end tag "</name" of a raw-text element starting at from, or npos.
std::size_t skip_raw_text(std::string_view html, std::size_t from, const std::string& name) {
  for (std::size_t at = html.find("</", from); at != std::string_view::npos; at = html.find("</", at + 2)) {
    if (lower(html.substr(at + 2, name.size())) == name) return at + 2 + name.size();
  }
  return std::string_view::npos;
}

}  // namespace

std::optional<std::string> html_refusal(std::string_view html, const HtmlLimits& limits) {
  const auto too_deep = [&] { return "HTML nested deeper than " + std::to_string(limits.depth) + " elements"; };
  OpenElements open;
  std::size_t elements = 0;
  std::size_t i = 0;
  while ((i = html.find('<', i)) != std::string_view::npos) {
    ++i;
    if (html.substr(i, 3) == "!--") {
      i = html.find("-->", i + 3);
      if (i == std::string_view::npos) break;
      continue;
    }
    bool closing = i < html.size() && html[i] == '/';
    if (closing) ++i;
    std::size_t start = i;
    while (i < html.size() && !is_space(html[i]) && html[i] != '/' && html[i] != '>') ++i;
    if (start == i || !std::isalpha(static_cast<unsigned char>(html[start]))) continue;  // text, <!DOCTYPE>, <?..>
    std::string name = lower(html.substr(start, i - start));
    const std::uint8_t kind = kind_of(name);
    std::size_t attributes = 0;
    i = skip_attributes(html, i, limits.attributes, attributes);
    if (attributes > limits.attributes)
      return "a tag with more than " + std::to_string(limits.attributes) + " attributes";
    if (closing) {
      open.end_tag(name, kind);
    } else {
      if (++elements > limits.elements) return "more than " + std::to_string(limits.elements) + " elements";
      if (name == "plaintext") {  // the rest of the page is text
        if (open.depth() + 1 > limits.depth) return too_deep();
        return std::nullopt;
      }
      open.start_tag(name, kind);
      if (open.depth() > limits.depth) return too_deep();
      if ((kind & kIsRawText) && i != std::string_view::npos) {
        i = skip_raw_text(html, i, name);
        if (i != std::string_view::npos) open.end_tag(name, kind);  // its end tag closes it
      }
    }
    if (i == std::string_view::npos) break;  // the page ends inside a tag or raw text
  }
  return std::nullopt;
}

}  // namespace hfs::vo::detail
