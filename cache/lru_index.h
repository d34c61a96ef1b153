// The in-memory index of the disk block cache: which blocks exist, their on-disk size, and
// their recency. Boost.MultiIndex: sequenced (front = most recently used) + hashed by BlockId.
//
// Not thread-safe: DiskBlockCache guards it with its mutex.
// INVARIANT: bytes() == the sum of disk_bytes over all entries.
#pragma once

#include <boost/multi_index/hashed_index.hpp>
#include <boost/multi_index/member.hpp>
#include <boost/multi_index/sequenced_index.hpp>
#include <boost/multi_index_container.hpp>
#include <chrono>
#include <cstdint>
#include <optional>

#include "cache/block_file.h"

namespace hfs::cache {

struct BlockIdHash {
  std::size_t operator()(const BlockId& id) const noexcept {
    // object_hash is already well mixed; fold the index in with a multiplicative step.
    return static_cast<std::size_t>(id.object_hash ^ (id.index * 0x9e3779b97f4a7c15ull));
  }
};

struct LruEntry {
  BlockId id;
  std::uint64_t disk_bytes = 0;
  // Distinguishes this admission of the block from earlier and later ones, so that a reader
  // who found a bad file only removes the entry it looked up, not one a put() made since.
  std::uint64_t generation = 0;
  // When the file's mtime was last brought up to date (the recency that survives a remount).
  // Not part of any key, so it may change in place.
  mutable std::chrono::steady_clock::time_point mtime_touched{};
};

class LruIndex {
  using Container = boost::multi_index_container<
      LruEntry, boost::multi_index::indexed_by<
                    boost::multi_index::sequenced<>,  // front = most recently used
                    boost::multi_index::hashed_unique<boost::multi_index::member<LruEntry, BlockId, &LruEntry::id>,
                                                      BlockIdHash>>>;
  using ById = Container::nth_index<1>::type;
  ById& by_id() { return entries_.get<1>(); }
  const ById& by_id() const { return entries_.get<1>(); }

 public:
  bool contains(const BlockId& id) const { return by_id().find(id) != by_id().end(); }

  // Marks the block most recently used; nullptr when it is not indexed.
  const LruEntry* promote(const BlockId& id) {
    auto it = by_id().find(id);
    if (it == by_id().end()) return nullptr;
    entries_.relocate(entries_.begin(), entries_.project<0>(it));
    return &*it;
  }

  // Adds the block as most recently used, replacing an entry with the same id.
  void insert_most_recent(const LruEntry& entry) {
    erase(entry.id);
    entries_.push_front(entry);
    bytes_ += entry.disk_bytes;
  }

  // Adds the block as least recently used (the index rebuild goes from newest to oldest).
  void insert_least_recent(const LruEntry& entry) {
    erase(entry.id);
    entries_.push_back(entry);
    bytes_ += entry.disk_bytes;
  }

  std::optional<LruEntry> erase(const BlockId& id) {
    auto it = by_id().find(id);
    if (it == by_id().end()) return std::nullopt;
    LruEntry removed = *it;
    bytes_ -= removed.disk_bytes;
    by_id().erase(it);
    return removed;
  }

  // Erases the entry only if it is still the admission `generation`.
  bool erase_generation(const BlockId& id, std::uint64_t generation) {
    auto it = by_id().find(id);
    if (it == by_id().end() || it->generation != generation) return false;
    bytes_ -= it->disk_bytes;
    by_id().erase(it);
    return true;
  }

  std::optional<LruEntry> pop_least_recent() {
    if (entries_.empty()) return std::nullopt;
    LruEntry removed = entries_.back();
    bytes_ -= removed.disk_bytes;
    entries_.pop_back();
    return removed;
  }

  std::uint64_t bytes() const { return bytes_; }
  std::size_t size() const { return entries_.size(); }

 private:
  Container entries_;
  std::uint64_t bytes_ = 0;
};

}  // namespace hfs::cache
