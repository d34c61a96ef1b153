#include "tests/support/manual_clock.h"

namespace hfs::test {

SteadyClock::time_point ManualClock::now() {
  MutexLock lock(mutex_);
  return steady_start_ + elapsed_;
}

std::chrono::system_clock::time_point ManualClock::wall_now() {
  MutexLock lock(mutex_);
  return std::chrono::system_clock::time_point(std::chrono::seconds(kWallStart)) + elapsed_;
}

void ManualClock::sleep_for(std::chrono::milliseconds duration) {
  MutexLock lock(mutex_);
  waits_.push_back(duration);
  elapsed_ += duration;
}

void ManualClock::advance(std::chrono::milliseconds duration) {
  MutexLock lock(mutex_);
  elapsed_ += duration;
}

std::chrono::milliseconds ManualClock::elapsed() const {
  MutexLock lock(mutex_);
  return elapsed_;
}

std::vector<std::chrono::milliseconds> ManualClock::waits() const {
  MutexLock lock(mutex_);
  return waits_;
}

}  // namespace hfs::test
