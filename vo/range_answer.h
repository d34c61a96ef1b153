// One ranged read of one archive object version, as the streaming fetcher sends it through the
// transfer engine: the request, and the check of the answer's head before any body byte is
// used. The rules are those of ArchiveClient::read (vo/archive_client.h): exactly the asked
// bytes of exactly the expected version, or an error that says why.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "vo/archive_client.h"
#include "vo/transfer_engine.h"

namespace hfs::vo {

// A 5xx or 429 answer: worth another attempt, after Retry-After when the server said so.
class RetryableStatusError : public TransientError {
 public:
  RetryableStatusError(long status, const std::string& message, std::optional<std::chrono::milliseconds> retry_after)
      : TransientError(EIO, message), status_(status), retry_after_(retry_after) {}
  long status() const noexcept { return status_; }
  std::optional<std::chrono::milliseconds> retry_after() const noexcept { return retry_after_; }

 private:
  long status_;
  std::optional<std::chrono::milliseconds> retry_after_;
};

// GET with "Range: bytes=offset-(offset+length-1)", identity encoding only, and a body limit of
// `length` (a server that ignores the Range is cut off instead of sending the whole object).
// Single closed ranges only: no suffix, open-ended or multi-range requests, no If-Range.
HttpRequest range_request(const ObjectInfo& expected, std::uint64_t offset, std::uint64_t length);

// Returns when `head` announces exactly bytes [offset, offset+length) of `expected` (206 with
// that Content-Range, or 200 when the whole object was asked for); throws otherwise:
// RetryableStatusError for 5xx/429, ENOENT for 404/410, ESTALE when the validator, the total
// size or a 416 says the object changed, EIO for an ignored or wrong range or any other status.
void check_range_head(const ObjectInfo& expected, std::uint64_t offset, std::uint64_t length, const ResponseHead& head);

}  // namespace hfs::vo
