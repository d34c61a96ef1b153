// Per-file read-ahead: cheap for header reads, large for streams, reset by seeks.
#define BOOST_TEST_MODULE readahead_window
#include <boost/test/unit_test.hpp>
#include <vector>

#include "cache/block_fetcher.h"

using hfs::cache::kBlockSize;
using hfs::cache::ReadaheadWindow;

namespace {

constexpr std::uint64_t KiB = 1024, MiB = 1024 * KiB;

// The windows returned for `count` back-to-back reads of `length` bytes from `start`.
std::vector<std::uint64_t> sequential(ReadaheadWindow& window, std::uint64_t start, std::uint64_t length, int count) {
  std::vector<std::uint64_t> windows;
  for (int i = 0; i < count; ++i) windows.push_back(window.on_read(start + i * length, length));
  return windows;
}

}  // namespace

BOOST_AUTO_TEST_CASE(first_read_gets_no_read_ahead) {
  ReadaheadWindow window;
  BOOST_TEST(window.on_read(0, 4096) == 0u);
  ReadaheadWindow other;
  BOOST_TEST(other.on_read(123 * MiB, 128 * KiB) == 0u);
}

BOOST_AUTO_TEST_CASE(header_reads_of_4_kib_stay_within_the_first_block) {
  ReadaheadWindow window;
  auto windows = sequential(window, 0, 4 * KiB, 6);
  BOOST_TEST((windows == std::vector<std::uint64_t>{0, 8 * KiB, 16 * KiB, 32 * KiB, 64 * KiB, 128 * KiB}));
  // Six header reads end at 24 KiB; read-ahead reaches 152 KiB, still block 0.
  BOOST_TEST(6 * 4 * KiB + windows.back() < kBlockSize);
}

BOOST_AUTO_TEST_CASE(sequential_reads_double_up_to_the_maximum) {
  ReadaheadWindow window(16 * MiB);
  auto windows = sequential(window, 0, 128 * KiB, 12);
  BOOST_TEST((std::vector<std::uint64_t>(windows.begin(), windows.begin() + 9) ==
              std::vector<std::uint64_t>{0, 256 * KiB, 512 * KiB, 1 * MiB, 2 * MiB, 4 * MiB, 8 * MiB, 16 * MiB,
                                         16 * MiB}));
  for (auto w : windows) BOOST_TEST(w <= 16 * MiB);
  BOOST_TEST(windows.back() == 16 * MiB);

  ReadaheadWindow small(1 * MiB);
  auto capped = sequential(small, 0, 4 * KiB, 40);
  BOOST_TEST(capped.back() == 1 * MiB);
  for (auto w : capped) BOOST_TEST(w <= 1 * MiB);
}

BOOST_AUTO_TEST_CASE(jitter_is_tolerated) {
  ReadaheadWindow window;
  window.on_read(0, 128 * KiB);
  std::uint64_t grown = window.on_read(128 * KiB, 128 * KiB);
  // FUSE threads deliver the kernel's read-ahead slightly out of order.
  std::uint64_t after_forward_skip = window.on_read(384 * KiB, 128 * KiB);
  std::uint64_t after_backward_step = window.on_read(256 * KiB, 128 * KiB);
  std::uint64_t after_overlap = window.on_read(500 * KiB, 128 * KiB);
  std::uint64_t after_small_gap = window.on_read(700 * KiB, 128 * KiB);  // 72 KiB hole
  BOOST_TEST(grown > 0u);
  BOOST_TEST(after_forward_skip > grown);
  BOOST_TEST(after_backward_step >= after_forward_skip);
  BOOST_TEST(after_overlap >= after_backward_step);
  BOOST_TEST(after_small_gap >= after_overlap);
}

BOOST_AUTO_TEST_CASE(a_real_seek_resets_the_window) {
  ReadaheadWindow window;
  sequential(window, 0, 128 * KiB, 8);
  BOOST_TEST(window.on_read(100 * MiB, 128 * KiB) == 0u);  // forward seek
  BOOST_TEST(window.on_read(100 * MiB + 128 * KiB, 128 * KiB) == 256 * KiB);  // grows again from there
  sequential(window, 100 * MiB + 256 * KiB, 128 * KiB, 8);
  BOOST_TEST(window.on_read(10 * MiB, 4096) == 0u);  // backward seek
  BOOST_TEST(window.on_read(10 * MiB + 4096 + kBlockSize + 1, 4096) == 0u);  // just over a block ahead
}

// cfitsio: the EOF tail right after open, then the headers from the start.
BOOST_AUTO_TEST_CASE(cfitsio_tail_then_header_pattern_stays_small) {
  const std::uint64_t size = 210012480;
  ReadaheadWindow window;
  BOOST_TEST(window.on_read(size - 2368, 2368) == 0u);
  BOOST_TEST(window.on_read(0, 4096) == 0u);
  BOOST_TEST(window.on_read(4096, 4096) == 8 * KiB);
}
