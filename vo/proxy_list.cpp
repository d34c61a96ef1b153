#include "vo/proxy_list.h"

#include <memory>

#include "common/text.h"

namespace hfs::vo {
namespace {

struct UrlDeleter {
  void operator()(CURLU* url) const { curl_url_cleanup(url); }
};

std::string host_of(const std::string& url) {
  std::unique_ptr<CURLU, UrlDeleter> parsed(curl_url());
  if (!parsed || curl_url_set(parsed.get(), CURLUPART_URL, url.c_str(), CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK)
    return "";
  char* host = nullptr;
  if (curl_url_get(parsed.get(), CURLUPART_HOST, &host, 0) != CURLUE_OK || !host) return "";
  std::string value(host);
  curl_free(host);
  if (value.size() >= 2 && value.front() == '[' && value.back() == ']') value = value.substr(1, value.size() - 2);
  return text::lower(value);
}

}  // namespace

bool is_proxy_url(std::string_view url) {
  for (std::string_view scheme : {"http://", "https://", "socks4://", "socks4a://", "socks5://", "socks5h://"}) {
    if (url.size() > scheme.size() && text::iequals(url.substr(0, scheme.size()), scheme))
      return !host_of(std::string(url)).empty();
  }
  return false;
}

bool no_proxy_matches(std::string_view no_proxy, std::string_view host_text) {
  const std::string host = text::lower(host_text);
  if (host.empty()) return false;
  std::size_t start = 0;
  while (start < no_proxy.size()) {
    auto end = no_proxy.find_first_of(", \t", start);
    if (end == std::string_view::npos) end = no_proxy.size();
    std::string entry = text::lower(no_proxy.substr(start, end - start));
    start = end + 1;
    if (entry.empty()) continue;
    if (entry == "*") return true;
    if (entry.front() == '.') entry.erase(0, 1);
    if (entry.size() >= 2 && entry.front() == '[' && entry.back() == ']') entry = entry.substr(1, entry.size() - 2);
    if (entry.empty()) continue;
    if (host == entry) return true;
    if (host.size() > entry.size() && host.ends_with(entry) && host[host.size() - entry.size() - 1] == '.') return true;
  }
  return false;
}

bool is_proxy_connect_failure(CURLcode code) {
  return code == CURLE_COULDNT_CONNECT || code == CURLE_COULDNT_RESOLVE_PROXY;
}

ProxyList::ProxyList(std::vector<std::string> proxies, std::string no_proxy, Clock clock)
    : proxies_(std::move(proxies)),
      no_proxy_(std::move(no_proxy)),
      clock_(std::move(clock)),
      skip_until_(proxies_.size(), SteadyClock::time_point::min()) {
  if (proxies_.size() > kMaxProxies) {
    proxies_.resize(kMaxProxies);
    skip_until_.resize(kMaxProxies);
  }
}

bool ProxyList::applies_to(const std::string& url) const {
  return !proxies_.empty() && !no_proxy_matches(no_proxy_, host_of(url));
}

std::optional<std::size_t> ProxyList::choose(std::uint32_t tried) const {
  const auto now = clock_();
  std::optional<std::size_t> fallback;
  for (std::size_t i = 0; i < proxies_.size(); ++i) {
    if (tried & (1u << i)) continue;
    if (now >= skip_until_[i]) return i;
    if (!fallback) fallback = i;
  }
  return fallback;
}

void ProxyList::mark_failed(std::size_t index) {
  if (index < skip_until_.size()) skip_until_[index] = clock_() + kProxySkip;
}

void apply_proxy(CURL* easy, const std::string& proxy) {
  curl_easy_setopt(easy, CURLOPT_PROXY, proxy.c_str());  // "": direct, whatever the environment says
  curl_easy_setopt(easy, CURLOPT_NOPROXY, "");
}

}  // namespace hfs::vo
