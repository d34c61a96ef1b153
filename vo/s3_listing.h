// S3 ListObjectsV2 (GET /?list-type=2&prefix=P&delimiter=/): the request's query and the
// parser of one page of its XML answer. With delimiter "/" one prefix is one directory: its
// objects come as <Contents> (exact <Size>, <ETag>, <LastModified>) and its subdirectories as
// <CommonPrefixes>; a page holds at most 1000 of them together and <IsTruncated>true</...>
// with a <NextContinuationToken> says there are more.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hfs::vo {

struct S3Object {
  std::string key;  // decoded (XML entities, and %XX under EncodingType url)
  std::uint64_t size = 0;
  std::string etag;        // as sent, quotes included: the same string GET and HEAD send
  std::int64_t mtime = 0;  // LastModified, seconds since the epoch (0 when absent)
};

struct S3ListPage {
  std::vector<S3Object> objects;          // in the answer's order (S3: ascending key)
  std::vector<std::string> prefixes;      // CommonPrefixes, each ending with the delimiter
  std::optional<std::string> next_token;  // set when IsTruncated is true
};

// The query of one ListObjectsV2 request (without '?'): list-type=2, prefix, delimiter=/ and,
// for a following page, continuation-token -- percent-encoded, in that order.
std::string s3_list_query(std::string_view prefix, std::string_view continuation_token);

// One page of a ListObjectsV2 answer. Throws hfs::Error(EPROTO) for anything else: not XML,
// another root element (an S3 <Error> document is reported with its Code and Message), an
// object without Key or with a Size that is not a number, or IsTruncated true without a
// NextContinuationToken (a client following it would loop).
S3ListPage parse_s3_list_page(std::string_view xml);

// "2019-03-12T18:25:33.000Z" -> seconds since the epoch (fractions dropped); nullopt if malformed.
std::optional<std::int64_t> parse_iso8601_utc(std::string_view text);

}  // namespace hfs::vo
