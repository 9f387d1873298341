#include "dsl/cel/types.hpp"

#include <algorithm>


namespace portcullis::dsl::cel {

std::optional<std::size_t> ObjectType::field_index(std::string_view field) const {
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (fields[i].name == field) return i;
  }
  return std::nullopt;
}

namespace types {
namespace {
TypePtr make(TypeKind kind) {
  auto t = std::make_shared<Type>();
  t->kind = kind;
  return t;
}
}  // namespace

TypePtr dyn() { static const TypePtr t = make(TypeKind::dyn); return t; }
TypePtr null_type() { static const TypePtr t = make(TypeKind::null_type); return t; }
TypePtr boolean() { static const TypePtr t = make(TypeKind::bool_); return t; }
TypePtr int64() { static const TypePtr t = make(TypeKind::int_); return t; }
TypePtr uint64() { static const TypePtr t = make(TypeKind::uint_); return t; }
TypePtr double_() { static const TypePtr t = make(TypeKind::double_); return t; }
TypePtr string() { static const TypePtr t = make(TypeKind::string); return t; }
TypePtr bytes() { static const TypePtr t = make(TypeKind::bytes); return t; }
TypePtr timestamp() { static const TypePtr t = make(TypeKind::timestamp); return t; }
TypePtr duration() { static const TypePtr t = make(TypeKind::duration); return t; }
TypePtr type() { static const TypePtr t = make(TypeKind::type); return t; }
TypePtr error() { static const TypePtr t = make(TypeKind::error); return t; }

TypePtr list(TypePtr elem) {
  auto t = std::make_shared<Type>();
  t->kind = TypeKind::list;
  t->elem = elem ? std::move(elem) : dyn();
  return t;
}

TypePtr map(TypePtr key, TypePtr value) {
  auto t = std::make_shared<Type>();
  t->kind = TypeKind::map;
  t->key = key ? std::move(key) : dyn();
  t->value = value ? std::move(value) : dyn();
  return t;
}

TypePtr object(std::shared_ptr<const ObjectType> object) {
  auto t = std::make_shared<Type>();
  t->kind = TypeKind::object;
  t->object = std::move(object);
  return t;
}
}  // namespace types

std::string to_string(const Type& type) {
  switch (type.kind) {
    case TypeKind::dyn: return "dyn";
    case TypeKind::null_type: return "null_type";
    case TypeKind::bool_: return "bool";
    case TypeKind::int_: return "int";
    case TypeKind::uint_: return "uint";
    case TypeKind::double_: return "double";
    case TypeKind::string: return "string";
    case TypeKind::bytes: return "bytes";
    case TypeKind::list: return "list(" + to_string(*type.elem) + ")";
    case TypeKind::map: return "map(" + to_string(*type.key) + ", " + to_string(*type.value) + ")";
    case TypeKind::timestamp: return "timestamp";
    case TypeKind::duration: return "duration";
    case TypeKind::type: return "type";
    case TypeKind::object: return type.object ? type.object->name : "object";
    case TypeKind::error: return "*error*";
  }
  return "?";
}

bool same_type(const Type& a, const Type& b) {
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case TypeKind::list: return same_type(*a.elem, *b.elem);
    case TypeKind::map: return same_type(*a.key, *b.key) && same_type(*a.value, *b.value);
    case TypeKind::object: return a.object == b.object;
    default: return true;
  }
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  // Optimal string alignment: insertions, deletions, substitutions and
  // transpositions of adjacent characters each cost 1.
  const std::size_t n = a.size();
  const std::size_t m = b.size();
  std::vector<std::size_t> d((n + 1) * (m + 1));
  auto at = [&](std::size_t i, std::size_t j) -> std::size_t& { return d[i * (m + 1) + j]; };
  for (std::size_t i = 0; i <= n; ++i) at(i, 0) = i;
  for (std::size_t j = 0; j <= m; ++j) at(0, j) = j;
  for (std::size_t i = 1; i <= n; ++i) {
    for (std::size_t j = 1; j <= m; ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      at(i, j) = std::min({at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        at(i, j) = std::min(at(i, j), at(i - 2, j - 2) + 1);
      }
    }
  }
  return at(n, m);
}

std::string suggest(std::string_view name, const std::vector<std::string_view>& candidates) {
  std::string_view best;
  std::size_t best_d = static_cast<std::size_t>(-1);
  for (auto c : candidates) {
    const std::size_t dist = edit_distance(name, c);
    if (dist < best_d) {
      best_d = dist;
      best = c;
    }
  }
  // Close enough to be a typo: 1 edit for short names, else a third of the length (min 2).
  const std::size_t len = std::max(name.size(), best.size());
  const std::size_t limit = len <= 3 ? 1 : std::max<std::size_t>(2, len / 3);
  if (best.empty() || best_d == 0 || best_d > limit) return {};
  return std::string(best);
}

}  // namespace portcullis::dsl::cel
