#pragma once
// Variable bindings for one evaluation.
//
// An Activation is laid out by an Env (dsl/cel/env.hpp): slot i holds the
// value of the Env's i-th variable. Programs compiled against the same Env
// read slots directly, with no name lookup. Bind by name (a hash lookup,
// once per request) or by slot (Env::find(name)->slot, resolved once).
// Unbound variables evaluate to an error value.
//
// Owns (retains) the values bound. Not thread-safe for writes; one
// Activation per evaluation/request, or share one read-only.

#include <cstddef>
#include <memory>
#include <string_view>
#include <vector>

#include "dsl/cel/env.hpp"
#include "interpreter/cel/value.hpp"

namespace portcullis::interpreter::cel {

class Activation {
 public:
  explicit Activation(std::shared_ptr<const dsl::cel::Env> env)
      : env_(env ? std::move(env) : std::make_shared<const dsl::cel::Env>()),
        slots_(env_->size(), Value::absent()) {}

  // False if `name` is not declared in the Env.
  bool bind(std::string_view name, Value value) {
    const dsl::cel::Variable* v = env_->find(name);
    if (v == nullptr) return false;
    return bind(v->slot, std::move(value));
  }
  // False if `slot` is not a slot of the Env.
  bool bind(std::size_t slot, Value value) {
    if (slot >= slots_.size()) return false;
    value.retain();
    slots_[slot] = std::move(value);
    return true;
  }
  void unbind(std::size_t slot) {
    if (slot < slots_.size()) slots_[slot] = Value::absent();
  }

  const dsl::cel::Env& env() const { return *env_; }
  const std::shared_ptr<const dsl::cel::Env>& env_ptr() const { return env_; }
  const Value* slots() const { return slots_.data(); }

 private:
  std::shared_ptr<const dsl::cel::Env> env_;
  std::vector<Value> slots_;
};

}  // namespace portcullis::interpreter::cel
