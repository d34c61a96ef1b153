// The fetcher's policies (cache/fetcher.h) without a network: a fake engine the test drives
// by hand (every block lands when the test says so) and an in-memory object store.
#define BOOST_TEST_MODULE fetcher
#include <boost/test/unit_test.hpp>

#include <future>
#include <set>
#include <thread>

#include "cache/fetcher.h"
#include "common/error.h"
#include "tests/support/errors.h"
#include "tests/support/fake_engine.h"
#include "tests/support/memory_object_store.h"
#include "vo/range_answer.h"

using namespace hfs;
using cache::kBlockSize;
using test::errno_of;
using test::FakeEngine;
using test::MemoryObjectStore;

namespace {

constexpr std::uint64_t KiB = 1024, MiB = 1024 * KiB;
const std::string kUrl = "https://archive.test/FTP/nustar/data/obs/6/60001111005/event_cl/nu.evt";

std::string pattern(std::uint64_t size, unsigned seed = 1) {
  std::string bytes(size, '\0');
  std::uint32_t x = seed * 2654435761u;
  for (auto& c : bytes) {
    x = x * 1664525u + 1013904223u;
    c = static_cast<char>(x >> 24);
  }
  return bytes;
}

vo::ObjectInfo info_of(const std::string& url, std::uint64_t size, const std::string& etag = "\"v1\"") {
  vo::ObjectInfo info;
  info.url = url;
  info.size = size;
  info.etag = etag;
  return info;
}

// The reply's bytes, whether pinned (read from the pin's fd) or copied.
std::string bytes_of(const cache::ReadReply& reply) {
  if (!reply.pin) return reply.bytes;
  std::string out(reply.length, '\0');
  auto got = ::pread(reply.pin->fd(), out.data(), out.size(), static_cast<off_t>(reply.offset));
  // Thrown, not BOOST_REQUIRE: reader threads call this, and Boost.Test's checks are not
  // thread-safe (TSan saw its checkpoint written from two threads). The exception reaches the
  // test through the thread's future.
  if (got != static_cast<ssize_t>(out.size())) throw std::runtime_error("short pread of a pinned reply");
  return out;
}

// Runs `read` (already started) to completion, landing only the parts that hold bytes of
// [first, end): when none of those is running (all connections busy with other prefetch), the
// farthest running part is landed to free a slot, as a real link eventually would.
cache::ReadReply land_for(std::future<cache::ReadReply>& read, FakeEngine& engine, std::uint64_t first,
                          std::uint64_t end) {
  while (read.wait_for(std::chrono::milliseconds(1)) != std::future_status::ready) {
    bool landed = false;
    for (auto& t : engine.running()) {
      if (t.first < end && t.last >= first) {
        engine.finish(t.id);
        landed = true;
      }
    }
    if (landed) continue;
    auto queued = engine.queued();
    bool waiting = std::any_of(queued.begin(), queued.end(), [&](auto& t) { return t.first < end && t.last >= first; });
    auto running = engine.running();
    if (waiting && !running.empty()) {
      auto farthest =
          std::max_element(running.begin(), running.end(), [](auto& a, auto& b) { return a.first < b.first; });
      engine.finish(farthest->id);
    }
  }
  return read.get();
}

// Reads [0, until) in 128 KiB reads, landing only the parts each read needs (its prefetch stays
// in flight); returns where it stopped. This is how the tests open a reader's window.
std::uint64_t read_sequentially(cache::FileReader& reader, FakeEngine& engine, const std::string& data,
                                std::uint64_t until, const CallContext& call) {
  std::uint64_t offset = 0;
  for (; offset < until; offset += 128 * KiB) {
    auto read = std::async(std::launch::async, [&, offset] { return reader.read(offset, 128 * KiB, call); });
    BOOST_REQUIRE(bytes_of(land_for(read, engine, offset, offset + 128 * KiB)) == data.substr(offset, 128 * KiB));
  }
  return offset;
}

struct Fixture {
  explicit Fixture(std::uint64_t size = 64 * MiB, unsigned connections = 8, cache::FetcherConfig config = {})
      : data(pattern(size)),
        engine(std::make_shared<FakeEngine>(connections)),
        store(1u << 20),
        fetcher(cache::make_fetcher(store, engine, config)) {
    engine->add_object(kUrl, data);
  }
  std::string data;
  std::shared_ptr<FakeEngine> engine;
  MemoryObjectStore store;
  std::unique_ptr<cache::Fetcher> fetcher;
  CallContext call;  // no deadline, no token
};

}  // namespace

BOOST_AUTO_TEST_CASE(a_header_read_moves_at_most_128_KiB_in_at_most_2_requests) {
  Fixture f;
  auto reader = f.fetcher->open(info_of(kUrl, f.data.size()));
  // What astropy does for the primary and first extension header, as the kernel delivers it:
  // a first small read, then a couple of small sequential ones inside the first 64 KiB.
  auto first = std::async(std::launch::async, [&] { return reader->read(0, 16 * KiB, f.call); });
  f.engine->wait_for_submissions(1);
  f.engine->finish_all();
  BOOST_TEST(bytes_of(first.get()) == f.data.substr(0, 16 * KiB));
  BOOST_TEST(bytes_of(reader->read(16 * KiB, 32 * KiB, f.call)) == f.data.substr(16 * KiB, 32 * KiB));
  BOOST_TEST(bytes_of(reader->read(2880 * 2, 2880 * 4, f.call)) == f.data.substr(2880 * 2, 2880 * 4));
  f.engine->finish_all();
  BOOST_TEST(f.engine->all_submitted().size() <= 2u);
  BOOST_TEST(f.engine->bytes_sent() <= 128 * KiB);
}

BOOST_AUTO_TEST_CASE(a_read_of_present_blocks_returns_while_all_prefetch_is_gated) {
  Fixture f;
  auto reader = f.fetcher->open(info_of(kUrl, f.data.size()));
  // Sequential reads open the window; the test lets only the reads' own parts land.
  std::uint64_t offset = 0;
  for (int i = 0; i < 4; ++i, offset += 128 * KiB) {
    auto read = std::async(std::launch::async, [&, offset] { return reader->read(offset, 128 * KiB, f.call); });
    // Land only the parts that hold this read's bytes; the rest of the prefetch stays gated.
    BOOST_TEST(bytes_of(land_for(read, *f.engine, offset, offset + 128 * KiB)) == f.data.substr(offset, 128 * KiB));
  }
  const auto gated = f.engine->running().size() + f.engine->queued().size();
  BOOST_TEST(gated > 0u);  // prefetch parts are still held back
  // Every block of these reads is present now: reading them again needs no transfer at all.
  const auto submitted = f.engine->all_submitted().size();
  for (std::uint64_t at = 0; at < offset; at += 128 * KiB)
    BOOST_TEST(bytes_of(reader->read(at, 128 * KiB, f.call)) == f.data.substr(at, 128 * KiB));
  BOOST_TEST(f.engine->all_submitted().size() == submitted);
}

BOOST_AUTO_TEST_CASE(six_or_more_parts_in_flight_after_1_MiB_of_sequential_reads_never_more_than_connections) {
  Fixture f(64 * MiB, 8);
  auto reader = f.fetcher->open(info_of(kUrl, f.data.size()));
  read_sequentially(*reader, *f.engine, f.data, 1 * MiB, f.call);
  const auto running = f.engine->running().size();
  const auto queued = f.engine->queued().size();
  BOOST_TEST(running >= 6u);
  BOOST_TEST(running <= 8u);
  BOOST_TEST(f.engine->max_running() <= 8u);
  BOOST_TEST(running + queued >= 6u);
  f.engine->finish_all();
}

BOOST_AUTO_TEST_CASE(with_transfers_already_waiting_for_a_connection_prefetch_parts_are_cut_large) {
  // Sixteen readers ramping up at once: the engine's queue is already longer than its
  // connections, so the 1 MiB first window is one part, not eight of 128 KiB.
  Fixture f(64 * MiB, 8);
  const std::string other_url = "https://archive.test/FTP/other.evt";
  const std::string other = pattern(16 * MiB, 2);
  f.engine->add_object(other_url, other);
  vo::ObjectInfo other_info = info_of(other_url, other.size());
  for (int i = 0; i < 24; ++i) {  // 8 run, 16 wait: other readers' prefetch, held by the test
    vo::TransferOptions options;
    options.priority = vo::Priority::prefetch;
    options.order = 8 * MiB + i * 64 * KiB;
    vo::TransferCallbacks ignore{[](const vo::ResponseHead&) { return true; }, [](std::string_view) { return true; },
                                 [](std::exception_ptr) {}};
    f.engine->submit(vo::range_request(other_info, 8 * MiB + i * 64 * KiB, 64 * KiB), options, std::move(ignore));
  }
  BOOST_REQUIRE(f.engine->queued().size() >= 8u);
  auto reader = f.fetcher->open(info_of(kUrl, f.data.size()));
  read_sequentially(*reader, *f.engine, f.data, 512 * KiB, f.call);
  std::vector<std::uint64_t> sizes;
  for (auto& t : f.engine->all_submitted())
    if (t.url == kUrl && t.priority == vo::Priority::prefetch) sizes.push_back(t.last - t.first + 1);
  BOOST_REQUIRE(!sizes.empty());
  BOOST_TEST(*std::min_element(sizes.begin(), sizes.end()) >= 1 * MiB);
  f.engine->finish_all();
}

BOOST_AUTO_TEST_CASE(without_contention_the_first_window_is_eight_parts) {
  Fixture f(64 * MiB, 8);
  auto reader = f.fetcher->open(info_of(kUrl, f.data.size()));
  read_sequentially(*reader, *f.engine, f.data, 256 * KiB, f.call);
  std::vector<std::uint64_t> sizes;
  for (auto& t : f.engine->all_submitted())
    if (t.priority == vo::Priority::prefetch) sizes.push_back(t.last - t.first + 1);
  BOOST_REQUIRE(sizes.size() >= 8u);
  BOOST_TEST(sizes.front() == 128 * KiB);
  f.engine->finish_all();
}

BOOST_AUTO_TEST_CASE(the_last_stretch_of_an_object_goes_in_small_parts_so_the_connections_finish_together) {
  // A copy's large file: 4 MiB parts, except the last connections x 1 MiB, cut at 1 MiB, so the
  // last parts end about 0.13 s apart instead of a 4 MiB part's 0.5 s (8 MiB/s connections).
  const std::uint64_t size = 40 * MiB + 192 * KiB;
  Fixture f(size, 8);
  auto reader = f.fetcher->open(info_of(kUrl, size));
  std::uint64_t offset = read_sequentially(*reader, *f.engine, f.data, 4 * MiB, f.call);
  // Go on reading until the window has reached the object's end.
  while (std::none_of(f.engine->all_submitted().begin(), f.engine->all_submitted().end(),
                      [&](auto& t) { return t.url == kUrl && t.last == size - 1; })) {
    BOOST_REQUIRE(offset < size);
    auto read = std::async(std::launch::async, [&, offset] { return reader->read(offset, 128 * KiB, f.call); });
    BOOST_REQUIRE(bytes_of(land_for(read, *f.engine, offset, offset + 128 * KiB)) == f.data.substr(offset, 128 * KiB));
    offset += 128 * KiB;
  }
  const std::uint64_t tail_start = size - 8 * MiB;
  std::uint64_t largest_before_tail = 0, largest_in_tail = 0, tail_bytes = 0;
  for (auto& t : f.engine->all_submitted()) {
    if (t.url != kUrl || t.priority != vo::Priority::prefetch) continue;
    const std::uint64_t length = t.last - t.first + 1;
    BOOST_TEST_INFO("part " << t.first << "-" << t.last);
    BOOST_TEST((t.first >= tail_start || t.last < tail_start));  // never across the tail's start
    if (t.first >= tail_start) {
      largest_in_tail = std::max(largest_in_tail, length);
      tail_bytes += length;
    } else {
      largest_before_tail = std::max(largest_before_tail, length);
    }
  }
  BOOST_TEST(largest_before_tail == 4 * MiB);
  BOOST_TEST(largest_in_tail <= 1 * MiB);
  BOOST_TEST(tail_bytes == 8 * MiB);  // each tail block asked for once
  f.engine->finish_all();
}

BOOST_AUTO_TEST_CASE(a_sequential_reader_of_cached_blocks_hints_the_window_ahead_to_the_cache) {
  Fixture f(8 * MiB, 8);
  auto first = f.fetcher->open(info_of(kUrl, f.data.size()));
  read_sequentially(*first, *f.engine, f.data, 8 * MiB, f.call);  // everything cached
  f.engine->finish_all();
  f.store.forget_verification();  // a remount
  const auto before = f.store.will_need_hints().size();
  const auto submitted = f.engine->all_submitted().size();
  auto again = f.fetcher->open(info_of(kUrl, f.data.size()));
  for (std::uint64_t at = 0; at < 2 * MiB; at += 128 * KiB)
    BOOST_TEST(bytes_of(again->read(at, 128 * KiB, f.call)) == f.data.substr(at, 128 * KiB));
  BOOST_TEST(f.engine->all_submitted().size() == submitted);  // no request: it was all cached
  auto hints = f.store.will_need_hints();
  BOOST_REQUIRE(hints.size() > before);
  // The hints cover the window ahead of the reader, beyond what it has read.
  std::uint64_t hinted_end = 0;
  for (std::size_t i = before; i < hints.size(); ++i)
    hinted_end = std::max(hinted_end, hints[i].first + hints[i].second);
  BOOST_TEST(hinted_end > 3 * MiB);
}

BOOST_AUTO_TEST_CASE(a_blocked_read_overtakes_queued_prefetch) {
  Fixture f(64 * MiB, 2);
  auto reader = f.fetcher->open(info_of(kUrl, f.data.size()));
  // Open a window whose prefetch fills both connections and queues more.
  read_sequentially(*reader, *f.engine, f.data, 512 * KiB, f.call);
  BOOST_REQUIRE(!f.engine->queued().empty());
  // Another reader far away: its part must start before every queued prefetch part.
  auto other = f.fetcher->open(info_of(kUrl, f.data.size()));
  const auto before = f.engine->all_submitted().size();
  auto far = std::async(std::launch::async, [&] { return other->read(40 * MiB, 64 * KiB, f.call); });
  f.engine->wait_for_submissions(before + 1);
  const auto mine = f.engine->all_submitted().back();
  BOOST_TEST((mine.priority == vo::Priority::interactive));
  // Free one connection: the interactive part, not a queued prefetch, takes it.
  f.engine->finish(f.engine->running().front().id);
  auto now_running = f.engine->running();
  BOOST_TEST(std::any_of(now_running.begin(), now_running.end(), [&](auto& t) { return t.id == mine.id; }));
  f.engine->finish(mine.id);
  BOOST_TEST(bytes_of(far.get()) == f.data.substr(40 * MiB, 64 * KiB));
  f.engine->finish_all();
}

BOOST_AUTO_TEST_CASE(a_read_waiting_on_a_prefetch_part_promotes_it) {
  Fixture f(64 * MiB, 1);
  auto reader = f.fetcher->open(info_of(kUrl, f.data.size()));
  read_sequentially(*reader, *f.engine, f.data, 256 * KiB, f.call);
  // Prefetch parts are queued behind one connection. Read the farthest one's bytes: that
  // part must become interactive, and no second request for those bytes is sent.
  auto queued = f.engine->queued();
  BOOST_REQUIRE(!queued.empty());
  const auto target =
      *std::max_element(queued.begin(), queued.end(), [](auto& a, auto& b) { return a.first < b.first; });
  const auto submitted = f.engine->all_submitted().size();
  auto read = std::async(std::launch::async, [&] { return reader->read(target.first, 4096, f.call); });
  for (;;) {
    auto now = f.engine->find(target.id);
    if (now && now->priority == vo::Priority::interactive) break;
    std::this_thread::sleep_for(std::chrono::microseconds(200));  // polling the fake, not timing
  }
  // The read may refill the window, but nothing else asks for the promoted part's bytes.
  auto all = f.engine->all_submitted();
  BOOST_TEST(std::count_if(all.begin(), all.end(),
                           [&](auto& t) { return t.first <= target.first && t.last >= target.first; }) == 1);
  (void)submitted;
  f.engine->finish_all();
  BOOST_TEST(bytes_of(read.get()) == f.data.substr(target.first, 4096));
}

BOOST_AUTO_TEST_CASE(a_waiter_wakes_when_its_block_lands_not_its_whole_part) {
  Fixture f(64 * MiB, 8);
  auto reader = f.fetcher->open(info_of(kUrl, f.data.size()));
  // A 1 MiB read is one part of 16 blocks; the second reader wants only the first block.
  auto big = std::async(std::launch::async, [&] { return reader->read(0, 1 * MiB, f.call); });
  f.engine->wait_for_submissions(1);
  auto part = f.engine->all_submitted().front();
  BOOST_TEST(part.last - part.first + 1 == 1 * MiB);
  auto small_reader = f.fetcher->open(info_of(kUrl, f.data.size()));
  auto small = std::async(std::launch::async, [&] { return small_reader->read(100, 1000, f.call); });
  f.engine->deliver(part.id, kBlockSize);  // only the first block
  BOOST_TEST(bytes_of(small.get()) == f.data.substr(100, 1000));
  BOOST_TEST(f.engine->find(part.id).has_value());  // the part is still running
  BOOST_TEST(f.engine->all_submitted().size() == 1u);
  f.engine->finish(part.id);
  BOOST_TEST(bytes_of(big.get()) == f.data.substr(0, 1 * MiB));
}

BOOST_AUTO_TEST_CASE(each_block_is_requested_once_under_racing_readers) {
  Fixture f(8 * MiB, 8);
  std::vector<std::unique_ptr<cache::FileReader>> readers;
  for (int i = 0; i < 8; ++i) readers.push_back(f.fetcher->open(info_of(kUrl, f.data.size())));
  std::atomic<bool> stop{false};
  std::thread driver([&] {
    while (!stop) {
      for (auto& t : f.engine->running()) f.engine->finish(t.id);
      std::this_thread::sleep_for(std::chrono::microseconds(200));  // polling the fake, not timing
    }
  });
  std::vector<std::future<bool>> results;
  for (int i = 0; i < 8; ++i) {
    results.push_back(std::async(std::launch::async, [&, i] {
      bool ok = true;
      // Each reader walks the file in its own order of 200 KiB reads (crossing block edges).
      for (int k = 0; k < 40; ++k) {
        const std::uint64_t offset = ((k * 7 + i * 3) % 40) * 200 * KiB;
        ok &= bytes_of(readers[i]->read(offset, 200 * KiB, f.call)) == f.data.substr(offset, 200 * KiB);
      }
      return ok;
    }));
  }
  for (auto& r : results) BOOST_TEST(r.get());
  stop = true;
  driver.join();
  f.engine->finish_all();
  // No byte of the object was asked for twice.
  std::vector<int> asked(f.data.size() / kBlockSize, 0);
  for (auto& t : f.engine->all_submitted())
    for (auto b = t.first / kBlockSize; b <= t.last / kBlockSize; ++b) ++asked[b];
  BOOST_TEST(*std::max_element(asked.begin(), asked.end()) <= 1);
}

BOOST_AUTO_TEST_CASE(bytes_go_straight_into_the_cache_no_buffering_over_a_64_MiB_stream) {
  Fixture f(64 * MiB, 8);
  auto reader = f.fetcher->open(info_of(kUrl, f.data.size()));
  std::atomic<bool> stop{false};
  std::atomic<bool> over{false};
  std::thread driver([&] {
    while (!stop) {
      for (auto& t : f.engine->running()) {
        f.engine->deliver(t.id, 48 * KiB);  // chunks that straddle block edges
        // Every complete block delivered is in the store at once: nothing waits in memory
        // beyond the one partial block per transfer in flight.
        const auto sent = f.engine->bytes_sent();
        const auto stored = f.store.present_blocks() * kBlockSize;
        if (sent > stored + f.engine->running().size() * kBlockSize + kBlockSize) over = true;
        auto info = f.engine->find(t.id);
        if (info && info->delivered == info->last - info->first + 1) f.engine->finish(t.id);
      }
      std::this_thread::sleep_for(std::chrono::microseconds(200));  // polling the fake, not timing
    }
  });
  for (std::uint64_t offset = 0; offset < f.data.size(); offset += 128 * KiB)
    BOOST_REQUIRE(bytes_of(reader->read(offset, 128 * KiB, f.call)) == f.data.substr(offset, 128 * KiB));
  stop = true;
  driver.join();
  BOOST_TEST(!over);
  BOOST_TEST(f.engine->max_running() <= 8u);
  BOOST_TEST(f.fetcher->stats().prefetch_parts > 0u);
}

BOOST_AUTO_TEST_CASE(a_block_corrupted_before_a_remount_is_fetched_again_never_returned) {
  Fixture f(4 * MiB);
  {
    auto reader = f.fetcher->open(info_of(kUrl, f.data.size()));
    auto read = std::async(std::launch::async, [&] { return reader->read(0, 256 * KiB, f.call); });
    f.engine->wait_for_submissions(1);
    f.engine->finish_all();
    read.get();
  }
  f.store.corrupt_byte(kUrl, 70 * KiB);  // inside block 1
  f.store.forget_verification();         // a remount: blocks are checked on first use again
  auto fresh = cache::make_fetcher(f.store, f.engine);
  auto reader = fresh->open(info_of(kUrl, f.data.size()));
  const auto submitted = f.engine->all_submitted().size();
  auto read = std::async(std::launch::async, [&] { return reader->read(0, 256 * KiB, f.call); });
  f.engine->wait_for_submissions(submitted + 1);
  auto refetch = f.engine->all_submitted().back();
  BOOST_TEST(refetch.first == 1 * kBlockSize);
  BOOST_TEST(refetch.last == 2 * kBlockSize - 1);
  f.engine->finish_all();
  BOOST_TEST(bytes_of(read.get()) == f.data.substr(0, 256 * KiB));
  BOOST_TEST(f.store.stats().corrupt_blocks == 1u);
}

BOOST_AUTO_TEST_CASE(a_failed_prefetch_fails_no_read_that_did_not_need_it) {
  Fixture f(64 * MiB, 8);
  auto reader = f.fetcher->open(info_of(kUrl, f.data.size()));
  const std::uint64_t offset = read_sequentially(*reader, *f.engine, f.data, 512 * KiB, f.call);
  // Fail every prefetch part that does not hold the next read's bytes.
  for (auto& t : f.engine->running())
    if (t.first >= offset + 128 * KiB) f.engine->fail(t.id, std::make_exception_ptr(Error(EIO, "reset")));
  auto read = std::async(std::launch::async, [&] { return reader->read(offset, 128 * KiB, f.call); });
  BOOST_TEST(bytes_of(land_for(read, *f.engine, offset, offset + 128 * KiB)) == f.data.substr(offset, 128 * KiB));
  f.engine->finish_all();
}

BOOST_AUTO_TEST_CASE(a_5xx_with_retry_after_is_retried_a_changed_object_is_estale) {
  cache::FetcherConfig config;
  config.initial_backoff = std::chrono::milliseconds(1);
  config.max_backoff = std::chrono::milliseconds(1);
  Fixture f(4 * MiB, 8, config);
  auto reader = f.fetcher->open(info_of(kUrl, f.data.size()));
  auto read = std::async(std::launch::async, [&] { return reader->read(0, 4096, f.call); });
  f.engine->wait_for_submissions(1);
  f.engine->answer_status(f.engine->all_submitted().back().id, 503, {{"retry-after", "0"}});
  f.engine->wait_for_submissions(2);
  f.engine->finish_all();
  BOOST_TEST(bytes_of(read.get()) == f.data.substr(0, 4096));
  BOOST_TEST(f.fetcher->stats().retries == 1u);

  // The archive replaced the file: the next part's answer carries another ETag.
  f.engine->replace_object(kUrl, pattern(4 * MiB, 2), "\"v2\"");
  const auto before = f.engine->all_submitted().size();
  auto stale = std::async(std::launch::async, [&] { return reader->read(2 * MiB, 4096, f.call); });
  f.engine->wait_for_submissions(before + 1);
  f.engine->finish_all();
  BOOST_TEST(errno_of([&] { stale.get(); }) == ESTALE);
  BOOST_TEST(f.engine->all_submitted().size() == before + 1);  // not retried
}

BOOST_AUTO_TEST_CASE(a_cancelled_call_stops_waiting_at_once_and_the_part_goes_on) {
  Fixture f(4 * MiB);
  auto reader = f.fetcher->open(info_of(kUrl, f.data.size()));
  CallContext call;
  call.cancel = std::make_shared<CancelToken>();
  auto read = std::async(std::launch::async, [&] { return reader->read(0, 4096, call); });
  f.engine->wait_for_submissions(1);
  call.cancel->cancel();
  BOOST_TEST(errno_of([&] { read.get(); }) == ECANCELED);
  // The part was not cancelled with the call: it lands, and the next read needs no request.
  BOOST_TEST(f.engine->running().size() == 1u);
  f.engine->finish_all();
  BOOST_TEST(bytes_of(reader->read(0, 4096, f.call)) == f.data.substr(0, 4096));
  BOOST_TEST(f.engine->all_submitted().size() == 1u);
}

BOOST_AUTO_TEST_CASE(a_passed_deadline_ends_the_wait_with_etimedout) {
  Fixture f(4 * MiB);
  auto reader = f.fetcher->open(info_of(kUrl, f.data.size()));
  CallContext call;
  call.deadline = SteadyClock::now();  // already over: the engine never answers in time
  auto read = std::async(std::launch::async, [&] { return reader->read(0, 4096, call); });
  BOOST_TEST(errno_of([&] { read.get(); }) == ETIMEDOUT);
  f.engine->finish_all();
}

BOOST_AUTO_TEST_CASE(small_files_come_whole_on_the_first_read) {
  Fixture f;
  const std::string small_url = "https://archive.test/FTP/x/small.fits";
  const std::string small = pattern(300 * KiB, 3);
  f.engine->add_object(small_url, small);
  auto reader = f.fetcher->open(info_of(small_url, small.size()));
  auto read = std::async(std::launch::async, [&] { return reader->read(0, 2880, f.call); });
  f.engine->wait_for_submissions(1);
  auto part = f.engine->all_submitted().front();
  BOOST_TEST(part.first == 0u);
  BOOST_TEST(part.last == small.size() - 1);
  f.engine->finish_all();
  BOOST_TEST(bytes_of(read.get()) == small.substr(0, 2880));
  BOOST_TEST(bytes_of(reader->read(200 * KiB, 100 * KiB, f.call)) == small.substr(200 * KiB, 100 * KiB));
  BOOST_TEST(f.engine->all_submitted().size() == 1u);
}

BOOST_AUTO_TEST_CASE(when_the_cache_cannot_take_blocks_the_read_goes_around_it) {
  Fixture f(4 * MiB);
  f.store.refuse_reservations(true);
  auto reader = f.fetcher->open(info_of(kUrl, f.data.size()));
  std::atomic<bool> stop{false};
  std::thread driver([&] {
    while (!stop) {
      for (auto& t : f.engine->running()) f.engine->finish(t.id);
      std::this_thread::sleep_for(std::chrono::microseconds(200));  // polling the fake, not timing
    }
  });
  BOOST_TEST(bytes_of(reader->read(100 * KiB, 200 * KiB, f.call)) == f.data.substr(100 * KiB, 200 * KiB));
  stop = true;
  driver.join();
  BOOST_TEST(f.fetcher->stats().direct_reads == 1u);
}

BOOST_AUTO_TEST_CASE(a_real_seek_cancels_the_readers_queued_prefetch) {
  Fixture f(64 * MiB, 1);
  auto reader = f.fetcher->open(info_of(kUrl, f.data.size()));
  read_sequentially(*reader, *f.engine, f.data, 256 * KiB, f.call);
  BOOST_REQUIRE(!f.engine->queued().empty());
  auto far = std::async(std::launch::async, [&] { return reader->read(50 * MiB, 4096, f.call); });
  // The seek cancels the queued prefetch parts (before the far read claims its block).
  while (f.fetcher->stats().cancelled_parts == 0)
    std::this_thread::sleep_for(std::chrono::microseconds(200));  // polling the fake, not timing
  BOOST_TEST(bytes_of(land_for(far, *f.engine, 50 * MiB, 50 * MiB + 4096)) == f.data.substr(50 * MiB, 4096));
  // Every prefetch part queued for the old position is gone (cancelled, never run).
  auto queued = f.engine->queued();
  BOOST_TEST(std::none_of(queued.begin(), queued.end(), [](auto& t) { return t.first < 50 * MiB; }));
  f.engine->finish_all();
}
