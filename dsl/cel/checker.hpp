#pragma once
// Type checking a parsed CEL expression against an Env (env.hpp).
//
// check() walks the tree once and reports user mistakes as Issues (never
// exceptions), each with the byte span of the exact identifier, field, or
// operator at fault:
//   - undeclared identifier or function, with "did you mean 'x'?" computed
//     by edit distance over the names in scope;
//   - unknown field of an object type, with a suggestion from its fields;
//   - no matching overload (`requester.department > 3`), naming the
//     argument types.
// The result type is returned even when issues exist (as far as it could
// be inferred; `dyn` where unknown), so a caller can insist on `bool`.
//
// Values of type dyn are accepted wherever any type is; the interpreter
// checks them at run time.
//
// Thread-safe: check() only reads its arguments.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dsl/cel/ast.hpp"
#include "dsl/cel/env.hpp"
#include "dsl/cel/parser.hpp"
#include "dsl/cel/types.hpp"

namespace portcullis::dsl::cel {

struct CheckResult {
  TypePtr type;                     // type of the whole expression
  std::vector<Issue> issues;        // empty when the expression is well typed
  std::vector<TypePtr> node_types;  // indexed by Expr::id (null for unvisited ids)
  bool ok() const { return issues.empty(); }
};

CheckResult check(const Expr& expr, const Env& env);

// Parse + check in one call, for front ends that only validate (the policy
// `check` command). `issues` holds parse errors or, if parsing succeeded,
// checker issues; spans are relative to `text`.
struct Analysis {
  ExprPtr expr;      // null if parsing failed
  TypePtr type;      // null if parsing failed
  std::vector<Issue> issues;
  bool ok() const { return expr != nullptr && issues.empty(); }
};
Analysis analyze(std::string_view text, const Env& env, const ParseOptions& options = {});

// If `e` is an identifier or a chain of field selections on an identifier
// (`a.b.c`), its dotted name; otherwise nullopt. Used to resolve qualified
// variable names declared in an Env.
std::optional<std::string> qualified_name(const Expr& e);

// The names the checker knows as type denotations (`int`, `string`, ...):
// true if `name` is one of them.
bool is_type_name(std::string_view name);

}  // namespace portcullis::dsl::cel
