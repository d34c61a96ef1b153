#include "tests/support/memory_object_store.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <stdexcept>
#include <vector>

namespace hfs::test {

using cache::kBlockSize;

enum class BlockState { absent, reserved, present };

struct MemoryObjectStore::Object : cache::CachedObject {
  Object(MemoryObjectStore& owner, cache::ObjectKey object_key, std::uint64_t object_size)
      : store(owner),
        key_(std::move(object_key)),
        size_(object_size),
        fd(memfd_create("object", MFD_CLOEXEC)),
        states(block_count(), BlockState::absent),
        crcs(block_count(), 0),
        verified_blocks(block_count(), false),
        pins(block_count(), 0) {
    if (fd < 0 || ftruncate(fd, static_cast<off_t>(size_)) != 0) throw std::runtime_error("memfd");
  }
  ~Object() override { ::close(fd); }

  const cache::ObjectKey& key() const override { return key_; }
  std::uint64_t size() const override { return size_; }

  cache::ChecksumKind checksum_kind() const override { return cache::kCurrentChecksum; }
  bool has_block(std::uint64_t index) const override {
    MutexLock lock(store.mutex_);
    return index < states.size() && states[index] == BlockState::present;
  }
  bool reserve(std::uint64_t index) override {
    MutexLock lock(store.mutex_);
    return store.reserve_locked(*this, index);
  }
  int write(std::uint64_t offset, std::string_view bytes) override {
    return ::pwrite(fd, bytes.data(), bytes.size(), static_cast<off_t>(offset)) == static_cast<ssize_t>(bytes.size())
               ? 0
               : EIO;
  }
  void commit(std::uint64_t index, std::uint32_t crc) override {
    MutexLock lock(store.mutex_);
    states[index] = BlockState::present;
    crcs[index] = crc;
    verified_blocks[index] = true;
    store.lru_.emplace_front(this, index);
  }
  void abandon(std::uint64_t index) override {
    MutexLock lock(store.mutex_);
    if (states[index] != BlockState::reserved) return;
    states[index] = BlockState::absent;
    --store.used_blocks_;
  }
  bool read(std::uint64_t offset, std::uint64_t length, char* out) override {
    if (!check(offset, length)) return false;
    return ::pread(fd, out, length, static_cast<off_t>(offset)) == static_cast<ssize_t>(length);
  }
  struct MemoryPin : cache::Pin {
    MemoryPin(Object& o, std::uint64_t f, std::uint64_t e) : object(o), first(f), end(e) {}
    ~MemoryPin() override {
      MutexLock lock(object.store.mutex_);
      for (auto b = first; b < end; ++b) --object.pins[b];
    }
    int fd() const override { return object.fd; }
    Object& object;
    std::uint64_t first, end;
  };
  std::unique_ptr<cache::Pin> pin(std::uint64_t offset, std::uint64_t length) override {
    if (!check(offset, length)) return nullptr;
    MutexLock lock(store.mutex_);
    const auto first = offset / kBlockSize, end = (offset + length - 1) / kBlockSize + 1;
    for (auto b = first; b < end; ++b)
      if (states[b] != BlockState::present) return nullptr;
    for (auto b = first; b < end; ++b) ++pins[b];
    return std::make_unique<MemoryPin>(*this, first, end);
  }
  bool verified(std::uint64_t offset, std::uint64_t length) const override {
    MutexLock lock(store.mutex_);
    for (auto b = offset / kBlockSize; b <= (offset + length - 1) / kBlockSize; ++b)
      if (states[b] != BlockState::present || !verified_blocks[b]) return false;
    return true;
  }

  // Recorded for the tests (a memfd has no disk to read ahead from).
  void will_need(std::uint64_t offset, std::uint64_t length) override {
    MutexLock lock(store.mutex_);
    store.hints_.emplace_back(offset, length);
  }

  // Every block under the range present, verifying those not yet verified.
  bool check(std::uint64_t offset, std::uint64_t length) {
    if (length == 0 || offset + length > size_) return false;
    for (auto b = offset / kBlockSize; b <= (offset + length - 1) / kBlockSize; ++b) {
      {
        MutexLock lock(store.mutex_);
        if (states[b] != BlockState::present) {
          ++store.stats_.misses;
          return false;
        }
        if (verified_blocks[b]) continue;
      }
      std::vector<char> block(block_length(b));
      if (::pread(fd, block.data(), block.size(), static_cast<off_t>(b * kBlockSize)) !=
          static_cast<ssize_t>(block.size()))
        return false;
      const auto crc = cache::block_checksum(cache::kCurrentChecksum, block.data(), block.size());
      MutexLock lock(store.mutex_);
      if (crc != crcs[b]) {
        states[b] = BlockState::absent;
        --store.used_blocks_;
        ++store.stats_.corrupt_blocks;
        return false;
      }
      verified_blocks[b] = true;
    }
    MutexLock lock(store.mutex_);
    ++store.stats_.hits;
    return true;
  }

  MemoryObjectStore& store;
  const cache::ObjectKey key_;
  const std::uint64_t size_;
  const int fd;
  // Guarded by store.mutex_ (the analysis cannot name it from here).
  std::vector<BlockState> states;
  std::vector<std::uint32_t> crcs;
  std::vector<bool> verified_blocks;
  std::vector<unsigned> pins;
};

MemoryObjectStore::MemoryObjectStore(std::uint64_t limit_blocks) : limit_blocks_(limit_blocks) {}
MemoryObjectStore::~MemoryObjectStore() = default;

std::shared_ptr<cache::CachedObject> MemoryObjectStore::open(const cache::ObjectKey& key, std::uint64_t size) {
  MutexLock lock(mutex_);
  auto& object = objects_[key.url + '\n' + key.validator];
  if (!object) object = std::make_shared<Object>(*this, key, size);
  return object;
}

bool MemoryObjectStore::reserve_locked(Object& object, std::uint64_t index) {
  if (refuse_ || index >= object.states.size()) return false;
  if (object.states[index] != BlockState::absent) return false;
  while (used_blocks_ >= limit_blocks_) {
    // Evict the least recently committed unpinned present block.
    auto victim = std::find_if(lru_.rbegin(), lru_.rend(), [](const auto& entry) {
      return entry.first->states[entry.second] == BlockState::present && entry.first->pins[entry.second] == 0;
    });
    if (victim == lru_.rend()) return false;
    victim->first->states[victim->second] = BlockState::absent;
    --used_blocks_;
    ++stats_.evictions;
    lru_.erase(std::next(victim).base());
  }
  object.states[index] = BlockState::reserved;
  ++used_blocks_;
  return true;
}

cache::StoreStats MemoryObjectStore::stats() const {
  MutexLock lock(mutex_);
  cache::StoreStats stats = stats_;
  stats.blocks = used_blocks_;
  stats.objects = objects_.size();
  return stats;
}

std::uint64_t MemoryObjectStore::cached_bytes(const cache::ObjectKey& key, std::uint64_t size) const {
  MutexLock lock(mutex_);
  auto it = objects_.find(key.url + '\n' + key.validator);
  if (it == objects_.end() || it->second->size() != size) return 0;
  std::uint64_t bytes = 0;
  for (std::uint64_t index = 0; index < it->second->states.size(); ++index)
    if (it->second->states[index] == BlockState::present) bytes += it->second->block_length(index);
  return bytes;
}

void MemoryObjectStore::corrupt_byte(const std::string& url, std::uint64_t offset) {
  MutexLock lock(mutex_);
  for (auto& [key, object] : objects_) {
    if (object->key().url != url) continue;
    char byte = 0;
    if (::pread(object->fd, &byte, 1, static_cast<off_t>(offset)) != 1) throw std::runtime_error("pread");
    byte = static_cast<char>(byte ^ 0x5a);
    if (::pwrite(object->fd, &byte, 1, static_cast<off_t>(offset)) != 1) throw std::runtime_error("pwrite");
  }
}

void MemoryObjectStore::forget_verification() {
  MutexLock lock(mutex_);
  for (auto& [key, object] : objects_) std::fill(object->verified_blocks.begin(), object->verified_blocks.end(), false);
}

void MemoryObjectStore::refuse_reservations(bool refuse) {
  MutexLock lock(mutex_);
  refuse_ = refuse;
}

std::vector<std::pair<std::uint64_t, std::uint64_t>> MemoryObjectStore::will_need_hints() const {
  MutexLock lock(mutex_);
  return hints_;
}

std::uint64_t MemoryObjectStore::present_blocks() const {
  MutexLock lock(mutex_);
  std::uint64_t count = 0;
  for (auto& [key, object] : objects_)
    count += static_cast<std::uint64_t>(std::count(object->states.begin(), object->states.end(), BlockState::present));
  return count;
}

}  // namespace hfs::test
