// A RetryClock (vo/http_transport.h) that moves only when told to: a wait (sleep_for) returns
// at once, recorded, and moves the clock on by its length; nothing else moves it, so the time
// a real request takes does not count. With it a test asserts the exact backoff and Retry-After
// waits and which attempts fit into a deadline, on any machine, without waiting for real.
//
//   auto clock = std::make_shared<test::ManualClock>();
//   policy.clock = clock;
//   vo::perform_with_retries(transport, request, policy, "test");
//   BOOST_TEST((clock->waits() == std::vector<std::chrono::milliseconds>{1000ms}));
#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

#include "common/thread_annotations.h"
#include "vo/http_transport.h"

namespace hfs::test {

class ManualClock final : public vo::RetryClock {
 public:
  // What wall_now() starts at: Fri, 06 Nov 2020 20:20:00 GMT.
  static constexpr std::int64_t kWallStart = 1604694000;

  // now() starts at the real steady time of construction, so deadlines built from it are
  // comparable with real ones.
  ManualClock() : steady_start_(SteadyClock::now()) {}

  SteadyClock::time_point now() override EXCLUDES(mutex_);
  std::chrono::system_clock::time_point wall_now() override EXCLUDES(mutex_);
  void sleep_for(std::chrono::milliseconds duration) override EXCLUDES(mutex_);

  void advance(std::chrono::milliseconds duration) EXCLUDES(mutex_);
  std::chrono::milliseconds elapsed() const EXCLUDES(mutex_);
  std::vector<std::chrono::milliseconds> waits() const EXCLUDES(mutex_);  // every sleep_for, in order

 private:
  const SteadyClock::time_point steady_start_;
  mutable Mutex mutex_;
  std::chrono::milliseconds elapsed_ GUARDED_BY(mutex_){0};
  std::vector<std::chrono::milliseconds> waits_ GUARDED_BY(mutex_);
};

}  // namespace hfs::test
