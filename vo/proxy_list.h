// Forward proxies for the transfer engine: -o proxy=URL[;URL...], tried in order, with failover.
//
// Contract:
// - Without proxy= the engine sets no proxy option at all, so libcurl's own environment
//   handling applies: http_proxy (lower case only), https_proxy / HTTPS_PROXY, all_proxy /
//   ALL_PROXY and no_proxy / NO_PROXY.
// - With proxy=, every request goes through the first proxy not being skipped, except a request
//   whose host matches no_proxy (read from the environment, no_proxy before NO_PROXY, when the
//   engine starts), which goes direct. no_proxy is a comma (or space) separated list: "*"
//   matches every host; an entry matches its host name and every name below it (a leading "."
//   is ignored), case-insensitively; an IP address matches itself only (no CIDR ranges).
// - A request whose connection to its proxy fails (CURLE_COULDNT_CONNECT,
//   CURLE_COULDNT_RESOLVE_PROXY: refused, unreachable, no such proxy name) is sent again at
//   once through the next proxy it has not tried, and the failed proxy is skipped by every
//   request for kProxySkip. Only when every proxy is being skipped are the skipped ones tried
//   again, in order. Nothing of the answer has arrived when a connect fails, so the retry is
//   invisible to the caller; when every proxy failed, the request fails with the last error.
// - A proxy that accepts the connection and then answers badly (a 502, a hang) is not failed
//   over: that is the request's own failure, retried by its caller as usual.
// - Used by the engine thread only: no locking.
#pragma once

#include <curl/curl.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/cancel.h"

namespace hfs::vo {

inline constexpr std::size_t kMaxProxies = 16;
inline constexpr std::chrono::seconds kProxySkip{60};

// http://, https://, socks4://, socks4a://, socks5:// or socks5h:// with a host.
bool is_proxy_url(std::string_view url);

// Whether no_proxy (the variable's value) sends requests to `host` direct.
bool no_proxy_matches(std::string_view no_proxy, std::string_view host);

// A connect failure that means the proxy, not the origin, could not be reached.
bool is_proxy_connect_failure(CURLcode code);

class ProxyList {
 public:
  using Clock = std::function<SteadyClock::time_point()>;
  ProxyList(std::vector<std::string> proxies, std::string no_proxy, Clock clock = &SteadyClock::now);

  bool empty() const { return proxies_.empty(); }
  std::size_t size() const { return proxies_.size(); }
  const std::string& url(std::size_t index) const { return proxies_.at(index); }

  // Whether a request to `url` goes through a proxy (false: none configured, or no_proxy).
  bool applies_to(const std::string& url) const;
  // The proxy the next attempt of a request goes through: the first not in `tried` (bit i =
  // proxy i was tried by this request) and not being skipped, else the first not in `tried`;
  // nullopt when every proxy was tried.
  std::optional<std::size_t> choose(std::uint32_t tried) const;
  // A connection to proxy `index` failed: skip it for kProxySkip.
  void mark_failed(std::size_t index);

 private:
  std::vector<std::string> proxies_;
  std::string no_proxy_;
  Clock clock_;
  std::vector<SteadyClock::time_point> skip_until_;
};

// The proxy options of one easy handle: through `proxy`, or direct when it is empty. The
// handle's own no_proxy is cleared (ProxyList decided already).
void apply_proxy(CURL* easy, const std::string& proxy);

}  // namespace hfs::vo
