// Small text helpers every layer uses. ASCII only: protocol tokens, column names, header
// fields. Nothing here knows about locales.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hfs::text {

// Without leading and trailing ASCII white space (space, \t, \r, \n, \f, \v).
std::string_view trim(std::string_view text);
// ASCII lower case.
std::string lower(std::string_view text);
// Equal ignoring ASCII case.
bool iequals(std::string_view a, std::string_view b);
// One VOTable boolean token ("T", "t", "1", "true", "F", "f", "0", "false", any case) as
// 'T' or 'F'; nullopt for anything else (unknown, "?"). VOTable 1.4 §2.1: TABLEDATA spells
// booleans as words or letters, BINARY as one ASCII character, and both must read the same.
std::optional<char> boolean_token(std::string_view token);
// Seconds since the epoch as UTC text in a strftime format ("%Y-%m-%dT%H:%M:%SZ", an HTTP-date).
std::string utc_text(std::int64_t seconds, const char* strftime_format);

// The text with the credentials of every URL in it left out: "scheme://user:password@host/.."
// becomes "scheme://host/..". URLs are found by their "://"; the user info is whatever precedes
// the last '@' of the authority (up to the first '/', '?', '#', white space, quote or '<>').
std::string redact_urls(std::string_view text);
// Control characters (C0, DEL and the C1 range encoded as UTF-8) written as \xNN, so that a
// name or URL from a remote answer cannot start a new log line or drive a terminal.
std::string escape_controls(std::string_view text);
// What log::write prints of a message: redact_urls, then escape_controls.
std::string loggable(std::string_view text);

}  // namespace hfs::text
