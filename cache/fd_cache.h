// A bounded LRU of open file descriptors for the object store's files, so that a read costs
// one pread() and no open()/close().
//
// Entries are shared: evicting one from the cache only drops the cache's reference, and the
// descriptors close when the last user (a read in progress, a Pin handed to the kernel) lets
// go. So the bound is on what the cache keeps open, and a descriptor in use is never closed
// under its user.
//
// Thread-safe. Its mutex is a leaf (lock order: ObjectStore's mutex, then an object's files
// mutex, then this): nothing is called out to under it, and descriptors dropped from it are
// closed after it is released.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/thread_annotations.h"
#include "common/unique_fd.h"

namespace hfs::cache {

// The two files of one object version, open read-write.
struct ObjectFds {
  UniqueFd data;
  UniqueFd meta;
};

class FdCache {
 public:
  using Entry = std::shared_ptr<const ObjectFds>;

  explicit FdCache(std::size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}

  // The object's descriptors (most recently used now), or nullptr.
  Entry get(std::uint64_t object) EXCLUDES(mutex_) {
    MutexLock lock(mutex_);
    auto it = by_object_.find(object);
    if (it == by_object_.end()) return nullptr;
    lru_.splice(lru_.begin(), lru_, it->second);
    return it->second->second;
  }

  // Caches `fds` for the object unless another thread cached some first; returns the ones
  // cached (use those: both open the same files).
  Entry put(std::uint64_t object, Entry fds) EXCLUDES(mutex_) {
    std::vector<Entry> dropped;  // closed after the lock is released
    Entry result;
    {
      MutexLock lock(mutex_);
      auto it = by_object_.find(object);
      if (it != by_object_.end()) {
        lru_.splice(lru_.begin(), lru_, it->second);
        dropped.push_back(std::move(fds));
        return it->second->second;
      }
      lru_.emplace_front(object, fds);
      by_object_.emplace(object, lru_.begin());
      while (lru_.size() > capacity_) {
        by_object_.erase(lru_.back().first);
        dropped.push_back(std::move(lru_.back().second));
        lru_.pop_back();
      }
      result = std::move(fds);
    }
    return result;
  }

  // Forgets the object's descriptors (its files are being removed).
  void erase(std::uint64_t object) EXCLUDES(mutex_) {
    Entry dropped;
    MutexLock lock(mutex_);
    auto it = by_object_.find(object);
    if (it == by_object_.end()) return;
    dropped = std::move(it->second->second);
    lru_.erase(it->second);
    by_object_.erase(it);
    // `dropped` is declared before `lock`, so it closes after the mutex is released.
  }

  std::size_t size() const EXCLUDES(mutex_) {
    MutexLock lock(mutex_);
    return lru_.size();
  }

 private:
  using Lru = std::list<std::pair<std::uint64_t, Entry>>;  // front = most recently used
  const std::size_t capacity_;
  // A leaf: see the file comment. Guards both containers (by_object_ points into lru_).
  mutable Mutex mutex_;
  Lru lru_ GUARDED_BY(mutex_);
  std::unordered_map<std::uint64_t, Lru::iterator> by_object_ GUARDED_BY(mutex_);
};

}  // namespace hfs::cache
