// The transfer engine (vo/transfer_engine.h) against the loopback HTTP server: slots per host,
// the queue's order, cancellation, deadlines, streaming, connection reuse, shutdown. Ordering
// and concurrency are observed with the server's gates (answers held until released) and
// latches, never with sleeps; no test measures elapsed time.
#define BOOST_TEST_MODULE transfer_engine
#include <boost/test/unit_test.hpp>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/cancel.h"
#include "common/error.h"
#include "tests/support/loopback_test.h"
#include "tests/support/test_http_server.h"
#include "tests/support/transfer_outcome.h"
#include "vo/http_transport.h"
#include "vo/transfer_engine.h"

using namespace hfs;
using namespace std::chrono_literals;
using hfs::test::AnswerGate;
using hfs::test::DoneCounter;
using hfs::test::Outcome;
using hfs::test::OutcomePtr;
using hfs::test::record;
using hfs::test::TestHttpServer;

using hfs::test::get;

namespace {

vo::TransferOptions prefetch(std::uint64_t order, std::uint64_t stream = 0) {
  vo::TransferOptions options;
  options.priority = vo::Priority::prefetch;
  options.order = order;
  options.stream = stream;
  return options;
}

std::shared_ptr<vo::TransferEngine> make_engine(unsigned connections_per_host) {
  vo::EngineOptions options;
  options.connections_per_host = connections_per_host;
  return vo::make_curl_engine(options);
}

// The paths the server saw, in the order they arrived.
std::vector<std::string> arrival_order(const TestHttpServer& server) {
  std::vector<std::string> paths;
  for (const auto& request : server.requests()) paths.push_back(request.path);
  return paths;
}

std::string pattern(std::size_t size) {
  std::string data(size, '\0');
  for (std::size_t i = 0; i < size; ++i) data[i] = static_cast<char>('a' + (i * 7 + i / 251) % 26);
  return data;
}

// A server whose /first answers wait at a gate: with one connection per host, whatever is
// submitted while /first is held waits in the engine's queue, and the order the server sees
// after the gate opens is the order the engine picked.
struct HeldFirst {
  TestHttpServer server;
  std::shared_ptr<AnswerGate> gate = std::make_shared<AnswerGate>();
  std::shared_ptr<vo::TransferEngine> engine = make_engine(1);
  OutcomePtr first = std::make_shared<Outcome>();
  vo::TransferEngine::Id first_id = 0;

  explicit HeldFirst(vo::TransferOptions first_options = {}) {
    server.add("/first", {.body = "first"});
    server.set_faults("/first", {.gate = gate});
    for (const char* path : {"/a", "/b", "/c", "/d", "/e", "/f"}) server.add(path, {.body = path});
    first_id = engine->submit(get(server.url("/first")), first_options, record(first));
    BOOST_REQUIRE(gate->wait_until_held(1));
  }
  OutcomePtr submit(const std::string& path, vo::TransferOptions options = {}) {
    auto outcome = std::make_shared<Outcome>();
    engine->submit(get(server.url(path)), options, record(outcome));
    return outcome;
  }
};

}  // namespace

BOOST_AUTO_TEST_CASE(never_more_than_connections_per_host_run_at_once) {
  TestHttpServer server;
  auto gate = std::make_shared<AnswerGate>();
  server.add("/held", {.body = "held"});
  server.set_faults("/held", {.gate = gate});
  auto engine = make_engine(2);
  auto finished = std::make_shared<DoneCounter>();
  constexpr int kTransfers = 6;
  std::vector<OutcomePtr> outcomes;
  for (int i = 0; i < kTransfers; ++i) {
    outcomes.push_back(std::make_shared<Outcome>(finished));
    engine->submit(get(server.url("/held?n=" + std::to_string(i))), {}, record(outcomes.back()));
  }
  BOOST_REQUIRE(gate->wait_until_held(2));
  auto stats = engine->stats();
  BOOST_TEST(stats.running == 2u);
  BOOST_TEST(stats.queued == 4u);
  // One answer at a time: each freed slot lets exactly one more in, never a third at once.
  for (int done = 0; done < kTransfers; ++done) {
    BOOST_REQUIRE(gate->wait_until_held(std::min(2, kTransfers - done)));
    gate->release(1);
    BOOST_REQUIRE(finished->wait_for(done + 1));
  }
  for (auto& outcome : outcomes) {
    BOOST_TEST(outcome->errnum() == 0);
    BOOST_TEST(outcome->body() == "held");
  }
  BOOST_TEST(server.request_count() == static_cast<std::size_t>(kTransfers));
  BOOST_TEST(server.max_in_flight() == 2);
  BOOST_TEST(engine->stats().max_running_per_host == 2u);
}

BOOST_AUTO_TEST_CASE(slots_are_counted_per_host) {
  HeldFirst held;
  auto queued_behind = held.submit("/a");
  TestHttpServer other;
  other.add("/elsewhere", {.body = "other host"});
  auto elsewhere = std::make_shared<Outcome>();
  held.engine->submit(get(other.url("/elsewhere")), {}, record(elsewhere));
  // The other host has a free slot: it is answered while the first host's only one is held.
  BOOST_REQUIRE(elsewhere->wait_done());
  BOOST_TEST(elsewhere->body() == "other host");
  BOOST_TEST(queued_behind->dones() == 0);
  held.gate->open();
  BOOST_REQUIRE(queued_behind->wait_done());
  BOOST_TEST(queued_behind->errnum() == 0);
}

BOOST_AUTO_TEST_CASE(interactive_overtakes_queued_prefetch) {
  HeldFirst held;
  auto p1 = held.submit("/a", prefetch(0));
  auto p2 = held.submit("/b", prefetch(0));
  auto interactive = held.submit("/c");
  held.gate->open();
  for (auto& outcome : {p1, p2, interactive}) BOOST_REQUIRE(outcome->wait_done());
  BOOST_TEST((arrival_order(held.server) == std::vector<std::string>{"/first", "/c", "/a", "/b"}));
}

BOOST_AUTO_TEST_CASE(among_prefetch_the_smallest_order_goes_first) {
  HeldFirst held;
  auto far = held.submit("/a", prefetch(300));
  auto near = held.submit("/b", prefetch(100));
  auto middle = held.submit("/c", prefetch(200));
  auto also_near = held.submit("/d", prefetch(100));  // same order: submission decides
  held.gate->open();
  for (auto& outcome : {far, near, middle, also_near}) BOOST_REQUIRE(outcome->wait_done());
  BOOST_TEST((arrival_order(held.server) == std::vector<std::string>{"/first", "/b", "/d", "/c", "/a"}));
}

BOOST_AUTO_TEST_CASE(promote_moves_a_queued_prefetch_ahead) {
  HeldFirst held;
  auto p1 = held.submit("/a", prefetch(1));
  auto p2 = held.submit("/b", prefetch(2));
  auto p3 = std::make_shared<Outcome>();
  auto p3_id = held.engine->submit(get(held.server.url("/c")), prefetch(3), record(p3));
  held.engine->promote(p3_id);          // a reader now waits for it
  held.engine->promote(held.first_id);  // running: no-op
  held.gate->open();
  for (auto& outcome : {p1, p2, p3}) BOOST_REQUIRE(outcome->wait_done());
  held.engine->promote(p3_id);  // ended: no-op
  BOOST_TEST((arrival_order(held.server) == std::vector<std::string>{"/first", "/c", "/a", "/b"}));
  BOOST_TEST(held.first->dones() == 1);
}

BOOST_AUTO_TEST_CASE(equal_priority_streams_take_turns) {
  HeldFirst held(prefetch(0, 1));  // stream 1 was picked last
  auto a1 = held.submit("/a", prefetch(1, 1));
  auto a2 = held.submit("/b", prefetch(2, 1));
  auto a3 = held.submit("/c", prefetch(3, 1));
  auto b1 = held.submit("/d", prefetch(10, 2));
  auto b2 = held.submit("/e", prefetch(11, 2));
  held.gate->open();
  for (auto& outcome : {a1, a2, a3, b1, b2}) BOOST_REQUIRE(outcome->wait_done());
  // By order alone stream 2 would wait for all of stream 1; taking turns, it alternates
  // while both have something queued.
  BOOST_TEST((arrival_order(held.server) == std::vector<std::string>{"/first", "/d", "/a", "/e", "/b", "/c"}));
}

BOOST_AUTO_TEST_CASE(cancel_of_a_queued_transfer_ends_it_once_and_it_never_runs) {
  HeldFirst held;
  auto queued = std::make_shared<Outcome>();
  auto id = held.engine->submit(get(held.server.url("/a")), {}, record(queued));
  held.engine->cancel(id);
  BOOST_REQUIRE(queued->wait_done());
  BOOST_TEST(queued->errnum() == ECANCELED);
  held.engine->cancel(id);  // ended: no-op
  held.gate->open();
  BOOST_REQUIRE(held.first->wait_done());
  BOOST_TEST(held.first->errnum() == 0);
  held.engine.reset();  // every callback has run once the engine is gone
  BOOST_TEST(queued->dones() == 1);
  BOOST_TEST(queued->heads() == 0);
  BOOST_TEST((arrival_order(held.server) == std::vector<std::string>{"/first"}));
}

BOOST_AUTO_TEST_CASE(cancel_of_a_running_transfer_frees_its_slot) {
  HeldFirst held;
  held.engine->cancel(held.first_id);
  BOOST_REQUIRE(held.first->wait_done());
  BOOST_TEST(held.first->errnum() == ECANCELED);
  // The only slot is free again: the next transfer runs (while /first is still held).
  auto next = held.submit("/a");
  BOOST_REQUIRE(next->wait_done());
  BOOST_TEST(next->body() == "/a");
  auto stats = held.engine->stats();
  BOOST_TEST(stats.failed == 1u);
  BOOST_TEST(stats.completed == 1u);
  held.engine.reset();
  BOOST_TEST(held.first->dones() == 1);
}

BOOST_AUTO_TEST_CASE(cancel_tokens_end_running_transfers) {
  TestHttpServer server;
  server.add("/hang", {.body = "never"});
  server.set_faults("/hang", {.hang = true});
  auto engine = make_engine(8);
  auto option_token = std::make_shared<CancelToken>();
  auto call_token = std::make_shared<CancelToken>();
  auto by_option = std::make_shared<Outcome>();
  auto by_call = std::make_shared<Outcome>();
  vo::TransferOptions options;
  options.cancel = option_token;
  engine->submit(get(server.url("/hang?by=option")), options, record(by_option));
  auto request = get(server.url("/hang?by=call"));
  request.call.cancel = call_token;  // the request's call: either token cancels
  engine->submit(request, {}, record(by_call));
  BOOST_REQUIRE(server.wait_for_requests(2));

  option_token->cancel();
  BOOST_REQUIRE(by_option->wait_done());
  BOOST_TEST(by_option->errnum() == ECANCELED);
  BOOST_TEST(by_call->dones() == 0);
  call_token->cancel();
  BOOST_REQUIRE(by_call->wait_done());
  BOOST_TEST(by_call->errnum() == ECANCELED);

  // A token cancelled before submit: ended without going out.
  auto cancelled_before = std::make_shared<Outcome>();
  options.cancel = option_token;
  engine->submit(get(server.url("/hang?by=early")), options, record(cancelled_before));
  BOOST_REQUIRE(cancelled_before->wait_done());
  BOOST_TEST(cancelled_before->errnum() == ECANCELED);
  BOOST_TEST(server.request_count() == 2u);
}

BOOST_AUTO_TEST_CASE(a_cancel_token_wakes_a_blocked_perform) {
  TestHttpServer server;
  server.add("/hang", {.body = "never"});
  server.set_faults("/hang", {.hang = true});
  server.add("/ok", {.body = "fine"});
  auto engine = make_engine(1);
  auto transport = vo::make_engine_transport(engine, 600s);
  auto token = std::make_shared<CancelToken>();
  auto request = get(server.url("/hang"));
  request.call.cancel = token;
  int errnum = 0;
  std::thread blocked([&] {
    try {
      transport->perform(request);
    } catch (const Error& error) {
      errnum = error.errnum();
    }
  });
  BOOST_REQUIRE(server.wait_for_requests(1));
  token->cancel();
  blocked.join();
  BOOST_TEST(errnum == ECANCELED);
  // The engine ended the hung transfer too: the only slot serves the next request.
  BOOST_TEST(transport->perform(get(server.url("/ok"))).body == "fine");
  // A call already cancelled fails at once.
  try {
    transport->perform(request);
    BOOST_ERROR("expected ECANCELED");
  } catch (const Error& error) {
    BOOST_TEST(error.errnum() == ECANCELED);
  }
}

BOOST_AUTO_TEST_CASE(deadlines_end_running_and_queued_transfers_with_etimedout) {
  TestHttpServer server;
  server.add("/hang", {.body = "never"});
  server.set_faults("/hang", {.hang = true});
  auto engine = make_engine(1);
  auto running = std::make_shared<Outcome>();
  vo::TransferOptions options;
  options.deadline = SteadyClock::now() + 200ms;
  engine->submit(get(server.url("/hang")), options, record(running));
  auto queued = std::make_shared<Outcome>();
  auto request = get(server.url("/queued"));
  request.call.deadline = SteadyClock::now() + 100ms;  // the call's deadline is the earlier one
  options.deadline = SteadyClock::now() + 3600s;
  engine->submit(request, options, record(queued));
  BOOST_REQUIRE(queued->wait_done());
  BOOST_TEST(queued->errnum() == ETIMEDOUT);
  BOOST_REQUIRE(running->wait_done());
  BOOST_TEST(running->errnum() == ETIMEDOUT);
  BOOST_TEST(!running->transient());  // its time is spent: not worth a retry
  BOOST_TEST((arrival_order(server) == std::vector<std::string>{"/hang"}));
}

BOOST_AUTO_TEST_CASE(a_stall_mid_body_is_a_transient_etimedout) {
  TestHttpServer server;
  server.add("/stall", {.body = pattern(200000)});
  server.set_faults("/stall", {.stall_mid_body = true});
  vo::EngineOptions engine_options;
  engine_options.stall_timeout = 200ms;
  auto engine = vo::make_curl_engine(engine_options);
  auto outcome = std::make_shared<Outcome>();
  engine->submit(get(server.url("/stall")), {}, record(outcome));
  BOOST_REQUIRE(outcome->wait_done());
  BOOST_TEST(outcome->errnum() == ETIMEDOUT);
  BOOST_TEST(outcome->transient());
  BOOST_TEST(outcome->heads() == 1);
}

BOOST_AUTO_TEST_CASE(a_large_body_streams_to_on_body_in_order) {
  TestHttpServer server;
  const std::string data = pattern(8 << 20);
  server.add("/big.evt", {.body = data});
  auto engine = make_engine(8);
  auto outcome = std::make_shared<Outcome>();
  engine->submit(get(server.url("/big.evt")), {}, record(outcome));
  BOOST_REQUIRE(outcome->wait_done());
  BOOST_TEST(outcome->errnum() == 0);
  BOOST_TEST(outcome->heads() == 1);
  BOOST_TEST(!outcome->body_before_head());
  BOOST_TEST(outcome->head().status == 200);
  BOOST_TEST(outcome->head().header("content-length").value_or("") == std::to_string(data.size()));
  BOOST_TEST(outcome->body().size() == data.size());
  BOOST_TEST((outcome->body() == data));
  BOOST_TEST(outcome->body_calls() > 1);  // handed over as it arrived, not as one buffer
  BOOST_TEST(engine->stats().bytes_received == data.size());
}

BOOST_AUTO_TEST_CASE(a_sink_aborts_by_returning_false_or_throwing) {
  TestHttpServer server;
  server.add("/big", {.body = pattern(1 << 20)});
  auto engine = make_engine(2);

  auto refused_body = std::make_shared<Outcome>();
  auto callbacks = record(refused_body);
  callbacks.on_body = [refused_body](std::string_view bytes) {
    refused_body->on_body(bytes);
    return false;
  };
  engine->submit(get(server.url("/big")), {}, callbacks);
  BOOST_REQUIRE(refused_body->wait_done());
  BOOST_TEST(refused_body->errnum() == EIO);
  BOOST_TEST(refused_body->body_calls() == 1);

  auto full_disk = std::make_shared<Outcome>();
  callbacks = record(full_disk);
  callbacks.on_body = [](std::string_view) -> bool { throw Error(ENOSPC, "cache full"); };
  engine->submit(get(server.url("/big")), {}, callbacks);
  BOOST_REQUIRE(full_disk->wait_done());
  BOOST_TEST(full_disk->errnum() == ENOSPC);

  auto refused_head = std::make_shared<Outcome>();
  callbacks = record(refused_head);
  callbacks.on_headers = [refused_head](const vo::ResponseHead& head) {
    refused_head->on_headers(head);
    return false;
  };
  engine->submit(get(server.url("/big")), {}, callbacks);
  BOOST_REQUIRE(refused_head->wait_done());
  BOOST_TEST(refused_head->errnum() == EIO);
  BOOST_TEST(refused_head->heads() == 1);
  BOOST_TEST(refused_head->body_calls() == 0);
  engine.reset();
  for (auto& outcome : {refused_body, full_disk, refused_head}) BOOST_TEST(outcome->dones() == 1);
}

BOOST_AUTO_TEST_CASE(on_headers_once_for_the_final_answer) {
  TestHttpServer server;
  server.add("/old", {.body = "hop body", .status = 302, .headers = {{"Location", "/new"}, {"X-Hop", "first"}}});
  server.add("/new", {.body = "final", .headers = {{"X-Final", "yes"}}});
  auto engine = make_engine(2);
  auto redirected = std::make_shared<Outcome>();
  engine->submit(get(server.url("/old")), {}, record(redirected));
  BOOST_REQUIRE(redirected->wait_done());
  BOOST_TEST(redirected->errnum() == 0);
  BOOST_TEST(redirected->heads() == 1);
  BOOST_TEST(redirected->head().status == 200);
  BOOST_TEST(redirected->head().effective_url == server.url("/new"));
  BOOST_TEST(redirected->head().header("x-final").value_or("") == "yes");
  BOOST_TEST(!redirected->head().header("x-hop").has_value());
  BOOST_TEST(redirected->body() == "final");

  auto head_only = std::make_shared<Outcome>();  // no body: the head comes with the end
  auto request = get(server.url("/new"));
  request.method = vo::HttpRequest::Method::head;
  engine->submit(request, {}, record(head_only));
  BOOST_REQUIRE(head_only->wait_done());
  BOOST_TEST(head_only->heads() == 1);
  BOOST_TEST(head_only->head().header("content-length").value_or("") == "5");
  BOOST_TEST(head_only->body_calls() == 0);
  BOOST_TEST(server.requests().back().headers.at("accept-encoding") == "identity");
}

BOOST_AUTO_TEST_CASE(connections_are_kept_and_reused) {
  TestHttpServer server;
  server.add("/part", {.body = pattern(100000)});
  auto engine = make_engine(2);
  auto finished = std::make_shared<DoneCounter>();
  std::vector<OutcomePtr> outcomes;
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 20; ++i) {
      outcomes.push_back(std::make_shared<Outcome>(finished));
      engine->submit(get(server.url("/part?n=" + std::to_string(i))), prefetch(i), record(outcomes.back()));
    }
    // The second round starts after every connection has gone idle: they must still be there.
    BOOST_REQUIRE(finished->wait_for(20 * (round + 1)));
  }
  for (auto& outcome : outcomes) BOOST_TEST(outcome->body().size() == 100000u);
  BOOST_TEST(server.request_count() == 40u);
  BOOST_TEST(server.connections_accepted() <= 2);
  auto stats = engine->stats();
  BOOST_TEST(stats.started == 40u);
  BOOST_TEST(stats.completed == 40u);
  BOOST_TEST(stats.failed == 0u);
  BOOST_TEST(stats.bytes_received == 40u * 100000u);
  BOOST_TEST(stats.running == 0u);
  BOOST_TEST(stats.queued == 0u);
}

BOOST_AUTO_TEST_CASE(on_done_may_submit_the_next_transfer) {
  TestHttpServer server;
  server.add("/one", {.body = "1"});
  server.add("/two", {.body = "2"});
  auto engine = make_engine(1);
  auto second = std::make_shared<Outcome>();
  auto first = std::make_shared<Outcome>();
  auto callbacks = record(first);
  callbacks.on_done = [first, second, raw = engine.get(), url = server.url("/two")](std::exception_ptr error) {
    raw->submit(get(url), {}, record(second));
    first->on_done(std::move(error));
  };
  engine->submit(get(server.url("/one")), {}, callbacks);
  BOOST_REQUIRE(second->wait_done());
  BOOST_TEST(first->body() == "1");
  BOOST_TEST(second->body() == "2");
}

BOOST_AUTO_TEST_CASE(destruction_ends_running_and_queued_transfers) {
  HeldFirst held;
  auto second = held.submit("/a");
  auto third = held.submit("/b", prefetch(5));
  held.engine.reset();  // the destructor stops the thread and fails what is left
  for (auto& outcome : {held.first, second, third}) {
    BOOST_TEST(outcome->dones() == 1);
    BOOST_TEST(outcome->errnum() == ECANCELED);
  }
  BOOST_TEST((arrival_order(held.server) == std::vector<std::string>{"/first"}));
}

BOOST_AUTO_TEST_CASE(the_engine_transport_caps_and_cuts_bodies) {
  TestHttpServer server;
  const std::string data = pattern(1 << 20);
  server.add("/big", {.body = data});
  auto engine = make_engine(2);
  auto transport = vo::make_engine_transport(engine, 600s, 100000);
  try {
    transport->perform(get(server.url("/big")));
    BOOST_ERROR("expected EFBIG");
  } catch (const Error& error) {
    BOOST_TEST(error.errnum() == EFBIG);
  }
  auto request = get(server.url("/big"));
  request.body_limit = 1000;
  auto response = transport->perform(request);
  BOOST_TEST(response.body_truncated);
  BOOST_TEST(response.body == data.substr(0, 1000));
  // A cut answer's connection is closed, not reused: the next request opens a new one.
  const int connections = server.connections_accepted();
  request.body_limit = 0;
  request.range = vo::ByteRange{0, 99999};
  BOOST_TEST(transport->perform(request).body == data.substr(0, 100000));
  BOOST_TEST(server.connections_accepted() == connections + 1);
}

// A host that refused a connection is remembered down (vo/down_hosts.h): the next transfer to
// it fails at once with the same errno, without a connection attempt; other hosts are not
// affected. With the hold at 0 every transfer tries.
BOOST_AUTO_TEST_CASE(a_refusing_host_is_remembered_down_for_the_hold) {
  const std::string refused = "http://127.0.0.1:" + std::to_string(test::closed_local_port());
  TestHttpServer server;
  server.add("/ok", {.body = "ok"});
  for (auto hold : {std::chrono::milliseconds(3600 * 1000), std::chrono::milliseconds(0)}) {
    vo::EngineOptions options;
    options.down_host_hold = hold;
    auto engine = vo::make_curl_engine(options);
    auto first = std::make_shared<Outcome>();
    engine->submit(get(refused + "/a"), {}, record(first));
    BOOST_REQUIRE(first->wait_done());
    BOOST_TEST(first->errnum() == ECONNREFUSED);
    BOOST_TEST(engine->stats().started == 1u);

    auto second = std::make_shared<Outcome>();
    engine->submit(get(refused + "/b"), {}, record(second));
    BOOST_REQUIRE(second->wait_done());
    BOOST_TEST(second->errnum() == ECONNREFUSED);
    BOOST_TEST(engine->stats().started == (hold.count() > 0 ? 1u : 2u));  // remembered: never started

    auto other = std::make_shared<Outcome>();
    engine->submit(get(server.url("/ok")), {}, record(other));
    BOOST_REQUIRE(other->wait_done());
    BOOST_TEST(other->errnum() == 0);
    BOOST_TEST(other->body() == "ok");
  }
}
