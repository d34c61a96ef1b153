// open_object_store() and the thin objects it hands out; the store's logic is StoreCore
// (cache/store_core.h), the on-disk formats are cache/sidecar.h and cache/store_dir.h.
#include <cstdio>
#include <exception>

#include "cache/object_store.h"
#include "cache/object_store_options.h"
#include "cache/store_core.h"
#include "cache/store_dir.h"
#include "cache/store_io.h"
#include "common/log.h"

namespace hfs::cache {
namespace {

namespace stdfs = std::filesystem;

class StorePin final : public Pin {
 public:
  StorePin(std::shared_ptr<StoreCore> core, std::shared_ptr<const ObjectInfo> info, std::uint64_t first,
           std::uint64_t last, FdCache::Entry fds)
      : core_(std::move(core)), info_(std::move(info)), first_(first), last_(last), fds_(std::move(fds)) {}
  ~StorePin() override { core_->unpin(*info_, first_, last_); }
  StorePin(const StorePin&) = delete;
  StorePin& operator=(const StorePin&) = delete;

  int fd() const override { return fds_->data.get(); }

 private:
  const std::shared_ptr<StoreCore> core_;
  const std::shared_ptr<const ObjectInfo> info_;
  const std::uint64_t first_, last_;
  const FdCache::Entry fds_;  // open for as long as the pin: the kernel may splice from it
};

// One handle on an object version; the store counts them, so an object nobody holds and with
// nothing on disk is forgotten.
class ObjectHandle final : public CachedObject {
 public:
  ObjectHandle(std::shared_ptr<StoreCore> core, std::shared_ptr<const ObjectInfo> info)
      : core_(std::move(core)), info_(std::move(info)) {}
  ~ObjectHandle() override { core_->close(*info_); }
  ObjectHandle(const ObjectHandle&) = delete;
  ObjectHandle& operator=(const ObjectHandle&) = delete;

  const ObjectKey& key() const override { return info_->key; }
  std::uint64_t size() const override { return info_->size; }
  bool has_block(std::uint64_t index) const override { return core_->has_block(*info_, index); }
  ChecksumKind checksum_kind() const override { return info_->checksum; }

  // The writing side never throws (contract): a failure is a block not cached.
  bool reserve(std::uint64_t index) override {
    try {
      return core_->reserve(*info_, index);
    } catch (const std::exception& e) {
      log::warn("cache", std::string("cannot reserve a block: ") + e.what());
      return false;
    }
  }
  int write(std::uint64_t offset, std::string_view bytes) override {
    try {
      return core_->write(*info_, offset, bytes);
    } catch (...) {
      return ENOMEM;
    }
  }
  void commit(std::uint64_t index, std::uint32_t crc) override {
    try {
      core_->commit(*info_, index, crc);
    } catch (...) {
      abandon(index);
    }
  }
  void abandon(std::uint64_t index) override {
    try {
      core_->abandon(*info_, index);
    } catch (...) {
    }
  }

  bool read(std::uint64_t offset, std::uint64_t length, char* out) override {
    if (length == 0) return offset <= info_->size;
    return core_->acquire(*info_, offset, length, out).ok;
  }
  std::unique_ptr<Pin> pin(std::uint64_t offset, std::uint64_t length) override {
    auto acquired = core_->acquire(*info_, offset, length, nullptr);  // an empty range pins nothing
    if (!acquired.ok) return nullptr;
    const std::uint64_t first = offset / store_io::kBlock, last = (offset + length - 1) / store_io::kBlock;
    try {
      return std::make_unique<StorePin>(core_, info_, first, last, std::move(acquired.fds));
    } catch (...) {
      core_->unpin(*info_, first, last);
      throw;
    }
  }
  bool verified(std::uint64_t offset, std::uint64_t length) const override {
    return core_->verified(*info_, offset, length);
  }
  void will_need(std::uint64_t offset, std::uint64_t length) override {
    try {
      core_->will_need(*info_, offset, length);
    } catch (...) {
      // Only a hint: without it the reads wait for the disk themselves.
    }
  }

 private:
  const std::shared_ptr<StoreCore> core_;
  const std::shared_ptr<const ObjectInfo> info_;
};

class DiskObjectStore final : public ObjectStore {
 public:
  explicit DiskObjectStore(std::shared_ptr<StoreCore> core) : core_(std::move(core)) {}

  std::shared_ptr<CachedObject> open(const ObjectKey& key, std::uint64_t size) override {
    auto info = core_->open(key, size);
    if (!info) return nullptr;
    try {
      return std::make_shared<ObjectHandle>(core_, info);
    } catch (...) {
      core_->close(*info);
      throw;
    }
  }
  StoreStats stats() const override { return core_->stats(); }
  std::uint64_t cached_bytes(const ObjectKey& key, std::uint64_t size) const override {
    return core_->cached_bytes(key, size);
  }

 private:
  const std::shared_ptr<StoreCore> core_;
};

}  // namespace

std::uint64_t object_file_hash(const ObjectKey& key) {
  std::uint64_t hash = 0xcbf29ce484222325ull;
  auto mix = [&hash](std::string_view bytes) {
    for (unsigned char c : bytes) {
      hash ^= c;
      hash *= 0x100000001b3ull;
    }
  };
  mix(key.url);
  mix("\n");
  mix(key.validator);
  return hash;
}

std::string object_file_stem(std::uint64_t hash) {
  char name[20];
  std::snprintf(name, sizeof name, "%02llx/%016llx", static_cast<unsigned long long>(hash >> 56),
                static_cast<unsigned long long>(hash));
  return name;
}

std::unique_ptr<ObjectStore> open_object_store(const stdfs::path& dir, std::uint64_t byte_limit,
                                               ObjectStoreOptions options) {
  UniqueFd dir_fd = store_dir::open_cache_dir(dir);
  UniqueFd lock_fd = store_dir::lock_cache_dir(dir_fd.get(), dir);
  UniqueFd objects_fd = store_dir::open_private_subdir(dir_fd.get(), "objects", dir / "objects");
  // `du` of cache_dir counts directories too: objects/, its 256 fan-out subdirectories, the
  // directory itself and the lock file, one 4 KiB block each. They come out of the limit, so
  // the store's whole share stays within it (a limit too small to afford them is used as is).
  const std::uint64_t block_limit =
      byte_limit > 4 * kStoreDirectoryBytes ? byte_limit - kStoreDirectoryBytes : byte_limit;
  auto core =
      std::make_shared<StoreCore>(dir, block_limit, std::move(options), std::move(lock_fd), std::move(objects_fd));
  core->rebuild();
  return std::make_unique<DiskObjectStore>(std::move(core));
}

std::unique_ptr<ObjectStore> open_object_store(const stdfs::path& dir, std::uint64_t byte_limit) {
  return open_object_store(dir, byte_limit, ObjectStoreOptions{});
}

}  // namespace hfs::cache
