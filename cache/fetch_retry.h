// How the fetcher's readers treat a failed download: retry or not, and how long to wait first.
// The rules are perform_with_retries' (vo/http_transport.h): 5xx/429 (after Retry-After),
// resets, truncated bodies and stalls are retried; a spent deadline, ESTALE, ENOENT are not.
#pragma once

#include <chrono>
#include <exception>
#include <optional>
#include <random>

namespace hfs::cache {

struct FailureVerdict {
  bool retry = false;
  bool uncacheable = false;  // the cache could not take the bytes: read around it
  std::optional<std::chrono::milliseconds> retry_after;
};

FailureVerdict judge_failure(const std::exception_ptr& error);

// Jittered exponential backoff: each wait is drawn from [b/2, b], b doubling from `initial` up
// to `max`; a server's Retry-After replaces the draw (capped at `max`).
class Backoff {
 public:
  Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max);
  std::chrono::milliseconds next(std::optional<std::chrono::milliseconds> retry_after);

 private:
  std::chrono::milliseconds current_;
  std::chrono::milliseconds max_;
  std::minstd_rand jitter_;
};

}  // namespace hfs::cache
