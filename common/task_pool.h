// A fixed set of worker threads running background jobs from a bounded queue: prefetching
// listings ahead of `ls -lR`, small files ahead of `cp -r`. Nothing a user waits for runs here
// (a user's call does its own work and joins a prefetch in flight through SingleFlight), so a
// full queue just drops the job (post() returns false) and a busy pool slows nobody down.
//
// Jobs must not throw (a throwing job is logged and dropped) and must not wait on other jobs
// of the same pool. The destructor stops taking jobs, drops the queued ones and joins the
// workers after their current job.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "common/thread_annotations.h"

namespace hfs {

class TaskPool {
 public:
  TaskPool(unsigned threads, std::size_t max_queued);
  ~TaskPool();
  TaskPool(const TaskPool&) = delete;
  TaskPool& operator=(const TaskPool&) = delete;

  // Queues the job; false (and the job is dropped) when the queue is full or stopping.
  bool post(std::function<void()> job) EXCLUDES(mutex_);
  // Blocks until the queue is empty and no job runs (tests use it as a latch).
  void wait_idle() EXCLUDES(mutex_);

 private:
  void work() EXCLUDES(mutex_);

  const std::size_t max_queued_;
  // LOCK ORDER: a leaf; jobs run without it.
  Mutex mutex_;
  std::condition_variable_any changed_;
  std::deque<std::function<void()>> queue_ GUARDED_BY(mutex_);
  unsigned running_ GUARDED_BY(mutex_) = 0;
  bool stopping_ GUARDED_BY(mutex_) = false;
  std::vector<std::thread> workers_;  // last: they start once the fields above exist
};

}  // namespace hfs
