#define BOOST_TEST_MODULE http_transport
#include <boost/test/unit_test.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>

#include "common/error.h"
#include "tests/support/failing_transport.h"
#include "tests/support/fake_transport.h"
#include "tests/support/loopback_test.h"
#include "tests/support/manual_clock.h"
#include "tests/support/test_http_server.h"
#include "vo/http_transport.h"

using namespace hfs;
using namespace std::chrono_literals;
using hfs::test::TestHttpServer;
using Clock = std::chrono::steady_clock;

using hfs::test::get;

namespace {

// What a transport threw. Which timeout ended a request is told by the outcome, not by how
// long it took: the request's own timeout is a plain ETIMEDOUT, a stall or a connect timeout
// (the request's time not spent) a TransientError. Elapsed times are only checked from below
// (a timer must not fire early), which holds however loaded the machine is.
struct Failure {
  int errnum = 0;
  bool transient = false;  // thrown as vo::TransientError
  std::chrono::milliseconds elapsed{0};
};

// Runs the request, expecting hfs::Error.
Failure expect_error(vo::HttpTransport& transport, const vo::HttpRequest& request) {
  auto start = Clock::now();
  try {
    auto response = transport.perform(request);
    BOOST_ERROR("expected an error, got HTTP " << response.status);
  } catch (const Error& error) {
    BOOST_TEST_MESSAGE("error: " << error.what());
    BOOST_TEST(std::string(error.what()).find(request.url) != std::string::npos);
    return {error.errnum(), dynamic_cast<const vo::TransientError*>(&error) != nullptr,
            std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start)};
  }
  return {};
}

// The same through the retry loop.
Failure expect_error(vo::HttpTransport& transport, const vo::HttpRequest& request, const vo::RetryPolicy& policy) {
  auto start = Clock::now();
  try {
    auto response = vo::perform_with_retries(transport, request, policy, "test");
    BOOST_ERROR("expected an error, got HTTP " << response.status);
  } catch (const Error& error) {
    BOOST_TEST_MESSAGE("error: " << error.what());
    return {error.errnum(), dynamic_cast<const vo::TransientError*>(&error) != nullptr,
            std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start)};
  }
  return {};
}

std::string pattern(std::size_t size) {
  std::string data(size, '\0');
  for (std::size_t i = 0; i < size; ++i) data[i] = static_cast<char>('a' + (i * 7 + i / 251) % 26);
  return data;
}

}  // namespace

BOOST_AUTO_TEST_CASE(get_returns_status_body_and_lower_cased_headers) {
  TestHttpServer server;
  server.add("/hello", {.body = "hello world",
                        .content_type = "text/plain",
                        .etag = "\"v1\"",
                        .last_modified = "Fri, 06 Nov 2020 20:20:00 GMT",
                        .headers = {{"X-Custom", "Some Value"}}});
  auto transport = vo::make_curl_transport({});
  auto response = transport->perform(get(server.url("/hello")));
  BOOST_TEST(response.status == 200);
  BOOST_TEST(response.body == "hello world");
  BOOST_TEST(response.header("x-custom").value_or("") == "Some Value");
  BOOST_TEST(response.header("etag").value_or("") == "\"v1\"");
  BOOST_TEST(response.header("content-type").value_or("") == "text/plain");
  BOOST_TEST(!response.header("X-Custom").has_value());  // lookups take lower-case names
  BOOST_TEST(response.effective_url == server.url("/hello"));

  auto logged = server.requests().at(0);
  BOOST_TEST(logged.method == "GET");
  BOOST_TEST(logged.headers["accept-encoding"] == "identity");  // bodies as stored
  BOOST_TEST(logged.headers["user-agent"] == "heasarcfs");
}

BOOST_AUTO_TEST_CASE(non_2xx_answers_are_returned_not_thrown) {
  TestHttpServer server;
  auto transport = vo::make_curl_transport({});
  auto response = transport->perform(get(server.url("/missing")));
  BOOST_TEST(response.status == 404);
}

BOOST_AUTO_TEST_CASE(head_has_no_body_and_reports_the_length) {
  TestHttpServer server;
  server.add("/file", {.body = pattern(5000)});
  auto transport = vo::make_curl_transport({});
  vo::HttpRequest request = get(server.url("/file"));
  request.method = vo::HttpRequest::Method::head;
  auto response = transport->perform(request);
  BOOST_TEST(response.status == 200);
  BOOST_TEST(response.body.empty());
  BOOST_TEST(response.header("content-length").value_or("") == "5000");
  BOOST_TEST(server.requests().at(0).method == "HEAD");
  BOOST_TEST(server.requests().at(0).body_bytes == 0u);
}

BOOST_AUTO_TEST_CASE(post_sends_the_body_with_its_content_type) {
  TestHttpServer server;
  server.add("/tap/sync", {.body = "<VOTABLE/>"});
  auto transport = vo::make_curl_transport({});
  vo::HttpRequest request = get(server.url("/tap/sync"));
  request.method = vo::HttpRequest::Method::post;
  request.body = "REQUEST=doQuery&LANG=ADQL&QUERY=SELECT+1";
  request.content_type = "application/x-www-form-urlencoded";
  auto response = transport->perform(request);
  BOOST_TEST(response.status == 200);
  BOOST_TEST(response.body == "<VOTABLE/>");
  auto logged = server.requests().at(0);
  BOOST_TEST(logged.method == "POST");
  BOOST_TEST(logged.body == request.body);
  BOOST_TEST(logged.headers["content-type"] == "application/x-www-form-urlencoded");
  BOOST_TEST(logged.headers.count("expect") == 0u);
}

BOOST_AUTO_TEST_CASE(range_request_gets_exactly_the_slice) {
  TestHttpServer server;
  std::string data = pattern(100000);
  server.add("/data.fits", {.body = data});
  auto transport = vo::make_curl_transport({});
  vo::HttpRequest request = get(server.url("/data.fits"));
  request.range = vo::ByteRange{1000, 1999};
  request.headers = {{"Accept-Encoding", "identity"}};
  auto response = transport->perform(request);
  BOOST_TEST(response.status == 206);
  BOOST_TEST(response.body == data.substr(1000, 1000));
  auto range = vo::parse_content_range(response.header("content-range").value_or(""));
  BOOST_REQUIRE(range.has_value());
  BOOST_TEST(range->first == 1000u);
  BOOST_TEST(range->last == 1999u);
  BOOST_TEST(range->total.value_or(0) == 100000u);
  auto logged = server.requests().at(0);
  BOOST_TEST(logged.range == "bytes=1000-1999");
  BOOST_TEST(logged.headers["accept-encoding"] == "identity");
  BOOST_TEST(logged.body_bytes == 1000u);
}

BOOST_AUTO_TEST_CASE(keep_alive_reuses_one_connection) {
  TestHttpServer server;
  server.add("/a", {.body = "A"});
  auto transport = vo::make_curl_transport({});
  for (int i = 0; i < 20; ++i) BOOST_TEST(transport->perform(get(server.url("/a"))).body == "A");
  BOOST_TEST(server.request_count() == 20u);
  BOOST_TEST(server.connections_accepted() == 1);
}

BOOST_AUTO_TEST_CASE(redirects_are_followed_and_only_the_final_headers_kept) {
  TestHttpServer server;
  server.add("/old", {.status = 302, .headers = {{"Location", "/new/"}, {"X-Hop", "first"}}});
  server.add("/new/", {.body = "moved here", .headers = {{"X-Final", "yes"}}});
  server.add("/loop", {.status = 302, .headers = {{"Location", "/loop"}}});
  auto transport = vo::make_curl_transport({});
  auto response = transport->perform(get(server.url("/old")));
  BOOST_TEST(response.status == 200);
  BOOST_TEST(response.body == "moved here");
  BOOST_TEST(response.effective_url == server.url("/new/"));
  BOOST_TEST(response.header("x-final").value_or("") == "yes");
  BOOST_TEST(!response.header("x-hop").has_value());
  BOOST_TEST(!response.header("location").has_value());

  BOOST_TEST(expect_error(*transport, get(server.url("/loop"))).errnum == ELOOP);
  BOOST_TEST(server.request_count() == 2u + 6u);  // the first try and 5 redirects
}

BOOST_AUTO_TEST_CASE(hang_times_out_within_the_deadline) {
  TestHttpServer server;
  server.add("/slow", {.body = "never"});
  server.set_faults("/slow", {.hang = true});
  vo::CurlTransportOptions options;
  options.timeout = 400ms;
  auto transport = vo::make_curl_transport(options);
  auto failure = expect_error(*transport, get(server.url("/slow")));
  BOOST_TEST(failure.errnum == ETIMEDOUT);
  BOOST_TEST(!failure.transient);  // the request's own time ran out: no stall, no connect timeout
  std::printf("measured: transport timeout 400 ms -> ETIMEDOUT after %lld ms\n",
              static_cast<long long>(failure.elapsed.count()));
  // Not early. No ceiling is needed to tell which timer fired: the connection is made at once
  // and no answer starts, so only this timeout can end the request (without it, it would hang).
  BOOST_TEST(failure.elapsed.count() >= 390);
  BOOST_TEST(server.requests().at(0).status == 0);  // the server never answered
}

BOOST_AUTO_TEST_CASE(request_timeout_shortens_the_transport_timeout) {
  TestHttpServer server;
  server.add("/slow", {.body = "never"});
  server.set_faults("/slow", {.hang = true});
  // The transport's timeout is an hour: only the request's own can end this within the test
  // (if it were ignored, the test would hang until ctest's timeout and fail).
  vo::CurlTransportOptions options;
  options.timeout = std::chrono::hours(1);
  auto transport = vo::make_curl_transport(options);
  auto request = get(server.url("/slow"));
  request.timeout = 250ms;
  auto failure = expect_error(*transport, request);
  BOOST_TEST(failure.errnum == ETIMEDOUT);
  BOOST_TEST(!failure.transient);
  BOOST_TEST(failure.elapsed.count() >= 240);
}

BOOST_AUTO_TEST_CASE(a_body_stalled_midway_is_aborted_by_the_stall_timeout) {
  TestHttpServer server;
  server.add("/stall", {.body = pattern(200000)});
  server.set_faults("/stall", {.stall_mid_body = true});
  vo::CurlTransportOptions options;
  options.timeout = 30s;
  options.stall_timeout = 1s;
  auto transport = vo::make_curl_transport(options);
  auto failure = expect_error(*transport, get(server.url("/stall")));
  BOOST_TEST(failure.errnum == ETIMEDOUT);
  BOOST_TEST(failure.transient);  // the stall check ended it, not the 30 s total timeout
  std::printf("measured: stall timeout 1000 ms -> ETIMEDOUT after %lld ms\n",
              static_cast<long long>(failure.elapsed.count()));
  BOOST_TEST(failure.elapsed.count() >= 990);

  // A slow first byte is not a stall: only the total timeout bounds it.
  server.add("/slow-start", {.body = "late"});
  server.set_faults("/slow-start", {.delay = 1500ms});
  BOOST_TEST(transport->perform(get(server.url("/slow-start"))).body == "late");
}

BOOST_AUTO_TEST_CASE(reset_or_truncated_body_is_eio) {
  TestHttpServer server;
  server.add("/reset", {.body = pattern(300000)});
  server.set_faults("/reset", {.reset_mid_body = true});
  server.add("/short", {.body = pattern(300000)});
  server.set_faults("/short", {.truncate_body = true});
  auto transport = vo::make_curl_transport({});
  BOOST_TEST(expect_error(*transport, get(server.url("/reset"))).errnum == EIO);
  BOOST_TEST(expect_error(*transport, get(server.url("/short"))).errnum == EIO);
  // The transport is still usable afterwards.
  server.add("/ok", {.body = "fine"});
  BOOST_TEST(transport->perform(get(server.url("/ok"))).body == "fine");
}

BOOST_AUTO_TEST_CASE(closed_port_is_econnrefused_and_unknown_host_ehostunreach) {
  auto transport = vo::make_curl_transport({});
  std::string refused = "http://127.0.0.1:" + std::to_string(test::closed_local_port()) + "/x";
  BOOST_TEST(expect_error(*transport, get(refused)).errnum == ECONNREFUSED);
  BOOST_TEST(expect_error(*transport, get("http://heasarcfs-test.invalid/x")).errnum == EHOSTUNREACH);
  BOOST_TEST(expect_error(*transport, get("ftp://127.0.0.1/x")).errnum == EINVAL);
}

BOOST_AUTO_TEST_CASE(body_over_the_cap_is_efbig) {
  TestHttpServer server;
  server.add("/big", {.body = pattern(1 << 20)});
  vo::CurlTransportOptions options;
  options.max_body_bytes = 100000;
  auto transport = vo::make_curl_transport(options);
  BOOST_TEST(expect_error(*transport, get(server.url("/big"))).errnum == EFBIG);
  auto request = get(server.url("/big"));
  request.range = vo::ByteRange{0, 99999};  // exactly the cap is fine
  BOOST_TEST(transport->perform(request).body.size() == 100000u);
  request.method = vo::HttpRequest::Method::head;  // a HEAD of a large object is fine too
  request.range.reset();
  BOOST_TEST(transport->perform(request).header("content-length").value_or("") == "1048576");
}

BOOST_AUTO_TEST_CASE(header_lookup_takes_the_last_of_a_name) {
  vo::HttpResponse response;
  response.headers = {{"etag", "\"a\""}, {"x", "1"}, {"etag", "\"b\""}};
  BOOST_TEST(response.header("etag").value_or("") == "\"b\"");
  BOOST_TEST(!response.header("missing").has_value());
}

BOOST_AUTO_TEST_CASE(parse_content_range_edge_cases) {
  auto range = vo::parse_content_range("bytes 0-0/1");
  BOOST_REQUIRE(range.has_value());
  BOOST_TEST((range->first == 0u && range->last == 0u && range->total.value_or(9) == 1u && range->satisfied));
  range = vo::parse_content_range("  Bytes 100-199/*  ");
  BOOST_REQUIRE(range.has_value());
  BOOST_TEST((range->first == 100u && range->last == 199u && !range->total.has_value()));
  range = vo::parse_content_range("bytes */12345");
  BOOST_REQUIRE(range.has_value());
  BOOST_TEST((!range->satisfied && range->total.value_or(0) == 12345u));
  range = vo::parse_content_range("bytes 0-18446744073709551614/18446744073709551615");
  BOOST_REQUIRE(range.has_value());
  BOOST_TEST(range->last == 18446744073709551614ull);

  for (const char* bad : {"", "bytes", "bytes ", "bytes 5-4/10", "bytes 0-10/10", "bytes 0-9", "bytes -1-9/10",
                          "bytes 0-9/-10", "bytes */*", "items 0-9/10", "bytes=0-9/10", "bytes 0 - 9/10x",
                          "bytes 0-99999999999999999999/100000000000000000000", "bytes a-b/c", "bytes 1-2/3/4"}) {
    BOOST_TEST(!vo::parse_content_range(bad).has_value(), "accepted '" << bad << "'");
  }
}

BOOST_AUTO_TEST_CASE(parse_http_date_edge_cases) {
  BOOST_TEST(vo::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").value_or(0) == 784111777);
  BOOST_TEST(vo::parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT").value_or(0) == 784111777);  // RFC 850
  BOOST_TEST(vo::parse_http_date("Sun Nov  6 08:49:37 1994").value_or(0) == 784111777);        // asctime
  BOOST_TEST(vo::parse_http_date("  Fri, 06 Nov 2020 20:20:00 GMT ").value_or(0) == 1604694000);
  BOOST_TEST(vo::parse_http_date("Thu, 01 Jan 1970 00:00:01 GMT").value_or(0) == 1);
  for (const char* bad : {"", "   ", "garbage", "12345", "Sun, 99 Foo 1994 99:99:99 GMT"}) {
    BOOST_TEST(!vo::parse_http_date(bad).has_value(), "accepted '" << bad << "'");
  }
}

BOOST_AUTO_TEST_CASE(concurrent_requests_from_8_threads) {
  TestHttpServer server;
  std::string data = pattern(1 << 20);
  server.add("/big.evt", {.body = data});
  auto transport = vo::make_curl_transport({});
  std::atomic<int> wrong{0}, errors{0};
  constexpr int kThreads = 8, kPerThread = 40;
  {
    std::vector<std::jthread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kPerThread; ++i) {
          std::uint64_t first = static_cast<std::uint64_t>((t * 131071 + i * 8191) % (data.size() - 20000));
          auto request = get(server.url("/big.evt"));
          request.range = vo::ByteRange{first, first + 9999 + static_cast<std::uint64_t>(i)};
          try {
            auto response = transport->perform(request);
            if (response.status != 206 || response.body != data.substr(first, 10000 + i)) ++wrong;
          } catch (const Error&) {
            ++errors;
          }
        }
      });
    }
  }
  BOOST_TEST(wrong.load() == 0);
  BOOST_TEST(errors.load() == 0);
  BOOST_TEST(server.request_count() == static_cast<std::size_t>(kThreads * kPerThread));
  std::printf("measured: %d requests from %d threads over %d connections\n", kThreads * kPerThread, kThreads,
              server.connections_accepted());
  BOOST_TEST(server.connections_accepted() <= kThreads);  // pooled handles keep their connections
}

// --- perform_with_retries ---

namespace {
// The retry loop's time is a manual clock (tests/support/manual_clock.h): its waits are
// recorded, not slept, and the deadline passes only by them. Tests of the deadline against
// real transport timers set policy.clock = nullptr (the real clock).
vo::RetryPolicy fast_retries() {
  vo::RetryPolicy policy;
  policy.initial_backoff = 10ms;
  policy.max_backoff = 50ms;
  policy.deadline = 10s;
  policy.clock = std::make_shared<test::ManualClock>();
  return policy;
}

std::vector<std::chrono::milliseconds> waits_of(const vo::RetryPolicy& policy) {
  return static_cast<test::ManualClock&>(*policy.clock).waits();
}

using Waits = std::vector<std::chrono::milliseconds>;
}  // namespace

BOOST_AUTO_TEST_CASE(retries_503_until_success) {
  TestHttpServer server;
  server.add("/flaky", {.body = "finally"});
  server.set_faults("/flaky", {.fail_next = 2, .retry_after = "0"});
  auto transport = vo::make_curl_transport({});
  auto policy = fast_retries();
  auto response = vo::perform_with_retries(*transport, get(server.url("/flaky")), policy, "test");
  BOOST_TEST(response.status == 200);
  BOOST_TEST(response.body == "finally");
  auto log = server.requests();
  BOOST_REQUIRE(log.size() == 3u);
  BOOST_TEST((log[0].status == 503 && log[1].status == 503 && log[2].status == 200));
  BOOST_TEST((waits_of(policy) == Waits{0ms, 0ms}));  // Retry-After: 0
}

BOOST_AUTO_TEST_CASE(retries_are_bounded_and_the_last_answer_returned) {
  TestHttpServer server;
  server.add("/down", {.body = "x"});
  server.set_faults("/down", {.fail_next = 1000, .fail_status = 502});
  auto transport = vo::make_curl_transport({});
  auto policy = fast_retries();
  auto response = vo::perform_with_retries(*transport, get(server.url("/down")), policy, "test");
  BOOST_TEST(response.status == 502);
  BOOST_TEST(server.request_count() == 4u);  // 1 + 3 retries
  // The backoff doubles from 10 ms per retry, each wait jittered in [b/2, b].
  auto waits = waits_of(policy);
  BOOST_REQUIRE(waits.size() == 3u);
  for (std::size_t i = 0; i < waits.size(); ++i) {
    auto backoff = 10ms * (1 << i);
    BOOST_TEST((waits[i] >= backoff / 2 && waits[i] <= backoff), "wait " << i << ": " << waits[i].count() << " ms");
  }
}

BOOST_AUTO_TEST_CASE(client_errors_and_501_are_not_retried) {
  TestHttpServer server;
  server.add("/gone", {.status = 410});
  server.add("/teapot", {.body = "x"});
  server.set_faults("/teapot", {.fail_next = 5, .fail_status = 429});
  server.add("/unimplemented", {.status = 501});
  auto transport = vo::make_curl_transport({});
  BOOST_TEST(vo::perform_with_retries(*transport, get(server.url("/missing")), fast_retries(), "t").status == 404);
  BOOST_TEST(vo::perform_with_retries(*transport, get(server.url("/gone")), fast_retries(), "t").status == 410);
  BOOST_TEST(vo::perform_with_retries(*transport, get(server.url("/unimplemented")), fast_retries(), "t").status ==
             501);
  BOOST_TEST(server.request_count() == 3u);
  BOOST_TEST(vo::perform_with_retries(*transport, get(server.url("/teapot")), fast_retries(), "t").status == 429);
  BOOST_TEST(server.request_count() == 3u + 4u);  // 429 is retried
}

BOOST_AUTO_TEST_CASE(transport_errors_retried_only_when_transient) {
  auto fake = std::make_shared<test::FakeTransport>();
  fake->add("http://h/x", test::FakeTransport::ok("body"));
  test::FailingTransport failing(fake);
  failing.fail(test::any_call(), {.errnum = ECONNRESET}, 2);
  BOOST_TEST(vo::perform_with_retries(failing, get("http://h/x"), fast_retries(), "t").body == "body");
  BOOST_TEST(failing.calls() == 3);

  // A host that refuses connections or has no address is down: the call fails at once.
  for (int errnum : {ECONNREFUSED, EHOSTUNREACH}) {
    failing.clear();
    failing.fail(test::any_call(), {.errnum = errnum}, 1);
    const int before = failing.calls();
    try {
      vo::perform_with_retries(failing, get("http://h/x"), fast_retries(), "t");
      BOOST_ERROR("expected the first error");
    } catch (const Error& error) {
      BOOST_TEST(error.errnum() == errnum);
    }
    BOOST_TEST(failing.calls() == before + 1);
  }
  failing.clear();
  const int base = failing.calls();

  failing.clear();
  failing.fail(test::any_call(), {.errnum = EIO});
  try {
    vo::perform_with_retries(failing, get("http://h/x"), fast_retries(), "t");
    BOOST_ERROR("expected EIO");
  } catch (const Error& error) {
    BOOST_TEST(error.errnum() == EIO);
  }
  BOOST_TEST(failing.calls() == base + 4);

  failing.clear();
  failing.fail(test::any_call(), {.errnum = ETIMEDOUT});
  try {
    vo::perform_with_retries(failing, get("http://h/x"), fast_retries(), "t");
    BOOST_ERROR("expected ETIMEDOUT");
  } catch (const Error& error) {
    BOOST_TEST(error.errnum() == ETIMEDOUT);
  }
  BOOST_TEST(failing.calls() == base + 4 + 1);
}

BOOST_AUTO_TEST_CASE(retry_after_is_honoured_and_capped) {
  TestHttpServer server;
  server.add("/busy", {.body = "ok"});
  auto transport = vo::make_curl_transport({});
  auto policy = fast_retries();
  policy.max_backoff = 5s;
  server.set_faults("/busy", {.fail_next = 1, .retry_after = "1"});
  BOOST_TEST(vo::perform_with_retries(*transport, get(server.url("/busy")), policy, "t").status == 200);
  BOOST_TEST((waits_of(policy) == Waits{1000ms}));  // the server's second, not the 10 ms backoff

  policy.max_backoff = 100ms;
  server.set_faults("/busy", {.fail_next = 1, .retry_after = "3600"});
  BOOST_TEST(vo::perform_with_retries(*transport, get(server.url("/busy")), policy, "t").status == 200);
  BOOST_TEST((waits_of(policy) == Waits{1000ms, 100ms}));  // an hour, capped at max_backoff
}

BOOST_AUTO_TEST_CASE(the_deadline_bounds_attempts_and_their_timeouts) {
  TestHttpServer server;
  server.add("/slow", {.body = "x"});
  server.set_faults("/slow", {.hang = true});
  auto transport = std::make_shared<test::FailingTransport>(vo::make_curl_transport({}));  // 60 s per request
  auto policy = fast_retries();
  policy.deadline = 500ms;
  auto failure = expect_error(*transport, get(server.url("/slow")), policy);
  BOOST_TEST(failure.errnum == ETIMEDOUT);
  BOOST_TEST(failure.elapsed.count() >= 480);
  BOOST_REQUIRE(transport->calls() == 1);                          // its time used up: not retried
  BOOST_TEST(transport->requests().at(0).timeout.count() == 500);  // the deadline, not the 60 s

  server.add("/down", {.body = "x"});
  // Retry-After (1 s, capped at max_backoff) pins the wait at exactly 400 ms, where a jittered
  // backoff could take two short waits and fit a third attempt into the deadline.
  server.set_faults("/down", {.fail_next = 1000, .retry_after = "1"});
  policy = fast_retries();
  policy.deadline = 500ms;
  policy.initial_backoff = 400ms;
  policy.max_backoff = 400ms;
  BOOST_TEST(vo::perform_with_retries(*transport, get(server.url("/down")), policy, "t").status == 503);
  BOOST_TEST(server.requests().back().path == "/down");
  std::size_t down_requests = 0;
  for (const auto& logged : server.requests()) down_requests += logged.path == "/down";
  BOOST_TEST(down_requests == 2u);  // at 0 and 400 ms; a third would start past the deadline
  BOOST_TEST((waits_of(policy) == Waits{400ms}));
  BOOST_REQUIRE(transport->calls() == 3);
  BOOST_TEST(transport->requests().at(2).timeout.count() == 100);  // what the deadline left
}

BOOST_AUTO_TEST_CASE(body_limit_cuts_an_answer_short_without_error) {
  TestHttpServer server;
  std::string data = pattern(1 << 20);
  server.add("/big", {.body = data});
  auto transport = vo::make_curl_transport({});
  auto request = get(server.url("/big"));
  request.body_limit = 1000;
  auto response = transport->perform(request);
  BOOST_TEST(response.status == 200);
  BOOST_TEST(response.body_truncated);
  BOOST_TEST(response.body == data.substr(0, 1000));
  BOOST_TEST(response.header("content-length").value_or("") == "1048576");
  request.body_limit = data.size();  // exactly the body: complete
  response = transport->perform(request);
  BOOST_TEST(!response.body_truncated);
  BOOST_TEST(response.body == data);
  request.body_limit = 0;
  BOOST_TEST(transport->perform(request).body == data);
}

BOOST_AUTO_TEST_CASE(a_stalled_body_is_retried_within_the_deadline) {
  TestHttpServer server;
  std::string data = pattern(200000);
  server.add("/stall", {.body = data});
  server.set_faults("/stall", {.stall_mid_body = true, .times = 1});
  vo::CurlTransportOptions options;
  options.stall_timeout = 500ms;
  auto transport = vo::make_curl_transport(options);
  auto response = vo::perform_with_retries(*transport, get(server.url("/stall")), fast_retries(), "t");
  BOOST_TEST(response.status == 200);
  BOOST_TEST(response.body == data);
  BOOST_TEST(server.request_count() == 2u);

  // Stalling every time, it still ends at the deadline, with ETIMEDOUT. Real time (the stall
  // check is curl's), and attempts enough that only the deadline can end it: every attempt
  // lasts at least the stall timeout, so at most 2500 / 500 + 1 of them fit.
  server.clear_log();
  server.set_faults("/stall", {.stall_mid_body = true});
  auto policy = fast_retries();
  policy.clock = nullptr;
  policy.deadline = 2500ms;
  policy.max_attempts = 100;
  BOOST_TEST(expect_error(*transport, get(server.url("/stall")), policy).errnum == ETIMEDOUT);
  BOOST_TEST(server.request_count() >= 1u);
  BOOST_TEST(server.request_count() <= 6u);
}

namespace {
// A loopback port whose accept queue is full (backlog 0, filled, never accepted): the kernel
// drops further SYNs, so a connect hangs until the client's connect timeout.
struct UnansweredPort {
  int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  std::vector<int> queued;
  std::uint16_t port = 0;
  UnansweredPort() {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    ::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address);
    ::listen(listener, 0);
    ::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length);
    port = ntohs(address.sin_port);
    for (int i = 0; i < 3; ++i) {
      int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
      ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
      queued.push_back(fd);
    }
    // The queue is full once the first connection is established in it (backlog 0 holds one).
    pollfd first{queued[0], POLLOUT, 0};
    BOOST_REQUIRE(::poll(&first, 1, 60000) == 1);
  }
  ~UnansweredPort() {
    for (int fd : queued) ::close(fd);
    ::close(listener);
  }
};
}  // namespace

BOOST_AUTO_TEST_CASE(a_connect_timeout_is_retried_within_the_deadline) {
  UnansweredPort unanswered;
  vo::CurlTransportOptions options;
  options.connect_timeout = 300ms;
  auto transport = vo::make_curl_transport(options);
  auto request = get("http://127.0.0.1:" + std::to_string(unanswered.port) + "/x");
  auto first = expect_error(*transport, request);
  BOOST_TEST(first.errnum == ETIMEDOUT);
  BOOST_TEST(first.transient);  // the connect timeout, with the request's 60 s not spent
  BOOST_TEST(first.elapsed.count() >= 290);
  // Through the retry loop (on real time: the connect timer is curl's), the attempts go on
  // past the first 300 ms: until the attempts or the deadline are used up.
  test::FailingTransport counting(std::move(transport));
  auto policy = fast_retries();
  policy.clock = nullptr;
  policy.deadline = 1500ms;
  auto failure = expect_error(counting, request, policy);
  BOOST_TEST(failure.errnum == ETIMEDOUT);
  std::printf("measured: connect timeout 300 ms, deadline 1500 ms -> ETIMEDOUT after %d attempts, %lld ms\n",
              counting.calls(), static_cast<long long>(failure.elapsed.count()));
  BOOST_TEST(counting.calls() <= 4);
  // Four attempts of at least 300 ms each, or attempts until the deadline was near.
  BOOST_TEST(failure.elapsed.count() >= 1000);
  auto previous = policy.deadline;
  for (const auto& attempt : counting.requests()) {
    BOOST_TEST(attempt.timeout <= previous);  // each gets what is left of the deadline
    previous = attempt.timeout;
  }
}

BOOST_AUTO_TEST_CASE(retry_after_as_an_http_date) {
  TestHttpServer server;
  server.add("/busy", {.body = "ok"});
  auto transport = vo::make_curl_transport({});
  auto policy = fast_retries();
  policy.max_backoff = 5s;
  auto http_date = [](std::chrono::system_clock::time_point when) {
    std::time_t seconds = std::chrono::system_clock::to_time_t(when);
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    char text[64];
    std::strftime(text, sizeof text, "%a, %d %b %Y %H:%M:%S GMT", &utc);
    return std::string(text);
  };
  // The manual clock's wall time is a whole second: the date 2 s on is exactly 2000 ms away.
  auto now = std::chrono::system_clock::time_point(std::chrono::seconds(test::ManualClock::kWallStart));
  server.set_faults("/busy", {.fail_next = 1, .retry_after = http_date(now + 2s)});
  BOOST_TEST(vo::perform_with_retries(*transport, get(server.url("/busy")), policy, "t").status == 200);
  BOOST_TEST((waits_of(policy) == Waits{2000ms}));
  // A date in the past: retry at once.
  server.set_faults("/busy", {.fail_next = 1, .retry_after = "Thu, 01 Jan 1970 00:00:01 GMT"});
  BOOST_TEST(vo::perform_with_retries(*transport, get(server.url("/busy")), policy, "t").status == 200);
  BOOST_TEST((waits_of(policy) == Waits{2000ms, 0ms}));
}

BOOST_AUTO_TEST_CASE(a_retry_after_date_far_ahead_waits_a_day_at_most) {
  // fuzz_http_head's finding: a year curl reads as ~2^55 s ahead overflowed the milliseconds.
  const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1700000000));
  BOOST_TEST(vo::parse_retry_after(std::string("Sun, 06 Nov 999999999 08:49:37 GMT"), now).value() == 86400000ms);
  BOOST_TEST(vo::parse_retry_after(std::string("Sun, 06 Nov 2023 22:13:20 GMT"), now).value() == 0ms);
  BOOST_TEST(vo::parse_retry_after(std::string("18446744073709551615"), now).value() == 86400000ms);
}
