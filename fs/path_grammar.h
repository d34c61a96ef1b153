// The path segments the mount understands below a table:
//
//   <target>[@<radius>]       target = object name (resolved by Sesame) or "RA,Dec" in decimal
//                             degrees; radius = "30arcsec", "5arcmin", "0.5deg", ...
//   <column><op><value>       a filter; op is one of = != < <= > >=
//
// Parsing is pure (no network): the filesystem decides what a segment means from where it is.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vo/sky.h"

namespace hfs::fs {

struct TargetSpec {
  std::string segment;  // as written in the path
  bool is_position = false;
  std::string object_name;           // when !is_position, the name to resolve (as written)
  vo::SkyPosition position;          // when is_position
  std::optional<double> radius_deg;  // from "@<radius>", else the mount's default
};

// nullopt when the segment cannot be a target ("", ".", "..", names starting with '.', a bad
// "@radius", coordinates out of range). A name is never checked here; Sesame decides.
std::optional<TargetSpec> parse_target_segment(std::string_view segment);

enum class CompareOp { eq, ne, lt, le, gt, ge };
std::string_view to_string(CompareOp op);

struct FilterSpec {
  std::string segment;
  std::string column;
  CompareOp op = CompareOp::eq;
  std::string value;
};

// nullopt when the segment is not of the form <identifier><op><non-empty value>.
std::optional<FilterSpec> parse_filter_segment(std::string_view segment);

}  // namespace hfs::fs
