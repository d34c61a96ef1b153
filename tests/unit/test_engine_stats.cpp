// The transfer engine's counters the stats file shows (/.heasarcfs/stats): bytes in flight of
// range requests and connections per host, watched while an answer is held at the server.
#define BOOST_TEST_MODULE engine_stats
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <thread>

#include "tests/support/loopback_test.h"
#include "tests/support/test_http_server.h"
#include "vo/transfer_engine.h"

using namespace hfs;
using namespace std::chrono_literals;

BOOST_AUTO_TEST_CASE(bytes_in_flight_and_connections_per_host) {
  test::TestHttpServer server;
  server.add("/FTP/file", {.body = std::string(100000, 'x')});
  auto gate = std::make_shared<test::AnswerGate>();
  server.set_faults("/FTP/file", {.gate = gate});
  auto engine = vo::make_curl_engine({});
  auto transport = vo::make_engine_transport(engine, 600s);
  vo::HttpRequest request = test::get(server.url("/FTP/file"));
  request.range = vo::ByteRange{1000, 2999};
  std::thread reader([&] {
    auto response = transport->perform(request);
    BOOST_TEST(response.status == 206);
    BOOST_TEST(response.body.size() == 2000u);
  });
  BOOST_REQUIRE(gate->wait_until_held(1));
  auto during = engine->stats();
  BOOST_TEST(during.bytes_in_flight == 2000u);
  BOOST_TEST(during.running_by_host.size() == 1u);
  BOOST_TEST(during.running_by_host.begin()->first == "http://127.0.0.1:" + std::to_string(server.port()));
  BOOST_TEST(during.running_by_host.begin()->second == 1u);
  BOOST_TEST(during.queued_by_host.empty());
  gate->open();
  reader.join();
  auto after = engine->stats();
  BOOST_TEST(after.bytes_in_flight == 0u);
  BOOST_TEST(after.running_by_host.empty());
  BOOST_TEST(after.bytes_received >= 2000u);
}
