// Writing a VOTable: the rows of a parsed table, with its FIELD metadata, as a VOTable 1.4
// TABLEDATA document (the .results.vot of every query directory).
//
// Contract:
// - One RESOURCE type="results" with INFO QUERY_STATUS=OK and one TABLE; every FIELD keeps
//   name, datatype, arraysize, unit, ucd, utype, xtype, precision, width, DESCRIPTION and
//   VALUES null= as parsed (empty attributes are left out).
// - IDs: astropy's Table.read names a column by its FIELD's ID when it has one (pyvo's
//   to_table by its name), so a FIELD is written without ID, except the FIELDs the DataLink
//   service refers to: they get their name as ID when it is a valid, unused XML name (else
//   their own ID), and the refs follow. Table.read then gives the columns pyvo gives.
// - Cells are written as parsed (vo/votable.h keeps them in TABLEDATA form); a null cell is the
//   FIELD's VALUES null value when it declares one, else an empty TD (what readers take as null
//   for every datatype). So astropy reads back the values, units and masks it read from the
//   service's own answer.
// - With `datalink`, a RESOURCE type="meta" utype="adhoc:service" declares it as the service
//   did (accessURL and inputParams with their refs), so DataLink-aware clients (TOPCAT, pyvo)
//   can follow a row's links from the file.
// - Text is escaped by pugixml; characters XML 1.0 cannot carry (control characters other
//   than tab, LF and CR, and bytes that are not UTF-8) become U+FFFD, so the document always
//   parses.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "vo/cone_search.h"
#include "vo/votable.h"

namespace hfs::vo {

std::string write_votable(const VoTableData& table, const std::vector<std::size_t>& row_indices,
                          const DataLinkService* datalink = nullptr);

}  // namespace hfs::vo
