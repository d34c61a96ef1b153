#include "vo/log.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>

namespace hfs::log {
namespace {

std::atomic<int>& threshold() {
  static std::atomic<int> value{static_cast<int>(Level::info)};
  return value;
}

const char* name(Level level) {
  switch (level) {
    case Level::debug: return "debug";
    case Level::info: return "info";
    case Level::warn: return "warn";
    case Level::error: return "error";
  }
  return "?";
}

}  // namespace

void set_threshold(Level level) { threshold().store(static_cast<int>(level)); }

bool enabled(Level level) { return static_cast<int>(level) >= threshold().load(std::memory_order_relaxed); }

void write(Level level, std::string_view component, std::string_view message) {
  if (!enabled(level)) return;
  auto now = std::chrono::system_clock::now();
  std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &utc);
  // One fprintf per line so lines from different threads do not interleave.
  std::string line = std::string(stamp) + " heasarcfs " + name(level) + " " + std::string(component) +
                     ": " + std::string(message) + "\n";
  std::fputs(line.c_str(), stderr);
}

}  // namespace hfs::log
