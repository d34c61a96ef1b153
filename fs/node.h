// One node of the mounted tree. Immutable once registered: a refresh that changes a node (a
// new size for .results.csv, say) replaces it under the same inode.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fs/path_grammar.h"
#include "fs/remote_view.h"
#include "vo/archive_client.h"

namespace hfs::fs {

enum class NodeKind {
  root,          // "/"
  table,         // "/numaster"
  query,         // "/numaster/NGC4151" and its filter subdirectories
  results_csv,   // ".../.results.csv"
  row,           // ".../60001111003": the row's DataLink directory
  archive_dir,   // a subdirectory inside a row's directory
  archive_file,  // a file of the archive
};

// What a query directory stands for: a cone search plus the filters on the way down.
struct QueryPath {
  ConeQuery cone;
  std::vector<FilterSpec> filters;
};

struct Node {
  std::uint64_t ino = 0;
  std::uint64_t parent = 0;
  NodeKind kind = NodeKind::root;
  std::string name;
  std::string table;                       // table and below
  std::shared_ptr<const QueryPath> query;  // query, results_csv, row
  std::string row_name;                    // row
  std::string url;                         // archive_dir, archive_file (and row once known)
  std::optional<vo::ObjectInfo> object;    // archive_file
  std::uint64_t size = 0;                  // archive_file, results_csv
  std::weak_ptr<const ResultRows> csv_basis;  // results_csv: the cone answer `size` is of
  std::int64_t mtime = 0;                  // 0: the mount time

  bool is_dir() const { return kind != NodeKind::results_csv && kind != NodeKind::archive_file; }
};

}  // namespace hfs::fs
