// Objects of a local archive tree (archive=DIR; vo/local_archive_client.h) read from their
// files directly: no block cache, no copy of the bytes. A reply is the file's own descriptor
// and offset, which the FUSE layer splices to the kernel like a pinned cache block.
//
// make_local_first_fetcher wraps the mount's fetcher: open() of an object whose url is file://
// gives a LocalFileReader, anything else (a file the local tree lacked, read over HTTP) goes to
// `remote`, and so does prefetch_whole (local objects need none).
//
// The validator of a local file is its size and mtime, taken when it was listed: open() and
// every read() check them with fstat and fail with ESTALE when the file changed.
#pragma once

#include <memory>

#include "cache/fetcher.h"

namespace hfs::cache {

// A reader of the local file behind `info` (local_path_of(info) must be set). Throws
// hfs::Error: the open's errno (ENOENT gone, EACCES, ...) or ESTALE when it changed.
std::unique_ptr<FileReader> open_local_file(const vo::ObjectInfo& info);

std::unique_ptr<Fetcher> make_local_first_fetcher(std::unique_ptr<Fetcher> remote);

}  // namespace hfs::cache
