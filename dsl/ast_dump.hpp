#pragma once
// A textual dump of a syntax tree, for comparing two parses by meaning.
//
// dump() writes every value of the tree as nested S-expressions, one
// top-level item per line group, and leaves out what does not change the
// meaning of a policy: spans, comments, and the amount of whitespace in a
// condition outside its string literals (a run of it is written as one
// space). Durations are written in seconds, so `90d` and `2160h` dump alike.
// Two files dump equal exactly when they say the same thing; the formatter's
// tests rely on `dump(parse(format(x))) == dump(parse(x))`.
//
// This is deliberately written independently of dsl/formatter: sharing code
// would let one bug hide in both.
//
// Pure; safe to call from any thread.

#include <string>

#include "dsl/ast.hpp"

namespace portcullis::dsl {

std::string dump(const ast::File& file);

}  // namespace portcullis::dsl
