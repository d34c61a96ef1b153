// How many FUSE requests the mount answered with each errno (fs/fuse_ops.cpp counts them in
// translate(), the stats file shows them). Lock-free: one atomic per errno value.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>

namespace hfs::fs {

class ErrorCounts {
 public:
  void count(int errnum) {
    const auto slot = errnum > 0 && static_cast<std::size_t>(errnum) < kSlots ? static_cast<std::size_t>(errnum) : 0;
    counts_[slot].fetch_add(1, std::memory_order_relaxed);
  }
  // errno -> count, for the errnos seen (0: values out of range).
  std::map<int, std::uint64_t> snapshot() const {
    std::map<int, std::uint64_t> seen;
    for (std::size_t i = 0; i < kSlots; ++i)
      if (auto n = counts_[i].load(std::memory_order_relaxed)) seen[static_cast<int>(i)] = n;
    return seen;
  }

 private:
  static constexpr std::size_t kSlots = 160;  // above every Linux errno (EHWPOISON is 133)
  std::array<std::atomic<std::uint64_t>, kSlots> counts_{};
};

}  // namespace hfs::fs
