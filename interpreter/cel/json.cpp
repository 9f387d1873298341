#include "interpreter/cel/json.hpp"

#include <limits>
#include <string>

#include "interpreter/cel/time.hpp"

namespace portcullis::interpreter::cel {
namespace {

std::string base64(std::string_view in) {
  static constexpr char kChars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  while (i + 2 < in.size()) {
    const auto n = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8) |
                   static_cast<unsigned char>(in[i + 2]);
    out += kChars[(n >> 18) & 63];
    out += kChars[(n >> 12) & 63];
    out += kChars[(n >> 6) & 63];
    out += kChars[n & 63];
    i += 3;
  }
  if (i + 1 == in.size()) {
    const auto n = static_cast<unsigned char>(in[i]) << 16;
    out += kChars[(n >> 18) & 63];
    out += kChars[(n >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    const auto n = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
    out += kChars[(n >> 18) & 63];
    out += kChars[(n >> 12) & 63];
    out += kChars[(n >> 6) & 63];
    out += '=';
  }
  return out;
}

// JSON nesting is bounded by the parser that produced it (nlohmann's
// default parser recurses too), so plain recursion is used here.
Value from_json(const nlohmann::json& j) {
  switch (j.type()) {
    case nlohmann::json::value_t::null: return Value::null();
    case nlohmann::json::value_t::boolean: return Value::boolean(j.get<bool>());
    case nlohmann::json::value_t::number_integer: return Value::int64(j.get<std::int64_t>());
    case nlohmann::json::value_t::number_unsigned: {
      const auto u = j.get<std::uint64_t>();
      if (u <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        return Value::int64(static_cast<std::int64_t>(u));
      }
      return Value::uint64(u);
    }
    case nlohmann::json::value_t::number_float: return Value::double_(j.get<double>());
    case nlohmann::json::value_t::string: return Value::string(j.get<std::string>());
    case nlohmann::json::value_t::array: {
      std::vector<Value> items;
      items.reserve(j.size());
      for (const auto& e : j) items.push_back(from_json(e));
      return Value::list(std::move(items));
    }
    case nlohmann::json::value_t::object: {
      std::vector<std::pair<Value, Value>> entries;
      entries.reserve(j.size());
      for (auto it = j.begin(); it != j.end(); ++it) entries.emplace_back(Value::string(it.key()), from_json(it.value()));
      return Value::map(std::move(entries));
    }
    default: return Value::error("unsupported JSON value");
  }
}

std::string key_string(const Value& k) {
  if (k.kind() == Kind::string) return std::string(k.as_string());
  if (k.kind() == Kind::uint_) return std::to_string(k.as_uint());
  return k.debug_string();
}

}  // namespace

Value value_from_json(const nlohmann::json& j) { return from_json(j); }

nlohmann::json value_to_json(const Value& v) {
  switch (v.kind()) {
    case Kind::null_:
    case Kind::absent: return nullptr;
    case Kind::bool_: return v.as_bool();
    case Kind::int_: return v.as_int();
    case Kind::uint_: return v.as_uint();
    case Kind::double_: return v.as_double();
    case Kind::string: return std::string(v.as_string());
    case Kind::bytes: return base64(v.as_string());
    case Kind::list: {
      auto out = nlohmann::json::array();
      for (const auto& e : v.as_list()) out.push_back(value_to_json(e));
      return out;
    }
    case Kind::map: {
      auto out = nlohmann::json::object();
      for (const auto& [k, e] : v.as_map().entries) out[key_string(k)] = value_to_json(e);
      return out;
    }
    case Kind::object: {
      auto out = nlohmann::json::object();
      const auto& o = v.as_object();
      for (std::size_t i = 0; i < o.fields.size(); ++i) {
        if (o.fields[i].kind() != Kind::absent) out[o.type->fields[i].name] = value_to_json(o.fields[i]);
      }
      return out;
    }
    case Kind::timestamp: return format_timestamp(v.as_time());
    case Kind::duration: return format_duration(v.as_time());
    case Kind::type: return std::string(v.as_string());
    case Kind::error: return nlohmann::json{{"error", std::string(v.error_message())}};
  }
  return nullptr;
}

}  // namespace portcullis::interpreter::cel
