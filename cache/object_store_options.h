// Knobs of the object store that open_object_store(dir, limit) sets to their defaults: the
// clock behind the once-a-minute recency touch, the hash that names object files, and the
// size of the descriptor cache. Tests inject a clock (no sleeping a minute) and a colliding
// hash (a real FNV-1a 64 collision is not at hand).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>

#include "cache/object_store.h"

namespace hfs::cache {

// FNV-1a 64 of url '\n' validator: the object's file name. Stable across builds and machines
// (std::hash is not), and the same naming as the block-per-file cache used.
std::uint64_t object_file_hash(const ObjectKey& key);

// "<2 hex>/<16 hex>" of a hash: the object's files, without suffix, relative to <dir>/objects.
std::string object_file_stem(std::uint64_t hash);

struct ObjectStoreOptions {
  std::function<std::chrono::steady_clock::time_point()> clock = [] { return std::chrono::steady_clock::now(); };
  std::function<std::uint64_t(const ObjectKey&)> object_hash = object_file_hash;
  // Objects whose two descriptors stay open (so 2x this many fds). Enough for every file a
  // busy mount reads at once; beyond it the least recently used are closed.
  std::size_t open_objects = 128;
};

std::unique_ptr<ObjectStore> open_object_store(const std::filesystem::path& dir, std::uint64_t byte_limit,
                                               ObjectStoreOptions options);

}  // namespace hfs::cache
