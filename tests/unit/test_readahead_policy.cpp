// The read-ahead window table of cache/readahead_policy.h, line by line.
#define BOOST_TEST_MODULE readahead_policy
#include <boost/test/unit_test.hpp>

#include "cache/readahead_policy.h"

using hfs::cache::ReadaheadConfig;
using hfs::cache::ReadaheadPolicy;

namespace {
constexpr std::uint64_t KiB = 1024, MiB = 1024 * KiB, GiB = 1024 * MiB;
constexpr std::uint64_t kSize = 4 * GiB;
}  // namespace

BOOST_AUTO_TEST_CASE(starts_at_zero_so_a_header_read_fetches_only_itself) {
  ReadaheadPolicy policy;
  auto first = policy.on_read(0, 2880, kSize);
  BOOST_TEST(first.prefetch_end == first.prefetch_begin);
  BOOST_TEST(policy.window() == 0u);
  // The kernel's own small sequential reads of a header stay below the 128 KiB threshold.
  auto second = policy.on_read(2880, 16 * KiB, kSize);
  auto third = policy.on_read(2880 + 16 * KiB, 32 * KiB, kSize);
  BOOST_TEST(second.prefetch_end == second.prefetch_begin);
  BOOST_TEST(third.prefetch_end == third.prefetch_begin);
  BOOST_TEST(policy.window() == 0u);
}

BOOST_AUTO_TEST_CASE(opens_at_about_one_mebibyte_on_the_first_sequential_read) {
  ReadaheadPolicy policy;
  policy.on_read(0, 128 * KiB, kSize);
  auto decision = policy.on_read(128 * KiB, 128 * KiB, kSize);
  BOOST_TEST(policy.window() == 1 * MiB);
  BOOST_TEST(decision.prefetch_begin == 256 * KiB);
  BOOST_TEST(decision.prefetch_end == 256 * KiB + 1 * MiB);
  BOOST_TEST(decision.part_bytes == 128 * KiB);  // window / 8
}

BOOST_AUTO_TEST_CASE(doubles_on_sequential_hits_up_to_the_cap_and_parts_grow_to_4_MiB) {
  ReadaheadPolicy policy;
  std::uint64_t offset = 0;
  std::uint64_t last_window = 0;
  for (int i = 0; i < 40; ++i, offset += 128 * KiB) {
    policy.on_read(offset, 128 * KiB, kSize);
    if (last_window > 0) BOOST_TEST(policy.window() == std::min(2 * last_window, 64 * MiB));
    last_window = policy.window();
  }
  BOOST_TEST(policy.window() == 64 * MiB);
  // A refill at full size is cut into 4 MiB parts.
  ReadaheadPolicy big;
  offset = 0;
  std::uint64_t part = 0;
  for (int i = 0; i < 200; ++i, offset += 128 * KiB) {
    auto decision = big.on_read(offset, 128 * KiB, kSize);
    if (decision.prefetch_end > decision.prefetch_begin) part = decision.part_bytes;
  }
  BOOST_TEST(part == 4 * MiB);
}

BOOST_AUTO_TEST_CASE(refills_only_when_less_than_half_a_window_is_left) {
  ReadaheadConfig config;
  config.max_bytes = 1 * MiB;  // a fixed window makes the refill points easy to see
  ReadaheadPolicy policy(config);
  policy.on_read(0, 128 * KiB, kSize);
  auto open = policy.on_read(128 * KiB, 128 * KiB, kSize);
  BOOST_TEST(open.prefetch_end == 256 * KiB + 1 * MiB);
  // Scheduled up to 1280 KiB. Reads ending at 384, 512, 640, 768 KiB leave >= 512 KiB ahead.
  for (std::uint64_t offset = 256 * KiB; offset < 768 * KiB; offset += 128 * KiB) {
    auto decision = policy.on_read(offset, 128 * KiB, kSize);
    BOOST_TEST(decision.prefetch_end == decision.prefetch_begin, "no refill at " << offset);
  }
  // The read ending at 896 KiB leaves 384 KiB: refill from where the last one ended.
  auto refill = policy.on_read(768 * KiB, 128 * KiB, kSize);
  BOOST_TEST(refill.prefetch_begin == 256 * KiB + 1 * MiB);
  BOOST_TEST(refill.prefetch_end == 896 * KiB + 1 * MiB);
}

BOOST_AUTO_TEST_CASE(small_jumps_keep_the_window_a_real_seek_drops_it) {
  ReadaheadPolicy policy;
  std::uint64_t offset = 0;
  for (int i = 0; i < 8; ++i, offset += 128 * KiB) policy.on_read(offset, 128 * KiB, kSize);
  const auto window = policy.window();
  BOOST_TEST(window > 1 * MiB);
  // A FITS reader skipping a little back and forth inside a table keeps it.
  auto back = policy.on_read(offset - 300 * KiB, 128 * KiB, kSize);
  BOOST_TEST(!back.seek);
  BOOST_TEST(policy.window() == window);
  auto forward = policy.on_read(offset + 512 * KiB, 128 * KiB, kSize);
  BOOST_TEST(!forward.seek);
  BOOST_TEST(policy.window() >= window);
  // Far away: a real seek.
  auto seek = policy.on_read(3 * GiB, 128 * KiB, kSize);
  BOOST_TEST(seek.seek);
  BOOST_TEST(policy.window() == 0u);
  BOOST_TEST(seek.prefetch_end == seek.prefetch_begin);
}

BOOST_AUTO_TEST_CASE(never_schedules_past_the_end_of_the_object) {
  ReadaheadPolicy policy;
  const std::uint64_t size = 600 * KiB;
  policy.on_read(0, 128 * KiB, size);
  auto decision = policy.on_read(128 * KiB, 128 * KiB, size);
  BOOST_TEST(decision.prefetch_end == size);
}
