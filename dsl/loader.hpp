#pragma once
// Loads policy files and, transitively, the files they import.
//
// `import "path"` is resolved relative to the importing file's folder. Each
// file is read and parsed once per program even when imported from several
// places. Missing files and import cycles are diagnostics on the `import`
// that caused them.

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "dsl/ast.hpp"
#include "dsl/diagnostics.hpp"

namespace portcullis::dsl {

// Reads a file's bytes; nullopt when it cannot be read.
using FileReader = std::function<std::optional<std::string>(const std::string& path)>;

std::optional<std::string> read_file_from_disk(const std::string& path);

// One root file with everything it imports.
struct Program {
  // files[0] is the root; the rest are its imports, each once, in the order
  // they were first reached.
  std::vector<ast::File> files;
};

struct LoadResult {
  Program program;
  Diagnostics diagnostics;  // read, parse and import errors
  bool root_readable = true;
};

LoadResult load_program(const std::string& root_path, const FileReader& reader = read_file_from_disk);

// Expands directories into the `*.policy` files below them (sorted, hidden
// folders and build folders skipped); plain files are kept as given.
// Paths that do not exist are returned in `missing`.
struct ExpandedPaths {
  std::vector<std::string> files;
  std::vector<std::string> missing;
};
ExpandedPaths expand_policy_paths(const std::vector<std::string>& paths);

}  // namespace portcullis::dsl
