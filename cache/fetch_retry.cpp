#include "cache/fetch_retry.h"

#include <algorithm>

#include "cache/part_download.h"
#include "vo/range_answer.h"

namespace hfs::cache {

FailureVerdict judge_failure(const std::exception_ptr& error) {
  FailureVerdict verdict;
  try {
    std::rethrow_exception(error);
  } catch (const UncacheableError&) {
    verdict.uncacheable = true;
  } catch (const vo::RetryableStatusError& e) {
    verdict.retry = true;
    verdict.retry_after = e.retry_after();
  } catch (const vo::TransientError&) {
    verdict.retry = true;
  } catch (const Error& e) {
    // ECANCELED: another reader's seek or a shutdown cancelled a part this read then joined.
    verdict.retry = vo::is_retryable_errno(e.errnum()) || e.errnum() == ECANCELED;
  } catch (...) {
  }
  return verdict;
}

Backoff::Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max)
    : current_(std::max(std::chrono::milliseconds(1), initial)),
      max_(std::max(max, current_)),
      jitter_(std::random_device{}()) {}

std::chrono::milliseconds Backoff::next(std::optional<std::chrono::milliseconds> retry_after) {
  std::uniform_int_distribution<long long> spread(current_.count() / 2, current_.count());
  std::chrono::milliseconds wait(spread(jitter_));
  if (retry_after) wait = std::min(*retry_after, max_);
  current_ = std::min(current_ * 2, max_);
  return wait;
}

}  // namespace hfs::cache
