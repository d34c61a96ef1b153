// The object store's in-memory index of blocks: one slot per block that is present, reserved
// (being written) or dropped while still pinned, in least-recently-used order over the blocks
// of every object. Boost.MultiIndex: sequenced (front = most recently used) + hashed by
// (object, block index).
//
// Not thread-safe: the object store guards it, and every slot's fields, with its mutex.
#pragma once

#include <boost/multi_index/hashed_index.hpp>
#include <boost/multi_index/member.hpp>
#include <boost/multi_index/sequenced_index.hpp>
#include <boost/multi_index_container.hpp>
#include <cstdint>

namespace hfs::cache {

struct BlockKey {
  std::uint64_t object = 0;  // the object's hash (its file name)
  std::uint64_t index = 0;
  bool operator==(const BlockKey&) const = default;
};

struct BlockKeyHash {
  std::size_t operator()(const BlockKey& key) const noexcept {
    // The object hash is already well mixed; fold the index in with a multiplicative step.
    return static_cast<std::size_t>(key.object ^ (key.index * 0x9e3779b97f4a7c15ull));
  }
};

enum class BlockState : std::uint8_t {
  reserved,  // space accounted, bytes being written; becomes present or goes away
  present,   // committed: record written, bytes in the data file
  dropped,   // evicted or failed its check while readers still held pins; goes at the last unpin
};

// The fields after `key` are not part of any index, so they change in place (mutable).
struct BlockSlot {
  BlockKey key;
  mutable BlockState state = BlockState::reserved;
  mutable bool verified = false;  // CRC checked against the bytes in this process
  mutable std::uint32_t crc = 0;
  mutable std::uint32_t pins = 0;  // readers using the bytes now: not evictable
  mutable std::uint64_t cost = 0;  // bytes accounted against the limit (0 once dropped)

  bool evictable() const { return state == BlockState::present && pins == 0; }
};

class BlockLru {
  using Container = boost::multi_index_container<
      BlockSlot, boost::multi_index::indexed_by<
                     boost::multi_index::sequenced<>,
                     boost::multi_index::hashed_unique<boost::multi_index::member<BlockSlot, BlockKey, &BlockSlot::key>,
                                                       BlockKeyHash>>>;

 public:
  const BlockSlot* find(const BlockKey& key) const {
    auto it = slots_.get<1>().find(key);
    return it == slots_.get<1>().end() ? nullptr : &*it;
  }

  // Adds a slot (its key must not be indexed yet) as the most / least recently used. Slot
  // pointers stay valid until the slot is erased.
  const BlockSlot& insert_most_recent(const BlockSlot& slot) { return *slots_.push_front(slot).first; }
  const BlockSlot& insert_least_recent(const BlockSlot& slot) { return *slots_.push_back(slot).first; }

  void promote(const BlockSlot& slot) { slots_.relocate(slots_.begin(), slots_.iterator_to(slot)); }
  void erase(const BlockSlot& slot) { slots_.erase(slots_.iterator_to(slot)); }

  // The least recently used slot that may be evicted (present, unpinned), or nullptr. Pinned
  // and reserved slots were promoted when they were taken, so few are passed over.
  const BlockSlot* least_recent_evictable() const {
    for (auto it = slots_.rbegin(); it != slots_.rend(); ++it)
      if (it->evictable()) return &*it;
    return nullptr;
  }

  std::size_t size() const { return slots_.size(); }

 private:
  Container slots_;
};

}  // namespace hfs::cache
