#define BOOST_TEST_MODULE proxy_list
#include <boost/test/unit_test.hpp>

#include <chrono>

#include "common/error.h"
#include "tests/support/loopback_test.h"
#include "tests/support/test_http_server.h"
#include "vo/proxy_list.h"
#include "vo/transfer_engine.h"

using namespace hfs;
using namespace std::chrono_literals;
using hfs::test::TestHttpServer;

BOOST_AUTO_TEST_CASE(proxy_urls) {
  BOOST_TEST(vo::is_proxy_url("http://proxy.example:3128"));
  BOOST_TEST(vo::is_proxy_url("https://proxy.example"));
  BOOST_TEST(vo::is_proxy_url("SOCKS5H://127.0.0.1:1080"));
  BOOST_TEST(vo::is_proxy_url("socks4://[::1]:1080"));
  BOOST_TEST(!vo::is_proxy_url("proxy.example:3128"));
  BOOST_TEST(!vo::is_proxy_url("ftp://proxy.example"));
  BOOST_TEST(!vo::is_proxy_url("http://"));
  BOOST_TEST(!vo::is_proxy_url(""));
}

BOOST_AUTO_TEST_CASE(no_proxy_rules) {
  BOOST_TEST(vo::no_proxy_matches("*", "heasarc.gsfc.nasa.gov"));
  BOOST_TEST(vo::no_proxy_matches("nasa.gov", "heasarc.gsfc.nasa.gov"));
  BOOST_TEST(vo::no_proxy_matches(".nasa.gov", "heasarc.gsfc.nasa.gov"));
  BOOST_TEST(vo::no_proxy_matches("NASA.gov", "nasa.GOV"));
  BOOST_TEST(!vo::no_proxy_matches("asa.gov", "heasarc.gsfc.nasa.gov"));
  BOOST_TEST(!vo::no_proxy_matches("heasarc.gsfc.nasa.gov", "gsfc.nasa.gov"));
  BOOST_TEST(vo::no_proxy_matches("localhost, 127.0.0.1,cds.unistra.fr", "127.0.0.1"));
  BOOST_TEST(vo::no_proxy_matches("localhost 127.0.0.1", "localhost"));
  BOOST_TEST(!vo::no_proxy_matches("127.0.0.1", "127.0.0.10"));
  BOOST_TEST(vo::no_proxy_matches("[::1]", "::1"));
  BOOST_TEST(!vo::no_proxy_matches("", "localhost"));
  BOOST_TEST(!vo::no_proxy_matches(",,", "localhost"));
}

BOOST_AUTO_TEST_CASE(order_failover_and_skip_time) {
  auto now = SteadyClock::now();
  vo::ProxyList list({"http://a:1", "http://b:2", "http://c:3"}, "archive.local", [&] { return now; });
  BOOST_TEST(list.applies_to("https://heasarc.gsfc.nasa.gov/FTP/x"));
  BOOST_TEST(!list.applies_to("http://archive.local/FTP/x"));
  BOOST_TEST((list.choose(0) == std::optional<std::size_t>(0)));
  // a fails for one request: it tries b; everyone skips a from now on.
  list.mark_failed(0);
  BOOST_TEST((list.choose(0b001) == std::optional<std::size_t>(1)));
  BOOST_TEST((list.choose(0) == std::optional<std::size_t>(1)));
  // b fails too: c.
  list.mark_failed(1);
  BOOST_TEST((list.choose(0) == std::optional<std::size_t>(2)));
  // Every proxy skipped: the skipped ones are tried again, in order, by a fresh request.
  list.mark_failed(2);
  BOOST_TEST((list.choose(0) == std::optional<std::size_t>(0)));
  BOOST_TEST((list.choose(0b011) == std::optional<std::size_t>(2)));
  BOOST_TEST(!list.choose(0b111).has_value());
  // The skip ends kProxySkip after the failure.
  now += vo::kProxySkip - 1s;
  list.mark_failed(2);  // c failed later: skipped longer
  now += 1s;
  BOOST_TEST((list.choose(0) == std::optional<std::size_t>(0)));
  BOOST_TEST((list.choose(0b001) == std::optional<std::size_t>(1)));
  BOOST_TEST((list.choose(0b011) == std::optional<std::size_t>(2)));
}

BOOST_AUTO_TEST_CASE(an_empty_list_routes_nothing) {
  vo::ProxyList list({}, "");
  BOOST_TEST(list.empty());
  BOOST_TEST(!list.applies_to("http://example.org/"));
  BOOST_TEST(!list.choose(0).has_value());
}

namespace {

std::shared_ptr<vo::TransferEngine> engine_with(std::vector<std::string> proxies, std::string no_proxy) {
  vo::EngineOptions options;
  options.proxies = std::move(proxies);
  options.no_proxy = std::move(no_proxy);
  return vo::make_curl_engine(options);
}

}  // namespace

// The first proxy refuses connections: the request goes through the second, which sees it in
// absolute form, and the caller gets the answer as if nothing had happened.
BOOST_AUTO_TEST_CASE(a_dead_proxy_is_failed_over) {
  TestHttpServer proxy;
  proxy.add("http://origin.invalid/FTP/file", {.body = "through the proxy"});
  const std::string dead = "http://127.0.0.1:" + std::to_string(test::closed_local_port());
  auto engine = engine_with({dead, proxy.base_url()}, "");
  auto transport = vo::make_engine_transport(engine, 600s);
  for (int i = 0; i < 2; ++i) {
    auto response = transport->perform(test::get("http://origin.invalid/FTP/file"));
    BOOST_TEST(response.status == 200);
    BOOST_TEST(response.body == "through the proxy");
  }
  auto requests = proxy.requests();
  BOOST_TEST_REQUIRE(requests.size() == 2u);
  BOOST_TEST(requests[0].target == "http://origin.invalid/FTP/file");
  BOOST_TEST(requests[0].headers["host"] == "origin.invalid");
  auto stats = engine->stats();
  BOOST_TEST(stats.completed == 2u);
  BOOST_TEST(stats.failed == 0u);
}

BOOST_AUTO_TEST_CASE(every_proxy_dead_is_the_connect_error) {
  const std::string dead1 = "http://127.0.0.1:" + std::to_string(test::closed_local_port());
  const std::string dead2 = "http://127.0.0.1:" + std::to_string(test::closed_local_port());
  auto transport = vo::make_engine_transport(engine_with({dead1, dead2}, ""), 600s);
  try {
    transport->perform(test::get("http://origin.invalid/FTP/file"));
    BOOST_ERROR("expected an error");
  } catch (const Error& error) {
    BOOST_TEST(error.errnum() == ECONNREFUSED);
  }
}

// A no_proxy host goes direct, whatever the proxies.
BOOST_AUTO_TEST_CASE(no_proxy_hosts_go_direct) {
  TestHttpServer origin;
  origin.add("/direct", {.body = "direct"});
  const std::string dead = "http://127.0.0.1:" + std::to_string(test::closed_local_port());
  auto transport = vo::make_engine_transport(engine_with({dead}, "localhost,127.0.0.1"), 600s);
  auto response = transport->perform(test::get(origin.url("/direct")));
  BOOST_TEST(response.status == 200);
  BOOST_TEST(response.body == "direct");
  BOOST_TEST(origin.requests().at(0).target == "/direct");
}
