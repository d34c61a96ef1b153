// RegTAP (IVOA Registry Relational Schema over TAP): finding HEASARC tables and their
// cone-search endpoints.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "vo/votable.h"

namespace hfs::vo {

// One catalogue of the authority that has a Simple Cone Search interface.
struct TableService {
  std::string name;      // last path segment of the ivoid, e.g. "numaster"
  std::string ivoid;     // "ivo://nasa.heasarc/numaster"
  std::string title;     // res_title
  std::string cone_url;  // the std conesearch interface's access URL, verbatim (ends with '&' at HEASARC)
};

// The ADQL heasarcfs sends, exactly (three '\n', the last line indented by two spaces). One row
// per (resource, std conesearch interface):
//   SELECT ivoid, res_title, access_url, standard_id, intf_role
//   FROM rr.resource NATURAL JOIN rr.capability NATURAL JOIN rr.interface
//   WHERE ivoid LIKE '<authority>/%' AND standard_id LIKE 'ivo://ivoa.net/std/conesearch%'
//     AND intf_role = 'std'
// and for one table the same with "ivoid = '<ivoid>'" instead of the LIKE. The authority (any
// trailing '/' dropped) and the ivoid are lower-cased, as RegTAP stores them, with quotes doubled.
std::string regtap_cone_tables_query(const std::string& authority);
std::string regtap_cone_table_query(const std::string& ivoid);

// The form body of a TAP sync query: REQUEST=doQuery&LANG=ADQL&QUERY=<urlencoded>, encoded
// like requests/pyvo (space as '+', newline as %0A).
std::string tap_sync_form(const std::string& adql);

// Reads the answer to either query above; also accepts the pyvo-style aggregated answer
// (access_urls/standard_ids/intf_roles lists joined by ":::py VO sep:::"). Throws
// hfs::Error(EIO) when QUERY_STATUS is ERROR, naming the service's message, hfs::Error(EPROTO)
// when the table lacks the columns. An interface counts when its standard id without "#.." is
// ivo://ivoa.net/std/conesearch (case-insensitively) and its role is "std", as pyvo's
// get_service('conesearch'). Sorted by name; one entry per resource (its first such interface);
// resources without one are left out.
std::vector<TableService> parse_regtap_cone_tables(const VoDocument& document);

}  // namespace hfs::vo
