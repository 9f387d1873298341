#include "interpreter/cel/functions.hpp"

#include <re2/re2.h>

#include <array>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>

#include "interpreter/cel/time.hpp"

namespace portcullis::interpreter::cel {
namespace {

constexpr double kTwo63 = 9223372036854775808.0;
constexpr double kTwo64 = 18446744073709551616.0;

Value overflow() { return Value::error("integer overflow"); }

std::size_t utf8_length(std::string_view s) {
  std::size_t n = 0;
  for (char c : s) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  }
  return n;
}

bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t len = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    for (std::size_t j = 1; j < len; ++j) {
      const auto cc = static_cast<unsigned char>(s[i + j]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += len;
  }
  return true;
}

std::string format_double(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "+Inf" : "-Inf";
  // Like Go's fmt "%g" (shortest digits; exponent form below 1e-4 or from
  // 1e6), which cel-go uses; cel-cpp's absl formatting agrees.
  std::array<char, 64> buf{};
  auto r = std::to_chars(buf.data(), buf.data() + buf.size(), d, std::chars_format::scientific);
  std::string sci(buf.data(), r.ptr);
  const std::size_t e = sci.find('e');
  const int exp = std::atoi(sci.c_str() + e + 1);
  if (exp < -4 || exp >= 6) return sci;
  r = std::to_chars(buf.data(), buf.data() + buf.size(), d, std::chars_format::fixed);
  return std::string(buf.data(), r.ptr);
}

// ---- Conversions -----------------------------------------------------------
Value to_int(const Value* a, std::size_t /*n*/) {
  const Value& v = a[0];
  switch (v.kind()) {
    case Kind::int_: return v.borrow();
    case Kind::uint_:
      if (v.as_uint() > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        return Value::error("range error: uint out of int range");
      }
      return Value::int64(static_cast<std::int64_t>(v.as_uint()));
    case Kind::double_: {
      const double d = v.as_double();
      if (!(d > -kTwo63 && d < kTwo63)) return Value::error("range error: double out of int range");
      return Value::int64(static_cast<std::int64_t>(d));
    }
    case Kind::string: {
      const std::string_view s = v.as_string();
      std::int64_t out = 0;
      auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
      if (ec != std::errc() || p != s.data() + s.size() || s.empty()) {
        return Value::error("cannot convert '" + std::string(s) + "' to int");
      }
      return Value::int64(out);
    }
    case Kind::timestamp: return Value::int64(v.as_time().seconds);
    default: return no_overload("int", a, 1);
  }
}

Value to_uint(const Value* a, std::size_t /*n*/) {
  const Value& v = a[0];
  switch (v.kind()) {
    case Kind::uint_: return v.borrow();
    case Kind::int_:
      if (v.as_int() < 0) return Value::error("range error: negative int to uint");
      return Value::uint64(static_cast<std::uint64_t>(v.as_int()));
    case Kind::double_: {
      const double d = v.as_double();
      if (!(d > -1.0 && d < kTwo64)) return Value::error("range error: double out of uint range");
      return Value::uint64(static_cast<std::uint64_t>(d));
    }
    case Kind::string: {
      const std::string_view s = v.as_string();
      std::uint64_t out = 0;
      auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
      if (ec != std::errc() || p != s.data() + s.size() || s.empty()) {
        return Value::error("cannot convert '" + std::string(s) + "' to uint");
      }
      return Value::uint64(out);
    }
    default: return no_overload("uint", a, 1);
  }
}

Value to_double(const Value* a, std::size_t /*n*/) {
  const Value& v = a[0];
  switch (v.kind()) {
    case Kind::double_: return v.borrow();
    case Kind::int_: return Value::double_(static_cast<double>(v.as_int()));
    case Kind::uint_: return Value::double_(static_cast<double>(v.as_uint()));
    case Kind::string: {
      const std::string s(v.as_string());
      if (s.empty() || std::isspace(static_cast<unsigned char>(s.front()))) {
        return Value::error("cannot convert '" + s + "' to double");
      }
      char* end = nullptr;
      const double d = std::strtod(s.c_str(), &end);
      if (end != s.c_str() + s.size()) return Value::error("cannot convert '" + s + "' to double");
      return Value::double_(d);
    }
    default: return no_overload("double", a, 1);
  }
}

Value to_string(const Value* a, std::size_t /*n*/) {
  const Value& v = a[0];
  switch (v.kind()) {
    case Kind::string: return v.borrow();
    case Kind::int_: return Value::string(std::to_string(v.as_int()));
    case Kind::uint_: return Value::string(std::to_string(v.as_uint()));
    case Kind::double_: return Value::string(format_double(v.as_double()));
    case Kind::bool_: return Value::string(v.as_bool() ? "true" : "false");
    case Kind::bytes:
      if (!valid_utf8(v.as_string())) return Value::error("invalid UTF-8 in bytes to string conversion");
      return Value::string(std::string(v.as_string()));
    case Kind::timestamp: return Value::string(format_timestamp(v.as_time()));
    case Kind::duration: return Value::string(format_duration(v.as_time()));
    case Kind::type: return Value::string(std::string(v.as_string()));
    default: return no_overload("string", a, 1);
  }
}

Value to_bytes(const Value* a, std::size_t /*n*/) {
  const Value& v = a[0];
  if (v.kind() == Kind::bytes) return v.borrow();
  if (v.kind() == Kind::string) return Value::bytes(std::string(v.as_string()));
  return no_overload("bytes", a, 1);
}

Value to_bool(const Value* a, std::size_t /*n*/) {
  const Value& v = a[0];
  if (v.kind() == Kind::bool_) return v.borrow();
  if (v.kind() == Kind::string) {
    const std::string_view s = v.as_string();
    if (s == "true" || s == "True" || s == "TRUE" || s == "t" || s == "T" || s == "1") return Value::boolean(true);
    if (s == "false" || s == "False" || s == "FALSE" || s == "f" || s == "F" || s == "0") return Value::boolean(false);
    return Value::error("cannot convert '" + std::string(s) + "' to bool");
  }
  return no_overload("bool", a, 1);
}

Value to_dyn(const Value* a, std::size_t /*n*/) { return a[0].borrow(); }

Value type_of(const Value* a, std::size_t /*n*/) { return Value::type(type_name(a[0])); }

Value to_timestamp(const Value* a, std::size_t /*n*/) {
  const Value& v = a[0];
  if (v.kind() == Kind::timestamp) return v.borrow();
  if (v.kind() == Kind::string) {
    Time t;
    std::string err;
    if (!parse_timestamp(v.as_string(), t, err)) return Value::error(err);
    return Value::timestamp(t);
  }
  if (v.kind() == Kind::int_) {
    Time t{v.as_int(), 0};
    if (!timestamp_in_range(t)) return Value::error("timestamp out of range");
    return Value::timestamp(t);
  }
  return no_overload("timestamp", a, 1);
}

Value to_duration(const Value* a, std::size_t /*n*/) {
  const Value& v = a[0];
  if (v.kind() == Kind::duration) return v.borrow();
  if (v.kind() == Kind::string) {
    Time d;
    std::string err;
    if (!parse_duration(v.as_string(), d, err)) return Value::error(err);
    return Value::duration(d);
  }
  return no_overload("duration", a, 1);
}

// ---- Strings and sizes -------------------------------------------------------
Value size_of(const Value* a, std::size_t /*n*/) {
  const Value& v = a[0];
  switch (v.kind()) {
    case Kind::string: return Value::int64(static_cast<std::int64_t>(utf8_length(v.as_string())));
    case Kind::bytes: return Value::int64(static_cast<std::int64_t>(v.as_string().size()));
    case Kind::list: return Value::int64(static_cast<std::int64_t>(v.as_list().size()));
    case Kind::map: return Value::int64(static_cast<std::int64_t>(v.as_map().entries.size()));
    default: return no_overload("size", a, 1);
  }
}

bool two_strings(const Value* a) { return a[0].kind() == Kind::string && a[1].kind() == Kind::string; }

Value str_contains(const Value* a, std::size_t n) {
  if (!two_strings(a)) return no_overload("contains", a, n);
  return Value::boolean(a[0].as_string().find(a[1].as_string()) != std::string_view::npos);
}
Value str_starts(const Value* a, std::size_t n) {
  if (!two_strings(a)) return no_overload("startsWith", a, n);
  return Value::boolean(a[0].as_string().starts_with(a[1].as_string()));
}
Value str_ends(const Value* a, std::size_t n) {
  if (!two_strings(a)) return no_overload("endsWith", a, n);
  return Value::boolean(a[0].as_string().ends_with(a[1].as_string()));
}
Value str_matches(const Value* a, std::size_t n) {
  if (!two_strings(a)) return no_overload("matches", a, n);
  return regex_matches(a[0].as_string(), a[1].as_string());
}

// ---- Time accessors -------------------------------------------------------------
enum class Part { full_year, month, day_of_year, date, day_of_month, day_of_week, hours, minutes, seconds, milliseconds };

template <Part P>
Value time_part(const Value* a, std::size_t n) {
  const Value& v = a[0];
  if (v.kind() == Kind::duration && n == 1) {
    const Time d = v.as_time();
    // Total hours/minutes/seconds, truncated toward zero.
    const Time abs = d.seconds < 0 ? negate_time(d) : d;
    const std::int64_t sign = d.seconds < 0 ? -1 : 1;
    switch (P) {
      case Part::hours: return Value::int64(sign * (abs.seconds / 3600));
      case Part::minutes: return Value::int64(sign * (abs.seconds / 60));
      case Part::seconds: return Value::int64(sign * abs.seconds);
      case Part::milliseconds: return Value::int64(sign * (abs.nanos / 1'000'000));
      default: return no_overload("duration accessor", a, n);
    }
  }
  if (v.kind() != Kind::timestamp || (n == 2 && a[1].kind() != Kind::string)) {
    return no_overload("timestamp accessor", a, n);
  }
  const Time t = v.as_time();
  std::int64_t local = t.seconds;
  if (n == 2) {
    std::string err;
    auto zone = find_time_zone(a[1].as_string(), err);
    if (!zone) return Value::error(err);
    local += zone->offset_at(t.seconds);
  }
  const CivilTime c = to_civil(local);
  switch (P) {
    case Part::full_year: return Value::int64(c.year);
    case Part::month: return Value::int64(c.month - 1);
    case Part::day_of_year: return Value::int64(c.day_of_year);
    case Part::date: return Value::int64(c.day);
    case Part::day_of_month: return Value::int64(c.day - 1);
    case Part::day_of_week: return Value::int64(c.day_of_week);
    case Part::hours: return Value::int64(c.hour);
    case Part::minutes: return Value::int64(c.minute);
    case Part::seconds: return Value::int64(c.second);
    case Part::milliseconds: return Value::int64(t.nanos / 1'000'000);
  }
  return Value::error("unreachable");
}

struct Entry {
  std::string_view name;
  bool receiver;  // method-style call
  std::size_t min_arity;
  std::size_t max_arity;
  Function fn;
};

constexpr Entry kFunctions[] = {
    {"int", false, 1, 1, to_int},
    {"uint", false, 1, 1, to_uint},
    {"double", false, 1, 1, to_double},
    {"string", false, 1, 1, to_string},
    {"bytes", false, 1, 1, to_bytes},
    {"bool", false, 1, 1, to_bool},
    {"dyn", false, 1, 1, to_dyn},
    {"type", false, 1, 1, type_of},
    {"timestamp", false, 1, 1, to_timestamp},
    {"duration", false, 1, 1, to_duration},
    {"size", false, 1, 1, size_of},
    {"size", true, 1, 1, size_of},
    {"contains", true, 2, 2, str_contains},
    {"startsWith", true, 2, 2, str_starts},
    {"endsWith", true, 2, 2, str_ends},
    {"matches", true, 2, 2, str_matches},
    {"matches", false, 2, 2, str_matches},
    {"getFullYear", true, 1, 2, time_part<Part::full_year>},
    {"getMonth", true, 1, 2, time_part<Part::month>},
    {"getDayOfYear", true, 1, 2, time_part<Part::day_of_year>},
    {"getDate", true, 1, 2, time_part<Part::date>},
    {"getDayOfMonth", true, 1, 2, time_part<Part::day_of_month>},
    {"getDayOfWeek", true, 1, 2, time_part<Part::day_of_week>},
    {"getHours", true, 1, 2, time_part<Part::hours>},
    {"getMinutes", true, 1, 2, time_part<Part::minutes>},
    {"getSeconds", true, 1, 2, time_part<Part::seconds>},
    {"getMilliseconds", true, 1, 2, time_part<Part::milliseconds>},
};

bool is_number(Kind k) { return k == Kind::int_ || k == Kind::uint_ || k == Kind::double_; }

}  // namespace

Value no_overload(std::string_view fn, const Value* args, std::size_t n) {
  std::string msg = "no matching overload for '" + std::string(fn) + "' applied to (";
  for (std::size_t i = 0; i < n; ++i) {
    if (i) msg += ", ";
    msg += type_name(args[i]);
  }
  return Value::error(msg + ")");
}

Function find_function(std::string_view name, bool receiver_style, std::size_t arity) {
  for (const auto& e : kFunctions) {
    if (e.fn != nullptr && e.name == name && e.receiver == receiver_style && arity >= e.min_arity &&
        arity <= e.max_arity) {
      return e.fn;
    }
  }
  return nullptr;
}

Value regex_matches(std::string_view text, std::string_view pattern) {
  RE2::Options opts;
  opts.set_log_errors(false);
  RE2 re(re2::StringPiece(pattern.data(), pattern.size()), opts);
  if (!re.ok()) return Value::error("invalid regular expression: " + re.error());
  return Value::boolean(RE2::PartialMatch(re2::StringPiece(text.data(), text.size()), re));
}

Value op_add(const Value& a, const Value& b) {
  const Kind k = a.kind();
  if (k == b.kind()) {
    switch (k) {
      case Kind::int_: {
        std::int64_t r = 0;
        if (__builtin_add_overflow(a.as_int(), b.as_int(), &r)) return overflow();
        return Value::int64(r);
      }
      case Kind::uint_: {
        std::uint64_t r = 0;
        if (__builtin_add_overflow(a.as_uint(), b.as_uint(), &r)) return overflow();
        return Value::uint64(r);
      }
      case Kind::double_: return Value::double_(a.as_double() + b.as_double());
      case Kind::string: {
        std::string s(a.as_string());
        s += b.as_string();
        return Value::string(std::move(s));
      }
      case Kind::bytes: {
        std::string s(a.as_string());
        s += b.as_string();
        return Value::bytes(std::move(s));
      }
      case Kind::list: {
        if (a.as_list().empty()) return b.retained();
        if (b.as_list().empty()) return a.retained();
        std::vector<Value> items(a.as_list());
        items.insert(items.end(), b.as_list().begin(), b.as_list().end());
        return Value::list(std::move(items));
      }
      case Kind::duration: {
        Time r;
        if (!add_time(a.as_time(), b.as_time(), r) || !duration_in_range(r)) {
          return Value::error("duration out of range");
        }
        return Value::duration(r);
      }
      default: break;
    }
  }
  if ((k == Kind::timestamp && b.kind() == Kind::duration) ||
      (k == Kind::duration && b.kind() == Kind::timestamp)) {
    Time r;
    if (!add_time(a.as_time(), b.as_time(), r) || !timestamp_in_range(r)) {
      return Value::error("timestamp out of range");
    }
    return Value::timestamp(r);
  }
  const Value args[2] = {a.borrow(), b.borrow()};
  return no_overload("_+_", args, 2);
}

Value op_sub(const Value& a, const Value& b) {
  const Kind k = a.kind();
  if (k == b.kind()) {
    switch (k) {
      case Kind::int_: {
        std::int64_t r = 0;
        if (__builtin_sub_overflow(a.as_int(), b.as_int(), &r)) return overflow();
        return Value::int64(r);
      }
      case Kind::uint_: {
        std::uint64_t r = 0;
        if (__builtin_sub_overflow(a.as_uint(), b.as_uint(), &r)) return overflow();
        return Value::uint64(r);
      }
      case Kind::double_: return Value::double_(a.as_double() - b.as_double());
      case Kind::duration: {
        Time r;
        if (!sub_time(a.as_time(), b.as_time(), r) || !duration_in_range(r)) {
          return Value::error("duration out of range");
        }
        return Value::duration(r);
      }
      case Kind::timestamp: {
        Time r;
        if (!sub_time(a.as_time(), b.as_time(), r) || !duration_in_range(r)) {
          return Value::error("duration out of range");
        }
        return Value::duration(r);
      }
      default: break;
    }
  }
  if (k == Kind::timestamp && b.kind() == Kind::duration) {
    Time r;
    if (!sub_time(a.as_time(), b.as_time(), r) || !timestamp_in_range(r)) {
      return Value::error("timestamp out of range");
    }
    return Value::timestamp(r);
  }
  const Value args[2] = {a.borrow(), b.borrow()};
  return no_overload("_-_", args, 2);
}

Value op_mul(const Value& a, const Value& b) {
  if (a.kind() == b.kind()) {
    switch (a.kind()) {
      case Kind::int_: {
        std::int64_t r = 0;
        if (__builtin_mul_overflow(a.as_int(), b.as_int(), &r)) return overflow();
        return Value::int64(r);
      }
      case Kind::uint_: {
        std::uint64_t r = 0;
        if (__builtin_mul_overflow(a.as_uint(), b.as_uint(), &r)) return overflow();
        return Value::uint64(r);
      }
      case Kind::double_: return Value::double_(a.as_double() * b.as_double());
      default: break;
    }
  }
  const Value args[2] = {a.borrow(), b.borrow()};
  return no_overload("_*_", args, 2);
}

Value op_div(const Value& a, const Value& b) {
  if (a.kind() == b.kind()) {
    switch (a.kind()) {
      case Kind::int_:
        if (b.as_int() == 0) return Value::error("division by zero");
        if (b.as_int() == -1 && a.as_int() == std::numeric_limits<std::int64_t>::min()) return overflow();
        return Value::int64(a.as_int() / b.as_int());
      case Kind::uint_:
        if (b.as_uint() == 0) return Value::error("division by zero");
        return Value::uint64(a.as_uint() / b.as_uint());
      case Kind::double_: return Value::double_(a.as_double() / b.as_double());
      default: break;
    }
  }
  const Value args[2] = {a.borrow(), b.borrow()};
  return no_overload("_/_", args, 2);
}

Value op_mod(const Value& a, const Value& b) {
  if (a.kind() == b.kind()) {
    switch (a.kind()) {
      case Kind::int_:
        if (b.as_int() == 0) return Value::error("modulus by zero");
        if (b.as_int() == -1 && a.as_int() == std::numeric_limits<std::int64_t>::min()) return overflow();
        return Value::int64(a.as_int() % b.as_int());
      case Kind::uint_:
        if (b.as_uint() == 0) return Value::error("modulus by zero");
        return Value::uint64(a.as_uint() % b.as_uint());
      default: break;
    }
  }
  const Value args[2] = {a.borrow(), b.borrow()};
  return no_overload("_%_", args, 2);
}

Value op_neg(const Value& a) {
  switch (a.kind()) {
    case Kind::int_:
      if (a.as_int() == std::numeric_limits<std::int64_t>::min()) return overflow();
      return Value::int64(-a.as_int());
    case Kind::double_: return Value::double_(-a.as_double());
    case Kind::duration: return Value::duration(negate_time(a.as_time()));
    default: return no_overload("-_", &a, 1);
  }
}

Value op_index(const Value& c, const Value& key) {
  if (c.kind() == Kind::list) {
    const auto& items = c.as_list();
    std::int64_t i = 0;
    if (key.kind() == Kind::int_) {
      i = key.as_int();
    } else if (key.kind() == Kind::uint_) {
      if (key.as_uint() > items.size()) return Value::error("index out of range");
      i = static_cast<std::int64_t>(key.as_uint());
    } else if (key.kind() == Kind::double_) {
      const double d = key.as_double();
      if (std::trunc(d) != d || !(d > -kTwo63 && d < kTwo63)) return Value::error("invalid list index");
      i = static_cast<std::int64_t>(d);
    } else {
      const Value args[2] = {c.borrow(), key.borrow()};
      return no_overload("_[_]", args, 2);
    }
    if (i < 0 || static_cast<std::uint64_t>(i) >= items.size()) {
      return Value::error("index out of range: " + std::to_string(i));
    }
    return child_of(c, items[static_cast<std::size_t>(i)]);
  }
  if (c.kind() == Kind::map) {
    const KeyRef k = KeyRef::of(key);
    if (k.cls == KeyRef::none && key.kind() != Kind::double_) {
      const Value args[2] = {c.borrow(), key.borrow()};
      return no_overload("_[_]", args, 2);
    }
    const Value* v = c.as_map().find(k);
    if (v == nullptr) return Value::error("no such key: " + key.debug_string());
    return child_of(c, *v);
  }
  const Value args[2] = {c.borrow(), key.borrow()};
  return no_overload("_[_]", args, 2);
}

Value op_in(const Value& x, const Value& c) {
  if (c.kind() == Kind::list) {
    for (const auto& e : c.as_list()) {
      Value r = equals(x, e);
      if (r.is_error()) return r;
      if (r.as_bool()) return Value::boolean(true);
    }
    return Value::boolean(false);
  }
  if (c.kind() == Kind::map) {
    const KeyRef k = KeyRef::of(x);
    if (k.cls == KeyRef::none) {
      if (is_number(x.kind()) || x.kind() == Kind::string || x.kind() == Kind::bool_) {
        return Value::boolean(false);
      }
      const Value args[2] = {x.borrow(), c.borrow()};
      return no_overload("@in", args, 2);
    }
    return Value::boolean(c.as_map().find(k) != nullptr);
  }
  const Value args[2] = {x.borrow(), c.borrow()};
  return no_overload("@in", args, 2);
}

}  // namespace portcullis::interpreter::cel
