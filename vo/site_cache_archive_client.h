// The archive read through a site cache (archive=http://cache.example/FTP/): every archive URL
// is rebased onto the cache's prefix (vo/archive_path.h rebase_archive_url: everything up to
// and including "/FTP/" replaced, "//" collapsed) before `inner` -- the HTTP archive client --
// sees it. Listings then resolve their entries against the cache's URLs, so ObjectInfo::url and
// every ranged GET the fetcher sends go to the cache too. A caching reverse proxy (nginx with
// its slice module, docs/site-cache.md) serves each byte range from the origin once.
#pragma once

#include <memory>
#include <string>

#include "vo/archive_client.h"

namespace hfs::vo {

// `prefix`: an http(s) URL ending with '/' (archive=URL).
std::unique_ptr<ArchiveClient> make_site_cache_archive_client(std::shared_ptr<ArchiveClient> inner, std::string prefix);

}  // namespace hfs::vo
