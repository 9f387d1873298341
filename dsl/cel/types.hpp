#pragma once
// CEL types as seen by the checker and the declarations environment.
//
// Types are immutable and shared (TypePtr = shared_ptr<const Type>); the
// primitive ones are process-wide singletons returned by the factory
// functions below. An ObjectType is a named record with a fixed, ordered
// set of fields; field i of an object value is stored at index i, which is
// what lets the interpreter resolve `requester.email` to an index at
// compile time.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace portcullis::dsl::cel {

enum class TypeKind : std::uint8_t {
  dyn,
  null_type,
  bool_,
  int_,
  uint_,
  double_,
  string,
  bytes,
  list,       // elem
  map,        // key, value
  timestamp,
  duration,
  type,       // the type of type values (`int`, `type(x)`)
  object,     // object
  error,      // result of an expression that failed to check
};

struct Type;
struct ObjectType;
using TypePtr = std::shared_ptr<const Type>;

struct Type {
  TypeKind kind = TypeKind::dyn;
  TypePtr elem;                              // list element type
  TypePtr key;                               // map key type
  TypePtr value;                             // map value type
  std::shared_ptr<const ObjectType> object;  // object type
};

struct Field {
  std::string name;
  TypePtr type;
};

struct ObjectType {
  std::string name;
  std::vector<Field> fields;
  // Index of the field called `name`, or nullopt.
  std::optional<std::size_t> field_index(std::string_view field) const;
};

namespace types {
TypePtr dyn();
TypePtr null_type();
TypePtr boolean();
TypePtr int64();
TypePtr uint64();
TypePtr double_();
TypePtr string();
TypePtr bytes();
TypePtr timestamp();
TypePtr duration();
TypePtr type();
TypePtr error();
TypePtr list(TypePtr elem);
TypePtr map(TypePtr key, TypePtr value);
TypePtr object(std::shared_ptr<const ObjectType> object);
}  // namespace types

// CEL spelling: "int", "list(string)", "map(string, int)", "requester", ...
std::string to_string(const Type& type);
// Structural equality (objects compare by identity of their ObjectType).
bool same_type(const Type& a, const Type& b);

// Levenshtein distance, used for did-you-mean suggestions.
std::size_t edit_distance(std::string_view a, std::string_view b);
// The candidate closest to `name` if it is close enough to be a plausible
// typo, else an empty string.
std::string suggest(std::string_view name, const std::vector<std::string_view>& candidates);

}  // namespace portcullis::dsl::cel
