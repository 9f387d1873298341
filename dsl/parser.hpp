#pragma once
// Parses one policy file into its syntax tree.
//
// Never throws for bad input: syntax errors become diagnostics, and the
// parser recovers at the next top-level item (a line that starts with
// `app`, `bucket`, ... in the first column), so one typo yields one error
// and every other item of the file is still parsed and checked. Items that
// failed to parse are left out of the tree.

#include "dsl/ast.hpp"
#include "dsl/diagnostics.hpp"

namespace portcullis::dsl {

struct ParseResult {
  ast::File file;
  Diagnostics diagnostics;
};

ParseResult parse(const SourceFilePtr& source);

}  // namespace portcullis::dsl
