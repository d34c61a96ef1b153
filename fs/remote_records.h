// The filesystem's remote answers as bytes for the metadata store (cache/metadata_store.h),
// and back. One compact binary form per kind, each starting with a kind byte and a format
// version: a record of another kind or version, or one that does not decode to the end, is
// nullopt (the caller logs it and asks the service instead). The store already checksums
// records; these checks catch a format change between versions, not disk damage.
//
// Cone answers are kept as their parsed table (fields, params, infos, rows; NULL cells kept
// apart from empty strings) plus the DataLink service, not as the VOTable text: smaller, and
// row names, filters and .results.csv are rebuilt from it exactly as from the service's answer.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fs/remote_view.h"
#include "vo/cone_search.h"
#include "vo/regtap.h"
#include "vo/sky.h"

namespace hfs::fs::records {

std::string encode_tables(const std::vector<vo::TableService>& tables);
std::optional<std::vector<vo::TableService>> decode_tables(std::string_view bytes);

// A position, or nullopt for a name the resolver does not know (a negative answer).
std::string encode_position(const std::optional<vo::SkyPosition>& position);
std::optional<std::optional<vo::SkyPosition>> decode_position(std::string_view bytes);

std::string encode_cone(const vo::ConeResult& cone);
std::optional<vo::ConeResult> decode_cone(std::string_view bytes);

// A row's DataLink directory URL, or nullopt for a row without one (proprietary).
std::string encode_directory(const std::optional<std::string>& directory);
std::optional<std::optional<std::string>> decode_directory(std::string_view bytes);

std::string encode_listing(const ArchiveListing& listing);
std::optional<ArchiveListing> decode_listing(std::string_view bytes);

}  // namespace hfs::fs::records
