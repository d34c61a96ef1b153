// One node of the mounted tree: one type per kind, held in a std::variant, so each kind
// carries exactly the fields that mean something for it. Immutable once registered: a refresh
// that changes a node (a new size for .results.csv, a file's size learnt by a lookup) replaces
// it under the same inode.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "fs/path_grammar.h"
#include "fs/remote_view.h"
#include "vo/archive_client.h"

namespace hfs::fs {

// What a query directory stands for: a cone search plus the filters on the way down.
struct QueryPath {
  ConeQuery cone;
  std::vector<FilterSpec> filters;
};

// "/": the tables of the authority.
struct RootNode {
  bool operator==(const RootNode&) const = default;
};
// "/numaster": the targets looked up so far.
struct TableNode {
  std::string table;
  bool operator==(const TableNode&) const = default;
};
// "/numaster/NGC4151" and its filter subdirectories: the rows that pass.
struct QueryNode {
  std::shared_ptr<const QueryPath> query;
  bool operator==(const QueryNode& other) const { return query == other.query; }
};
// ".../.results.csv" and ".../.results.vot": the rows as CSV or VOTable; `size` is that of the
// text made from `basis`.
enum class ResultsFormat : std::uint8_t { csv, votable };
struct ResultsFileNode {
  std::shared_ptr<const QueryPath> query;
  ResultsFormat format = ResultsFormat::csv;
  std::uint64_t size = 0;
  std::weak_ptr<const ResultRows> basis;
  bool operator==(const ResultsFileNode& other) const {
    return query == other.query && format == other.format && size == other.size && basis.lock() == other.basis.lock();
  }
};
// ".../60001111003": the row's DataLink directory, mirrored.
struct RowNode {
  std::shared_ptr<const QueryPath> query;
  std::string row_name;
  bool operator==(const RowNode& other) const { return query == other.query && row_name == other.row_name; }
};
// A subdirectory inside a row's directory.
struct ArchiveDirNode {
  std::string url;
  std::int64_t mtime = 0;
  bool operator==(const ArchiveDirNode&) const = default;
};
// "/.heasarcfs" (looked up, never listed in "/") and its "stats" file: the mount's counters.
struct ControlDirNode {
  bool operator==(const ControlDirNode&) const = default;
};
struct StatsFileNode {
  bool operator==(const StatsFileNode&) const = default;
};
// A file of the archive. `object` is nullopt while its size is unknown (its stat failed).
struct ArchiveFileNode {
  std::string url;
  std::int64_t mtime = 0;
  std::optional<vo::ObjectInfo> object;
  bool operator==(const ArchiveFileNode& other) const {
    return url == other.url && mtime == other.mtime && object.has_value() == other.object.has_value() &&
           (!object || (object->size == other.object->size && object->validator() == other.object->validator()));
  }
};

using NodeData = std::variant<RootNode, TableNode, QueryNode, ResultsFileNode, RowNode, ArchiveDirNode, ArchiveFileNode,
                              ControlDirNode, StatsFileNode>;

struct Node {
  std::uint64_t ino = 0;
  std::uint64_t parent = 0;
  std::string name;
  std::string table;  // the table this node lies under ("" for the root)
  NodeData data;

  template <class Kind>
  const Kind* as() const {
    return std::get_if<Kind>(&data);
  }
  bool is_dir() const { return !as<ResultsFileNode>() && !as<ArchiveFileNode>() && !as<StatsFileNode>(); }
  bool is_archive() const { return as<ArchiveDirNode>() || as<ArchiveFileNode>(); }
  // Bytes of a file (0 for directories, so `du -b` of a row counts only its files).
  std::uint64_t size() const {
    if (auto results = as<ResultsFileNode>()) return results->size;
    if (auto file = as<ArchiveFileNode>()) return file->object ? file->object->size : 0;
    return 0;
  }
  // Seconds since the epoch; 0: unknown (the mount time is shown).
  std::int64_t mtime() const {
    if (auto dir = as<ArchiveDirNode>()) return dir->mtime;
    if (auto file = as<ArchiveFileNode>()) return file->mtime;
    return 0;
  }
};

}  // namespace hfs::fs
