// Deadlines and cancellation of one filesystem call (or one background job), shared by every
// request the call makes: a call that chains or fans out requests spends one deadline, and an
// interrupted call stops all of them.
//
// CancelToken: cancel() sets a flag once and runs the callbacks registered so far (and any
// registered later runs at once). Waiters use it to wake: a condition-variable wait registers a
// callback that notifies, the transfer engine one that wakes its loop. Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "common/error.h"
#include "common/thread_annotations.h"

namespace hfs {

using SteadyClock = std::chrono::steady_clock;

class CancelToken {
 public:
  using Callback = std::function<void()>;
  using Registration = std::uint64_t;

  bool cancelled() const {
    MutexLock lock(mutex_);
    return cancelled_;
  }
  // Idempotent. Callbacks run on the cancelling thread, outside the token's lock.
  void cancel() EXCLUDES(mutex_) {
    std::map<Registration, Callback> callbacks;
    {
      MutexLock lock(mutex_);
      if (cancelled_) return;
      cancelled_ = true;
      callbacks.swap(callbacks_);
    }
    for (auto& [id, callback] : callbacks) callback();
  }
  // Runs `callback` on cancel (at once if already cancelled; then returns 0). The callback
  // must not call back into this token.
  Registration on_cancel(Callback callback) EXCLUDES(mutex_) {
    {
      MutexLock lock(mutex_);
      if (!cancelled_) {
        callbacks_.emplace(++next_, std::move(callback));
        return next_;
      }
    }
    callback();
    return 0;
  }
  void forget(Registration id) EXCLUDES(mutex_) {
    MutexLock lock(mutex_);
    callbacks_.erase(id);
  }

 private:
  mutable Mutex mutex_;
  bool cancelled_ GUARDED_BY(mutex_) = false;
  std::map<Registration, Callback> callbacks_ GUARDED_BY(mutex_);
  Registration next_ GUARDED_BY(mutex_) = 0;
};

// Registers a callback for the lifetime of this object.
class CancelRegistration {
 public:
  CancelRegistration(std::shared_ptr<CancelToken> token, CancelToken::Callback callback)
      : token_(std::move(token)), id_(token_ ? token_->on_cancel(std::move(callback)) : 0) {}
  ~CancelRegistration() {
    if (token_ && id_) token_->forget(id_);
  }
  CancelRegistration(const CancelRegistration&) = delete;
  CancelRegistration& operator=(const CancelRegistration&) = delete;

 private:
  std::shared_ptr<CancelToken> token_;
  CancelToken::Registration id_;
};

// What one call carries down: when it must be done, and the token that says it was
// interrupted. A default CallContext never expires and is never cancelled.
struct CallContext {
  SteadyClock::time_point deadline = SteadyClock::time_point::max();
  std::shared_ptr<CancelToken> cancel;

  static CallContext with_timeout(SteadyClock::duration timeout) {
    CallContext context;
    context.deadline = SteadyClock::now() + timeout;
    context.cancel = std::make_shared<CancelToken>();
    return context;
  }
  bool cancelled() const { return cancel && cancel->cancelled(); }
  bool expired(SteadyClock::time_point now = SteadyClock::now()) const { return now >= deadline; }
  bool ended() const { return cancelled() || expired(); }
  // Before a call starts another step (a request, a wait): EINTR when it was interrupted,
  // ETIMEDOUT when its deadline has passed, so no step starts on time the call no longer has.
  void throw_if_ended(const std::string& what) const {
    if (cancelled()) throw Error(EINTR, what + ": interrupted");
    if (expired()) throw Error(ETIMEDOUT, what + ": the call's deadline (timeout=) has passed");
  }
};

// Runs one filesystem call's body under `call`; an error that its interrupt caused (the
// request or wait it cut short ends with ECANCELED or ETIMEDOUT) is rethrown as EINTR with
// the same message, so an interrupted call answers EINTR whichever layer noticed.
template <class Body>
auto within_call(const CallContext& call, Body&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const Error& error) {
    const int errnum = error.errnum();
    if (errnum != EINTR && (errnum == ECANCELED || errnum == ETIMEDOUT) && call.cancelled())
      throw Error(EINTR, error.what());
    throw;
  }
}

}  // namespace hfs
