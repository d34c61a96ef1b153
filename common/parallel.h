// Runs a job over n items on at most `max_parallel` threads, the calling thread being one of
// them, and returns when every item is done. When no thread can be spawned (EAGAIN under a
// thread limit), the items still run, on the threads there are: a busy machine slows the work
// down, it never loses items. `job(i)` must not throw; catch inside and record per item.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <system_error>
#include <thread>
#include <vector>

namespace hfs {

template <class Job>
void parallel_for(std::size_t n, unsigned max_parallel, Job&& job) {
  std::atomic<std::size_t> next{0};
  auto work = [&] {
    for (std::size_t i; (i = next.fetch_add(1)) < n;) job(i);
  };
  const std::size_t helpers = std::min<std::size_t>(std::max(1u, max_parallel), n);
  {
    std::vector<std::jthread> threads;  // joined at the end of this scope
    threads.reserve(helpers > 0 ? helpers - 1 : 0);
    for (std::size_t h = 1; h < helpers; ++h) {
      try {
        threads.emplace_back(work);
      } catch (const std::system_error&) {
        break;  // no thread to be had: the ones there are take the remaining items
      }
    }
    work();
  }
}

}  // namespace hfs
