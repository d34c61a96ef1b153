// DataLink {links} answers.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "vo/votable.h"

namespace hfs::vo {

struct DataLink {
  std::string id;
  std::string access_url;
  std::string service_def;
  std::string error_message;
  std::string description;
  std::string semantics;
  std::string content_type;
  std::optional<std::uint64_t> content_length;
};

// Throws hfs::Error(EIO) when QUERY_STATUS is ERROR.
std::vector<DataLink> parse_datalinks(const VoDocument& document);

// The archive directory among the links: content_type "directory"; tolerates the known drift
// of a directory row labelled "text/html" whose access_url ends with '/' and points into
// /FTP/ (astroquery issue 3652). nullopt: no public data (proprietary).
std::optional<DataLink> find_directory_link(const std::vector<DataLink>& links);

}  // namespace hfs::vo
