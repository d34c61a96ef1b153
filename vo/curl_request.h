// The libcurl glue of the transfer engine (vo/curl_engine.cpp): the one-time global init, the
// one CURLcode -> errno mapping, how one HttpRequest is put on an easy handle, how response
// header lines are collected, and the host a request counts against.
#pragma once

#include <curl/curl.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vo/http_transport.h"

namespace hfs::vo::curl {

// curl_global_init, once per process, before the first handle; throws hfs::Error(EIO).
void ensure_global_init();

// The errno of a failed transfer, from the CURLcode only (never from curl's message text).
int errno_for(CURLcode code);

// "GET <url>", as error messages name a request (any user:password@ in the URL left out).
std::string describe(const HttpRequest& request);

// True when the URL's scheme is https (case-insensitive).
bool is_https(std::string_view url);

// "scheme://host:port" (default port filled in, host lower-cased): what the engine counts
// connection slots against. "" when the URL does not parse (curl then fails it with EINVAL).
std::string host_key(const std::string& url);

struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using Slist = std::unique_ptr<curl_slist, SlistDeleter>;

// What every transfer of one engine has in common.
struct EasySettings {
  std::chrono::milliseconds connect_timeout{10000};
  long max_redirects = 5;
  std::string user_agent;
  long receive_buffer_bytes = 256 * 1024;
  std::string ca_info;  // CURLOPT_CAINFO: PEM file of CAs to verify servers with; "" = the system's
};

// Sets the request (method, URL, range, headers, POST body) and the fixed options (HTTP/1.1,
// redirects, protocols, user agent, connect timeout, CA file, no signals) on a fresh or reset
// handle. A request that starts on https:// may only be redirected to https:// (a downgrade to
// http fails the transfer: see outcome() in vo/curl_transfer.cpp); one on http:// may go to either.
// The returned header list and `request` must outlive the transfer. Callbacks, error buffer
// and private pointer are the caller's. Throws hfs::Error(ENOMEM) when a list cannot grow.
Slist configure_request(CURL* easy, const HttpRequest& request, const EasySettings& settings);

// One line from CURLOPT_HEADERFUNCTION (CRLF included). A status line ("HTTP/...") starts a
// new response (after a redirect or a 100 Continue) and clears `headers`; "Name: value" lines
// are added with the name lower-cased and the value trimmed; anything else is ignored.
void collect_header_line(std::string_view line, std::vector<std::pair<std::string, std::string>>& headers);

}  // namespace hfs::vo::curl
