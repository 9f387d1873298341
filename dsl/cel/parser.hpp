#pragma once
// Parsing CEL expression text into an Expr tree (ast.hpp).
//
// Contract:
//  - Input: the expression text (any bytes; need not be NUL-terminated).
//  - Output: a ParseResult holding either a tree (errors empty) or a
//    non-empty list of errors, each with a byte span relative to the text
//    and a one-line message. No exception escapes parse().
//  - Macros (has, all, exists, exists_one, map, filter) are expanded.
//  - Bounded: text longer than max_length, parenthesis/list/call nesting
//    deeper than max_nesting, or a tree deeper than max_depth are rejected
//    with an error instead of risking the stack.
//  - Thread-safe: parse() has no shared state.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dsl/cel/ast.hpp"

namespace portcullis::dsl::cel {

// One problem found in an expression: where, and what.
struct Issue {
  Span span;
  std::string message;
};

struct ParseOptions {
  std::size_t max_length = 100'000;  // bytes of expression text
  std::size_t max_nesting = 100;     // nested (), [], {}, call arguments, ternaries
  std::size_t max_depth = 250;       // depth of the resulting tree
  bool enable_macros = true;         // expand has/all/exists/exists_one/map/filter
};

struct ParseResult {
  ExprPtr expr;                 // null when errors is non-empty
  std::vector<Issue> errors;
  std::uint32_t node_count = 0; // ids are in [0, node_count)
  bool ok() const { return expr != nullptr && errors.empty(); }
};

ParseResult parse(std::string_view text, const ParseOptions& options = {});

// Decodes the body of a string or bytes literal (quotes and prefixes
// removed). Returns false and sets `error` / `error_offset` (relative to
// body) on an invalid escape. Exposed for tests.
bool unescape(std::string_view body, bool is_bytes, std::string& out, std::string& error,
              std::size_t& error_offset);

}  // namespace portcullis::dsl::cel
