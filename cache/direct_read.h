// A ranged read that bypasses the cache: the bytes come into memory for one reader. Used when
// the cache cannot take an object's blocks (see cache/fetcher.h); retried like any read.
#pragma once

#include <cstdint>
#include <string>

#include "cache/fetcher.h"

namespace hfs::cache {

// Exactly bytes [offset, offset + length) of `info` (length > 0, within its size); throws
// hfs::Error (ETIMEDOUT/ECANCELED when the call ends first).
std::string read_range_direct(vo::TransferEngine& engine, const vo::ObjectInfo& info, std::uint64_t offset,
                              std::uint64_t length, const CallContext& call, const FetcherConfig& config);

}  // namespace hfs::cache
