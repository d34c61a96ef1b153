// A gate that holds the calls reaching it until it opens, for proving that calls overlap
// without sleeping and hoping: a fake's call passes the gate, and the test waits until the
// calls it expects are inside at once (or, with open_at, the gate opens by itself when they
// are), then lets them go. Once open it stays open.
//
//   auto gate = std::make_shared<test::Gate>();
//   failing_vo->fail(test::on("resolve"), {.hold = gate, .pass = true});
//   ... start the callers ...
//   BOOST_TEST_REQUIRE(gate->wait_until_inside(1));  // one caller is in the resolver, held
//   gate->open();
//
// Waits give up after a minute (the test then fails on what it asserts) so that broken code
// under test ends the test instead of hanging it: a bound on failure, never one on success.
#pragma once

#include <chrono>
#include <condition_variable>

#include "common/cancel.h"
#include "common/thread_annotations.h"

namespace hfs::test {

class Gate {
 public:
  static constexpr std::chrono::seconds kGiveUp{60};

  // open_at > 0: the gate opens by itself when that many callers are inside at once.
  explicit Gate(int open_at = 0) : open_at_(open_at) {}
  Gate(const Gate&) = delete;
  Gate& operator=(const Gate&) = delete;

  // Called by the held call: waits inside until the gate is open. False when it gave up.
  bool pass() EXCLUDES(mutex_);
  // The same for a call that honours its CallContext, as a real request does: it also stops
  // waiting when the call is interrupted or its deadline passes (the gate stays as it is).
  enum class Passed { opened, gave_up, call_ended };
  Passed pass(const CallContext& call) EXCLUDES(mutex_);
  void open() EXCLUDES(mutex_);

  // Test side: waits until `count` callers are inside at once. False when it gave up.
  bool wait_until_inside(int count) EXCLUDES(mutex_);

  bool is_open() const EXCLUDES(mutex_);
  int inside() const EXCLUDES(mutex_);      // callers waiting now
  int max_inside() const EXCLUDES(mutex_);  // most callers inside at once
  int arrived() const EXCLUDES(mutex_);     // callers so far (held or not)

 private:
  const int open_at_;
  // Lock order: mutex_ only.
  mutable Mutex mutex_;
  std::condition_variable_any changed_;  // notified on every arrival, departure and open()
  bool open_ GUARDED_BY(mutex_) = false;
  int inside_ GUARDED_BY(mutex_) = 0;
  int max_inside_ GUARDED_BY(mutex_) = 0;
  int arrived_ GUARDED_BY(mutex_) = 0;
};

}  // namespace hfs::test
