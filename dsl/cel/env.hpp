#pragma once
// The declarations a CEL expression is checked and compiled against.
//
// An Env lists variables (name and type) in declaration order; a
// variable's index in that order is its *slot*, which the interpreter uses
// to bind values (interpreter/cel/activation.hpp) without string lookups.
// Names may contain dots ("member.last_login_age") to declare a qualified
// variable directly; the checker and compiler resolve `a.b.c` to the
// longest declared prefix.
//
// An Env is built once, then shared read-only (thread-safe to read).

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "dsl/cel/types.hpp"

namespace portcullis::dsl::cel {

struct Variable {
  std::string name;
  TypePtr type;
  std::size_t slot = 0;
};

class Env {
 public:
  // Declares a variable. Returns false (and changes nothing) if the name is
  // already declared.
  bool declare(std::string name, TypePtr type);

  const Variable* find(std::string_view name) const;
  const std::vector<Variable>& variables() const { return variables_; }
  std::size_t size() const { return variables_.size(); }

 private:
  struct NameHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::vector<Variable> variables_;
  std::unordered_map<std::string, std::size_t, NameHash, std::equal_to<>> index_;
};

}  // namespace portcullis::dsl::cel
