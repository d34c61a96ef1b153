// The data archive (/FTP/ tree) behind one interface: directory listings, exact object
// metadata and ranged reads. HttpArchiveClient reads Apache index pages and sends HEAD and
// Range requests; later sources (SciServer's local /FTP/, the S3 mirror) implement the same
// interface. Tests use the fake and failing clients in tests/support/.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "vo/autoindex.h"
#include "vo/http_transport.h"

namespace hfs::vo {

// What identifies one version of one object: reads are checked against it.
struct ObjectInfo {
  std::string url;
  std::uint64_t size = 0;
  std::int64_t mtime = 0;  // Last-Modified, seconds since the epoch (0 when unknown)
  std::string etag;        // strong or weak ETag as sent, "" when none
  // When the listing (or lookup) that learnt this was fetched, milliseconds since the epoch;
  // 0 when not set. Only the size-only validator uses it (below).
  std::int64_t listed_at = 0;
  // The validator the cache keys blocks by: the ETag, else Last-Modified, else the size plus
  // listed_at. Without ETag or Last-Modified nothing tells two versions of one size apart, so
  // blocks are keyed by the listing they were read under: a refreshed listing never reuses
  // a block fetched under an earlier one (a remount on the same stored listing does).
  std::string validator() const;
};

class ArchiveClient {
 public:
  virtual ~ArchiveClient() = default;

  // Entries of a directory URL (ending in '/'). ENOENT when it does not exist. `call`: the
  // filesystem call (or background job) it serves; its requests carry it (HttpRequest::call).
  virtual std::vector<IndexEntry> list(const std::string& dir_url, const CallContext& call) = 0;
  // Exact size, mtime and validator of one object. ENOENT when it does not exist.
  virtual ObjectInfo stat(const std::string& url, const CallContext& call) = 0;
  // Stats many objects with at most max_parallel requests in flight; results in input order.
  // An object that failed carries its error (the others still succeed).
  struct StatResult {
    std::optional<ObjectInfo> info;
    int errnum = 0;
    std::string message;
  };
  // All of them spend the one `call`: its deadline bounds the whole fan-out (a directory of
  // files whose HEADs hang costs one deadline, not one per round of max_parallel).
  virtual std::vector<StatResult> stat_many(const std::vector<std::string>& urls, unsigned max_parallel,
                                            const CallContext& call) = 0;
  // Exactly bytes [offset, offset+length) of the object version `expected` (length is clipped
  // at its size). ESTALE when the server's validator no longer matches `expected`; EIO when the
  // server sends anything but exactly those bytes (ignored Range, short body, wrong
  // Content-Range).
  virtual std::string read(const ObjectInfo& expected, std::uint64_t offset, std::uint64_t length) = 0;
};

// Sends HEAD (falling back to "Range: bytes=0-0" when HEAD is refused -- 405, 501, 403 -- or
// gives no length or an encoded one) and ranged GETs, all with "Accept-Encoding: identity";
// retries per `retry`. A server that ignores the Range and starts sending the whole object is
// cut off after the first bytes: the size probe takes its Content-Length, a read fails (EIO).
std::unique_ptr<ArchiveClient> make_http_archive_client(std::shared_ptr<HttpTransport> transport,
                                                        RetryPolicy retry = {});

}  // namespace hfs::vo
