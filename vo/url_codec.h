// Percent-encoding as the Python clients do it, so the URLs and form bodies heasarcfs sends are
// byte for byte those of astropy/pyvo/requests (the local test services and the captured real
// requests compare them literally).
#pragma once

#include <string>
#include <string_view>

namespace hfs::vo {

// urllib.parse.quote(text, safe): every byte except ASCII letters, digits, "_.-~" and the
// characters of `safe` becomes %XX (upper-case hex). quote("ngc 4151") == "ngc%204151".
std::string percent_encode(std::string_view text, std::string_view safe = "/");

// urllib.parse.quote_plus(text): like percent_encode with safe "", but a space becomes '+'.
// This is how requests encodes query parameters and form bodies.
std::string form_encode(std::string_view text);

// %XX -> byte; a '%' not followed by two hex digits is kept as is. '+' is left alone.
std::string percent_decode(std::string_view text);

// Appends an already encoded "k=v&k=v" query to url the way requests does: '?' when the URL has
// no query, nothing when it ends with '?', '&' when it has a non-empty query -- even one that
// ends with '&', which gives HEASARC's real "table=numaster&&RA=..". A '#fragment' is dropped.
std::string append_query(std::string_view url, std::string_view query);

}  // namespace hfs::vo
