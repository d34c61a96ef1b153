// Simple Cone Search requests and answers, HEASARC Xamin flavour (VERB=2, Search_Offset,
// a DataLink adhoc:service block after the results).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "vo/sky.h"
#include "vo/votable.h"

namespace hfs::vo {

// An ad-hoc DataLink service declared by a result (RESOURCE type="meta" utype="adhoc:service"
// with standardID starting, case-insensitively, with ivo://ivoa.net/std/datalink).
struct DataLinkService {
  std::string access_url;
  struct Input {
    std::string name;   // query parameter name ("id"; sent upper-cased as "ID" like pyvo)
    std::string ref;    // ID of the FIELD whose row value fills it ("" = use fixed value)
    std::string value;  // fixed value when ref is empty
  };
  std::vector<Input> inputs;
};

struct ConeResult {
  VoTableData table;
  std::optional<DataLinkService> datalink;
};

// service_url + "RA=..&DEC=..&SR=..&VERB=2", appending to a URL that already ends with '&' or
// '?' as is (giving the real "&&" for HEASARC URLs, exactly like pyvo), else adding '?' or '&'.
std::string cone_search_url(const std::string& service_url, const SkyPosition& position, double radius_deg,
                            int verbosity = 2);

// Throws hfs::Error(EIO) naming the service's message when QUERY_STATUS is ERROR.
ConeResult parse_cone_result(const VoDocument& document);

// The DataLink request URL for one row: accessURL?ID=<value>[&other=..], or nullopt when the
// result declares no DataLink service (then a row's access_url with access_format
// "application/x-votable+xml;content=datalink" is used, as pyvo does).
std::optional<std::string> datalink_url_for_row(const ConeResult& result, std::size_t row);

}  // namespace hfs::vo
