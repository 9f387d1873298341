#pragma once
// Compiling CEL text into an immutable Program, and evaluating it.
//
// Compile once, run many:
//
//   auto env = std::make_shared<dsl::cel::Env>();
//   env->declare("request", dsl::cel::types::object(request_type));
//   auto compiled = cel::compile("request.duration <= duration('8h')", env);
//   if (!compiled.ok()) { /* compiled.issues: spans + messages */ }
//   cel::Activation act(env);
//   act.bind("request", cel::Value::object(request_type, {...}));
//   cel::Value v = compiled.program->evaluate(act);   // bool, or an error value
//
// compile() parses, expands macros, type-checks against the Env (unless
// CompileOptions::check is false), resolves every identifier to an
// Activation slot or comprehension local and every function to a function
// pointer, folds constant sub-expressions (`duration('8h')`, constant
// lists used with `in` become hash sets), and returns issues with byte
// spans relative to `text`. It never throws.
//
// Program::evaluate() is pure (no I/O except loading a time zone the first
// time one is named), allocation-free for typical conditions, never
// throws, and is safe to call from many threads at once on one Program.
// Runtime failures (overflow, division by zero, missing key, bad
// conversion, unbound variable, iteration budget exceeded) come back as a
// Value of kind error, located (Value::error_location) at the
// sub-expression that failed; `&&`, `||`, `all` and `exists` absorb errors
// as the CEL spec says.

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dsl/cel/ast.hpp"
#include "dsl/cel/env.hpp"
#include "dsl/cel/parser.hpp"
#include "dsl/cel/types.hpp"
#include "interpreter/cel/activation.hpp"
#include "interpreter/cel/value.hpp"

namespace portcullis::interpreter::cel {

struct CompileOptions {
  dsl::cel::ParseOptions parse;
  // Type-check against the Env. When false, undeclared identifiers compile
  // to nodes that evaluate to an error (useful for untyped test suites).
  bool check = true;
  // Upper bound on comprehension iterations per evaluation (all nested
  // macros together); exceeding it yields an error value.
  std::size_t max_iterations = 100'000;
};

class Program;

struct CompileResult {
  std::shared_ptr<const Program> program;  // null when issues is non-empty
  std::vector<dsl::cel::Issue> issues;
  dsl::cel::TypePtr type;                  // checked result type (dyn if unchecked)
  bool ok() const { return program != nullptr && issues.empty(); }
};

CompileResult compile(std::string_view text, std::shared_ptr<const dsl::cel::Env> env,
                      const CompileOptions& options = {});

// Compiles an already parsed (and, if options.check, to-be-checked) tree.
CompileResult compile(const dsl::cel::Expr& expr, std::shared_ptr<const dsl::cel::Env> env,
                      const CompileOptions& options = {});

namespace detail {
class Node;
}

class Program {
 public:
  ~Program();
  Program(const Program&) = delete;
  Program& operator=(const Program&) = delete;

  // Evaluates against `activation`, which must have been built from the
  // Env this program was compiled with (else an error value is returned).
  Value evaluate(const Activation& activation) const;

  const dsl::cel::TypePtr& result_type() const { return type_; }
  const std::shared_ptr<const dsl::cel::Env>& env() const { return env_; }

 private:
  friend CompileResult compile(const dsl::cel::Expr&, std::shared_ptr<const dsl::cel::Env>,
                               const CompileOptions&);
  Program() = default;

  std::shared_ptr<const dsl::cel::Env> env_;
  dsl::cel::TypePtr type_;
  std::unique_ptr<detail::Node> root_;
  std::size_t locals_ = 0;
  std::size_t max_iterations_ = 0;
};

}  // namespace portcullis::interpreter::cel
