#include "common/task_pool.h"

#include <exception>
#include <string>
#include <system_error>

#include "common/log.h"

namespace hfs {

TaskPool::TaskPool(unsigned threads, std::size_t max_queued) : max_queued_(max_queued) {
  for (unsigned i = 0; i < threads; ++i) {
    try {
      workers_.emplace_back([this] { work(); });
    } catch (const std::system_error& error) {
      // Fewer workers (a thread limit): background work is slower, nothing is lost.
      log::warn("tasks", std::string("started ") + std::to_string(i) + " of " + std::to_string(threads) +
                             " background threads: " + error.what());
      break;
    }
  }
}

TaskPool::~TaskPool() {
  {
    MutexLock lock(mutex_);
    stopping_ = true;
    queue_.clear();
  }
  changed_.notify_all();
  for (auto& worker : workers_) worker.join();
}

bool TaskPool::post(std::function<void()> job) {
  {
    MutexLock lock(mutex_);
    if (stopping_ || workers_.empty() || queue_.size() >= max_queued_) return false;
    queue_.push_back(std::move(job));
  }
  changed_.notify_one();
  return true;
}

void TaskPool::wait_idle() {
  MutexLock lock(mutex_);
  while (!queue_.empty() || running_ > 0) changed_.wait(mutex_);
}

void TaskPool::work() {
  for (;;) {
    std::function<void()> job;
    {
      MutexLock lock(mutex_);
      while (queue_.empty() && !stopping_) changed_.wait(mutex_);
      if (stopping_) return;
      job = std::move(queue_.front());
      queue_.pop_front();
      ++running_;
    }
    try {
      job();
    } catch (const std::exception& error) {
      log::warn("tasks", std::string("background job failed: ") + error.what());
    } catch (...) {
      log::warn("tasks", "background job failed");
    }
    {
      MutexLock lock(mutex_);
      --running_;
    }
    changed_.notify_all();
  }
}

}  // namespace hfs
