#define BOOST_TEST_MODULE http_archive_client
#include <boost/test/unit_test.hpp>

#include <chrono>

#include "common/error.h"
#include "tests/support/errors.h"
#include "tests/support/fake_transport.h"
#include "tests/support/gate.h"
#include "tests/support/loopback_test.h"
#include "tests/support/manual_clock.h"
#include "tests/support/samples.h"
#include "tests/support/test_http_server.h"
#include "vo/archive_client.h"

using namespace hfs;
using namespace std::chrono_literals;
using hfs::test::errno_of;
using hfs::test::TestHttpServer;

namespace {

constexpr const char* kDate = "Fri, 06 Nov 2020 20:20:00 GMT";
constexpr std::int64_t kEpoch = 1604694000;  // kDate

// Retries wait on a manual clock: no real backoff, and the count of attempts is exact.
vo::RetryPolicy fast_retries() {
  vo::RetryPolicy policy;
  policy.initial_backoff = 5ms;
  policy.max_backoff = 20ms;
  policy.deadline = 10s;
  policy.clock = std::make_shared<test::ManualClock>();
  return policy;
}

std::string pattern(std::size_t size, int seed = 0) {
  std::string data(size, '\0');
  for (std::size_t i = 0; i < size; ++i) data[i] = static_cast<char>((i * 31 + seed + i / 97) % 251);
  return data;
}

struct Archive {
  TestHttpServer server;
  std::shared_ptr<vo::HttpTransport> transport = vo::make_curl_transport({});
  std::unique_ptr<vo::ArchiveClient> client = vo::make_http_archive_client(transport, fast_retries());
};

std::string error_text(auto call) { return test::error_of(call).message; }

}  // namespace

BOOST_AUTO_TEST_CASE(stat_uses_head_with_identity_encoding) {
  Archive archive;
  archive.server.add("/FTP/a/nu.evt.gz", {.body = pattern(12345), .etag = "\"3039-5b3\"", .last_modified = kDate});
  auto info = archive.client->stat(archive.server.url("/FTP/a/nu.evt.gz"), CallContext{});
  BOOST_TEST(info.size == 12345u);
  BOOST_TEST(info.mtime == kEpoch);
  BOOST_TEST(info.etag == "\"3039-5b3\"");
  BOOST_TEST(info.url == archive.server.url("/FTP/a/nu.evt.gz"));
  BOOST_TEST(info.validator() == "\"3039-5b3\"");
  auto log = archive.server.requests();
  BOOST_REQUIRE(log.size() == 1u);
  BOOST_TEST(log[0].method == "HEAD");
  BOOST_TEST(log[0].headers["accept-encoding"] == "identity");
}

BOOST_AUTO_TEST_CASE(stat_falls_back_to_a_one_byte_range) {
  Archive archive;
  // HEAD refused.
  archive.server.add("/refused", {.body = pattern(777), .etag = "\"r\"", .head_allowed = false});
  // HEAD with an encoding: its Content-Length is not to be trusted.
  archive.server.add("/encoded",
                     {.body = pattern(888), .last_modified = kDate, .headers = {{"Content-Encoding", "x-gzip"}}});
  // HEAD without a length.
  archive.server.add("/nolength", {.body = pattern(999), .head_content_length = false});
  // HEAD refused and an empty object: the range answer is 416 "bytes */0".
  archive.server.add("/empty", {.body = "", .head_allowed = false});

  auto info = archive.client->stat(archive.server.url("/refused"), CallContext{});
  BOOST_TEST(info.size == 777u);
  BOOST_TEST(info.etag == "\"r\"");
  info = archive.client->stat(archive.server.url("/encoded"), CallContext{});
  BOOST_TEST(info.size == 888u);
  BOOST_TEST(info.mtime == kEpoch);
  BOOST_TEST(archive.client->stat(archive.server.url("/nolength"), CallContext{}).size == 999u);
  BOOST_TEST(archive.client->stat(archive.server.url("/empty"), CallContext{}).size == 0u);

  auto log = archive.server.requests();
  BOOST_REQUIRE(log.size() == 8u);
  for (std::size_t i = 0; i < log.size(); i += 2) {
    BOOST_TEST(log[i].method == "HEAD");
    BOOST_TEST(log[i + 1].method == "GET");
    BOOST_TEST(log[i + 1].range == "bytes=0-0");
    BOOST_TEST(log[i + 1].headers["accept-encoding"] == "identity");
    BOOST_TEST(log[i + 1].body_bytes <= 1u);
  }
  BOOST_TEST(log[0].status == 405);
  BOOST_TEST(log[1].status == 206);
  BOOST_TEST(log[7].status == 416);
}

BOOST_AUTO_TEST_CASE(missing_objects_are_enoent) {
  Archive archive;
  BOOST_TEST(errno_of([&] { archive.client->stat(archive.server.url("/FTP/none"), CallContext{}); }) == ENOENT);
  BOOST_TEST(errno_of([&] { archive.client->list(archive.server.url("/FTP/none/"), CallContext{}); }) == ENOENT);
  vo::ObjectInfo gone{archive.server.url("/FTP/gone"), 100, 0, "\"x\""};
  BOOST_TEST(errno_of([&] { archive.client->read(gone, 0, 10); }) == ENOENT);
  BOOST_TEST(archive.server.request_count() == 3u);  // 404 is never retried
  archive.server.add("/forbidden", {.status = 403});
  BOOST_TEST(errno_of([&] { archive.client->stat(archive.server.url("/forbidden"), CallContext{}); }) == EIO);
}

BOOST_AUTO_TEST_CASE(stat_many_keeps_order_and_bounds_requests_in_flight) {
  Archive archive;
  std::vector<std::string> urls;
  for (int i = 0; i < 40; ++i) {
    std::string path = "/FTP/many/f" + std::to_string(i);
    archive.server.add(path, {.body = pattern(100 + i), .etag = "\"e" + std::to_string(i) + "\""});
    urls.push_back(archive.server.url(path));
  }
  urls.insert(urls.begin() + 17, archive.server.url("/FTP/many/missing"));
  // The server holds the first answers until 4 requests are in flight at once: they overlap
  // for sure (where a delay per answer made it likely), and a client that did not run them in
  // parallel would never get past the gate.
  auto gate = std::make_shared<test::Gate>(4);
  archive.server.set_gate(gate);

  auto results = archive.client->stat_many(urls, 4, CallContext{});
  BOOST_REQUIRE(results.size() == urls.size());
  for (std::size_t i = 0; i < results.size(); ++i) {
    if (i == 17) {
      BOOST_TEST(!results[i].info.has_value());
      BOOST_TEST(results[i].errnum == ENOENT);
      BOOST_TEST(results[i].message.find("missing") != std::string::npos);
      continue;
    }
    int n = static_cast<int>(i < 17 ? i : i - 1);
    BOOST_REQUIRE(results[i].info.has_value());
    BOOST_TEST(results[i].info->size == static_cast<std::uint64_t>(100 + n));
    BOOST_TEST(results[i].info->etag == "\"e" + std::to_string(n) + "\"");
    BOOST_TEST(results[i].info->url == urls[i]);
  }
  BOOST_TEST(gate->max_inside() == 4);              // it really ran in parallel (the gate opened)
  BOOST_TEST(archive.server.max_in_flight() == 4);  // and never more than max_parallel

  archive.server.set_gate(nullptr);
  archive.server.reset_max_in_flight();
  auto serial = archive.client->stat_many({urls[0], urls[1], urls[2]}, 1, CallContext{});
  BOOST_TEST(archive.server.max_in_flight() == 1);
  BOOST_TEST(serial.size() == 3u);
  BOOST_TEST(archive.client->stat_many({}, 8, CallContext{}).empty());
}

BOOST_AUTO_TEST_CASE(read_returns_exactly_the_bytes_asked) {
  Archive archive;
  std::string data = pattern(100000);
  archive.server.add("/FTP/d/file.fits", {.body = data, .etag = "\"v1\"", .last_modified = kDate});
  auto info = archive.client->stat(archive.server.url("/FTP/d/file.fits"), CallContext{});
  BOOST_TEST(archive.client->read(info, 0, 2880) == data.substr(0, 2880));
  BOOST_TEST(archive.client->read(info, 50000, 1) == data.substr(50000, 1));
  BOOST_TEST(archive.client->read(info, 99000, 5000) == data.substr(99000));  // clipped at the size
  BOOST_TEST(archive.client->read(info, 0, 100000) == data);
  auto before = archive.server.request_count();
  BOOST_TEST(archive.client->read(info, 100000, 10).empty());  // at EOF: no request
  BOOST_TEST(archive.client->read(info, 200000, 10).empty());
  BOOST_TEST(archive.client->read(info, 10, 0).empty());
  BOOST_TEST(archive.server.request_count() == before);

  auto log = archive.server.requests();
  BOOST_TEST(log[1].range == "bytes=0-2879");
  BOOST_TEST(log[3].range == "bytes=99000-99999");
  BOOST_TEST(log[1].headers["accept-encoding"] == "identity");
  BOOST_TEST(log[1].status == 206);
}

BOOST_AUTO_TEST_CASE(read_of_a_server_that_ignores_range_is_eio) {
  Archive archive;
  std::string data = pattern(5000);
  archive.server.add("/FTP/ignore", {.body = data, .etag = "\"i\""});
  auto info = archive.client->stat(archive.server.url("/FTP/ignore"), CallContext{});
  archive.server.set_faults("/FTP/ignore", {.ignore_range = true});
  std::string message = error_text([&] { archive.client->read(info, 100, 200); });
  BOOST_TEST(message.find("ignored the Range") != std::string::npos, message);
  BOOST_TEST(errno_of([&] { archive.client->read(info, 100, 200); }) == EIO);
  // Asking for the whole object, a 200 with all of it is the right answer.
  BOOST_TEST(archive.client->read(info, 0, 5000) == data);
}

BOOST_AUTO_TEST_CASE(read_checks_content_range_and_length) {
  auto fake = std::make_shared<test::FakeTransport>();
  auto client = vo::make_http_archive_client(fake, fast_retries());
  vo::ObjectInfo info{"http://a/f", 1000, 0, "\"f\""};
  auto answer = [&](std::string content_range, std::string body) {
    fake->add("http://a/f", test::FakeTransport::response(206, std::move(body),
                                                          {{"ETag", "\"f\""}, {"Content-Range", content_range}}));
  };
  answer("bytes 10-19/1000", "0123456789");
  BOOST_TEST(client->read(info, 10, 10) == "0123456789");
  answer("bytes 0-9/1000", "0123456789");  // another range than asked
  BOOST_TEST(error_text([&] { client->read(info, 10, 10); }).find("sent bytes 0-9") != std::string::npos);
  answer("bytes 10-19/1000", "01234");  // short body
  BOOST_TEST(errno_of([&] { client->read(info, 10, 10); }) == EIO);
  answer("", "0123456789");  // no Content-Range
  BOOST_TEST(errno_of([&] { client->read(info, 10, 10); }) == EIO);
  answer("bytes 10-19/2000", "0123456789");  // the object grew
  BOOST_TEST(errno_of([&] { client->read(info, 10, 10); }) == ESTALE);
  answer("bytes 10-19/*", "0123456789");  // total unknown is fine
  BOOST_TEST(client->read(info, 10, 10) == "0123456789");
}

BOOST_AUTO_TEST_CASE(a_changed_validator_is_estale) {
  Archive archive;
  std::string path = "/FTP/c/file";
  archive.server.add(path, {.body = pattern(4000), .etag = "\"v1\"", .last_modified = kDate});
  auto info = archive.client->stat(archive.server.url(path), CallContext{});
  archive.server.add(path, {.body = pattern(4000, 5), .etag = "\"v2\"", .last_modified = kDate});
  BOOST_TEST(errno_of([&] { archive.client->read(info, 0, 100); }) == ESTALE);

  // Without ETags the Last-Modified date is the validator.
  archive.server.add(path, {.body = pattern(4000), .last_modified = kDate});
  info = archive.client->stat(archive.server.url(path), CallContext{});
  BOOST_TEST(info.validator() == "lm:" + std::to_string(kEpoch));
  BOOST_TEST(archive.client->read(info, 0, 100) == pattern(4000).substr(0, 100));
  archive.server.add(path, {.body = pattern(4000), .last_modified = "Sat, 07 Nov 2020 20:20:00 GMT"});
  BOOST_TEST(errno_of([&] { archive.client->read(info, 0, 100); }) == ESTALE);

  // A shrunken object: the range is past its end now.
  archive.server.add(path, {.body = pattern(10), .last_modified = kDate});
  BOOST_TEST(errno_of([&] { archive.client->read(info, 1000, 100); }) == ESTALE);
  auto count = archive.server.request_count();
  BOOST_TEST(errno_of([&] { archive.client->read(info, 1000, 100); }) == ESTALE);
  BOOST_TEST(archive.server.request_count() == count + 1);  // ESTALE is not retried
}

BOOST_AUTO_TEST_CASE(transient_failures_are_retried_within_the_bound) {
  Archive archive;
  std::string data = pattern(3000);
  archive.server.add("/FTP/r", {.body = data, .etag = "\"r\""});
  auto info = archive.client->stat(archive.server.url("/FTP/r"), CallContext{});

  archive.server.clear_log();
  archive.server.set_faults("/FTP/r", {.fail_next = 2, .retry_after = "0"});
  BOOST_TEST(archive.client->read(info, 0, 1000) == data.substr(0, 1000));
  BOOST_TEST(archive.server.request_count() == 3u);

  archive.server.clear_log();
  archive.server.set_faults("/FTP/r", {.fail_next = 100});
  std::string message = error_text([&] { archive.client->read(info, 0, 1000); });
  BOOST_TEST(message.find("503") != std::string::npos, message);
  BOOST_TEST(archive.server.request_count() == 4u);  // 1 + 3 retries, no more

  archive.server.clear_log();
  archive.server.set_faults("/FTP/r", {.truncate_body = true});
  BOOST_TEST(errno_of([&] { archive.client->read(info, 0, 3000); }) == EIO);
  BOOST_TEST(archive.server.request_count() == 4u);

  archive.server.clear_log();
  archive.server.set_faults("/FTP/r", {.fail_next = 1, .fail_status = 500});
  BOOST_TEST(archive.client->stat(archive.server.url("/FTP/r"), CallContext{}).size == 3000u);
  BOOST_TEST(archive.server.request_count() == 2u);
}

BOOST_AUTO_TEST_CASE(list_reads_a_real_autoindex_page) {
  Archive archive;
  std::string html = test::read_sample("heasarc_FTP_nustar_obs_index.html");
  std::string dir = "/FTP/nustar/data/obs/00/8/80002092008/";
  archive.server.add(dir, {.body = html, .content_type = "text/html;charset=ISO-8859-1"});
  // Asked without the '/', Apache redirects; entries resolve against the final URL.
  archive.server.add("/FTP/nustar/data/obs/00/8/80002092008",
                     {.status = 301, .headers = {{"Location", archive.server.url(dir)}}});

  for (const std::string& asked : {dir, std::string("/FTP/nustar/data/obs/00/8/80002092008")}) {
    auto entries = archive.client->list(archive.server.url(asked), CallContext{});
    BOOST_REQUIRE(entries.size() == 6u);
    std::vector<std::string> names;
    for (const auto& entry : entries) names.push_back(entry.name + (entry.is_dir ? "/" : ""));
    std::sort(names.begin(), names.end());
    BOOST_TEST((names == std::vector<std::string>{"auxil/", "event_cl/", "event_uf/", "hk/", "nu80002092008.cat.gz",
                                                  "pipe.log"}));
    for (const auto& entry : entries) {
      if (entry.name == "pipe.log") BOOST_TEST(entry.url == archive.server.url(dir + "pipe.log"));
      if (entry.name == "hk") BOOST_TEST(entry.url == archive.server.url(dir + "hk/"));
    }
  }
  archive.server.add("/FTP/notalisting/", {.body = "<html><body>hello</body></html>", .content_type = "text/html"});
  BOOST_TEST(errno_of([&] { archive.client->list(archive.server.url("/FTP/notalisting/"), CallContext{}); }) == EPROTO);
}

BOOST_AUTO_TEST_CASE(validator_prefers_etag_then_mtime_then_size) {
  BOOST_TEST((vo::ObjectInfo{"u", 5, 7, "\"e\""}.validator() == "\"e\""));
  BOOST_TEST((vo::ObjectInfo{"u", 5, 7, ""}.validator() == "lm:7"));
  BOOST_TEST((vo::ObjectInfo{"u", 5, 0, ""}.validator() == "size:5"));
}

BOOST_AUTO_TEST_CASE(head_forbidden_falls_back_to_a_one_byte_range) {
  // CDNs and signed URLs answer HEAD 403 where GET works.
  Archive archive;
  archive.server.add("/FTP/cdn/f.fits", {.body = pattern(4321), .etag = "\"c\"", .head_status = 403});
  auto info = archive.client->stat(archive.server.url("/FTP/cdn/f.fits"), CallContext{});
  BOOST_TEST(info.size == 4321u);
  BOOST_TEST(info.etag == "\"c\"");
  auto log = archive.server.requests();
  BOOST_REQUIRE(log.size() == 2u);
  BOOST_TEST(log[0].status == 403);
  BOOST_TEST(log[1].range == "bytes=0-0");
  BOOST_TEST(log[1].status == 206);
}

BOOST_AUTO_TEST_CASE(whole_file_answers_to_range_requests_are_not_downloaded) {
  // HEAD refused and the Range ignored (HTTP 200 with the whole 4 MiB body): the probe takes
  // the size from Content-Length and stops; a read fails with EIO. Neither reads the body: it
  // is 4 times the transport's cap, which would make both EFBIG.
  TestHttpServer server;
  vo::CurlTransportOptions options;
  options.max_body_bytes = 1 << 20;
  auto client = vo::make_http_archive_client(vo::make_curl_transport(options), fast_retries());
  std::string data = pattern(4 << 20);
  server.add("/FTP/big.evt.gz", {.body = data, .etag = "\"b\"", .last_modified = kDate, .head_allowed = false});
  server.set_faults("/FTP/big.evt.gz", {.ignore_range = true});
  vo::ObjectInfo info;
  BOOST_TEST(errno_of([&] { info = client->stat(server.url("/FTP/big.evt.gz"), CallContext{}); }) == 0);
  BOOST_TEST(info.size == data.size());
  BOOST_TEST(info.etag == "\"b\"");
  BOOST_TEST(info.mtime == kEpoch);
  std::string message = error_text([&] { client->read(info, 100, 200); });
  BOOST_TEST(message.find("ignored the Range") != std::string::npos, message);
  BOOST_TEST(errno_of([&] { client->read(info, 100, 200); }) == EIO);
}

BOOST_AUTO_TEST_CASE(size_probe_of_a_whole_answer_without_length) {
  // HEAD refused, Range ignored and no Content-Length (chunked): a small object's complete body
  // is its size; a large one's size is unknown (EIO), never guessed from a cut body.
  auto fake = std::make_shared<test::FakeTransport>();
  fake->set_serve_ranges(false);
  fake->set_fallback([](const vo::HttpRequest& request) {
    if (request.method == vo::HttpRequest::Method::head) return test::FakeTransport::response(405, "");
    return test::FakeTransport::ok(pattern(request.url == "http://a/small" ? 300 : 5 << 20));
  });
  auto client = vo::make_http_archive_client(fake, fast_retries());
  BOOST_TEST(client->stat("http://a/small", CallContext{}).size == 300u);
  std::string message = error_text([&] { client->stat("http://a/large", CallContext{}); });
  BOOST_TEST(message.find("ignored the Range") != std::string::npos, message);
  BOOST_TEST(errno_of([&] { client->stat("http://a/large", CallContext{}); }) == EIO);
  for (const auto& request : fake->requests()) {
    if (request.range) BOOST_TEST((request.body_limit > 0 && request.body_limit <= 65536u));
  }
}

BOOST_AUTO_TEST_CASE(an_answer_without_the_etag_is_checked_by_its_date) {
  // The stat saw an ETag and a date; a range answer without ETag (a cache or proxy that drops
  // it) still must not mix in a newer version of the same size: its Last-Modified decides.
  auto fake = std::make_shared<test::FakeTransport>();
  auto client = vo::make_http_archive_client(fake, fast_retries());
  vo::ObjectInfo info{"http://a/f", 1000, kEpoch, "\"f\""};
  auto answer = [&](std::string last_modified) {
    fake->add("http://a/f",
              test::FakeTransport::response(206, "0123456789",
                                            {{"Last-Modified", last_modified}, {"Content-Range", "bytes 10-19/1000"}}));
  };
  answer(kDate);
  BOOST_TEST(client->read(info, 10, 10) == "0123456789");
  answer("Sat, 07 Nov 2020 20:20:00 GMT");
  BOOST_TEST(errno_of([&] { client->read(info, 10, 10); }) == ESTALE);
}

BOOST_AUTO_TEST_CASE(size_probe_needs_a_content_range_total) {
  // HEAD refused; the one-byte answer's Content-Range must carry the total.
  auto fake = std::make_shared<test::FakeTransport>();
  std::string content_range;
  fake->set_fallback([&](const vo::HttpRequest& request) {
    if (request.method == vo::HttpRequest::Method::head) return test::FakeTransport::response(405, "");
    test::FakeTransport::Headers headers;
    if (!content_range.empty()) headers.emplace_back("Content-Range", content_range);
    return test::FakeTransport::response(206, "x", headers);
  });
  auto client = vo::make_http_archive_client(fake, fast_retries());
  content_range = "bytes 0-0/2880";
  BOOST_TEST(client->stat("http://a/f", CallContext{}).size == 2880u);
  for (const char* bad : {"bytes 0-0/*", "", "bytes 0-0", "bytes 0-0/x", "bytes 5-0/10"}) {
    content_range = bad;
    BOOST_TEST(errno_of([&] { client->stat("http://a/f", CallContext{}); }) == EIO, "Content-Range '" << bad << "'");
  }
}
