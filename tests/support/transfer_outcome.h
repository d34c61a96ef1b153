// What a transfer engine told one transfer's callbacks, for tests to wait on and inspect:
//
//   auto outcome = std::make_shared<test::Outcome>();
//   engine->submit(request, {}, test::record(outcome));
//   BOOST_REQUIRE(outcome->wait_done());
//   BOOST_TEST(outcome->errnum() == ECANCELED);
#pragma once

#include <chrono>
#include <condition_variable>
#include <exception>
#include <memory>
#include <string>
#include <string_view>

#include "common/thread_annotations.h"
#include "vo/transfer_engine.h"

namespace hfs::test {

// How long a latch waits before it reports failure: only turns a hang into a test failure;
// nothing is timed against it.
inline constexpr std::chrono::seconds kLatchLimit{60};

// Counts transfers that ended, for waiting until N have.
class DoneCounter {
 public:
  void add() EXCLUDES(mutex_);
  bool wait_for(int count) EXCLUDES(mutex_);  // false after kLatchLimit

 private:
  Mutex mutex_;  // a leaf
  std::condition_variable_any changed_;
  int count_ GUARDED_BY(mutex_) = 0;
};

class Outcome {
 public:
  explicit Outcome(std::shared_ptr<DoneCounter> counter = nullptr) : counter_(std::move(counter)) {}

  // What the callbacks record (record() wires them up).
  void on_headers(const vo::ResponseHead& head) EXCLUDES(mutex_);
  void on_body(std::string_view bytes) EXCLUDES(mutex_);
  void on_done(std::exception_ptr error) EXCLUDES(mutex_);

  bool wait_done() EXCLUDES(mutex_);  // false after kLatchLimit
  int dones() EXCLUDES(mutex_);
  int heads() EXCLUDES(mutex_);
  int body_calls() EXCLUDES(mutex_);
  bool body_before_head() EXCLUDES(mutex_);
  vo::ResponseHead head() EXCLUDES(mutex_);
  std::string body() EXCLUDES(mutex_);
  // 0 for a whole answer, else the hfs::Error's errno (-1: something else was thrown).
  int errnum() EXCLUDES(mutex_);
  bool transient() EXCLUDES(mutex_);  // the error is a vo::TransientError

 private:
  std::shared_ptr<DoneCounter> counter_;
  Mutex mutex_;  // a leaf (the counter is told after it is released)
  std::condition_variable_any changed_;
  int heads_ GUARDED_BY(mutex_) = 0;
  int body_calls_ GUARDED_BY(mutex_) = 0;
  int dones_ GUARDED_BY(mutex_) = 0;
  bool body_before_head_ GUARDED_BY(mutex_) = false;
  vo::ResponseHead head_ GUARDED_BY(mutex_);
  std::string body_ GUARDED_BY(mutex_);
  std::exception_ptr error_ GUARDED_BY(mutex_);
};
using OutcomePtr = std::shared_ptr<Outcome>;

// Callbacks that record into `outcome` and accept everything.
vo::TransferCallbacks record(const OutcomePtr& outcome);

}  // namespace hfs::test
