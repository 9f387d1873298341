#pragma once
// The CEL standard library as plain functions over Values, resolved by the
// compiler (program.cpp) once per call site.
//
// Every function is strict: the compiler never passes an error value in
// (it short-circuits argument errors). Functions return a value or an error
// value; they never throw and do no I/O, except the time-zone accessors,
// which may read /usr/share/zoneinfo once per zone (time.hpp).

#include <cstddef>
#include <string_view>

#include "interpreter/cel/value.hpp"

namespace portcullis::interpreter::cel {

// args[0] is the receiver for method-style calls.
using Function = Value (*)(const Value* args, std::size_t n);

// nullptr when no function of that name/style/arity exists.
Function find_function(std::string_view name, bool receiver_style, std::size_t arity);

Value op_add(const Value& a, const Value& b);
Value op_sub(const Value& a, const Value& b);
Value op_mul(const Value& a, const Value& b);
Value op_div(const Value& a, const Value& b);
Value op_mod(const Value& a, const Value& b);
Value op_neg(const Value& a);
Value op_index(const Value& container, const Value& key);
Value op_in(const Value& element, const Value& container);

// Tries to match `text` against the RE2 `pattern` (partial match).
Value regex_matches(std::string_view text, std::string_view pattern);

// A borrowed view of `elem` (which lives inside `container`) that stays valid
// as long as the caller keeps the returned value: retained if the container
// is an owned temporary.
inline Value child_of(const Value& container, const Value& elem) {
  Value r = elem.borrow();
  if (container.owned()) r.retain();
  return r;
}

Value no_overload(std::string_view fn, const Value* args, std::size_t n);

}  // namespace portcullis::interpreter::cel
