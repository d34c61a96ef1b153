// CPU time spent by the calling thread (CLOCK_THREAD_CPUTIME_ID). Unlike the wall clock it
// does not grow while other processes have the CPU, so comparing two pieces of work measured
// this way, back to back on one thread, holds on a loaded machine.
#pragma once

#include <time.h>

#include <algorithm>
#include <chrono>

namespace hfs::test {

inline std::chrono::nanoseconds thread_cpu_time() {
  timespec now{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return std::chrono::seconds(now.tv_sec) + std::chrono::nanoseconds(now.tv_nsec);
}

// The least thread CPU time `work` took over `runs` runs (noise only ever adds time).
template <class Work>
std::chrono::nanoseconds least_cpu_time(int runs, Work&& work) {
  auto least = std::chrono::nanoseconds::max();
  for (int i = 0; i < runs; ++i) {
    auto start = thread_cpu_time();
    work();
    least = std::min(least, thread_cpu_time() - start);
  }
  return least;
}

}  // namespace hfs::test
