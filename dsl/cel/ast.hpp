#pragma once
// The CEL expression tree produced by the parser (parser.hpp) and read by
// the checker (checker.hpp) and the interpreter's compiler.
//
// Every node carries `span`, a half-open byte range [begin, end) into the
// expression text it was parsed from, and `id`, dense from 0 within one
// parse, so later passes can keep side tables (types, diagnostics) in
// vectors indexed by id. Operators are calls with the CEL standard
// function names ("_+_", "_&&_", "_?_:_", "!_", "-_", "_[_]", "@in", ...).
// Macros are already expanded: `has(a.b)` is a Select with test_only set,
// `all/exists/exists_one/map/filter` are Comprehension nodes.
//
// Trees are owned through std::unique_ptr and are immutable once returned.

#include <cstdint>
#include <memory>
#include <string>
#include <variant>
#include <vector>

namespace portcullis::dsl::cel {

// Byte range [begin, end) relative to the start of the expression text.
struct Span {
  std::uint32_t begin = 0;
  std::uint32_t end = 0;
  friend bool operator==(const Span&, const Span&) = default;
};

struct NullValue {
  friend bool operator==(const NullValue&, const NullValue&) = default;
};
struct Bytes {
  std::string data;
  friend bool operator==(const Bytes&, const Bytes&) = default;
};
using Constant = std::variant<NullValue, bool, std::int64_t, std::uint64_t, double, std::string, Bytes>;

enum class ExprKind : std::uint8_t {
  constant,       // `constant`
  ident,          // `name` (may start with '.' for a root-scoped name)
  select,         // `target`.`name`; `test_only` for has()
  call,           // `name`(`args`), receiver in `target` for method calls
  list,           // [`args`...]
  map,            // {`entries`...}
  message,        // `name`{`fields`...}: parsed, never evaluated (no protobuf)
  comprehension,  // expanded macro, see MacroKind
};

enum class MacroKind : std::uint8_t {
  all,         // range.all(var, args[0])
  exists,      // range.exists(var, args[0])
  exists_one,  // range.exists_one(var, args[0])
  map,         // range.map(var, args[0])
  map_filter,  // range.map(var, args[0] /*filter*/, args[1] /*transform*/)
  filter,      // range.filter(var, args[0])
};

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct MapEntry {
  ExprPtr key;
  ExprPtr value;
  Span span;
};

struct FieldInit {
  std::string name;
  Span name_span;
  ExprPtr value;
};

struct Expr {
  Expr() = default;
  Expr(const Expr&) = delete;
  Expr& operator=(const Expr&) = delete;
  // Destroys the subtree iteratively, so no tree depth can overflow the stack.
  ~Expr();

  ExprKind kind = ExprKind::constant;
  std::uint32_t id = 0;
  Span span;                // whole expression
  Constant constant;        // kind == constant
  std::string name;         // ident / selected field / function / message type / macro name
  Span name_span;           // just the identifier, field, or function name
  ExprPtr target;           // select operand, method receiver, comprehension range
  bool test_only = false;   // select produced by has()
  std::vector<ExprPtr> args;       // call arguments, list elements, comprehension bodies
  std::vector<MapEntry> entries;   // map literal
  std::vector<FieldInit> fields;   // message literal
  MacroKind macro = MacroKind::all;  // kind == comprehension
  std::string iter_var;             // kind == comprehension
  Span iter_var_span;

  bool is_call(const char* fn) const { return kind == ExprKind::call && name == fn; }
};

}  // namespace portcullis::dsl::cel
