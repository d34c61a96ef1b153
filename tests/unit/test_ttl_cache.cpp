// The TTL + LRU map used for listings and query results.
#define BOOST_TEST_MODULE ttl_cache
#include <atomic>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "cache/ttl_cache.h"

using namespace std::chrono_literals;
using hfs::cache::TtlCache;

namespace {

// TtlCache takes the clock as a type with a static now(), so the fake's time has to be static
// too; each test starts by resetting it.
struct FakeClock {
  using duration = std::chrono::milliseconds;
  using rep = duration::rep;
  using period = duration::period;
  using time_point = std::chrono::time_point<FakeClock>;
  static inline std::atomic<rep> ticks{0};
  static time_point now() { return time_point(duration(ticks.load())); }
  static void advance(duration by) { ticks += by.count(); }
  static void reset() { ticks = 1'000'000; }
};

using Cache = TtlCache<std::string, FakeClock>;

}  // namespace

BOOST_AUTO_TEST_CASE(entries_expire_after_their_ttl) {
  FakeClock::reset();
  Cache cache(10);
  cache.put("nustar/", "listing", 10s);
  BOOST_TEST(cache.get("nustar/").value() == "listing");
  FakeClock::advance(9999ms);
  BOOST_TEST(cache.get("nustar/").value() == "listing");
  FakeClock::advance(1ms);
  BOOST_TEST(!cache.get("nustar/"));
  BOOST_TEST(cache.get_stale("nustar/").value() == "listing");  // stale-if-error still has it
  BOOST_TEST(cache.size() == 1u);
  BOOST_TEST(!cache.get("chandra/"));
  BOOST_TEST(!cache.get_stale("chandra/"));
}

BOOST_AUTO_TEST_CASE(put_replaces_value_and_ttl) {
  FakeClock::reset();
  Cache cache(10);
  cache.put("k", "old", 1s);
  FakeClock::advance(2s);
  cache.put("k", "new", 5s);
  BOOST_TEST(cache.get("k").value() == "new");
  BOOST_TEST(cache.size() == 1u);
  FakeClock::advance(5s);
  BOOST_TEST(!cache.get("k"));
  BOOST_TEST(cache.get_stale("k").value() == "new");
}

BOOST_AUTO_TEST_CASE(bounded_by_entry_count_least_recently_used_first) {
  FakeClock::reset();
  Cache cache(3);
  cache.put("a", "1", 1h);
  cache.put("b", "2", 1h);
  cache.put("c", "3", 1h);
  BOOST_TEST(cache.get("a").has_value());  // a is now the most recent: b is the oldest
  cache.put("d", "4", 1h);
  BOOST_TEST(cache.size() == 3u);
  BOOST_TEST(!cache.get_stale("b"));
  for (auto key : {"a", "c", "d"}) BOOST_TEST(cache.get(key).has_value());
  // A stale read counts as a use too.
  FakeClock::advance(2h);
  BOOST_TEST(cache.get_stale("a").has_value());
  cache.put("e", "5", 1h);
  BOOST_TEST(!cache.get_stale("c"));
  BOOST_TEST(cache.get_stale("a").has_value());
}

BOOST_AUTO_TEST_CASE(erase_removes_fresh_and_stale_entries) {
  FakeClock::reset();
  Cache cache(3);
  cache.put("a", "1", 1h);
  cache.erase("a");
  cache.erase("never-there");
  BOOST_TEST(!cache.get_stale("a"));
  BOOST_TEST(cache.size() == 0u);
}

BOOST_AUTO_TEST_CASE(concurrent_use_keeps_the_bound_and_the_values) {
  FakeClock::reset();
  TtlCache<int, FakeClock> cache(50);
  std::atomic<int> wrong{0}, over_bound{0};  // Boost.Test checks are not for other threads
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5000; ++i) {
        int key = (i * 7 + t) % 200;
        if (i % 3 == 0) cache.put(std::to_string(key), key * 10, 1h);
        if (auto value = cache.get(std::to_string(key)); value && *value != key * 10) ++wrong;
        if (cache.size() > 50) ++over_bound;
      }
    });
  for (auto& thread : threads) thread.join();
  BOOST_TEST(wrong == 0);
  BOOST_TEST(over_bound == 0);
  BOOST_TEST(cache.size() == 50u);
}

BOOST_AUTO_TEST_CASE(replace_if_keeps_the_expiry_and_only_replaces_the_expected_value) {
  FakeClock::reset();
  Cache cache(10);
  cache.put("k", "v1", 10s);
  FakeClock::advance(4s);
  BOOST_TEST(!cache.replace_if("k", "other", "v2"));  // not what the caller read: untouched
  BOOST_TEST(!cache.replace_if("gone", "v1", "v2"));
  BOOST_TEST(cache.replace_if("k", "v1", "v2"));
  BOOST_TEST(cache.get("k").value() == "v2");
  FakeClock::advance(6s);  // the first put's expiry, not 10 s from the replacement
  BOOST_TEST(!cache.get("k"));
  BOOST_TEST(cache.get_stale("k").value() == "v2");
  BOOST_TEST(cache.replace_if("k", "v2", "v3"));  // an expired entry too
  BOOST_TEST(cache.get_stale("k").value() == "v3");
  BOOST_TEST(cache.size() == 1u);
}

BOOST_AUTO_TEST_CASE(an_injected_clock_replaces_the_type_s) {
  std::atomic<std::int64_t> now_ms{0};
  TtlCache<int> cache(10,
                      [&] { return std::chrono::steady_clock::time_point(std::chrono::milliseconds(now_ms.load())); });
  cache.put("k", 1, 10s);
  now_ms = 9999;
  BOOST_TEST(cache.get("k").value() == 1);
  now_ms = 10000;
  BOOST_TEST(!cache.get("k"));
}
