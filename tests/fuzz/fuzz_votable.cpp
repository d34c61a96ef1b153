// Any bytes as a VOTable answer: the reader and the three readers of its result (registry, cone
// search, DataLink) may throw hfs::Error, never crash, hang or allocate beyond the input's size.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/error.h"
#include "vo/cone_search.h"
#include "vo/datalink.h"
#include "vo/regtap.h"
#include "vo/votable.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  hfs::vo::VoDocument document;
  try {
    document = hfs::vo::parse_votable(input);
  } catch (const hfs::Error&) {
    return 0;
  }
  (void)document.query_status();
  (void)document.query_status_message();
  try {
    auto cone = hfs::vo::parse_cone_result(document);
    for (std::size_t row = 0; row < cone.table.rows.size(); ++row) (void)hfs::vo::datalink_url_for_row(cone, row);
    for (const auto& field : cone.table.fields) (void)field.is_numeric();
  } catch (const hfs::Error&) {
  }
  try {
    (void)hfs::vo::find_directory_link(hfs::vo::parse_datalinks(document));
  } catch (const hfs::Error&) {
  }
  try {
    (void)hfs::vo::parse_regtap_cone_tables(document);
  } catch (const hfs::Error&) {
  }
  return 0;
}
