// Each kind of answer has its own body cap (vo/body_caps.h), enforced by the real transport
// over loopback: an answer one byte over its kind's cap fails with EFBIG and one warn line
// naming the URL, the kind and the cap; an answer at the cap is read.
#define BOOST_TEST_MODULE body_caps
#include <boost/test/unit_test.hpp>

#include <cerrno>
#include <string>

#include "common/error.h"
#include "tests/support/loopback_test.h"
#include "tests/support/stderr_capture.h"
#include "tests/support/test_http_server.h"
#include "vo/archive_client.h"
#include "vo/body_caps.h"
#include "vo/cone_search.h"
#include "vo/vo_client.h"

using namespace hfs;
using hfs::test::TestHttpServer;

namespace {

struct Services {
  TestHttpServer server;
  std::shared_ptr<vo::HttpTransport> transport = vo::make_curl_transport({});
  std::unique_ptr<vo::VoClient> vo_client;
  std::unique_ptr<vo::ArchiveClient> archive = vo::make_http_archive_client(transport, {});

  Services() {
    vo::VoEndpoints endpoints;
    endpoints.registry = server.url("/tap");
    endpoints.resolver = server.url("/sesame/");
    vo_client = vo::make_http_vo_client(transport, endpoints, {});
  }
};

// Runs `call`, which must fail with EFBIG; returns its message, with exactly one log line for it.
template <class Call>
std::string refused(Call&& call, const std::string& url, const std::string& kind, std::uint64_t cap) {
  test::StderrCapture capture;
  std::string message;
  try {
    call();
    BOOST_ERROR("expected EFBIG for the " << kind << " answer");
  } catch (const Error& error) {
    BOOST_TEST(error.errnum() == EFBIG, kind << ": " << error.what());
    message = error.what();
  }
  capture.restore();
  const std::string line =
      url + ": answer larger than " + std::to_string(cap) + " bytes, the cap for " + kind + " answers";
  BOOST_TEST(message.find(line) != std::string::npos, message);
  BOOST_TEST(capture.count("warn http: ") == 1u, capture.text());
  BOOST_TEST(capture.count(line) == 1u, capture.text());
  return message;
}

}  // namespace

BOOST_AUTO_TEST_CASE(each_answer_kind_has_its_own_cap) {
  Services s;
  s.server.add("/tap/sync", {.body = std::string(vo::body_cap::registry + 1, 'x')});
  refused([&] { s.vo_client->cone_tables(CallContext{}); }, "POST " + s.server.url("/tap/sync"), "registry",
          vo::body_cap::registry);

  s.server.add("/sesame/SNV", {.body = std::string(vo::body_cap::sesame + 1, '#')});
  refused([&] { s.vo_client->resolve("NGC4151", CallContext{}); }, "GET " + s.server.url("/sesame/SNV?NGC4151"),
          "Sesame", vo::body_cap::sesame);

  vo::TableService table;
  table.name = "numaster";
  table.cone_url = s.server.url("/cone?table=numaster&");
  s.server.add("/cone", {.body = std::string(vo::body_cap::cone_search + 1, ' ')});
  refused(
      [&] {
        s.vo_client->cone_search(table, {182.6, 39.4}, 1.0, CallContext{});
      },
      "GET " + vo::cone_search_url(table.cone_url, {182.6, 39.4}, 1.0), "cone search", vo::body_cap::cone_search);

  s.server.add("/FTP/big/", {.body = std::string(vo::body_cap::index_page + 1, ' '), .content_type = "text/html"});
  refused([&] { s.archive->list(s.server.url("/FTP/big/"), CallContext{}); }, "GET " + s.server.url("/FTP/big/"),
          "index page", vo::body_cap::index_page);
}

BOOST_AUTO_TEST_CASE(an_answer_at_its_cap_is_read) {
  Services s;
  // Exactly the Sesame cap: read whole, and then judged by its parser (no position in it).
  s.server.add("/sesame/SNV", {.body = std::string(vo::body_cap::sesame, '#')});
  try {
    s.vo_client->resolve("M31", CallContext{});
    BOOST_ERROR("a page of '#' is no position");
  } catch (const Error& error) {
    BOOST_TEST(error.errnum() == ENOENT, error.what());  // read whole: no %J line in it
  }
}
