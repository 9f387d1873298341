#pragma once
// Finds where an embedded CEL condition ends, without parsing CEL.
//
// A condition runs for as long as its tokens can continue an expression:
// after an operand, only an operator, `.`, `(`, `[`, `?`, a pending `:` or
// `in` carries on; anything else (a newline followed by the next field, the
// `else` of a route, a `}`) ends it. So conditions need no delimiters and may
// span lines where an operator or bracket says they go on. The captured text
// is handed to dsl/cel, which parses and type-checks it.

#include <cstddef>
#include <string_view>

#include <tao/pegtl.hpp>

namespace portcullis::dsl {

// Maximum bracket nesting inside one condition; deeper input is an error.
inline constexpr std::size_t kMaxConditionNesting = 64;

struct ConditionExtent {
  enum class Status { ok, empty, incomplete, unbalanced, too_deep };
  Status status = Status::empty;
  std::size_t length = 0;  // bytes of the condition, without trailing space
};

// Scans `text` from its start.
ConditionExtent scan_condition(std::string_view text);

// Length of the value of an unknown field, to skip it: up to the end of the
// line, a `;` or an unmatched `}`, whichever comes first outside strings and
// brackets.
std::size_t skip_field_value_length(std::string_view text);

namespace grammar {

// PEGTL rule that consumes one condition (status ok) and fails otherwise.
struct condition_scanner {
  using rule_t = condition_scanner;
  using subs_t = tao::pegtl::type_list<>;

  template <typename ParseInput>
  static bool match(ParseInput& in) {
    const std::string_view rest(in.current(), in.size(in.end() - in.current()));
    const ConditionExtent extent = scan_condition(rest);
    if (extent.status != ConditionExtent::Status::ok) return false;
    in.bump(extent.length);
    return true;
  }
};

// PEGTL rule that skips an unknown field's value; always succeeds.
struct skip_field_value {
  using rule_t = skip_field_value;
  using subs_t = tao::pegtl::type_list<>;

  template <typename ParseInput>
  static bool match(ParseInput& in) {
    const std::string_view rest(in.current(), in.size(in.end() - in.current()));
    in.bump(skip_field_value_length(rest));
    return true;
  }
};

}  // namespace grammar
}  // namespace portcullis::dsl
