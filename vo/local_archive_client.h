// The archive read from a local copy of the /FTP/ tree (SciServer mounts it read-only at
// /FTP): a directory URL's archive path (vo/archive_path.h) names a directory under `root`.
// Listings come from readdir, sizes and mtimes from stat: no HTTP. A file's ObjectInfo::url is
// a file:// URL of its local path and its validator is size + mtime (no ETag); the bytes are
// read by cache/local_reader.h from the file itself, never through the block cache.
//
// What the local tree does not have -- a directory or file that is missing (the mirror may lag
// behind the archive) -- is asked of `fallback` (the HTTP archive client) with the original URL,
// and logged once: one line for a directory that falls back (nothing more for what lies below
// it), one per file missing from a directory that is there.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "vo/archive_client.h"

namespace hfs::vo {

std::unique_ptr<ArchiveClient> make_local_archive_client(std::filesystem::path root,
                                                         std::shared_ptr<ArchiveClient> fallback);

// The local path of an object a local archive client described (its url is file://...), or
// nullopt for an object that lives elsewhere.
std::optional<std::string> local_path_of(const ObjectInfo& object);

}  // namespace hfs::vo
