// An ObjectStore for fetcher tests: each object's bytes live in a memfd (so pins hand out a
// real descriptor), presence and CRCs in memory, a limit counted in blocks with LRU eviction.
// It keeps the contract of cache/object_store.h that the fetcher relies on (reserve before
// write, commit with CRC, verify on first read, pins block eviction) and adds test hooks:
// corrupt a stored byte, forget which blocks were verified (a "remount"), refuse reservations.
#pragma once

#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "cache/object_store.h"
#include "common/thread_annotations.h"

namespace hfs::test {

class MemoryObjectStore : public cache::ObjectStore {
 public:
  explicit MemoryObjectStore(std::uint64_t limit_blocks = 1u << 20);
  ~MemoryObjectStore() override;

  std::shared_ptr<cache::CachedObject> open(const cache::ObjectKey& key, std::uint64_t size) override;
  cache::StoreStats stats() const override;
  std::uint64_t cached_bytes(const cache::ObjectKey& key, std::uint64_t size) const override;

  // Test hooks.
  void corrupt_byte(const std::string& url, std::uint64_t offset);
  void forget_verification();  // as after a remount: every block is checked again on first use
  void refuse_reservations(bool refuse);
  std::uint64_t present_blocks() const;
  // The will_need hints given so far, as (offset, length), every object together.
  std::vector<std::pair<std::uint64_t, std::uint64_t>> will_need_hints() const;

  struct Object;

 private:
  friend struct Object;
  bool reserve_locked(Object& object, std::uint64_t index) REQUIRES(mutex_);

  const std::uint64_t limit_blocks_;
  // LOCK ORDER: a leaf; every CachedObject of this store locks it and nothing else.
  mutable Mutex mutex_;
  std::map<std::string, std::shared_ptr<Object>> objects_ GUARDED_BY(mutex_);
  std::list<std::pair<Object*, std::uint64_t>> lru_ GUARDED_BY(mutex_);  // front = most recent
  std::uint64_t used_blocks_ GUARDED_BY(mutex_) = 0;
  bool refuse_ GUARDED_BY(mutex_) = false;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> hints_ GUARDED_BY(mutex_);
  cache::StoreStats stats_ GUARDED_BY(mutex_);
};

}  // namespace hfs::test
