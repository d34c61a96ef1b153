// The read-ahead window of one reader (one open file handle): how far past its reads to fetch,
// and when. Pure policy, no I/O: the fetcher asks it on every read and schedules what it says.
//
// The window table (tests/unit/test_readahead_policy.cpp checks each line):
// - It starts at 0: the first read of a file fetches only what it asks for, so a FITS header
//   read moves one or two blocks, not megabytes.
// - The first sequential read (one that starts where the previous one ended, within the jump
//   tolerance) once the reader has read `sequential_after_bytes` (128 KiB) in a row opens it at
//   `initial_bytes` (1 MiB) past that read. The 128 KiB keep header reads cheap even though the
//   kernel turns them into a few small sequential FUSE reads of its own read-ahead.
// - Each further sequential hit (a read that moves the reader forward) doubles the window, up
//   to `max_bytes` (64 MiB). Refill: when less than half a window is left ahead of the reader
//   (scheduled beyond the end of this read), it is scheduled up to a whole window past the
//   read's end.
// - Jumps: a read within `jump_tolerance` bytes (or half a window, whichever is larger) of
//   where the reader was, backwards or forwards, or anywhere inside what is already scheduled,
//   keeps the window: FITS readers skip around inside a table, and FUSE threads deliver the
//   kernel's read-ahead slightly out of order. Anything farther is a real seek: the window
//   drops to 0 and the parts queued for the old position are cancelled.
// - Parts: the scheduled range is cut into parts of min(max_part_bytes, window / 8) (whole
//   blocks, at least one), so a 1 MiB window is 8 parts of 128 KiB in flight at once and a
//   64 MiB window 16 parts of 4 MiB.
#pragma once

#include <cstdint>

namespace hfs::cache {

struct ReadaheadConfig {
  std::uint64_t initial_bytes = 1ull << 20;
  std::uint64_t max_bytes = 64ull << 20;
  std::uint64_t max_part_bytes = 4ull << 20;
  std::uint64_t jump_tolerance = 1ull << 20;
  std::uint64_t sequential_after_bytes = 128 * 1024;
  std::uint64_t block_bytes = 64 * 1024;
};

// What one read asks the fetcher to do besides serving it.
struct ReadaheadDecision {
  bool seek = false;                 // a real seek: cancel this reader's queued prefetch
  std::uint64_t prefetch_begin = 0;  // schedule [prefetch_begin, prefetch_end) (empty: nothing)
  std::uint64_t prefetch_end = 0;
  std::uint64_t part_bytes = 0;  // cut it into parts of this size
};

class ReadaheadPolicy {
 public:
  explicit ReadaheadPolicy(ReadaheadConfig config = {}) : config_(config) {}
  // A read of [offset, offset + length) of an object of `size` bytes.
  ReadaheadDecision on_read(std::uint64_t offset, std::uint64_t length, std::uint64_t size);
  std::uint64_t window() const { return window_; }

 private:
  std::uint64_t part_bytes() const;

  ReadaheadConfig config_;
  bool started_ = false;
  std::uint64_t next_offset_ = 0;  // where a sequential read would start
  std::uint64_t run_start_ = 0;    // where the current sequential run began
  std::uint64_t window_ = 0;
  std::uint64_t scheduled_end_ = 0;  // end of what was scheduled for this reader
};

}  // namespace hfs::cache
