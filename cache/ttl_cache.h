// A bounded in-memory map whose entries expire: listings and query results.
//
// LRU by entry count (Boost.MultiIndex: hashed by key + sequenced by recency). get() returns
// fresh entries only; get_stale() also returns expired ones (for stale-if-error). The time is
// Clock::now(), or the `now` given to the constructor (tests move it by hand). Thread-safe.
#pragma once

#include <boost/multi_index/hashed_index.hpp>
#include <boost/multi_index/member.hpp>
#include <boost/multi_index/sequenced_index.hpp>
#include <boost/multi_index_container.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>

#include "common/thread_annotations.h"

namespace hfs::cache {

template <class Value, class Clock = std::chrono::steady_clock>
class TtlCache {
 public:
  using Now = std::function<typename Clock::time_point()>;

  explicit TtlCache(std::size_t max_entries, Now now = {}) : max_entries_(max_entries), now_(std::move(now)) {}

  std::optional<Value> get(const std::string& key) { return lookup(key, false); }
  std::optional<Value> get_stale(const std::string& key) { return lookup(key, true); }

  void put(const std::string& key, Value value, typename Clock::duration ttl) {
    MutexLock lock(mutex_);
    auto& by_key = entries_.template get<1>();
    if (auto it = by_key.find(key); it != by_key.end()) by_key.erase(it);
    entries_.push_front(Entry{key, std::move(value), now() + ttl});
    while (entries_.size() > max_entries_) entries_.pop_back();
  }

  // Replaces the value of `key` with `value` if it is still `expected` (fresh or expired),
  // keeping its expiry: a new version of an answer that must not outlive the old one. False
  // (nothing changed) when the key is gone or holds another value.
  bool replace_if(const std::string& key, const Value& expected, Value value) {
    MutexLock lock(mutex_);
    auto& by_key = entries_.template get<1>();
    auto it = by_key.find(key);
    if (it == by_key.end() || !(it->value == expected)) return false;
    by_key.modify(it, [&](Entry& entry) { entry.value = std::move(value); });
    return true;
  }

  void erase(const std::string& key) {
    MutexLock lock(mutex_);
    entries_.template get<1>().erase(key);
  }

  std::size_t size() const {
    MutexLock lock(mutex_);
    return entries_.size();
  }

 private:
  struct Entry {
    std::string key;
    Value value;
    typename Clock::time_point expires;
  };
  using Index = boost::multi_index_container<
      Entry, boost::multi_index::indexed_by<
                 boost::multi_index::sequenced<>,  // front = most recently used
                 boost::multi_index::hashed_unique<boost::multi_index::member<Entry, std::string, &Entry::key>>>>;

  std::optional<Value> lookup(const std::string& key, bool allow_stale) {
    MutexLock lock(mutex_);
    auto& by_key = entries_.template get<1>();
    auto it = by_key.find(key);
    if (it == by_key.end()) return std::nullopt;
    if (!allow_stale && now() >= it->expires) return std::nullopt;
    entries_.relocate(entries_.begin(), entries_.template project<0>(it));
    return it->value;
  }

  typename Clock::time_point now() const { return now_ ? now_() : Clock::now(); }

  const std::size_t max_entries_;
  const Now now_;
  mutable Mutex mutex_;
  Index entries_ GUARDED_BY(mutex_);
};

}  // namespace hfs::cache
