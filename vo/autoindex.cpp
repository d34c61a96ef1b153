// Apache mod_autoindex pages. Apache writes either a <pre> block (FancyIndexing, what HEASARC
// serves) with "name  date time  size" after each link, or an HTMLTable with the date and size
// in the cells after the link's cell. Only links resolving to a direct child of the page's
// directory are entries; which link is which is decided on the resolved URL, never on its text
// (Apache truncates long names in the text).
#include "vo/autoindex.h"
#include "common/text.h"

#include <curl/curl.h>
#include <gumbo.h>

#include <cctype>
#include <charconv>
#include <cmath>
#include <map>
#include <memory>

#include "common/error.h"
#include "vo/html_nesting.h"
#include "vo/url_codec.h"

namespace hfs::vo {
namespace {

// Bounds the text read after one link, so a hostile page cannot make the scan quadratic.
constexpr std::size_t kMaxTrailingText = 512;

struct CurlUrlDeleter {
  void operator()(CURLU* url) const { curl_url_cleanup(url); }
};
using CurlUrl = std::unique_ptr<CURLU, CurlUrlDeleter>;

std::string get_part(CURLU* url, CURLUPart part, unsigned flags = 0) {
  char* value = nullptr;
  if (curl_url_get(url, part, &value, flags) != CURLUE_OK || !value) return {};
  std::string out(value);
  curl_free(value);
  return out;
}

// HTML strips whitespace around href values; curl refuses raw spaces and controls inside, which
// a hand-written page may have ("my file.txt"), so those are escaped. '%' is left as is.
std::string clean_href(std::string_view href) {
  const char* space = " \t\r\n\f";
  auto first = href.find_first_not_of(space);
  if (first == std::string_view::npos) return {};
  href = href.substr(first, href.find_last_not_of(space) - first + 1);
  std::string out;
  for (char ch : href) {
    auto c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c >= 0x7F) {
      out += percent_encode(std::string_view(&ch, 1), "");
    } else {
      out += ch;
    }
  }
  return out;
}

std::string collapse_slashes(std::string_view path) {
  std::string out;
  for (char c : path) {
    if (c == '/' && !out.empty() && out.back() == '/') continue;
    out += c;
  }
  return out;
}

using text::lower;

// Where the listed directory is: its URL (always ending in '/') and what an entry must share.
struct Directory {
  CurlUrl handle;
  std::string url;
  std::string origin;          // scheme://host:port, lower-cased, for comparison
  std::string collapsed_path;  // path with "//" runs collapsed: the NuSTAR "00/6//600.." quirk
};

std::string origin_of(CURLU* url) {
  return lower(get_part(url, CURLUPART_SCHEME) + "://" + get_part(url, CURLUPART_HOST) + ":" +
               get_part(url, CURLUPART_PORT, CURLU_DEFAULT_PORT));
}

Directory directory_of(const std::string& page_url) {
  CurlUrl handle(curl_url());
  if (!handle) throw std::bad_alloc();
  if (curl_url_set(handle.get(), CURLUPART_URL, page_url.c_str(), 0) != CURLUE_OK) {
    throw Error(EINVAL, "autoindex: bad page URL '" + page_url + "'");
  }
  curl_url_set(handle.get(), CURLUPART_QUERY, nullptr, 0);
  curl_url_set(handle.get(), CURLUPART_FRAGMENT, nullptr, 0);
  // A listing is a directory even when asked for without its final '/'.
  std::string path = get_part(handle.get(), CURLUPART_PATH);
  if (path.empty() || path.back() != '/') {
    path += '/';
    curl_url_set(handle.get(), CURLUPART_PATH, path.c_str(), 0);
  }
  Directory directory;
  directory.url = get_part(handle.get(), CURLUPART_URL);
  directory.origin = origin_of(handle.get());
  directory.collapsed_path = collapse_slashes(path);
  directory.handle = std::move(handle);
  return directory;
}

// The entry a link names, if it is a direct child of the directory.
std::optional<IndexEntry> entry_for_href(const Directory& directory, std::string_view raw_href) {
  std::string href = clean_href(raw_href);
  if (href.empty() || href.find_first_of("?#") != std::string::npos) return std::nullopt;  // sort links & co
  CurlUrl resolved(curl_url_dup(directory.handle.get()));
  if (!resolved || curl_url_set(resolved.get(), CURLUPART_URL, href.c_str(), 0) != CURLUE_OK) return std::nullopt;
  if (origin_of(resolved.get()) != directory.origin) return std::nullopt;  // another host
  std::string path = get_part(resolved.get(), CURLUPART_PATH);
  std::string collapsed = collapse_slashes(path);
  if (collapsed.size() <= directory.collapsed_path.size() ||
      collapsed.compare(0, directory.collapsed_path.size(), directory.collapsed_path) != 0) {
    return std::nullopt;  // the parent, "../", or elsewhere on the host
  }
  std::string_view rest = std::string_view(collapsed).substr(directory.collapsed_path.size());
  IndexEntry entry;
  entry.is_dir = rest.back() == '/';
  if (entry.is_dir) rest.remove_suffix(1);
  if (rest.empty() || rest.find('/') != std::string_view::npos) return std::nullopt;  // deeper down
  entry.name = percent_decode(rest);
  if (entry.name == "." || entry.name == ".." ||
      entry.name.find_first_of(std::string_view("/\0", 2)) != std::string::npos) {
    return std::nullopt;
  }
  entry.url = directory.url + std::string(rest) + (entry.is_dir ? "/" : "");
  return entry;
}

// --- date and size columns -------------------------------------------------------------

std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {  // H. Hinnant's algorithm
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

bool to_int(std::string_view text, int& value) {
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  return error == std::errc() && end == text.data() + text.size() && !text.empty();
}

// "2020-11-06" (Apache 2.4) or "06-Nov-2020" (older Apache, nginx) -> year, month, day.
bool parse_date(std::string_view token, int& year, int& month, int& day) {
  static constexpr std::string_view kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  if (token.size() == 10 && token[4] == '-' && token[7] == '-') {
    if (!to_int(token.substr(0, 4), year) || !to_int(token.substr(5, 2), month) || !to_int(token.substr(8, 2), day)) {
      return false;
    }
  } else if (token.size() == 11 && token[2] == '-' && token[6] == '-') {
    month = 0;
    for (int i = 0; i < 12; ++i) {
      if (token.substr(3, 3) == kMonths[i]) month = i + 1;
    }
    if (!to_int(token.substr(0, 2), day) || !to_int(token.substr(7, 4), year)) return false;
  } else {
    return false;
  }
  return year >= 1970 && month >= 1 && month <= 12 && day >= 1 && day <= 31;
}

// "20:20" or "20:20:15" -> seconds of the day.
std::optional<int> parse_time(std::string_view token) {
  int hours = 0, minutes = 0, seconds = 0;
  if (token.size() != 5 && token.size() != 8) return std::nullopt;
  if (token[2] != ':' || !to_int(token.substr(0, 2), hours) || !to_int(token.substr(3, 2), minutes))
    return std::nullopt;
  if (token.size() == 8 && (token[5] != ':' || !to_int(token.substr(6, 2), seconds))) return std::nullopt;
  if (hours > 23 || minutes > 59 || seconds > 60) return std::nullopt;
  return hours * 3600 + minutes * 60 + seconds;
}

// "3.4K" -> 3482 (rounded), "1.7M", "123", "-" -> nullopt. Apache's units are powers of 1024.
std::optional<std::uint64_t> parse_size(std::string_view token) {
  static constexpr std::string_view kUnits = "KMGTPE";
  double scale = 1;
  if (!token.empty()) {
    auto unit = kUnits.find(token.back());
    if (unit != std::string_view::npos) {
      scale = std::pow(1024.0, static_cast<double>(unit + 1));
      token.remove_suffix(1);
    }
  }
  double number = 0;
  auto [end, error] = std::from_chars(token.data(), token.data() + token.size(), number);
  if (error != std::errc() || end != token.data() + token.size() || token.empty() || !(number >= 0))
    return std::nullopt;
  double bytes = std::round(number * scale);
  if (!(bytes < 9.2e18)) return std::nullopt;
  return static_cast<std::uint64_t>(bytes);
}

// Fills mtime and approx_size from "   2020-11-06 20:20  3.4K  description".
void parse_columns(std::string text, IndexEntry& entry) {
  for (std::size_t at = text.find("\xC2\xA0"); at != std::string::npos; at = text.find("\xC2\xA0", at)) {
    text.replace(at, 2, " ");  // &nbsp; from HTMLTable cells
  }
  std::vector<std::string_view> tokens;
  std::string_view rest = text;
  while (true) {
    auto start = rest.find_first_not_of(" \t\r\n");
    if (start == std::string_view::npos) break;
    rest.remove_prefix(start);
    auto end = std::min(rest.find_first_of(" \t\r\n"), rest.size());
    tokens.push_back(rest.substr(0, end));
    rest.remove_prefix(end);
  }
  for (std::size_t i = 0; i + 1 < tokens.size(); ++i) {
    int year = 0, month = 0, day = 0;
    auto seconds = parse_time(tokens[i + 1]);
    if (!parse_date(tokens[i], year, month, day) || !seconds) continue;
    entry.mtime = days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)) * 86400 + *seconds;
    if (i + 2 < tokens.size()) entry.approx_size = parse_size(tokens[i + 2]);
    return;
  }
}

// --- the HTML tree -------------------------------------------------------------------------

void append_text(const GumboNode* node, std::string& out) {
  std::vector<const GumboNode*> stack{node};
  while (!stack.empty() && out.size() < kMaxTrailingText) {
    const GumboNode* current = stack.back();
    stack.pop_back();
    if (current->type == GUMBO_NODE_TEXT || current->type == GUMBO_NODE_WHITESPACE) {
      out += current->v.text.text;
    } else if (current->type == GUMBO_NODE_ELEMENT) {
      const GumboVector& children = current->v.element.children;
      for (unsigned i = children.length; i > 0; --i)
        stack.push_back(static_cast<const GumboNode*>(children.data[i - 1]));
    }
  }
}

// The columns after a link: the following cells of its table row (HTMLTable), or the text
// after it up to the end of its line (<pre>).
std::string trailing_text(const GumboNode* anchor) {
  std::string out;
  const GumboNode* parent = anchor->parent;
  if (!parent || parent->type != GUMBO_NODE_ELEMENT) return out;
  bool in_cell = parent->v.element.tag == GUMBO_TAG_TD || parent->v.element.tag == GUMBO_TAG_TH;
  const GumboNode* first = in_cell ? parent : anchor;
  const GumboNode* container = first->parent;
  if (!container || container->type != GUMBO_NODE_ELEMENT) return out;
  const GumboVector& siblings = container->v.element.children;
  for (unsigned i = first->index_within_parent + 1; i < siblings.length && out.size() < kMaxTrailingText; ++i) {
    const auto* sibling = static_cast<const GumboNode*>(siblings.data[i]);
    if (in_cell) {
      append_text(sibling, out);
      out += ' ';
    } else if (sibling->type == GUMBO_NODE_TEXT || sibling->type == GUMBO_NODE_WHITESPACE) {
      std::string_view text = sibling->v.text.text;
      auto newline = text.find('\n');
      out += text.substr(0, newline);
      if (newline != std::string_view::npos) break;
    } else {
      break;  // the next line's icon or link
    }
  }
  return out;
}

struct Page {
  std::vector<const GumboNode*> anchors;  // <a href> in document order
  bool looks_like_index = false;          // "Index of" title/heading, or ?C= sort links
};

Page scan(const GumboNode* root) {
  Page page;
  std::vector<const GumboNode*> stack{root};
  while (!stack.empty()) {
    const GumboNode* node = stack.back();
    stack.pop_back();
    if (node->type != GUMBO_NODE_ELEMENT) continue;
    const GumboElement& element = node->v.element;
    if (element.tag == GUMBO_TAG_A) {
      if (const GumboAttribute* href = gumbo_get_attribute(&element.attributes, "href")) {
        if (std::string_view(href->value).rfind("?C=", 0) == 0) page.looks_like_index = true;
        page.anchors.push_back(node);
      }
    }
    if (element.tag == GUMBO_TAG_TITLE || element.tag == GUMBO_TAG_H1) {
      std::string text;
      append_text(node, text);
      if (text.find("Index of") != std::string::npos) page.looks_like_index = true;
    }
    for (unsigned i = element.children.length; i > 0; --i) {
      stack.push_back(static_cast<const GumboNode*>(element.children.data[i - 1]));
    }
  }
  return page;
}

struct GumboDeleter {
  GumboOptions options;
  void operator()(GumboOutput* output) const { gumbo_destroy_output(&options, output); }
};

}  // namespace

std::string resolve_url(const std::string& base, const std::string& href) {
  CurlUrl handle(curl_url());
  if (!handle) throw std::bad_alloc();
  if (curl_url_set(handle.get(), CURLUPART_URL, base.c_str(), 0) != CURLUE_OK) {
    throw Error(EINVAL, "bad base URL '" + base + "'");
  }
  if (curl_url_set(handle.get(), CURLUPART_URL, clean_href(href).c_str(), 0) != CURLUE_OK) {
    throw Error(EINVAL, "cannot resolve '" + href + "' against '" + base + "'");
  }
  return get_part(handle.get(), CURLUPART_URL);
}

std::vector<IndexEntry> parse_autoindex(std::string_view html, const std::string& page_url) {
  Directory directory = directory_of(page_url);
  // Apache's pages nest 6 elements deep, with 2 to 6 elements per entry: see vo/html_nesting.h
  // for the pages refused before gumbo sees them, and why.
  if (auto refusal = detail::html_refusal(html)) throw Error(EPROTO, "autoindex: " + *refusal + " at " + page_url);
  GumboOptions options = kGumboDefaultOptions;
  options.max_errors = 0;  // parse errors are not kept: a broken page must not cost memory
  std::unique_ptr<GumboOutput, GumboDeleter> output(gumbo_parse_with_options(&options, html.data(), html.size()),
                                                    GumboDeleter{options});
  if (!output) throw Error(EPROTO, "autoindex: HTML parser failed at " + page_url);
  Page page = scan(output->root);

  std::vector<IndexEntry> entries;
  std::map<std::string, std::size_t> by_name;
  bool has_columns = false;
  for (const GumboNode* anchor : page.anchors) {
    const GumboAttribute* href = gumbo_get_attribute(&anchor->v.element.attributes, "href");
    auto entry = entry_for_href(directory, href->value);
    if (!entry) continue;
    parse_columns(trailing_text(anchor), *entry);
    has_columns = has_columns || entry->mtime.has_value();
    auto [it, inserted] = by_name.emplace(entry->name, entries.size());
    if (inserted) {
      entries.push_back(std::move(*entry));
    } else {
      // Apache's IconsAreLinks: the icon and the name link to the same entry; keep what the
      // line tells whichever link it follows.
      IndexEntry& kept = entries[it->second];
      if (!kept.mtime) kept.mtime = entry->mtime;
      if (!kept.approx_size) kept.approx_size = entry->approx_size;
    }
  }
  if (!page.looks_like_index && !has_columns) {
    throw Error(EPROTO, "autoindex: no directory listing at " + page_url);
  }
  return entries;
}

}  // namespace hfs::vo
