// One deadline per filesystem call, and interrupts (issue 8, items 1 and 2), without a network
// or a mount: SingleFlight's waiters each under their own CallContext, and the Filesystem over
// the fake HEASARC wrapped in the failing clients, whose held calls honour their call as a
// real request does. No sleeps: calls are held at test::Gate, interrupts fired by the test;
// the only waits are deadlines a few milliseconds long that the code under test must honour.
#define BOOST_TEST_MODULE call_deadlines
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <future>
#include <thread>

#include "cache/fetcher.h"
#include "common/cancel.h"
#include "common/error.h"
#include "fs/filesystem.h"
#include "fs/single_flight.h"
#include "tests/support/archive_engine.h"
#include "tests/support/errors.h"
#include "tests/support/failing_clients.h"
#include "tests/support/fake_clients.h"
#include "tests/support/gate.h"
#include "tests/support/memory_object_store.h"
#include "tests/support/stderr_capture.h"
#include "tests/support/thread_state.h"

using namespace hfs;
using test::errno_of;
using namespace std::chrono_literals;

namespace {

// A call whose interrupt the test fires.
CallContext interruptible(SteadyClock::duration timeout = 60s) { return CallContext::with_timeout(timeout); }

// A call whose deadline has already passed.
CallContext expired() { return CallContext{SteadyClock::now() - 1ms, std::make_shared<CancelToken>()}; }

struct Mount {
  test::FakeHeasarc heasarc = test::make_fake_heasarc();
  std::shared_ptr<test::FailingArchiveClient> archive = std::make_shared<test::FailingArchiveClient>(heasarc.archive);
  std::shared_ptr<test::FailingVoClient> vo = std::make_shared<test::FailingVoClient>(heasarc.vo);
  test::MemoryObjectStore store;
  std::shared_ptr<test::ArchiveEngine> engine = std::make_shared<test::ArchiveEngine>(heasarc.archive, archive);
  std::unique_ptr<cache::Fetcher> fetcher = cache::make_fetcher(store, engine, cache::FetcherConfig{});
  std::shared_ptr<fs::RemoteView> remote;
  std::unique_ptr<fs::Filesystem> filesystem;

  explicit Mount(fs::RemoteTtls ttls = {}) {
    remote = std::make_shared<fs::RemoteView>(vo, archive, ttls);
    filesystem = std::make_unique<fs::Filesystem>(fs::FilesystemConfig{}, remote, *fetcher);
  }

  std::uint64_t walk(const std::vector<std::string>& path) {
    std::uint64_t ino = fs::kRootInode;
    for (const auto& name : path) ino = filesystem->lookup(ino, name, {}).attributes.ino;
    return ino;
  }
};

// The clock of RemoteView's failed-size memos (RemoteTtls::memo_clock): the steady clock plus
// what the test has moved it on by, so a memo expires without sleeping.
struct MemoClock {
  std::shared_ptr<std::atomic<std::int64_t>> ahead_ms = std::make_shared<std::atomic<std::int64_t>>(0);
  std::function<SteadyClock::time_point()> now() const {
    return [ahead = ahead_ms] { return SteadyClock::now() + std::chrono::milliseconds(ahead->load()); };
  }
  void advance(std::chrono::milliseconds by) const { *ahead_ms += by.count(); }
};

fs::RemoteTtls with_memo_clock(const MemoClock& clock) {
  fs::RemoteTtls ttls;
  ttls.memo_clock = clock.now();
  return ttls;
}

const std::vector<std::string> kRow = {"numaster", "NGC4151", "60001111005"};
const std::string kRowUrl = "http://fake/FTP/nustar/data/obs/00/6//60001111005/";

}  // namespace

BOOST_AUTO_TEST_CASE(a_follower_stops_at_its_own_interrupt_or_deadline_while_the_leader_goes_on) {
  fs::SingleFlight<int> flight;
  auto gate = std::make_shared<test::Gate>();
  std::atomic<int> fetches{0};
  auto held_fetch = [&] {
    ++fetches;
    gate->pass();  // the leader's request hangs until the test opens the gate
    return 42;
  };
  auto leader = std::async(std::launch::async, [&] { return flight.run("k", {}, held_fetch); });
  BOOST_TEST_REQUIRE(gate->wait_until_inside(1));

  // A follower whose deadline has passed gives up at once; the leader's request is untouched.
  BOOST_TEST(errno_of([&] { flight.run("k", expired(), held_fetch); }) == ETIMEDOUT);

  // A follower that is interrupted while it waits: EINTR at once.
  auto call = interruptible();
  std::promise<pid_t> tid;
  auto follower = std::async(std::launch::async, [&] {
    tid.set_value(test::current_thread_id());
    return errno_of([&] { flight.run("k", call, held_fetch); });
  });
  BOOST_TEST_REQUIRE(test::wait_until_asleep({tid.get_future().get()}));
  call.cancel->cancel();
  BOOST_TEST(follower.get() == EINTR);

  // A live follower still gets the leader's answer; one request in all.
  std::promise<pid_t> patient_tid;
  auto patient = std::async(std::launch::async, [&] {
    patient_tid.set_value(test::current_thread_id());
    return flight.run("k", interruptible(), held_fetch);
  });
  BOOST_TEST_REQUIRE(test::wait_until_asleep({patient_tid.get_future().get()}));
  BOOST_TEST(gate->inside() == 1);
  gate->open();
  BOOST_TEST(leader.get() == 42);
  BOOST_TEST(patient.get() == 42);
  BOOST_TEST(fetches == 1);
  BOOST_TEST(flight.in_flight() == 0u);
}

BOOST_AUTO_TEST_CASE(an_interrupted_leader_does_not_fail_its_followers_the_next_one_leads) {
  fs::SingleFlight<int> flight;
  auto gate = std::make_shared<test::Gate>();
  std::atomic<int> fetches{0};
  // Each fetch is a request that honours its own caller's call, as a real one does.
  auto fetch_under = [&](const CallContext& call) {
    return [&, call] {
      if (++fetches == 1 && gate->pass(call) == test::Gate::Passed::call_ended) throw Error(ECANCELED, "cancelled");
      return 7;
    };
  };
  auto leader_call = interruptible();
  auto leader = std::async(std::launch::async,
                           [&] { return errno_of([&] { flight.run("k", leader_call, fetch_under(leader_call)); }); });
  BOOST_TEST_REQUIRE(gate->wait_until_inside(1));
  auto follower_call = interruptible();
  std::promise<pid_t> tid;
  auto follower = std::async(std::launch::async, [&] {
    tid.set_value(test::current_thread_id());
    return flight.run("k", follower_call, fetch_under(follower_call));
  });
  BOOST_TEST_REQUIRE(test::wait_until_asleep({tid.get_future().get()}));
  leader_call.cancel->cancel();
  BOOST_TEST(leader.get() == ECANCELED);  // the leader's own failure (the Filesystem makes it EINTR)
  BOOST_TEST(follower.get() == 7);        // the follower sent the request again, under its own call
  BOOST_TEST(fetches == 2);
  BOOST_TEST(!gate->is_open());
}

BOOST_AUTO_TEST_CASE(a_leader_whose_call_has_ended_sends_nothing) {
  fs::SingleFlight<int> flight;
  int fetches = 0;
  auto fetch = [&] { return ++fetches; };
  BOOST_TEST(errno_of([&] { flight.run("k", expired(), fetch); }) == ETIMEDOUT);
  auto call = interruptible();
  call.cancel->cancel();
  BOOST_TEST(errno_of([&] { flight.run("k", call, fetch); }) == EINTR);
  BOOST_TEST(fetches == 0);
}

BOOST_AUTO_TEST_CASE(an_interrupted_lookup_answers_eintr_at_once_and_caches_nothing) {
  Mount m;
  const auto table = m.walk({"numaster"});
  auto gate = std::make_shared<test::Gate>();
  m.vo->fail(test::on("resolve", "M 31"), {.hold = gate, .pass = true});

  // Alone: its held request ends with the interrupt (as the engine transport's does).
  auto call = interruptible();
  auto lone =
      std::async(std::launch::async, [&] { return errno_of([&] { m.filesystem->lookup(table, "M 31", call); }); });
  BOOST_TEST_REQUIRE(gate->wait_until_inside(1));
  call.cancel->cancel();
  BOOST_TEST(lone.get() == EINTR);
  BOOST_TEST(!gate->is_open());

  // Beside an uninterrupted caller whose request stays blocked: the interrupted follower
  // answers EINTR at once; the request goes on and its answer serves the patient caller.
  m.vo->clear();
  gate = std::make_shared<test::Gate>();
  m.vo->fail(test::on("resolve", "M 31"), {.hold = gate, .pass = true});
  auto patient = std::async(std::launch::async, [&] { return m.filesystem->lookup(table, "M 31", {}); });
  BOOST_TEST_REQUIRE(gate->wait_until_inside(1));
  auto follower_call = interruptible();
  std::promise<pid_t> tid;
  auto follower = std::async(std::launch::async, [&] {
    tid.set_value(test::current_thread_id());
    return errno_of([&] { m.filesystem->lookup(table, "M 31", follower_call); });
  });
  BOOST_TEST_REQUIRE(test::wait_until_asleep({tid.get_future().get()}));
  follower_call.cancel->cancel();
  BOOST_TEST(follower.get() == EINTR);
  BOOST_TEST(gate->inside() == 1);  // the patient caller's request is still held
  gate->open();
  BOOST_TEST(patient.get().attributes.is_dir);
  // The interrupt was not remembered as an unknown name: the answer is cached, no new request.
  const int resolves = m.heasarc.vo->resolve_calls;
  BOOST_TEST(errno_of([&] { m.filesystem->lookup(table, "M 31", {}); }) == 0);
  BOOST_TEST(m.heasarc.vo->resolve_calls == resolves);
}

BOOST_AUTO_TEST_CASE(a_follower_with_a_passed_deadline_answers_etimedout_and_the_leader_is_untouched) {
  Mount m;
  const auto table = m.walk({"numaster"});
  auto gate = std::make_shared<test::Gate>();
  m.vo->fail(test::on("resolve", "M 31"), {.hold = gate, .pass = true});
  auto leader = std::async(std::launch::async, [&] { return m.filesystem->lookup(table, "M 31", {}); });
  BOOST_TEST_REQUIRE(gate->wait_until_inside(1));
  BOOST_TEST(errno_of([&] { m.filesystem->lookup(table, "M 31", expired()); }) == ETIMEDOUT);
  BOOST_TEST(gate->inside() == 1);
  gate->open();
  BOOST_TEST(leader.get().attributes.is_dir);
  BOOST_TEST(m.vo->calls("resolve") == 1);
}

BOOST_AUTO_TEST_CASE(a_chain_spends_one_deadline_and_starts_no_step_after_it) {
  // Every request of one cold lookup (DataLink, listing, HEADs) carries the call's deadline.
  {
    Mount m;
    const auto row = m.walk(kRow);
    const auto vo_before = m.heasarc.vo->deadlines_seen().size();
    const auto archive_before = m.heasarc.archive->deadlines_seen().size();
    auto call = interruptible(30s);
    BOOST_TEST(m.filesystem->lookup(row, "pipe.log", call).attributes.size > 0u);
    auto vo_seen = m.heasarc.vo->deadlines_seen();
    auto archive_seen = m.heasarc.archive->deadlines_seen();
    BOOST_TEST(vo_seen.size() == vo_before + 1);             // the DataLink query
    BOOST_TEST(archive_seen.size() >= archive_before + 2u);  // the listing and its HEADs
    for (auto i = vo_before; i < vo_seen.size(); ++i) BOOST_TEST((vo_seen[i] == call.deadline));
    // The HEADs end a little before it (RemoteView::listing), never after.
    for (auto i = archive_before; i < archive_seen.size(); ++i)
      BOOST_TEST((archive_seen[i] <= call.deadline && archive_seen[i] >= call.deadline - 500ms));
  }
  // The registry step (its cached table list expired) holds until the call's deadline has
  // passed; the list is served stale, and the cone search after it is never sent.
  fs::RemoteTtls ttls;
  ttls.tables = 0s;
  Mount m(ttls);
  const auto target = m.walk({"numaster", "NGC4151"});
  auto gate = std::make_shared<test::Gate>();
  m.vo->fail(test::on("cone_tables"), {.hold = gate, .pass = true});
  const int cones = m.heasarc.vo->cone_calls;
  const int datalinks = m.heasarc.vo->datalink_calls;
  BOOST_TEST(errno_of([&] { m.filesystem->lookup(target, "60001111005", interruptible(250ms)); }) == ETIMEDOUT);
  BOOST_TEST(m.vo->calls("cone_tables") == 2);  // the walk's, and the held one
  BOOST_TEST(m.heasarc.vo->cone_calls == cones);
  BOOST_TEST(m.heasarc.vo->datalink_calls == datalinks);
  BOOST_TEST(!gate->is_open());
  // An expired call sends nothing at all.
  m.vo->clear();
  BOOST_TEST(errno_of([&] { m.filesystem->lookup(target, "60001111005", expired()); }) == ETIMEDOUT);
  BOOST_TEST(m.vo->calls("cone_tables") == 2);
}

BOOST_AUTO_TEST_CASE(readdir_of_64_files_whose_heads_hang_costs_one_deadline) {
  Mount m;
  for (int i = 0; i < 64; ++i)
    m.heasarc.archive->add_file(kRowUrl + "wide/f" + std::to_string(100 + i) + ".fits", std::string(2880, 'x'));
  std::vector<std::string> wide = kRow;
  wide.push_back("wide");
  const auto dir = m.walk(wide);
  auto gate = std::make_shared<test::Gate>();  // never opened: every HEAD hangs
  m.archive->fail(test::on("stat", "/wide/"), {.hold = gate});

  auto call = interruptible(250ms);
  auto entries = m.filesystem->readdir(dir, call);
  BOOST_TEST(entries.size() == 64u);
  BOOST_TEST(gate->arrived() == 64);  // every HEAD was sent, under the one deadline
  BOOST_TEST(!gate->is_open());       // and each ended by it, not by the gate

  // The `ls -l` after it: every lstat fails with the remembered errno, without a request.
  const int stats = m.archive->calls("stat");
  for (const auto& entry : entries) {
    auto error = test::error_of([&] { m.filesystem->lookup(dir, entry.name, interruptible()); });
    BOOST_TEST(error.errnum == ETIMEDOUT);
  }
  BOOST_TEST(m.archive->calls("stat") == stats);
}

BOOST_AUTO_TEST_CASE(the_next_ls_l_after_the_memo_expired_costs_one_deadline_too) {
  const MemoClock clock;
  const fs::RemoteTtls ttls = with_memo_clock(clock);
  Mount m(ttls);
  for (int i = 0; i < 64; ++i)
    m.heasarc.archive->add_file(kRowUrl + "wide/f" + std::to_string(100 + i) + ".fits", std::string(2880, 'x'));
  std::vector<std::string> wide = kRow;
  wide.push_back("wide");
  const auto dir = m.walk(wide);
  auto gate = std::make_shared<test::Gate>();  // never opened: every HEAD hangs
  m.archive->fail(test::on("stat", "/wide/"), {.hold = gate});

  // The first `ls -l`: the listing's one fan-out, then every lstat from the memo.
  auto entries = m.filesystem->readdir(dir, interruptible(250ms));
  BOOST_TEST_REQUIRE(entries.size() == 64u);
  BOOST_TEST_REQUIRE(gate->arrived() == 64);
  for (const auto& entry : entries)
    BOOST_TEST(errno_of([&] { m.filesystem->lookup(dir, entry.name, interruptible(250ms)); }) == ETIMEDOUT);
  BOOST_TEST(gate->arrived() == 64);

  // The memo expires; the listing (cached for its TTL) still lacks the sizes.
  clock.advance(ttls.failed_stat + 1s);
  test::StderrCapture log;
  const int stats = m.archive->calls("stat");
  // The second `ls -l`, the HEADs still hung. Its readdir answers from the cached listing...
  entries = m.filesystem->readdir(dir, interruptible(250ms));
  BOOST_TEST_REQUIRE(entries.size() == 64u);
  BOOST_TEST(m.archive->calls("stat") == stats);
  // ... its first lstat asks for all 64 sizes again, together, under its one deadline (the
  // first HEAD held until the fan-out's end, the others ended by it at once) ...
  BOOST_TEST(errno_of([&] { m.filesystem->lookup(dir, entries.front().name, interruptible(250ms)); }) == ETIMEDOUT);
  BOOST_TEST(gate->arrived() == 128);
  BOOST_TEST(m.archive->calls("stat") == stats + 64);
  // ... and every other lstat has that answer, without a request: one fan-out in all.
  for (const auto& entry : entries)
    BOOST_TEST(errno_of([&] { m.filesystem->lookup(dir, entry.name, interruptible(250ms)); }) == ETIMEDOUT);
  BOOST_TEST(m.archive->calls("stat") == stats + 64);
  BOOST_TEST(!gate->is_open());
  // One log line for the fan-out, none per entry.
  BOOST_TEST(log.count("64 of 64 sizes in " + kRowUrl + "wide/ unknown after asking again") == 1u);
  BOOST_TEST(log.count("warn") == 1u, log.text());

  // The HEADs answer again (slowly): once the memo has expired, two lstats at once (two
  // `ls -l`) share one fan-out, which gives every entry its size.
  clock.advance(ttls.failed_stat + 1s);
  m.archive->clear();
  auto slow = std::make_shared<test::Gate>();
  m.archive->fail(test::on("stat", "/wide/"), {.hold = slow, .pass = true});
  const int stats_before_recovery = m.archive->calls("stat");
  auto size_of = [&](const std::string& name) {
    return m.filesystem->lookup(dir, name, interruptible()).attributes.size;
  };
  auto first = std::async(std::launch::async, [&] { return size_of(entries.front().name); });
  BOOST_TEST_REQUIRE(slow->wait_until_inside(1));
  std::promise<pid_t> tid;
  auto second = std::async(std::launch::async, [&] {
    tid.set_value(test::current_thread_id());
    return size_of(entries.back().name);
  });
  BOOST_TEST_REQUIRE(test::wait_until_asleep({tid.get_future().get()}));
  BOOST_TEST(slow->inside() == 1);  // the second waits for the first's fan-out, sending nothing
  slow->open();
  BOOST_TEST(first.get() == 2880u);
  BOOST_TEST(second.get() == 2880u);
  BOOST_TEST(m.archive->calls("stat") == stats_before_recovery + 64);
  // The sizes are in the listing now: no lstat or readdir asks again.
  for (const auto& entry : entries) BOOST_TEST(size_of(entry.name) == 2880u);
  for (const auto& entry : m.filesystem->readdir(dir, interruptible()))
    BOOST_TEST(m.filesystem->getattr(entry.ino, interruptible()).size == 2880u);
  BOOST_TEST(m.archive->calls("stat") == stats_before_recovery + 64);
  const auto listing = m.remote->cached_listing(kRowUrl + "wide/");
  BOOST_TEST_REQUIRE(listing);
  for (const auto& entry : listing->entries) BOOST_TEST((entry.object && entry.stat_errno == 0));
}

BOOST_AUTO_TEST_CASE(files_beyond_the_listed_sizes_whose_heads_hang_cost_one_deadline_too) {
  const MemoClock clock;
  const fs::RemoteTtls ttls = with_memo_clock(clock);
  Mount m(ttls);
  const std::size_t files = fs::kMaxSizesPerListing + 8;
  for (std::size_t i = 0; i < files; ++i)
    m.heasarc.archive->add_file(kRowUrl + "huge/f" + std::to_string(10000 + i) + ".fits", std::string(100, 'x'));
  std::vector<std::string> huge = kRow;
  huge.push_back("huge");
  const auto dir = m.walk(huge);
  auto gate = std::make_shared<test::Gate>();  // never opened: every HEAD hangs
  m.archive->fail(test::on("stat", "/huge/"), {.hold = gate});

  // The first `ls -l`: the listing's HEADs time out; then no lstat sends a request, not even
  // those of the 8 files beyond the listing's sizes (their directory's HEADs just timed out).
  auto entries = m.filesystem->readdir(dir, interruptible(250ms));
  BOOST_TEST_REQUIRE(entries.size() == files);
  BOOST_TEST_REQUIRE(gate->arrived() == static_cast<int>(fs::kMaxSizesPerListing));
  const int stats = m.archive->calls("stat");
  for (const auto& entry : entries)
    BOOST_TEST(errno_of([&] { m.filesystem->lookup(dir, entry.name, interruptible(250ms)); }) == ETIMEDOUT);
  BOOST_TEST(m.archive->calls("stat") == stats);

  // The second, after the memo expired, first stats a file beyond the listing's sizes: its
  // one HEAD times out, and then no other lstat asks (not even the listed files' fan-out).
  clock.advance(ttls.failed_stat + 1s);
  const auto& beyond = entries.back();  // the listing's order: the last are beyond its sizes
  BOOST_TEST(errno_of([&] { m.filesystem->lookup(dir, beyond.name, interruptible(250ms)); }) == ETIMEDOUT);
  BOOST_TEST(m.archive->calls("stat") == stats + 1);
  for (const auto& entry : entries)
    BOOST_TEST(errno_of([&] { m.filesystem->lookup(dir, entry.name, interruptible(250ms)); }) == ETIMEDOUT);
  BOOST_TEST(m.archive->calls("stat") == stats + 1);

  // A server that answers again: a file beyond the listing's sizes is asked for alone.
  clock.advance(ttls.failed_stat + 1s);
  m.archive->clear();
  BOOST_TEST(m.filesystem->lookup(dir, beyond.name, interruptible()).attributes.size == 100u);
  BOOST_TEST(m.archive->calls("stat") == stats + 2);
}

BOOST_AUTO_TEST_CASE(an_interrupted_size_fan_out_remembers_and_stores_nothing) {
  const MemoClock clock;
  const fs::RemoteTtls ttls = with_memo_clock(clock);
  Mount m(ttls);
  for (int i = 0; i < 8; ++i)
    m.heasarc.archive->add_file(kRowUrl + "wide/f" + std::to_string(i) + ".fits", std::string(100, 'x'));
  std::vector<std::string> wide = kRow;
  wide.push_back("wide");
  const auto dir = m.walk(wide);
  m.archive->fail(test::on("stat", "/wide/"), {.errnum = EIO});
  auto entries = m.filesystem->readdir(dir, interruptible());
  BOOST_TEST_REQUIRE(entries.size() == 8u);
  clock.advance(ttls.failed_stat + 1s);
  m.archive->clear();
  auto gate = std::make_shared<test::Gate>();
  m.archive->fail(test::on("stat", "/wide/f0"), {.hold = gate}, 1);
  auto call = interruptible();
  auto lookup =
      std::async(std::launch::async, [&] { return errno_of([&] { m.filesystem->lookup(dir, "f3.fits", call); }); });
  BOOST_TEST_REQUIRE(gate->wait_until_inside(1));
  call.cancel->cancel();
  BOOST_TEST(lookup.get() == EINTR);
  // Nothing remembered: the next lookup asks again, and gets every size.
  const int stats = m.archive->calls("stat");
  BOOST_TEST(m.filesystem->lookup(dir, "f0.fits", interruptible()).attributes.size == 100u);
  BOOST_TEST(m.archive->calls("stat") == stats + 8);
  for (const auto& entry : entries)
    BOOST_TEST(m.filesystem->lookup(dir, entry.name, interruptible()).attributes.size == 100u);
  BOOST_TEST(m.archive->calls("stat") == stats + 8);
}

BOOST_AUTO_TEST_CASE(an_interrupted_readdir_caches_no_listing) {
  Mount m;
  for (int i = 0; i < 8; ++i)
    m.heasarc.archive->add_file(kRowUrl + "wide/f" + std::to_string(i) + ".fits", std::string(100, 'x'));
  std::vector<std::string> wide = kRow;
  wide.push_back("wide");
  const auto dir = m.walk(wide);
  auto gate = std::make_shared<test::Gate>();
  m.archive->fail(test::on("stat", "/wide/f0"), {.hold = gate}, 1);
  auto call = interruptible();
  auto readdir = std::async(std::launch::async, [&] { return errno_of([&] { m.filesystem->readdir(dir, call); }); });
  BOOST_TEST_REQUIRE(gate->wait_until_inside(1));
  call.cancel->cancel();
  BOOST_TEST(readdir.get() == EINTR);
  // Nothing of the interrupted listing was kept: the next readdir lists again, every size known.
  const int lists = m.archive->calls("list");
  BOOST_TEST(m.filesystem->readdir(dir, {}).size() == 8u);
  BOOST_TEST(m.archive->calls("list") == lists + 1);
  BOOST_TEST(m.filesystem->lookup(dir, "f0.fits", {}).attributes.size == 100u);
}
