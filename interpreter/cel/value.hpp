#pragma once
// CEL runtime values.
//
// A Value is 16 bytes: a kind tag, an ownership bit, a nanosecond field
// (timestamps and durations) and an 8-byte payload (bool, int64, uint64,
// double, seconds, or a pointer to an immutable, atomically reference-
// counted heap object for strings, bytes, lists, maps, objects, type
// names and errors).
//
// Ownership. An *owned* Value holds a reference on its heap object. A
// *borrowed* Value (see borrow()) points at a heap object kept alive by
// someone else (the Activation, the Program's constants, or an enclosing
// owned container) and touches no reference count; the evaluator uses
// borrowed values on its hot path so that reading a variable, selecting a
// field, or comparing a constant never allocates or does atomic work.
// Every Value that escapes an evaluation, or is stored in a container, is
// owned (retain()). Values you build with the factory functions are owned.
//
// Errors are values (kind error) carrying a message; they never throw.
//
// Thread safety: Values are immutable; owned copies may be shared across
// threads.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "dsl/cel/types.hpp"

namespace portcullis::interpreter::cel {

enum class Kind : std::uint8_t {
  null_,
  bool_,
  int_,
  uint_,
  double_,
  string,
  bytes,
  list,
  map,
  object,
  timestamp,
  duration,
  type,
  error,
  absent,  // internal: an Activation slot with nothing bound
};

const char* kind_name(Kind kind);

class Value;

namespace detail {
struct HeapObject {
  explicit HeapObject(Kind k) : kind(k) {}
  HeapObject(const HeapObject&) = delete;
  HeapObject& operator=(const HeapObject&) = delete;
  virtual ~HeapObject() = default;
  mutable std::atomic<std::uint32_t> refs{1};
  Kind kind;
  bool immortal = false;  // static objects: never freed
};
struct StringObject;
struct ListObject;
struct MapObject;
struct ObjectObject;
}  // namespace detail

// Timestamp: seconds since the Unix epoch and nanos in [0, 1e9).
// Duration: seconds and nanos in [0, 1e9) (floor normalised: -1.5s is
// seconds = -2, nanos = 500000000).
struct Time {
  std::int64_t seconds = 0;
  std::int32_t nanos = 0;
  friend bool operator==(const Time&, const Time&) = default;
  friend auto operator<=>(const Time&, const Time&) = default;
};

class Value {
 public:
  Value() noexcept : kind_(Kind::null_) { u_.i = 0; }
  ~Value() { release(); }
  Value(const Value& o) noexcept : kind_(o.kind_), owned_(o.owned_), nanos_(o.nanos_), u_(o.u_) {
    if (owned_) u_.h->refs.fetch_add(1, std::memory_order_relaxed);
  }
  Value(Value&& o) noexcept : kind_(o.kind_), owned_(o.owned_), nanos_(o.nanos_), u_(o.u_) {
    o.owned_ = false;
  }
  Value& operator=(const Value& o) noexcept {
    if (this != &o) {
      Value tmp(o);
      swap(tmp);
    }
    return *this;
  }
  Value& operator=(Value&& o) noexcept {
    if (this != &o) {
      release();
      kind_ = o.kind_;
      owned_ = o.owned_;
      nanos_ = o.nanos_;
      u_ = o.u_;
      o.owned_ = false;
    }
    return *this;
  }
  void swap(Value& o) noexcept {
    std::swap(kind_, o.kind_);
    std::swap(owned_, o.owned_);
    std::swap(nanos_, o.nanos_);
    std::swap(u_, o.u_);
  }

  // ---- Factories (owned) ----
  static Value null() { return Value(); }
  static Value boolean(bool b) { Value v(Kind::bool_); v.u_.b = b; return v; }
  static Value int64(std::int64_t i) { Value v(Kind::int_); v.u_.i = i; return v; }
  static Value uint64(std::uint64_t u) { Value v(Kind::uint_); v.u_.u = u; return v; }
  static Value double_(double d) { Value v(Kind::double_); v.u_.d = d; return v; }
  static Value string(std::string s);
  static Value bytes(std::string s);
  static Value list(std::vector<Value> items);
  // Builds a map; duplicate keys or keys of an unsupported kind yield an
  // error value.
  static Value map(std::vector<std::pair<Value, Value>> entries);
  // An object of a declared type; `fields` in the type's field order, with
  // Value::absent() for unset fields. Too few/many fields yields an error.
  static Value object(std::shared_ptr<const dsl::cel::ObjectType> type, std::vector<Value> fields);
  static Value timestamp(Time t) { Value v(Kind::timestamp); v.u_.i = t.seconds; v.nanos_ = t.nanos; return v; }
  static Value duration(Time d) { Value v(Kind::duration); v.u_.i = d.seconds; v.nanos_ = d.nanos; return v; }
  // A type value, named as CEL spells it ("int", "google.protobuf.Timestamp", ...).
  static Value type(std::string_view name);
  static Value error(std::string message);
  static Value absent() { return Value(Kind::absent); }

  // ---- Ownership ----
  Value borrow() const noexcept {
    Value v;
    v.kind_ = kind_;
    v.nanos_ = nanos_;
    v.u_ = u_;
    return v;
  }
  // Makes this value own (a reference to) its heap object.
  void retain() noexcept {
    if (!owned_ && has_heap() && !u_.h->immortal) {
      u_.h->refs.fetch_add(1, std::memory_order_relaxed);
      owned_ = true;
    }
  }
  Value retained() const { Value v = borrow(); v.retain(); return v; }
  bool owned() const { return owned_; }

  // ---- Access ----
  Kind kind() const { return kind_; }
  bool is_error() const { return kind_ == Kind::error; }
  bool as_bool() const { return u_.b; }
  std::int64_t as_int() const { return u_.i; }
  std::uint64_t as_uint() const { return u_.u; }
  double as_double() const { return u_.d; }
  Time as_time() const { return {u_.i, nanos_}; }
  // string, bytes, type name, error message
  std::string_view as_string() const;
  const std::vector<Value>& as_list() const;
  const detail::MapObject& as_map() const;
  const detail::ObjectObject& as_object() const;
  std::string_view error_message() const { return as_string(); }
  // For errors: true and the byte range [begin, end) of the sub-expression
  // (relative to the expression text) that failed, if known.
  bool error_location(std::uint32_t& begin, std::uint32_t& end) const;
  // For a freshly created error (not yet shared): records its location,
  // unless it already has one. No effect on other values.
  void locate_error(std::uint32_t begin, std::uint32_t end) noexcept;

  // Debug / display form: CEL-like literal syntax.
  std::string debug_string() const;

  bool has_heap() const {
    return kind_ == Kind::string || kind_ == Kind::bytes || kind_ == Kind::list ||
           kind_ == Kind::map || kind_ == Kind::object || kind_ == Kind::type ||
           kind_ == Kind::error;
  }
  const detail::HeapObject* heap() const { return u_.h; }

 private:
  explicit Value(Kind k) noexcept : kind_(k) { u_.i = 0; }
  Value(Kind k, detail::HeapObject* h) noexcept : kind_(k), owned_(!h->immortal) { u_.h = h; }
  friend struct detail::MapObject;

  void release() noexcept {
    if (owned_ && u_.h->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete u_.h;
  }

  Kind kind_;
  bool owned_ = false;
  std::int32_t nanos_ = 0;
  union {
    bool b;
    std::int64_t i;
    std::uint64_t u;
    double d;
    detail::HeapObject* h;
  } u_;
};

static_assert(sizeof(Value) == 16);

// A normalised map key: numbers compare by value across int/uint/double.
struct KeyRef {
  enum Class : std::uint8_t { none, boolean, negative, nonnegative, string };
  Class cls = none;
  std::uint64_t bits = 0;
  std::string_view str;
  std::size_t hash = 0;

  static KeyRef of(const Value& v);           // cls none if v cannot be a key
  static KeyRef of_string(std::string_view s);
  friend bool operator==(const KeyRef& a, const KeyRef& b) {
    return a.cls == b.cls && a.bits == b.bits && a.str == b.str;
  }
};
struct KeyRefHash {
  std::size_t operator()(const KeyRef& k) const { return k.hash; }
};

namespace detail {
struct StringObject : HeapObject {
  StringObject(Kind k, std::string s) : HeapObject(k), data(std::move(s)) {}
  std::string data;
};
struct ErrorObject : StringObject {
  explicit ErrorObject(std::string message) : StringObject(Kind::error, std::move(message)) {}
  // Where in the expression text the error arose (set once, by the
  // evaluator node that produced it).
  std::uint32_t begin = 0;
  std::uint32_t end = 0;
  bool located = false;
};
struct ListObject : HeapObject {
  explicit ListObject(std::vector<Value> v) : HeapObject(Kind::list), items(std::move(v)) {}
  std::vector<Value> items;
};
struct MapObject : HeapObject {
  MapObject() : HeapObject(Kind::map) {}
  std::vector<std::pair<Value, Value>> entries;
  std::unordered_map<KeyRef, std::size_t, KeyRefHash> index;
  const Value* find(const KeyRef& key) const {
    auto it = index.find(key);
    return it == index.end() ? nullptr : &entries[it->second].second;
  }
};
struct ObjectObject : HeapObject {
  ObjectObject() : HeapObject(Kind::object) {}
  std::shared_ptr<const dsl::cel::ObjectType> type;
  std::vector<Value> fields;
};
}  // namespace detail

inline bool Value::error_location(std::uint32_t& begin, std::uint32_t& end) const {
  if (kind_ != Kind::error) return false;
  const auto* e = static_cast<const detail::ErrorObject*>(u_.h);
  begin = e->begin;
  end = e->end;
  return e->located;
}
inline void Value::locate_error(std::uint32_t begin, std::uint32_t end) noexcept {
  if (kind_ != Kind::error || !owned_ || u_.h->refs.load(std::memory_order_relaxed) != 1) return;
  auto* e = static_cast<detail::ErrorObject*>(u_.h);
  if (e->located) return;
  e->begin = begin;
  e->end = end;
  e->located = true;
}
inline std::string_view Value::as_string() const {
  return static_cast<const detail::StringObject*>(u_.h)->data;
}
inline const std::vector<Value>& Value::as_list() const {
  return static_cast<const detail::ListObject*>(u_.h)->items;
}
inline const detail::MapObject& Value::as_map() const {
  return *static_cast<const detail::MapObject*>(u_.h);
}
inline const detail::ObjectObject& Value::as_object() const {
  return *static_cast<const detail::ObjectObject*>(u_.h);
}

// CEL equality (heterogeneous numbers, deep lists/maps). Errors propagate:
// if either side is an error the result is that error; otherwise a bool.
Value equals(const Value& a, const Value& b);
// Three-way ordering for <, <=, >, >=: returns -1/0/1, 2 if unordered (NaN),
// or sets `error` for kinds that do not order.
int compare(const Value& a, const Value& b, bool& error);
// CEL type name of a value ("int", "list", "google.protobuf.Duration", ...).
std::string_view type_name(const Value& v);

}  // namespace portcullis::interpreter::cel
