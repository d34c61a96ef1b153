// Collapses concurrent identical remote calls: while one thread fetches key K, other threads
// asking for K wait for that result (or its exception) instead of sending the same request.
#pragma once

#include <functional>
#include <future>
#include <map>
#include <string>

#include "common/thread_annotations.h"

namespace hfs::fs {

template <class Value>
class SingleFlight {
 public:
  Value run(const std::string& key, const std::function<Value()>& fetch) {
    std::promise<Value> promise;
    std::shared_future<Value> future;
    bool leader = false;
    {
      MutexLock lock(mutex_);
      auto it = in_flight_.find(key);
      if (it == in_flight_.end()) {
        future = promise.get_future().share();
        in_flight_.emplace(key, future);
        leader = true;
      } else {
        future = it->second;
      }
    }
    if (leader) {
      try {
        promise.set_value(fetch());
      } catch (...) {
        promise.set_exception(std::current_exception());
      }
      MutexLock lock(mutex_);
      in_flight_.erase(key);
    }
    return future.get();
  }

 private:
  Mutex mutex_;
  std::map<std::string, std::shared_future<Value>> in_flight_ GUARDED_BY(mutex_);
};

}  // namespace hfs::fs
