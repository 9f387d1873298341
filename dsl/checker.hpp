#pragma once
// Semantic checks of a loaded program: names resolve, nothing is defined
// twice, roles grant something, durations and routes are satisfiable,
// secrets are references, and (as warnings) nothing is left unused.
//
// Pure: reads the syntax trees, appends diagnostics, never throws for bad
// input.

#include "dsl/diagnostics.hpp"
#include "dsl/loader.hpp"

namespace portcullis::dsl {

void check_program(const Program& program, Diagnostics& diagnostics);

// Load + check for every root path: the front end as `portcullis check`
// runs it. Diagnostics of a file imported by several roots appear once.
struct CheckRun {
  std::vector<std::string> files;     // the root files checked
  std::vector<Program> programs;      // one per readable root
  Diagnostics diagnostics;
  std::vector<std::string> unreadable;  // roots that could not be read
};
CheckRun check_files(const std::vector<std::string>& root_files, const FileReader& reader = read_file_from_disk);

}  // namespace portcullis::dsl
