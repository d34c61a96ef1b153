#include "cache/direct_read.h"

#include <condition_variable>

#include "cache/fetch_retry.h"
#include "cache/part_download.h"
#include "common/log.h"
#include "vo/range_answer.h"

namespace hfs::cache {
namespace {

// One attempt's outcome, filled by the engine thread.
struct Attempt {
  Mutex mutex;
  std::condition_variable_any changed;
  bool done GUARDED_BY(mutex) = false;
  std::exception_ptr error GUARDED_BY(mutex);
  std::string bytes;                // engine thread only until done
  std::exception_ptr abort_reason;  // engine thread only
};

}  // namespace

std::string read_range_direct(vo::TransferEngine& engine, const vo::ObjectInfo& info, std::uint64_t offset,
                              std::uint64_t length, const CallContext& call, const FetcherConfig& config) {
  const std::string what = info.url + " bytes " + std::to_string(offset) + "+" + std::to_string(length);
  Backoff backoff(config.initial_backoff, config.max_backoff);
  for (unsigned attempt_number = 1;; ++attempt_number) {
    auto attempt = std::make_shared<Attempt>();
    attempt->bytes.reserve(length);
    vo::TransferOptions options;
    options.deadline = std::min(call.deadline, SteadyClock::now() + config.part_timeout);
    options.cancel = call.cancel;
    vo::TransferCallbacks callbacks;
    callbacks.on_headers = [attempt, &info, offset, length](const vo::ResponseHead& head) {
      try {
        vo::check_range_head(info, offset, length, head);
        return true;
      } catch (...) {
        attempt->abort_reason = std::current_exception();
        return false;
      }
    };
    callbacks.on_body = [attempt, length](std::string_view bytes) {
      if (attempt->bytes.size() + bytes.size() > length) {
        attempt->abort_reason = std::make_exception_ptr(Error(EIO, "more bytes than asked"));
        return false;
      }
      attempt->bytes.append(bytes);
      return true;
    };
    callbacks.on_done = [attempt, length, what](std::exception_ptr error) {
      if (attempt->abort_reason) error = attempt->abort_reason;
      if (!error && attempt->bytes.size() != length)
        error = std::make_exception_ptr(
            Error(EIO, what + ": answer ended after " + std::to_string(attempt->bytes.size()) + " bytes"));
      MutexLock lock(attempt->mutex);
      attempt->done = true;
      attempt->error = error;
      attempt->changed.notify_all();
    };
    auto id = engine.submit(vo::range_request(info, offset, length), options, std::move(callbacks));
    std::exception_ptr error;
    {
      CancelRegistration wake(call.cancel, [attempt] {
        MutexLock lock(attempt->mutex);
        attempt->changed.notify_all();
      });
      MutexLock lock(attempt->mutex);
      while (!attempt->done && !call.cancelled() && !call.expired()) {
        if (call.deadline == SteadyClock::time_point::max()) attempt->changed.wait(attempt->mutex);
        else attempt->changed.wait_until(attempt->mutex, call.deadline);
      }
      if (!attempt->done) {
        // The engine ends it too (same token and deadline); this read stops waiting now.
        engine.cancel(id);
        throw Error(call.cancelled() ? ECANCELED : ETIMEDOUT,
                    what + (call.cancelled() ? ": interrupted" : ": deadline passed"));
      }
      if (!attempt->error) return std::move(attempt->bytes);
      error = attempt->error;
    }
    const FailureVerdict verdict = judge_failure(error);
    if (!verdict.retry || attempt_number >= config.max_attempts) std::rethrow_exception(error);
    const std::chrono::milliseconds wait = backoff.next(verdict.retry_after);
    log::warn("fetch", "retry " + std::to_string(attempt_number) + " of " + what + " in " +
                           std::to_string(wait.count()) + " ms");
    if (SteadyClock::now() + wait >= call.deadline) std::rethrow_exception(error);
    Mutex sleep_mutex;
    std::condition_variable_any sleeper;
    CancelRegistration wake(call.cancel, [&] {
      MutexLock lock(sleep_mutex);
      sleeper.notify_all();
    });
    MutexLock lock(sleep_mutex);
    const auto resume = SteadyClock::now() + wait;
    while (SteadyClock::now() < resume && !call.cancelled()) sleeper.wait_until(sleep_mutex, resume);
    if (call.cancelled()) throw Error(ECANCELED, what + ": interrupted");
  }
}

}  // namespace hfs::cache
