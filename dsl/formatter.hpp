#pragma once
// The canonical layout of a policy file, as `portcullis fmt` writes it.
//
// format() prints a parsed file in the one layout the project uses: 2-space
// indentation; top-level items separated by exactly one blank line; one
// field, role or statement per line in the author's order; a blank line
// between members only where the author had one; `key: value` spelling;
// strings re-quoted canonically, durations and conditions as written (runs of
// whitespace in a condition, outside its string literals, become one space);
// a role with at most two fields and no comments on one line when it fits in
// 100 columns (so are the attributes of `given requester "x" { ... }`, in
// any number). Every comment of the file is kept: an own-line comment stays
// above the construct it preceded, a trailing comment at the end of the line
// of the construct it followed, comments at the end of a block or of the file
// stay there. A comment written inside a construct that is printed on one
// line (a route spread over lines, a list value) moves above that construct.
//
// Input: a File as the parser built it; its spans and comments must point
// into file.source. Only format a file that parsed WITHOUT errors: items that
// failed to parse are not in the tree, and their text would be lost.
// Output: the formatted text, ending in a single newline (empty for a file
// with neither items nor comments). Reparsing the output yields the same tree
// (see dsl/ast_dump.hpp), and formatting is idempotent.
//
// Pure: no I/O, no global state; safe to call from any thread.

#include <string>

#include "dsl/ast.hpp"

namespace portcullis::dsl {

// Widest line the formatter joins a role onto; longer roles stay one field
// per line.
inline constexpr std::size_t kFormatLineWidth = 100;

std::string format(const ast::File& file);

}  // namespace portcullis::dsl
