// The element-closing rules follow the WHATWG HTML "in body" / "in table" insertion modes,
// simplified; where a rule is unsure whether the tree builder closes an element, it keeps it open.
#include "vo/html_nesting.h"
#include "common/text.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <string>
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

bool in(std::string_view name, Names names) { return std::find(names.begin(), names.end(), name) != names.end(); }

class OpenElements {
 public:
  std::size_t depth() const { return stack_.size() + active_formatting_; }

  void open(std::string name) {
    if (in(name, kFormatting)) {
      ++formatting_[name];
      ++active_formatting_;
    }
    stack_.push_back(std::move(name));
  }

  void start_tag(const std::string& name) {
    if (in(name, kVoid)) return;
    if (in(name, kClosesP)) close({"p"}, kScope, {"button"});
    if (name == "li") close({"li"}, kSpecial, {}, {"address", "div", "p"});
    if (name == "dd" || name == "dt") close({"dd", "dt"}, kSpecial, {}, {"address", "div", "p"});
    if (name == "td" || name == "th") close({"td", "th"}, kTableScope);
    if (name == "tr") close({"tr"}, kTableScope);
    if (name == "option" && !stack_.empty() && stack_.back() == "option") stack_.pop_back();
    open(name);
  }

  void end_tag(const std::string& name) {
    if (in(name, kFormatting)) {
      auto it = formatting_.find(name);
      if (it != formatting_.end() && it->second > 0) {
        --it->second;
        --active_formatting_;
      }
      close({name}, kSpecial);  // with a special element in the way the builder restructures instead
    } else if (name == "p") {
      close({"p"}, kScope, {"button"});
    } else if (name == "li") {
      close({"li"}, kScope, {"ol", "ul"});
    } else if (name == "dd" || name == "dt") {
      close({name}, kScope);
    } else if (in(name, kTableParts)) {
      close({name}, kTableScope);
    } else if (in(name, kHeadings)) {
      close(kHeadings, kScope);
    } else if (in(name, kBlocks)) {
      close({name}, kScope);
    } else {
      close({name}, kSpecial);
    }
  }

 private:
  // Pops down to and including the nearest element named in targets, unless an element of
  // blockers (or also_blocking), other than those in not_blocking, is above it.
  void close(Names targets, Names blockers, Names also_blocking = {}, Names not_blocking = {}) {
    for (std::size_t i = stack_.size(); i > 0; --i) {
      const std::string& name = stack_[i - 1];
      if (in(name, targets)) {
        stack_.resize(i - 1);
        return;
      }
      if ((in(name, blockers) || in(name, also_blocking)) && !in(name, not_blocking)) return;
    }
  }

  std::vector<std::string> stack_;
  std::map<std::string, std::size_t, std::less<>> formatting_;  // active formatting elements by name
  std::size_t active_formatting_ = 0;
};

using text::lower;

// Position after the end tag "</name" of a raw-text element starting at from, or npos.
std::size_t skip_raw_text(std::string_view html, std::size_t from, const std::string& name) {
  for (std::size_t at = html.find("</", from); at != std::string_view::npos; at = html.find("</", at + 2)) {
    if (lower(html.substr(at + 2, name.size())) == name) return at + 2 + name.size();
  }
  return std::string_view::npos;
}

}  // namespace

bool html_nests_deeper_than(std::string_view html, std::size_t limit) {
  OpenElements open;
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
    while (i < html.size() && !std::isspace(static_cast<unsigned char>(html[i])) && html[i] != '/' && html[i] != '>')
      ++i;
    if (start == i || !std::isalpha(static_cast<unsigned char>(html[start]))) continue;  // text, <!DOCTYPE>, <?..>
    std::string name = lower(html.substr(start, i - start));
    if (closing) {
      open.end_tag(name);
      continue;
    }
    if (name == "plaintext") return open.depth() + 1 > limit;  // the rest of the page is text
    open.start_tag(name);
    if (open.depth() > limit) return true;
    if (in(name, kRawText)) {
      i = skip_raw_text(html, i, name);
      if (i == std::string_view::npos) break;
    }
  }
  return false;
}

}  // namespace hfs::vo::detail
