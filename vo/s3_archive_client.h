// The archive read from an S3 bucket holding the /FTP/ tree (AWS open data: bucket
// nasa-heasarc, key = the archive path, vo/archive_path.h), anonymously.
//
// list() sends ONE ListObjectsV2 request per directory (prefix=<path>/, delimiter=/, following
// continuation tokens when a directory has more than a page), which gives every file's exact
// size, ETag and LastModified; the client remembers them, so the stat_many() of the files a
// listing just named answers without a request (no HEADs). stat() of an object no listing
// named is a HEAD of its object URL; read() is a ranged GET of it (the checks of
// HttpArchiveClient::read). Entries keep the URLs of the directory they were listed from
// (DataLink's, under /FTP/); the ObjectInfo::url of a file is its object URL, which the
// fetcher's ranged GETs use.
#pragma once

#include <memory>
#include <string>

#include "vo/archive_client.h"

namespace hfs::vo {

// The AWS open-data bucket, virtual-hosted style.
inline constexpr const char* kAwsHeasarcBucketUrl = "https://nasa-heasarc.s3.amazonaws.com";
inline constexpr const char* kHeasarcBucket = "nasa-heasarc";

// `bucket_url`: the bucket's URL without a trailing '/': virtual-hosted
// (https://nasa-heasarc.s3.amazonaws.com) or path-style (http://host:port/nasa-heasarc). An
// object is at bucket_url + "/" + its percent-encoded key; a listing at bucket_url + "/?" + the
// ListObjectsV2 query. `directory_urls` accepted by list(): DataLink's (with "/FTP/") and
// the bucket's own.
std::unique_ptr<ArchiveClient> make_s3_archive_client(std::shared_ptr<HttpTransport> transport, std::string bucket_url,
                                                      RetryPolicy retry = {});

// archive=s3:ENDPOINT names a path-style endpoint: ENDPOINT + "/nasa-heasarc".
std::string s3_path_style_bucket_url(std::string endpoint);

}  // namespace hfs::vo
