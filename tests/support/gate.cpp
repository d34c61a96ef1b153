#include "tests/support/gate.h"

#include <algorithm>

namespace hfs::test {

bool Gate::pass() { return pass(CallContext{}) == Passed::opened; }

Gate::Passed Gate::pass(const CallContext& call) {
  const auto give_up = std::chrono::steady_clock::now() + kGiveUp;
  const auto until = std::min(give_up, call.deadline);
  // Wakes this wait when the call is interrupted (registered before the lock: a token that
  // has fired runs it at once, and then the loop below sees cancelled()).
  CancelRegistration wake(call.cancel, [this] {
    MutexLock lock(mutex_);
    changed_.notify_all();
  });
  MutexLock lock(mutex_);
  ++arrived_;
  if (open_) return Passed::opened;
  ++inside_;
  max_inside_ = std::max(max_inside_, inside_);
  if (open_at_ > 0 && inside_ >= open_at_) open_ = true;
  changed_.notify_all();
  // The predicate loop is written out so that the analysis sees open_ read under mutex_.
  Passed passed = Passed::opened;
  while (!open_) {
    if (call.cancelled()) {
      passed = Passed::call_ended;
      break;
    }
    if (changed_.wait_until(mutex_, until) == std::cv_status::timeout && !open_) {
      passed = call.expired() ? Passed::call_ended : Passed::gave_up;
      if (passed == Passed::gave_up && std::chrono::steady_clock::now() < give_up) {
        passed = Passed::opened;  // spurious: wait on
        continue;
      }
      break;
    }
  }
  --inside_;
  changed_.notify_all();
  return passed;
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
