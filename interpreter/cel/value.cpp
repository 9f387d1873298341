#include "interpreter/cel/value.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>

#include "interpreter/cel/time.hpp"

namespace portcullis::interpreter::cel {

const char* kind_name(Kind kind) {
  switch (kind) {
    case Kind::null_: return "null_type";
    case Kind::bool_: return "bool";
    case Kind::int_: return "int";
    case Kind::uint_: return "uint";
    case Kind::double_: return "double";
    case Kind::string: return "string";
    case Kind::bytes: return "bytes";
    case Kind::list: return "list";
    case Kind::map: return "map";
    case Kind::object: return "object";
    case Kind::timestamp: return "google.protobuf.Timestamp";
    case Kind::duration: return "google.protobuf.Duration";
    case Kind::type: return "type";
    case Kind::error: return "error";
    case Kind::absent: return "absent";
  }
  return "?";
}

Value Value::string(std::string s) {
  return Value(Kind::string, new detail::StringObject(Kind::string, std::move(s)));
}
Value Value::bytes(std::string s) {
  return Value(Kind::bytes, new detail::StringObject(Kind::bytes, std::move(s)));
}
Value Value::error(std::string message) {
  return Value(Kind::error, new detail::ErrorObject(std::move(message)));
}
Value Value::list(std::vector<Value> items) {
  for (auto& v : items) v.retain();
  return Value(Kind::list, new detail::ListObject(std::move(items)));
}

Value Value::type(std::string_view name) {
  static constexpr std::array<std::string_view, 14> builtin = {
      "int", "uint", "double", "bool", "string", "bytes", "list", "map", "null_type", "type",
      "google.protobuf.Timestamp", "google.protobuf.Duration", "dyn", "error"};
  static const auto objects = [] {
    std::array<detail::StringObject*, builtin.size()> out{};
    for (std::size_t i = 0; i < builtin.size(); ++i) {
      out[i] = new detail::StringObject(Kind::type, std::string(builtin[i]));
      out[i]->immortal = true;
    }
    return out;
  }();
  for (std::size_t i = 0; i < builtin.size(); ++i) {
    if (builtin[i] == name) return Value(Kind::type, objects[i]);
  }
  return Value(Kind::type, new detail::StringObject(Kind::type, std::string(name)));
}

Value Value::map(std::vector<std::pair<Value, Value>> entries) {
  auto* m = new detail::MapObject();
  Value result(Kind::map, m);
  m->entries = std::move(entries);
  m->index.reserve(m->entries.size());
  for (std::size_t i = 0; i < m->entries.size(); ++i) {
    auto& [k, v] = m->entries[i];
    k.retain();
    v.retain();
    KeyRef key = KeyRef::of(k);
    if (key.cls == KeyRef::none) {
      return error(std::string("unsupported map key type: ") + std::string(type_name(k)));
    }
    if (!m->index.emplace(key, i).second) {
      return error("duplicate map key " + k.debug_string());
    }
  }
  return result;
}

Value Value::object(std::shared_ptr<const dsl::cel::ObjectType> type, std::vector<Value> fields) {
  if (!type || fields.size() != type->fields.size()) {
    return error("object value does not match its type's field count");
  }
  auto* o = new detail::ObjectObject();
  Value result(Kind::object, o);
  o->type = std::move(type);
  o->fields = std::move(fields);
  for (auto& f : o->fields) f.retain();
  return result;
}

// ---- Keys ----------------------------------------------------------------
namespace {
std::size_t mix(std::size_t h, std::size_t v) {
  return h ^ (v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2));
}
}  // namespace

KeyRef KeyRef::of_string(std::string_view s) {
  KeyRef k;
  k.cls = string;
  k.str = s;
  k.hash = mix(std::hash<std::string_view>{}(s), string);
  return k;
}

KeyRef KeyRef::of(const Value& v) {
  KeyRef k;
  switch (v.kind()) {
    case Kind::string: return of_string(v.as_string());
    case Kind::bool_:
      k.cls = boolean;
      k.bits = v.as_bool() ? 1 : 0;
      break;
    case Kind::int_:
      k.cls = v.as_int() < 0 ? negative : nonnegative;
      k.bits = static_cast<std::uint64_t>(v.as_int());
      break;
    case Kind::uint_:
      k.cls = nonnegative;
      k.bits = v.as_uint();
      break;
    case Kind::double_: {
      // Only for lookups: an integral double finds the equal int/uint key.
      const double d = v.as_double();
      if (!std::isfinite(d) || std::trunc(d) != d) return k;
      if (d >= 0 && d < 18446744073709551616.0) {
        k.cls = nonnegative;
        k.bits = static_cast<std::uint64_t>(d);
      } else if (d < 0 && d >= -9223372036854775808.0) {
        k.cls = negative;
        k.bits = static_cast<std::uint64_t>(static_cast<std::int64_t>(d));
      } else {
        return k;
      }
      break;
    }
    default: return k;
  }
  k.hash = mix(std::hash<std::uint64_t>{}(k.bits), k.cls);
  return k;
}

// ---- Equality and ordering -------------------------------------------------
namespace {

// Compares numbers of any CEL numeric kind exactly. Returns -1/0/1 or 2 for
// NaN.
int compare_numbers(const Value& a, const Value& b) {
  auto cmp = [](auto x, auto y) { return x < y ? -1 : (x > y ? 1 : 0); };
  const Kind ka = a.kind();
  const Kind kb = b.kind();
  if (ka == kb) {
    if (ka == Kind::int_) return cmp(a.as_int(), b.as_int());
    if (ka == Kind::uint_) return cmp(a.as_uint(), b.as_uint());
    const double x = a.as_double();
    const double y = b.as_double();
    if (std::isnan(x) || std::isnan(y)) return 2;
    return cmp(x, y);
  }
  if (ka == Kind::int_ && kb == Kind::uint_) {
    if (a.as_int() < 0) return -1;
    return cmp(static_cast<std::uint64_t>(a.as_int()), b.as_uint());
  }
  if (ka == Kind::uint_ && kb == Kind::int_) return -compare_numbers(b, a);
  // One side is a double: CEL compares by converting the other side to
  // double (lossy above 2^53), as the reference implementations do.
  auto as_double = [](const Value& v) {
    switch (v.kind()) {
      case Kind::int_: return static_cast<double>(v.as_int());
      case Kind::uint_: return static_cast<double>(v.as_uint());
      default: return v.as_double();
    }
  };
  const double x = as_double(a);
  const double y = as_double(b);
  if (std::isnan(x) || std::isnan(y)) return 2;
  return cmp(x, y);
}

bool is_number(Kind k) { return k == Kind::int_ || k == Kind::uint_ || k == Kind::double_; }

}  // namespace

Value equals(const Value& a, const Value& b) {
  if (a.is_error()) return a;
  if (b.is_error()) return b;
  const Kind ka = a.kind();
  const Kind kb = b.kind();
  if (is_number(ka) && is_number(kb)) return Value::boolean(compare_numbers(a, b) == 0);
  if (ka != kb) return Value::boolean(false);
  switch (ka) {
    case Kind::null_: return Value::boolean(true);
    case Kind::bool_: return Value::boolean(a.as_bool() == b.as_bool());
    case Kind::string:
    case Kind::bytes:
    case Kind::type: return Value::boolean(a.as_string() == b.as_string());
    case Kind::timestamp:
    case Kind::duration: return Value::boolean(a.as_time() == b.as_time());
    case Kind::list: {
      const auto& x = a.as_list();
      const auto& y = b.as_list();
      if (x.size() != y.size()) return Value::boolean(false);
      for (std::size_t i = 0; i < x.size(); ++i) {
        Value r = equals(x[i], y[i]);
        if (r.is_error() || !r.as_bool()) return r;
      }
      return Value::boolean(true);
    }
    case Kind::map: {
      const auto& x = a.as_map();
      const auto& y = b.as_map();
      if (x.entries.size() != y.entries.size()) return Value::boolean(false);
      for (const auto& [k, v] : x.entries) {
        const Value* other = y.find(KeyRef::of(k));
        if (other == nullptr) return Value::boolean(false);
        Value r = equals(v, *other);
        if (r.is_error() || !r.as_bool()) return r;
      }
      return Value::boolean(true);
    }
    case Kind::object: {
      const auto& x = a.as_object();
      const auto& y = b.as_object();
      if (x.type != y.type) return Value::boolean(false);
      for (std::size_t i = 0; i < x.fields.size(); ++i) {
        Value r = equals(x.fields[i], y.fields[i]);
        if (r.is_error() || !r.as_bool()) return r;
      }
      return Value::boolean(true);
    }
    case Kind::absent: return Value::boolean(true);
    default: return Value::boolean(false);
  }
}

int compare(const Value& a, const Value& b, bool& error) {
  error = false;
  const Kind ka = a.kind();
  const Kind kb = b.kind();
  if (is_number(ka) && is_number(kb)) return compare_numbers(a, b);
  if (ka != kb) {
    error = true;
    return 0;
  }
  auto cmp = [](auto x, auto y) { return x < y ? -1 : (x > y ? 1 : 0); };
  switch (ka) {
    case Kind::bool_: return cmp(a.as_bool(), b.as_bool());
    case Kind::string:
    case Kind::bytes: {
      const int r = a.as_string().compare(b.as_string());
      return r < 0 ? -1 : (r > 0 ? 1 : 0);
    }
    case Kind::timestamp:
    case Kind::duration: return cmp(a.as_time(), b.as_time());
    default: error = true; return 0;
  }
}

std::string_view type_name(const Value& v) {
  if (v.kind() == Kind::object) return v.as_object().type->name;
  return kind_name(v.kind());
}

std::string Value::debug_string() const {
  switch (kind_) {
    case Kind::null_: return "null";
    case Kind::bool_: return u_.b ? "true" : "false";
    case Kind::int_: return std::to_string(u_.i);
    case Kind::uint_: return std::to_string(u_.u) + "u";
    case Kind::double_: {
      std::array<char, 64> buf{};
      auto r = std::to_chars(buf.data(), buf.data() + buf.size(), u_.d);
      return std::string(buf.data(), r.ptr);
    }
    case Kind::string: {
      std::string out = "\"";
      for (char c : as_string()) {
        if (c == '"' || c == '\\') out.push_back('\\');
        out.push_back(c);
      }
      return out + "\"";
    }
    case Kind::bytes: return "b\"" + std::string(as_string()) + "\"";
    case Kind::list: {
      std::string out = "[";
      bool first = true;
      for (const auto& v : as_list()) {
        if (!first) out += ", ";
        first = false;
        out += v.debug_string();
      }
      return out + "]";
    }
    case Kind::map: {
      std::string out = "{";
      bool first = true;
      for (const auto& [k, v] : as_map().entries) {
        if (!first) out += ", ";
        first = false;
        out += k.debug_string() + ": " + v.debug_string();
      }
      return out + "}";
    }
    case Kind::object: {
      const auto& o = as_object();
      std::string out = o.type->name + "{";
      for (std::size_t i = 0; i < o.fields.size(); ++i) {
        if (i) out += ", ";
        out += o.type->fields[i].name + ": " + o.fields[i].debug_string();
      }
      return out + "}";
    }
    case Kind::timestamp: return "timestamp(\"" + format_timestamp(as_time()) + "\")";
    case Kind::duration: return "duration(\"" + format_duration(as_time()) + "\")";
    case Kind::type: return std::string(as_string());
    case Kind::error: return "error(" + std::string(as_string()) + ")";
    case Kind::absent: return "<absent>";
  }
  return "?";
}

}  // namespace portcullis::interpreter::cel
