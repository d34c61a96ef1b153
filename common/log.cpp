#include "common/log.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>

#include <syslog.h>

#include "common/text.h"

namespace hfs::log {
namespace {

std::atomic<int>& threshold() {
  static std::atomic<int> value{static_cast<int>(Level::info)};
  return value;
}

std::atomic<bool>& to_syslog() {
  static std::atomic<bool> value{false};
  return value;
}

int syslog_priority(Level level) {
  switch (level) {
    case Level::debug: return LOG_DEBUG;
    case Level::info: return LOG_INFO;
    case Level::warn: return LOG_WARNING;
    case Level::error: return LOG_ERR;
  }
  return LOG_INFO;
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

void use_syslog(const char* identity) {
  openlog(identity, LOG_PID, LOG_DAEMON);
  to_syslog().store(true);
}

bool enabled(Level level) { return static_cast<int>(level) >= threshold().load(std::memory_order_relaxed); }

void write(Level level, std::string_view component, std::string_view raw_message) {
  if (!enabled(level)) return;
  // Every line goes through here: URLs lose their user:password, and nothing a remote answer
  // put in a message (a file name, a header) can break the line or reach a terminal raw.
  const std::string message = text::loggable(raw_message);
  if (to_syslog().load(std::memory_order_relaxed)) {
    std::string line = std::string(name(level)) + " " + std::string(component) + ": " + std::string(message);
    syslog(syslog_priority(level), "%s", line.c_str());
    return;
  }
  auto now = std::chrono::system_clock::now();
  std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &utc);
  // One fprintf per line so lines from different threads do not interleave.
  std::string line = std::string(stamp) + " heasarcfs " + name(level) + " " + std::string(component) + ": " +
                     std::string(message) + "\n";
  std::fputs(line.c_str(), stderr);
}

}  // namespace hfs::log
