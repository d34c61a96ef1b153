#include "cache/readahead_policy.h"

#include <algorithm>

namespace hfs::cache {

std::uint64_t ReadaheadPolicy::part_bytes() const {
  const std::uint64_t block = std::max<std::uint64_t>(1, config_.block_bytes);
  std::uint64_t part = std::min(config_.max_part_bytes, window_ / 8);
  part = part / block * block;
  return std::max(part, block);
}

ReadaheadDecision ReadaheadPolicy::on_read(std::uint64_t offset, std::uint64_t length, std::uint64_t size) {
  ReadaheadDecision decision;
  const std::uint64_t end = std::min(size, offset + length);
  auto restart_run = [&] {
    run_start_ = offset;
    next_offset_ = end;
  };
  if (!started_) {
    started_ = true;
    restart_run();
    return decision;  // window 0: the first read fetches only itself
  }
  if (window_ == 0) {
    // No window yet: only a read that continues the run (within a block) counts.
    const std::uint64_t block = config_.block_bytes;
    if (offset + block < next_offset_ || offset > next_offset_ + block) {
      restart_run();
      return decision;
    }
    const std::uint64_t run_before = next_offset_ - std::min(run_start_, next_offset_);
    next_offset_ = std::max(next_offset_, end);
    if (run_before < config_.sequential_after_bytes) return decision;
    window_ = std::min(config_.initial_bytes, config_.max_bytes);
  } else {
    const std::uint64_t tolerance = std::max(config_.jump_tolerance, window_ / 2);
    const bool near = offset + tolerance >= next_offset_ && offset <= next_offset_ + tolerance;
    const bool inside_scheduled = offset < scheduled_end_ && offset + tolerance >= next_offset_;
    if (!near && !inside_scheduled) {
      decision.seek = true;
      window_ = 0;
      scheduled_end_ = 0;
      restart_run();
      return decision;
    }
    // A sequential hit (forward progress) doubles the window; a small jump back keeps it.
    if (end > next_offset_) window_ = std::min(window_ * 2, config_.max_bytes);
    next_offset_ = std::max(next_offset_, end);
    const std::uint64_t ahead = scheduled_end_ > end ? scheduled_end_ - end : 0;
    if (ahead >= window_ / 2) return decision;  // at least half a window left: nothing to do
  }
  const std::uint64_t target = std::min(size, end + window_);
  decision.prefetch_begin = std::max(end, scheduled_end_);
  decision.prefetch_end = std::max(decision.prefetch_begin, target);
  decision.part_bytes = part_bytes();
  scheduled_end_ = std::max(scheduled_end_, target);
  return decision;
}

}  // namespace hfs::cache
