// CDS Sesame name resolution, plain-text answers (the %J line).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "vo/sky.h"

namespace hfs::vo {

// The URL astropy uses: {base}/{db}?{percent-encoded name}; base with or without trailing '/'.
// db is "SNV" (Simbad, then NED, then VizieR) by default.
std::string sesame_url(const std::string& base, std::string_view name, std::string_view db = "SNV");

// The first "%J ra dec" line of a Sesame answer; nullopt when there is none (unknown name).
std::optional<SkyPosition> parse_sesame(std::string_view answer);

// Whether the text is a Sesame plain-text answer at all, found or not: its first non-blank line
// is the "# <name>  #Q<n>" comment every answer starts with. An empty body or an HTML error page
// (a proxy, an overloaded service) is not, and says nothing about the name.
bool is_sesame_answer(std::string_view answer);

}  // namespace hfs::vo
