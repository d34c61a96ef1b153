// Collapses concurrent identical remote calls: while one thread (the leader) fetches key K,
// other threads (followers) asking for K wait for that result (or its exception) instead of
// sending the same request.
//
// Every waiter waits under its own CallContext (common/cancel.h):
// - A follower stops waiting when its own call is interrupted (hfs::Error EINTR) or its own
//   deadline passes (ETIMEDOUT), at once; the leader's request goes on for the others.
// - The leader runs `fetch` on its own thread under its own call. When that call ends first
//   (interrupted, or its deadline passed) and the fetch fails, the failure is the leader's
//   alone: the followers whose calls are still live do not see it; the first of them to wake
//   becomes the new leader and sends the request again under its own call (the others follow
//   it). So an interrupted `ls` never fails a `cat` that was waiting on the same listing, and
//   a follower that arrived later gets its whole deadline. (Chosen over a request that runs
//   until its last waiter leaves: the leader runs the fetch on its own thread, and could not
//   return at once on its interrupt while the request went on for others.)
// - A leader whose call has already ended does not start the fetch (throw_if_ended).
#pragma once

#include <condition_variable>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "common/cancel.h"
#include "common/error.h"
#include "common/thread_annotations.h"

namespace hfs::fs {

template <class Value>
class SingleFlight {
 public:
  Value run(const std::string& key, const CallContext& call, const std::function<Value()>& fetch) {
    for (;;) {
      std::shared_ptr<Flight> flight;
      bool leader = false;
      {
        MutexLock lock(mutex_);
        auto it = in_flight_.find(key);
        if (it == in_flight_.end()) {
          flight = std::make_shared<Flight>();
          in_flight_.emplace(key, flight);
          leader = true;
        } else {
          flight = it->second;
        }
      }
      if (leader) return lead(key, call, fetch, *flight);
      if (auto value = follow(key, call, flight)) return std::move(*value);
      // The leader's call ended before its fetch did: lead (or follow) a new flight.
    }
  }

  // How many keys are being fetched now (tests).
  std::size_t in_flight() const EXCLUDES(mutex_) {
    MutexLock lock(mutex_);
    return in_flight_.size();
  }

 private:
  struct Flight {
    // Lock order: Flight::mutex, then a CancelToken's (cancelled() is asked under it); the
    // token's callback takes this mutex, outside the token's own.
    Mutex mutex;
    std::condition_variable_any changed;
    bool done GUARDED_BY(mutex) = false;
    bool leader_ended GUARDED_BY(mutex) = false;  // failed because the leader's call ended
    std::optional<Value> value GUARDED_BY(mutex);
    std::exception_ptr error GUARDED_BY(mutex);
  };

  Value lead(const std::string& key, const CallContext& call, const std::function<Value()>& fetch, Flight& flight) {
    std::optional<Value> value;
    std::exception_ptr error;
    try {
      call.throw_if_ended("request for " + key);
      value.emplace(fetch());
    } catch (...) {
      error = std::current_exception();
    }
    {
      MutexLock lock(mutex_);
      in_flight_.erase(key);
    }
    {
      MutexLock lock(flight.mutex);
      flight.done = true;
      if (value) flight.value = *value;
      else {
        flight.error = error;
        flight.leader_ended = call.ended();
      }
      flight.changed.notify_all();
    }
    if (error) std::rethrow_exception(error);
    return std::move(*value);
  }

  // The leader's result; nullopt when the leader's call ended first (the caller retries).
  std::optional<Value> follow(const std::string& key, const CallContext& call, const std::shared_ptr<Flight>& flight) {
    CancelRegistration wake(call.cancel, [flight] {
      MutexLock lock(flight->mutex);
      flight->changed.notify_all();
    });
    MutexLock lock(flight->mutex);
    // Written out (not a predicate lambda) so the analysis sees the fields read under the lock.
    while (!flight->done && !call.cancelled()) {
      if (call.deadline == SteadyClock::time_point::max()) {
        flight->changed.wait(flight->mutex);
      } else if (flight->changed.wait_until(flight->mutex, call.deadline) == std::cv_status::timeout) {
        break;
      }
    }
    if (!flight->done) {
      if (call.cancelled()) throw Error(EINTR, "waiting for the request for " + key + ": interrupted");
      throw Error(ETIMEDOUT, "waiting for the request for " + key + ": the call's deadline (timeout=) has passed");
    }
    if (flight->value) return *flight->value;
    if (flight->leader_ended) return std::nullopt;
    std::rethrow_exception(flight->error);
  }

  mutable Mutex mutex_;  // a leaf; never held while fetching or waiting
  std::map<std::string, std::shared_ptr<Flight>> in_flight_ GUARDED_BY(mutex_);
};

}  // namespace hfs::fs
