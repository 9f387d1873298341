#include "dsl/cel/checker.hpp"

#include <algorithm>
#include <array>
#include <functional>

namespace portcullis::dsl::cel {
namespace {

using TK = TypeKind;

constexpr std::array<std::string_view, 13> kTypeNames = {
    "int", "uint", "double", "bool", "string", "bytes", "list", "map", "null_type", "type",
    "google.protobuf.Timestamp", "google.protobuf.Duration", "dyn"};

constexpr std::array<std::string_view, 27> kFunctionNames = {
    "size", "contains", "startsWith", "endsWith", "matches", "int", "uint", "double",
    "string", "bytes", "bool", "dyn", "type", "timestamp", "duration", "getFullYear",
    "getMonth", "getDayOfYear", "getDate", "getDayOfMonth", "getDayOfWeek", "getHours",
    "getMinutes", "getSeconds", "getMilliseconds", "has", "exists"};

bool is_dyn(const TypePtr& t) { return t->kind == TK::dyn || t->kind == TK::error; }
bool is_numeric(const TypePtr& t) {
  return t->kind == TK::int_ || t->kind == TK::uint_ || t->kind == TK::double_;
}

// Do two types agree well enough that a CEL equality/membership test is
// meaningful? (dyn agrees with everything; numbers compare across kinds.)
bool compatible(const TypePtr& a, const TypePtr& b) {
  if (is_dyn(a) || is_dyn(b)) return true;
  if (a->kind == TK::null_type || b->kind == TK::null_type) return true;
  if (is_numeric(a) && is_numeric(b)) return true;
  if (a->kind != b->kind) return false;
  if (a->kind == TK::list) return compatible(a->elem, b->elem);
  if (a->kind == TK::map) return compatible(a->key, b->key) && compatible(a->value, b->value);
  if (a->kind == TK::object) return a->object == b->object;
  return true;
}

TypePtr join(const TypePtr& a, const TypePtr& b) {
  if (a->kind == TK::error) return b;
  if (b->kind == TK::error) return a;
  if (same_type(*a, *b)) return a;
  return types::dyn();
}

class Checker {
 public:
  Checker(const Env& env, CheckResult& out) : env_(env), out_(out) {}

  TypePtr visit(const Expr& e) {
    TypePtr t = visit_inner(e);
    if (out_.node_types.size() <= e.id) out_.node_types.resize(e.id + 1);
    out_.node_types[e.id] = t;
    return t;
  }

 private:
  struct ScopeVar {
    std::string name;
    TypePtr type;
  };

  void issue(Span span, std::string message) { out_.issues.push_back({span, std::move(message)}); }

  std::vector<std::string_view> names_in_scope() const {
    std::vector<std::string_view> names;
    for (const auto& v : env_.variables()) names.push_back(v.name);
    for (const auto& s : scope_) names.push_back(s.name);
    return names;
  }

  const ScopeVar* find_local(std::string_view name) const {
    for (auto it = scope_.rbegin(); it != scope_.rend(); ++it) {
      if (it->name == name) return &*it;
    }
    return nullptr;
  }

  TypePtr visit_inner(const Expr& e) {
    switch (e.kind) {
      case ExprKind::constant: return constant_type(e.constant);
      case ExprKind::ident: return visit_ident(e);
      case ExprKind::select: return visit_select(e);
      case ExprKind::call: return visit_call(e);
      case ExprKind::list: {
        TypePtr elem;
        for (const auto& a : e.args) {
          TypePtr t = visit(*a);
          elem = elem ? join(elem, t) : t;
        }
        return types::list(elem ? elem : types::dyn());
      }
      case ExprKind::map: {
        TypePtr key;
        TypePtr value;
        for (const auto& m : e.entries) {
          TypePtr k = visit(*m.key);
          TypePtr v = visit(*m.value);
          if (!is_dyn(k) && k->kind != TK::int_ && k->kind != TK::uint_ &&
              k->kind != TK::string && k->kind != TK::bool_) {
            issue(m.key->span, "map keys must be int, uint, bool or string, not " + to_string(*k));
          }
          key = key ? join(key, k) : k;
          value = value ? join(value, v) : v;
        }
        return types::map(key ? key : types::dyn(), value ? value : types::dyn());
      }
      case ExprKind::message:
        for (const auto& f : e.fields) visit(*f.value);
        issue(e.name_span, "message construction ('" + e.name + "{...}') is not supported");
        return types::error();
      case ExprKind::comprehension: return visit_comprehension(e);
    }
    return types::dyn();
  }

  static TypePtr constant_type(const Constant& c) {
    switch (c.index()) {
      case 0: return types::null_type();
      case 1: return types::boolean();
      case 2: return types::int64();
      case 3: return types::uint64();
      case 4: return types::double_();
      case 5: return types::string();
      default: return types::bytes();
    }
  }

  TypePtr visit_ident(const Expr& e) {
    std::string_view name = e.name;
    if (name.starts_with('.')) name.remove_prefix(1);
    if (!e.name.starts_with('.')) {
      if (const ScopeVar* local = find_local(name)) return local->type;
    }
    if (const Variable* v = env_.find(name)) return v->type;
    if (is_type_name(name) && name != "dyn") return types::type();
    std::string msg = "undeclared reference to '" + std::string(name) + "'";
    std::string s = suggest(name, names_in_scope());
    if (!s.empty()) msg += " (did you mean '" + s + "'?)";
    issue(e.name_span, std::move(msg));
    return types::error();
  }

  TypePtr visit_select(const Expr& e) {
    // A dotted name declared as such (`member.last_login_age`).
    if (auto q = qualified_name(e)) {
      const std::string_view root = std::string_view(*q).substr(0, q->find('.'));
      if (find_local(root) == nullptr) {
        if (const Variable* v = env_.find(*q)) return e.test_only ? types::boolean() : v->type;
        if (is_type_name(*q)) return types::type();
      }
    }
    TypePtr operand = visit(*e.target);
    TypePtr result = select_field(operand, e);
    return e.test_only ? types::boolean() : result;
  }

  TypePtr select_field(const TypePtr& operand, const Expr& e) {
    switch (operand->kind) {
      case TK::dyn:
      case TK::error: return operand;
      case TK::map:
        if (!is_dyn(operand->key) && operand->key->kind != TK::string) {
          issue(e.name_span, "cannot select field '" + e.name + "' from " + to_string(*operand));
          return types::error();
        }
        return operand->value;
      case TK::object: {
        const ObjectType& obj = *operand->object;
        if (auto i = obj.field_index(e.name)) return obj.fields[*i].type;
        std::vector<std::string_view> names;
        for (const auto& f : obj.fields) names.push_back(f.name);
        std::string msg = "'" + obj.name + "' has no field '" + e.name + "'";
        std::string s = suggest(e.name, names);
        if (!s.empty()) msg += " (did you mean '" + s + "'?)";
        issue(e.name_span, std::move(msg));
        return types::error();
      }
      default:
        issue(e.name_span, "type '" + to_string(*operand) + "' has no fields (selecting '" + e.name + "')");
        return types::error();
    }
  }

  TypePtr visit_comprehension(const Expr& e) {
    TypePtr range = visit(*e.target);
    TypePtr var = types::dyn();
    if (range->kind == TK::list) {
      var = range->elem;
    } else if (range->kind == TK::map) {
      var = range->key;
    } else if (!is_dyn(range)) {
      issue(e.target->span, e.name + "() needs a list or map, not " + to_string(*range));
    }
    scope_.push_back({e.iter_var, var});
    std::vector<TypePtr> bodies;
    for (const auto& a : e.args) bodies.push_back(visit(*a));
    scope_.pop_back();
    auto want_bool = [&](std::size_t i) {
      if (!is_dyn(bodies[i]) && bodies[i]->kind != TK::bool_) {
        issue(e.args[i]->span, "the condition of " + e.name + "() must be bool, not " +
                                   to_string(*bodies[i]));
      }
    };
    switch (e.macro) {
      case MacroKind::all:
      case MacroKind::exists:
      case MacroKind::exists_one:
        want_bool(0);
        return types::boolean();
      case MacroKind::filter:
        want_bool(0);
        return types::list(var);
      case MacroKind::map: return types::list(bodies[0]);
      case MacroKind::map_filter:
        want_bool(0);
        return types::list(bodies[1]);
    }
    return types::dyn();
  }

  std::string signature(const std::vector<TypePtr>& args) {
    std::string s = "(";
    for (std::size_t i = 0; i < args.size(); ++i) {
      if (i) s += ", ";
      s += to_string(*args[i]);
    }
    return s + ")";
  }

  static std::string display_name(const std::string& fn) {
    if (fn == "@in") return "in";
    if (fn == "_?_:_") return "?:";
    std::string s;
    for (char c : fn) {
      if (c != '_') s.push_back(c);
    }
    return s;
  }

  TypePtr no_overload(const Expr& e, const std::vector<TypePtr>& args) {
    for (const auto& a : args) {
      if (a->kind == TK::error) return types::error();  // already reported
    }
    const bool op = e.name.find('_') != std::string::npos || e.name == "@in";
    std::string msg = op ? "no matching overload for operator '" + display_name(e.name) + "' applied to " + signature(args)
                         : "no matching overload for '" + e.name + "' applied to " + signature(args);
    issue(e.name_span, std::move(msg));
    return types::error();
  }

  TypePtr visit_call(const Expr& e) {
    std::vector<TypePtr> args;
    if (e.target) args.push_back(visit(*e.target));
    for (const auto& a : e.args) args.push_back(visit(*a));
    const bool method = e.target != nullptr;
    const std::string& fn = e.name;
    const std::size_t n = args.size();
    auto kind = [&](std::size_t i) { return args[i]->kind; };
    auto any_dyn = [&] {
      return std::any_of(args.begin(), args.end(), [](const TypePtr& t) { return is_dyn(t); });
    };
    auto is = [&](std::size_t i, TK k) { return is_dyn(args[i]) || kind(i) == k; };

    if (fn == "_&&_" || fn == "_||_" || fn == "!_") {
      for (std::size_t i = 0; i < n; ++i) {
        if (!is(i, TK::bool_)) return no_overload(e, args);
      }
      return types::boolean();
    }
    if (fn == "_?_:_") {
      if (!is(0, TK::bool_)) {
        issue(e.args[0]->span, "the condition of '?:' must be bool, not " + to_string(*args[0]));
      }
      return join(args[1], args[2]);
    }
    if (fn == "_==_" || fn == "_!=_") {
      if (!compatible(args[0], args[1])) return no_overload(e, args);
      return types::boolean();
    }
    if (fn == "_<_" || fn == "_<=_" || fn == "_>_" || fn == "_>=_") {
      if (any_dyn()) return types::boolean();
      if ((is_numeric(args[0]) && is_numeric(args[1])) ||
          (kind(0) == kind(1) && (kind(0) == TK::string || kind(0) == TK::bytes ||
                                  kind(0) == TK::bool_ || kind(0) == TK::timestamp ||
                                  kind(0) == TK::duration))) {
        return types::boolean();
      }
      return no_overload(e, args);
    }
    if (fn == "@in") {
      if (is_dyn(args[1])) return types::boolean();
      if (kind(1) == TK::list && compatible(args[0], args[1]->elem)) return types::boolean();
      if (kind(1) == TK::map && compatible(args[0], args[1]->key)) return types::boolean();
      return no_overload(e, args);
    }
    if (fn == "_[_]") {
      if (is_dyn(args[0])) return types::dyn();
      if (kind(0) == TK::list && (is(1, TK::int_) || kind(1) == TK::uint_ || kind(1) == TK::double_)) return args[0]->elem;
      if (kind(0) == TK::map && compatible(args[1], args[0]->key)) return args[0]->value;
      return no_overload(e, args);
    }
    if (fn == "-_") {
      if (is_dyn(args[0])) return types::dyn();
      if (kind(0) == TK::int_ || kind(0) == TK::double_ || kind(0) == TK::duration) return args[0];
      return no_overload(e, args);
    }
    if (fn == "_+_" || fn == "_-_" || fn == "_*_" || fn == "_/_" || fn == "_%_") {
      if (is_dyn(args[0]) && is_dyn(args[1])) return types::dyn();
      if (is_dyn(args[0]) || is_dyn(args[1])) {
        const TypePtr& known = is_dyn(args[0]) ? args[1] : args[0];
        if (known->kind == TK::timestamp || known->kind == TK::duration) return types::dyn();
        return known;
      }
      const TK a = kind(0);
      const TK b = kind(1);
      if (a == b && (a == TK::int_ || a == TK::uint_ || a == TK::double_)) {
        if (fn == "_%_" && a == TK::double_) return no_overload(e, args);
        return args[0];
      }
      if (fn == "_+_") {
        if (a == b && (a == TK::string || a == TK::bytes)) return args[0];
        if (a == TK::list && b == TK::list) return join(args[0], args[1]);
        if ((a == TK::timestamp && b == TK::duration) || (a == TK::duration && b == TK::timestamp)) {
          return types::timestamp();
        }
        if (a == TK::duration && b == TK::duration) return types::duration();
      }
      if (fn == "_-_") {
        if (a == TK::timestamp && b == TK::timestamp) return types::duration();
        if (a == TK::timestamp && b == TK::duration) return types::timestamp();
        if (a == TK::duration && b == TK::duration) return types::duration();
      }
      return no_overload(e, args);
    }
    // Named functions.
    if (fn == "size" && n == 1) {
      if (is_dyn(args[0]) || kind(0) == TK::string || kind(0) == TK::bytes ||
          kind(0) == TK::list || kind(0) == TK::map) {
        return types::int64();
      }
      return no_overload(e, args);
    }
    if ((fn == "contains" || fn == "startsWith" || fn == "endsWith" || fn == "matches") &&
        n == 2 && (method || fn == "matches")) {
      if (is(0, TK::string) && is(1, TK::string)) return types::boolean();
      return no_overload(e, args);
    }
    if (!method && n == 1) {
      const TK a = kind(0);
      if (fn == "int") {
        if (is_dyn(args[0]) || a == TK::int_ || a == TK::uint_ || a == TK::double_ || a == TK::string || a == TK::timestamp) return types::int64();
        return no_overload(e, args);
      }
      if (fn == "uint") {
        if (is_dyn(args[0]) || a == TK::int_ || a == TK::uint_ || a == TK::double_ || a == TK::string) return types::uint64();
        return no_overload(e, args);
      }
      if (fn == "double") {
        if (is_dyn(args[0]) || a == TK::int_ || a == TK::uint_ || a == TK::double_ || a == TK::string) return types::double_();
        return no_overload(e, args);
      }
      if (fn == "string") {
        if (a == TK::list || a == TK::map || a == TK::object || a == TK::null_type) return no_overload(e, args);
        return types::string();
      }
      if (fn == "bytes") {
        if (is_dyn(args[0]) || a == TK::string || a == TK::bytes) return types::bytes();
        return no_overload(e, args);
      }
      if (fn == "bool") {
        if (is_dyn(args[0]) || a == TK::string || a == TK::bool_) return types::boolean();
        return no_overload(e, args);
      }
      if (fn == "dyn") return types::dyn();
      if (fn == "type") return types::type();
      if (fn == "timestamp") {
        if (is_dyn(args[0]) || a == TK::string || a == TK::timestamp || a == TK::int_) return types::timestamp();
        return no_overload(e, args);
      }
      if (fn == "duration") {
        if (is_dyn(args[0]) || a == TK::string || a == TK::duration) return types::duration();
        return no_overload(e, args);
      }
    }
    if (method && (n == 1 || n == 2)) {
      static const std::array<std::string_view, 10> ts_accessors = {
          "getFullYear", "getMonth", "getDayOfYear", "getDate", "getDayOfMonth",
          "getDayOfWeek", "getHours", "getMinutes", "getSeconds", "getMilliseconds"};
      if (std::find(ts_accessors.begin(), ts_accessors.end(), fn) != ts_accessors.end()) {
        if (n == 2 && !is(1, TK::string)) return no_overload(e, args);
        if (is_dyn(args[0]) || kind(0) == TK::timestamp) return types::int64();
        if (kind(0) == TK::duration && n == 1 &&
            (fn == "getHours" || fn == "getMinutes" || fn == "getSeconds" || fn == "getMilliseconds")) {
          return types::int64();
        }
        return no_overload(e, args);
      }
    }
    std::vector<std::string_view> names(kFunctionNames.begin(), kFunctionNames.end());
    for (const auto& a : args) {
      if (a->kind == TK::error) return types::error();
    }
    bool known = std::find(names.begin(), names.end(), fn) != names.end();
    if (known) return no_overload(e, args);
    std::string msg = "undeclared function '" + fn + "'";
    std::string s = suggest(fn, names);
    if (!s.empty()) msg += " (did you mean '" + s + "'?)";
    issue(e.name_span, std::move(msg));
    return types::error();
  }

  const Env& env_;
  CheckResult& out_;
  std::vector<ScopeVar> scope_;
};

}  // namespace

bool is_type_name(std::string_view name) {
  return std::find(kTypeNames.begin(), kTypeNames.end(), name) != kTypeNames.end();
}

std::optional<std::string> qualified_name(const Expr& e) {
  if (e.kind == ExprKind::ident) {
    std::string_view n = e.name;
    if (n.starts_with('.')) n.remove_prefix(1);
    return std::string(n);
  }
  if (e.kind == ExprKind::select && e.target) {
    auto base = qualified_name(*e.target);
    if (!base) return std::nullopt;
    return *base + "." + e.name;
  }
  return std::nullopt;
}

Analysis analyze(std::string_view text, const Env& env, const ParseOptions& options) {
  Analysis out;
  ParseResult parsed = parse(text, options);
  if (!parsed.ok()) {
    out.issues = std::move(parsed.errors);
    return out;
  }
  CheckResult checked = check(*parsed.expr, env);
  out.expr = std::move(parsed.expr);
  out.type = std::move(checked.type);
  out.issues = std::move(checked.issues);
  return out;
}

CheckResult check(const Expr& expr, const Env& env) {
  CheckResult result;
  Checker checker(env, result);
  result.type = checker.visit(expr);
  return result;
}

}  // namespace portcullis::dsl::cel
