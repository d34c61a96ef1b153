// Where an archive object lives, independent of who serves it. HEASARC's DataLink gives
// directory URLs such as https://heasarc.gsfc.nasa.gov/FTP/nustar/data/obs/00/6//60001111003/
// (the double slash is real); the *archive path* is the part after "/FTP/" with every "//"
// collapsed: "nustar/data/obs/00/6/60001111003/". The same path names the file under a local
// /FTP tree (SciServer), the key in the nasa-heasarc S3 bucket, and the URL under a site cache.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace hfs::vo {

// The archive path of an http(s) URL: what follows the first "/FTP/" of its path, with runs
// of '/' collapsed and no leading '/'; a query or fragment is dropped. A directory's path keeps
// its trailing '/', the archive root is "". nullopt when the path has no "/FTP/" segment, or
// when the path would climb out of the archive ("." or ".." segments). The path stays
// percent-encoded as it was in the URL (a file name or S3 key is its percent_decode).
std::optional<std::string> archive_path_of(std::string_view url);

// The URL of `url` under another archive prefix: everything up to and including its "/FTP/"
// replaced by `prefix` (which ends with '/'), the rest normalised as by archive_path_of. A URL
// already under `prefix` is returned as it is. nullopt when the URL has no archive path.
std::optional<std::string> rebase_archive_url(std::string_view url, const std::string& prefix);

}  // namespace hfs::vo
