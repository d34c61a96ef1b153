// Which remote answers are being served stale (their refresh failed and the last good answer
// was used): key -> the wall-clock second it was first served stale, until a refresh of that
// key succeeds. RemoteView marks and clears; user.heasarc.stale shows it. Bounded: beyond
// kMaxMarks keys the oldest mark goes (the attribute is then absent, never wrong).
#pragma once

#include <cstdint>
#include <ctime>
#include <map>
#include <optional>
#include <string>

#include "common/thread_annotations.h"

namespace hfs::fs {

class StaleMarks {
 public:
  void mark(const std::string& key) EXCLUDES(mutex_) {
    MutexLock lock(mutex_);
    if (marks_.count(key)) return;
    if (marks_.size() >= kMaxMarks) {
      auto oldest = marks_.begin();
      for (auto it = marks_.begin(); it != marks_.end(); ++it)
        if (it->second < oldest->second) oldest = it;
      marks_.erase(oldest);
    }
    marks_.emplace(key, static_cast<std::int64_t>(std::time(nullptr)));
  }
  void clear(const std::string& key) EXCLUDES(mutex_) {
    MutexLock lock(mutex_);
    marks_.erase(key);
  }
  std::optional<std::int64_t> since(const std::string& key) const EXCLUDES(mutex_) {
    MutexLock lock(mutex_);
    auto it = marks_.find(key);
    if (it == marks_.end()) return std::nullopt;
    return it->second;
  }

 private:
  static constexpr std::size_t kMaxMarks = 4096;
  mutable Mutex mutex_;  // a leaf
  std::map<std::string, std::int64_t> marks_ GUARDED_BY(mutex_);
};

}  // namespace hfs::fs
