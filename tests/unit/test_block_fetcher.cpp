// The block fetcher over a real disk cache and a fake RangeSource that counts what it is asked.
#define BOOST_TEST_MODULE block_fetcher
#include <algorithm>
#include <atomic>
#include <boost/test/unit_test.hpp>
#include <functional>
#include <latch>
#include <optional>
#include <random>
#include <thread>
#include <vector>

#include "cache/block_cache.h"
#include "cache/block_fetcher.h"
#include "tests/support/errors.h"
#include "tests/support/gate.h"
#include "tests/support/temp_dir.h"
#include "common/error.h"
#include "common/thread_annotations.h"

using namespace hfs;
using test::errno_of;
using cache::kBlockSize;
using Request = std::pair<std::uint64_t, std::uint64_t>;  // offset, length

namespace {

constexpr std::uint64_t B = kBlockSize;

// An object's bytes behind a RangeSource: records every request, the most requests it ever had
// running at once, and fails or misbehaves on demand.
class FakeSource {
 public:
  explicit FakeSource(std::uint64_t size) : content_(random_bytes(size)) {}

  std::string fetch(std::uint64_t offset, std::uint64_t length) {
    int running = ++running_;
    for (int seen = max_running_; running > seen && !max_running_.compare_exchange_weak(seen, running);) {
    }
    struct Leave {
      std::atomic<int>& running;
      ~Leave() { --running; }
    } leave{running_};
    {
      MutexLock lock(mutex_);
      requests_.push_back({offset, length});
    }
    if (before_answer) before_answer();
    if (delay.count() > 0) std::this_thread::sleep_for(delay);
    if (fail_from_offset && offset >= *fail_from_offset) throw Error(EIO, "injected failure");
    if (failures_left > 0) {
      --failures_left;
      throw Error(fail_errno, "injected failure");
    }
    std::string bytes = content_.substr(offset, length);
    if (short_answers > 0) {
      --short_answers;
      bytes.pop_back();
    }
    bytes_ += bytes.size();
    return bytes;
  }

  cache::RemoteObject object(const std::string& url = "https://heasarc.gsfc.nasa.gov/FTP/test/big.evt") {
    return cache::RemoteObject{{url, "\"etag-1\""}, content_.size(), [this](std::uint64_t o, std::uint64_t l) {
                                 return fetch(o, l);
                               }};
  }
  std::string expected(std::uint64_t offset, std::uint64_t length) const {
    return offset >= content_.size() ? std::string() : content_.substr(offset, length);
  }
  std::vector<Request> requests() {
    MutexLock lock(mutex_);
    return requests_;
  }
  std::size_t calls() { return requests().size(); }
  std::uint64_t bytes() const { return bytes_; }
  int max_running() const { return max_running_; }

  std::chrono::milliseconds delay{0};
  std::function<void()> before_answer;  // runs inside the request, before it answers
  std::atomic<int> failures_left{0};
  int fail_errno = EIO;
  std::optional<std::uint64_t> fail_from_offset;
  std::atomic<int> short_answers{0};

 private:
  const std::string content_;
  Mutex mutex_;
  std::vector<Request> requests_ GUARDED_BY(mutex_);
  std::atomic<std::uint64_t> bytes_{0};
  std::atomic<int> running_{0}, max_running_{0};

  static std::string random_bytes(std::uint64_t size) {
    std::string bytes(size, '\0');
    std::mt19937 random(static_cast<unsigned>(size));
    for (auto& c : bytes) c = static_cast<char>(random());
    return bytes;
  }
};

struct Setup {
  explicit Setup(std::uint64_t size, unsigned max_parallel = 4, std::uint64_t max_request = 4 * B)
      : source(size),
        cache(cache::open_disk_block_cache(dir.path(), 1ull << 30)),
        fetcher(cache::make_block_fetcher(*cache, max_parallel, max_request)),
        object(source.object()) {}
  std::string read(std::uint64_t offset, std::uint64_t length, std::uint64_t ahead = 0) {
    return fetcher->read(object, offset, length, ahead);
  }

  test::TempDir dir;
  FakeSource source;
  std::unique_ptr<cache::BlockCache> cache;
  std::unique_ptr<cache::BlockFetcher> fetcher;
  cache::RemoteObject object;
};

// Blocks the calling request until `count` other reads are waiting on it (so the test does not
// depend on sleeps to get every thread into the collapsed wait).
void wait_for_waiters(cache::BlockFetcher& fetcher, std::uint64_t count) {
  auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (fetcher.stats().collapsed_waits < count && std::chrono::steady_clock::now() < give_up)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

}  // namespace

BOOST_AUTO_TEST_CASE(header_read_fetches_one_block) {
  Setup s(10 << 20);
  BOOST_TEST(s.read(0, 4096) == s.source.expected(0, 4096));
  BOOST_TEST((s.source.requests() == std::vector<Request>{{0, B}}));
  BOOST_TEST(s.fetcher->stats().range_requests == 1u);
  BOOST_TEST(s.fetcher->stats().bytes_downloaded == B);
}

BOOST_AUTO_TEST_CASE(one_mib_read_is_one_request_of_four_blocks) {
  Setup s(10 << 20);
  BOOST_TEST(s.read(0, 1 << 20) == s.source.expected(0, 1 << 20));
  BOOST_TEST((s.source.requests() == std::vector<Request>{{0, 4 * B}}));
}

BOOST_AUTO_TEST_CASE(cached_blocks_are_not_fetched_again) {
  Setup s(10 << 20);
  s.read(0, 1 << 20);
  BOOST_TEST(s.read(100, 1 << 20) == s.source.expected(100, 1 << 20));
  BOOST_TEST(s.read(3 * B + 5, 7) == s.source.expected(3 * B + 5, 7));
  BOOST_TEST(s.source.calls() == 2u);  // the second read needed block 4 only
  BOOST_TEST((s.source.requests()[1] == Request{4 * B, B}));
  BOOST_TEST(s.cache->stats().blocks == 5u);
}

BOOST_AUTO_TEST_CASE(read_over_cached_and_missing_blocks_fetches_only_the_missing_runs) {
  Setup s(10 << 20);
  s.read(B, 10);      // block 1
  s.read(3 * B, 10);  // block 3
  BOOST_TEST(s.read(0, 6 * B) == s.source.expected(0, 6 * B));
  auto requests = s.source.requests();
  BOOST_TEST_REQUIRE(requests.size() == 5u);
  std::vector<Request> runs(requests.begin() + 2, requests.end());
  std::sort(runs.begin(), runs.end());  // runs go out in parallel, in any order
  BOOST_TEST((runs == std::vector<Request>{{0, B}, {2 * B, B}, {4 * B, 2 * B}}));
}

BOOST_AUTO_TEST_CASE(reads_at_or_past_the_end_and_the_short_last_block) {
  const std::uint64_t size = 3 * B + 1000;
  Setup s(size);
  BOOST_TEST(s.read(size, 10).empty());
  BOOST_TEST(s.read(size + 5, 10).empty());
  BOOST_TEST(s.read(0, 0).empty());
  BOOST_TEST(s.source.calls() == 0u);
  BOOST_TEST(s.read(size - 10, 4096) == s.source.expected(size - 10, 10));  // the EOF tail read
  BOOST_TEST((s.source.requests() == std::vector<Request>{{3 * B, 1000}}));
  BOOST_TEST(s.read(3 * B, 1 << 20) == s.source.expected(3 * B, 1000));
  BOOST_TEST(s.read(size - 1000, 1000, 16 << 20) == s.source.expected(size - 1000, 1000));  // no ahead past EOF
  BOOST_TEST(s.source.calls() == 1u);
  BOOST_TEST(s.read(0, 1ull << 40) == s.source.expected(0, size));
}

BOOST_AUTO_TEST_CASE(sixteen_readers_of_one_block_share_one_request) {
  Setup s(10 << 20);
  s.source.before_answer = [&] { wait_for_waiters(*s.fetcher, 15); };
  std::latch start(16);
  std::vector<std::string> got(16);
  std::vector<std::thread> readers;
  for (int t = 0; t < 16; ++t)
    readers.emplace_back([&, t] {
      start.arrive_and_wait();
      got[t] = s.read(4096 * t, 4096);
    });
  for (auto& reader : readers) reader.join();
  BOOST_TEST(s.source.calls() == 1u);
  BOOST_TEST(s.fetcher->stats().collapsed_waits == 15u);
  for (int t = 0; t < 16; ++t) BOOST_TEST(got[t] == s.source.expected(4096 * t, 4096));
}

BOOST_AUTO_TEST_CASE(a_failed_request_reaches_every_waiter_and_the_next_read_retries) {
  Setup s(10 << 20);
  s.source.fail_errno = ETIMEDOUT;
  s.source.failures_left = 1;
  s.source.before_answer = [&] {
    if (s.source.calls() == 1) wait_for_waiters(*s.fetcher, 7);
  };
  std::latch start(8);
  std::vector<int> errors(8);
  std::vector<std::thread> readers;
  for (int t = 0; t < 8; ++t)
    readers.emplace_back([&, t] {
      start.arrive_and_wait();
      errors[t] = errno_of([&] { s.read(0, 4096); });
    });
  for (auto& reader : readers) reader.join();
  BOOST_TEST(s.source.calls() == 1u);
  for (int t = 0; t < 8; ++t) BOOST_TEST(errors[t] == ETIMEDOUT);
  BOOST_TEST(s.read(0, 4096) == s.source.expected(0, 4096));
  BOOST_TEST(s.source.calls() == 2u);
}

BOOST_AUTO_TEST_CASE(a_wrong_length_is_eio_and_nothing_is_cached) {
  Setup s(10 << 20);
  s.source.short_answers = 1;
  BOOST_TEST(errno_of([&] { s.read(0, 1 << 20); }) == EIO);
  BOOST_TEST(s.cache->stats().blocks == 0u);
  BOOST_TEST(s.read(0, 1 << 20) == s.source.expected(0, 1 << 20));
  BOOST_TEST(s.source.calls() == 2u);
}

BOOST_AUTO_TEST_CASE(read_ahead_extends_the_request_and_serves_the_next_reads) {
  Setup s(10 << 20);
  BOOST_TEST(s.read(0, 4096, 3 * B) == s.source.expected(0, 4096));
  // 4 KiB + 768 KiB ends in block 3: blocks 0-3 in one request, only 4 KiB returned.
  BOOST_TEST((s.source.requests() == std::vector<Request>{{0, 4 * B}}));
  BOOST_TEST(s.cache->stats().blocks == 4u);
  BOOST_TEST(s.read(4096, 3 * B) == s.source.expected(4096, 3 * B));
  BOOST_TEST(s.source.calls() == 1u);
}

BOOST_AUTO_TEST_CASE(a_cached_read_tops_read_ahead_up_only_near_its_edge) {
  Setup s(10 << 20);
  s.read(0, 4096);
  // Block 1 starts 248 KiB past the read: more than half of a 300 KiB window away.
  s.read(4096, 4096, 300 * 1024);
  BOOST_TEST(s.source.calls() == 1u);
  // Within half of a 1 MiB window: the whole missing window goes out at once.
  s.read(8192, 4096, 1 << 20);
  BOOST_TEST((s.source.requests() == std::vector<Request>{{0, B}, {B, 4 * B}}));
}

BOOST_AUTO_TEST_CASE(a_failed_read_ahead_does_not_fail_the_read) {
  Setup s(10 << 20);
  s.read(0, 4096);
  s.source.fail_from_offset = B;
  BOOST_TEST(s.read(4096, 4096, 1 << 20) == s.source.expected(4096, 4096));
  BOOST_TEST(s.source.calls() == 2u);
  BOOST_TEST(s.cache->stats().blocks == 1u);  // nothing cached from the failed request
  s.source.fail_from_offset.reset();
  BOOST_TEST(s.read(B, 10) == s.source.expected(B, 10));  // a read of it asks again
  BOOST_TEST(s.source.calls() == 3u);
}

BOOST_AUTO_TEST_CASE(long_runs_are_split_at_max_request_bytes) {
  Setup s(10 << 20, 1, 2 * B);
  BOOST_TEST(s.read(0, 5 * B) == s.source.expected(0, 5 * B));
  BOOST_TEST((s.source.requests() == std::vector<Request>{{0, 2 * B}, {2 * B, 2 * B}, {4 * B, B}}));
  Setup odd(10 << 20, 1, B + 1000);  // not a multiple of the block size: one block per request
  odd.read(0, 2 * B);
  BOOST_TEST(odd.source.calls() == 2u);
}

BOOST_AUTO_TEST_CASE(requests_in_flight_never_exceed_max_parallel) {
  for (unsigned max_parallel : {1u, 3u}) {
    // The first requests wait until two run at once (one, when only one may): they do overlap.
    const int overlap = std::min(2, static_cast<int>(max_parallel));
    test::Gate gate(overlap);
    Setup s(10 << 20, max_parallel, B);
    s.source.before_answer = [&] { gate.pass(); };
    BOOST_TEST(s.read(0, 12 * B) == s.source.expected(0, 12 * B));
    BOOST_TEST(s.source.calls() == 12u);
    BOOST_TEST(s.source.max_running() <= static_cast<int>(max_parallel));
    BOOST_TEST(gate.max_inside() == overlap);
    BOOST_TEST(s.source.max_running() >= overlap);  // and they do overlap
  }
}

// Readers racing over one file with read-ahead: every answer exact, every block downloaded once
// (a reader arriving just after a download finished must find it in the cache, not refetch).
BOOST_AUTO_TEST_CASE(racing_readers_download_every_block_exactly_once) {
  const std::uint64_t size = 24 * B + 4321;
  Setup s(size, 4, 4 * B);
  s.source.delay = std::chrono::milliseconds(2);
  std::atomic<int> wrong{0};
  std::vector<std::thread> readers;
  for (unsigned t = 0; t < 12; ++t)
    readers.emplace_back([&, t] {
      std::mt19937 random(t);
      for (int i = 0; i < 40; ++i) {
        std::uint64_t offset = random() % size, length = 1 + random() % (300 * 1024);
        std::uint64_t ahead = random() % 2 ? random() % (2 * B) : 0;
        if (s.read(offset, length, ahead) != s.source.expected(offset, length)) ++wrong;
      }
    });
  for (auto& reader : readers) reader.join();
  BOOST_TEST(wrong == 0);
  BOOST_TEST(s.source.bytes() <= size);  // never a block twice
  BOOST_TEST(s.read(0, size) == s.source.expected(0, size));
  BOOST_TEST(s.source.bytes() == size);
}
