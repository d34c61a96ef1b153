#include "fs/path_grammar.h"
#include "common/text.h"

#include <cctype>

namespace hfs::fs {
namespace {

bool is_identifier(std::string_view text) {
  if (text.empty()) return false;
  if (!(std::isalpha(static_cast<unsigned char>(text[0])) || text[0] == '_')) return false;
  for (char c : text) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  }
  return true;
}

using text::trim;

}  // namespace

std::optional<TargetSpec> parse_target_segment(std::string_view segment) {
  // Hidden names are file-manager and shell probes (.Trash, .hidden, .git), never objects:
  // refusing them here keeps them from turning into Sesame queries.
  if (segment.empty() || segment.front() == '.') return std::nullopt;
  TargetSpec spec;
  spec.segment = std::string(segment);
  std::string_view body = segment;
  if (auto at = segment.rfind('@'); at != std::string_view::npos) {
    auto radius = vo::parse_angle_deg(segment.substr(at + 1));
    if (!radius || *radius <= 0) return std::nullopt;
    spec.radius_deg = radius;
    body = segment.substr(0, at);
  }
  body = trim(body);
  if (body.empty()) return std::nullopt;
  if (auto position = vo::parse_decimal_position(body)) {
    spec.is_position = true;
    spec.position = *position;
    return spec;
  }
  // Something with a comma that did not parse as a position is a malformed coordinate pair,
  // not an object name.
  if (body.find(',') != std::string_view::npos) return std::nullopt;
  spec.object_name = std::string(body);
  return spec;
}

std::string_view to_string(CompareOp op) {
  switch (op) {
    case CompareOp::eq: return "=";
    case CompareOp::ne: return "!=";
    case CompareOp::lt: return "<";
    case CompareOp::le: return "<=";
    case CompareOp::gt: return ">";
    case CompareOp::ge: return ">=";
  }
  return "?";
}

std::optional<FilterSpec> parse_filter_segment(std::string_view segment) {
  auto pos = segment.find_first_of("=!<>");
  if (pos == std::string_view::npos) return std::nullopt;
  FilterSpec spec;
  spec.segment = std::string(segment);
  spec.column = std::string(segment.substr(0, pos));
  if (!is_identifier(spec.column)) return std::nullopt;
  std::string_view rest = segment.substr(pos);
  struct OpText {
    std::string_view text;
    CompareOp op;
  };
  // Two-character operators first so "<=" is not read as "<" with value "=...".
  static constexpr OpText kOps[] = {{"!=", CompareOp::ne}, {"<=", CompareOp::le}, {">=", CompareOp::ge},
                                    {"=", CompareOp::eq},  {"<", CompareOp::lt},  {">", CompareOp::gt}};
  for (const auto& candidate : kOps) {
    if (rest.substr(0, candidate.text.size()) == candidate.text) {
      spec.op = candidate.op;
      spec.value = std::string(rest.substr(candidate.text.size()));
      if (spec.value.empty()) return std::nullopt;
      return spec;
    }
  }
  return std::nullopt;  // a lone '!' or similar
}

}  // namespace hfs::fs
