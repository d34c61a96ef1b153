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
    std::string name;   // query parameter name (pyvo sends an input named "id" as "ID", last)
    std::string ref;    // ID of the FIELD whose row value fills it ("" = use fixed value)
    std::string value;  // fixed value when ref is empty
  };
  std::vector<Input> inputs;
};

struct ConeResult {
  VoTableData table;
  std::optional<DataLinkService> datalink;
};

// Python's repr() of a float: shortest round-trip digits, "1.0" for integral values, exponent
// form outside [1e-4, 1e16) ("1e-05", "1e+16"). What pyvo/requests put in a query string.
std::string python_float_repr(double value);

// service_url + "RA=..&DEC=..&SR=..&VERB=2", numbers as python_float_repr, joined the way
// requests does it: '&' after any non-empty query, even one ending with '&' (giving the real
// "table=numaster&&RA=182.63573325&DEC=39.40585097&SR=1.0&VERB=2"), nothing after a bare '?',
// '?' when there is no query.
std::string cone_search_url(const std::string& service_url, const SkyPosition& position, double radius_deg,
                            int verbosity = 2);

// Throws hfs::Error(EIO) naming the service's message when QUERY_STATUS is ERROR.
ConeResult parse_cone_result(const VoDocument& document);
// The same, moving the rows out of the document instead of copying them.
ConeResult parse_cone_result(VoDocument&& document);

// The DataLink request URL for one row, as pyvo's getdatalink() builds it: the service's
// accessURL + the inputs with a value (ref -> the row's value of the FIELD with that ID, else the
// fixed value), form-encoded, an input named "id" last and as "ID": accessURL?ID=60001111005.
// nullopt when the row is out of range, a ref'd FIELD is missing, null or empty, or the result declares
// no DataLink service and the row is not itself a DataLink link (access_format
// "application/x-votable+xml;content=datalink" -> its access_url verbatim, pyvo's fallback).
std::optional<std::string> datalink_url_for_row(const ConeResult& result, std::size_t row);

}  // namespace hfs::vo
