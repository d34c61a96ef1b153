#include "tests/support/gate.h"

#include <algorithm>

namespace hfs::test {

bool Gate::pass() {
  const auto give_up = std::chrono::steady_clock::now() + kGiveUp;
  MutexLock lock(mutex_);
  ++arrived_;
  if (open_) return true;
  ++inside_;
  max_inside_ = std::max(max_inside_, inside_);
  if (open_at_ > 0 && inside_ >= open_at_) open_ = true;
  changed_.notify_all();
  // The predicate loop is written out so that the analysis sees open_ read under mutex_.
  bool opened = true;
  while (!open_) {
    if (changed_.wait_until(mutex_, give_up) == std::cv_status::timeout && !open_) {
      opened = false;
      break;
    }
  }
  --inside_;
  changed_.notify_all();
  return opened;
}

void Gate::open() {
  MutexLock lock(mutex_);
  open_ = true;
  changed_.notify_all();
}

bool Gate::wait_until_inside(int count) {
  const auto give_up = std::chrono::steady_clock::now() + kGiveUp;
  MutexLock lock(mutex_);
  while (inside_ < count && max_inside_ < count) {
    // max_inside_: a gate that opened by itself at `count` has let them go already.
    if (changed_.wait_until(mutex_, give_up) == std::cv_status::timeout) return inside_ >= count;
  }
  return true;
}

bool Gate::is_open() const {
  MutexLock lock(mutex_);
  return open_;
}

int Gate::inside() const {
  MutexLock lock(mutex_);
  return inside_;
}

int Gate::max_inside() const {
  MutexLock lock(mutex_);
  return max_inside_;
}

int Gate::arrived() const {
  MutexLock lock(mutex_);
  return arrived_;
}

}  // namespace hfs::test
