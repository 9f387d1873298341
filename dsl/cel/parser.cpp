#include "dsl/cel/parser.hpp"

#include <tao/pegtl.hpp>
#include <tao/pegtl/contrib/parse_tree.hpp>

#include <charconv>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <type_traits>

#include "dsl/cel/grammar.hpp"

namespace portcullis::dsl::cel {
namespace {

namespace pegtl = tao::pegtl;
namespace g = grammar;

// ---- Parse errors: one message per committed rule ------------------------
template <typename Rule>
const char* error_message() {
  if constexpr (std::is_same_v<Rule, g::rparen>) {
    return "expected ')'";
  } else if constexpr (std::is_same_v<Rule, g::rbracket>) {
    return "expected ']'";
  } else if constexpr (std::is_same_v<Rule, g::rbrace>) {
    return "expected '}'";
  } else if constexpr (std::is_same_v<Rule, g::colon>) {
    return "expected ':'";
  } else if constexpr (std::is_same_v<Rule, g::method_name>) {
    return "expected a field or method name after '.'";
  } else if constexpr (std::is_same_v<Rule, pegtl::eof>) {
    return "unexpected input after the expression";
  } else if constexpr (std::is_same_v<Rule, g::triple_quote<'"'>> ||
                       std::is_same_v<Rule, g::triple_quote<'\''>> ||
                       std::is_same_v<Rule, pegtl::one<'"'>> ||
                       std::is_same_v<Rule, pegtl::one<'\''>>) {
    return "unterminated string literal";
  } else {
    return "expected an expression";
  }
}

template <typename Rule>
struct control : pegtl::normal<Rule> {
  template <typename ParseInput, typename... States>
  [[noreturn]] static void raise(const ParseInput& in, States&&... /*unused*/) {
    throw pegtl::parse_error(error_message<Rule>(), in);
  }
};

// ---- Which grammar rules become parse-tree nodes -------------------------
template <typename Rule>
using selector = pegtl::parse_tree::selector<
    Rule,
    pegtl::parse_tree::store_content::on<
        g::double_lit, g::uint_lit, g::int_lit, g::string_lit, g::bytes_lit, g::kw_true,
        g::kw_false, g::kw_null, g::ident_name, g::selector, g::global_call, g::args,
        g::struct_lit, g::struct_type, g::field_init, g::list_lit, g::map_lit, g::map_entry,
        g::select_suffix, g::index_suffix, g::op_not, g::op_neg, g::op_mul, g::op_add,
        g::op_rel, g::op_and, g::op_or>,
    pegtl::parse_tree::fold_one::on<g::member, g::unary, g::multiplication, g::addition,
                                    g::relation, g::conditional_and, g::conditional_or,
                                    g::ternary>>;

using Node = pegtl::parse_tree::node;

struct BuildError {
  Span span;
  std::string message;
};

bool is_blank(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// ---- Tree builder --------------------------------------------------------
class Builder {
 public:
  Builder(std::string_view text, const ParseOptions& options) : text_(text), options_(options) {}

  ExprPtr build(const Node& n) {
    if (n.is_type<g::ternary>()) return build_ternary(n);
    if (n.is_type<g::conditional_or>() || n.is_type<g::conditional_and>() ||
        n.is_type<g::relation>() || n.is_type<g::addition>() ||
        n.is_type<g::multiplication>()) {
      return build_binary(n);
    }
    if (n.is_type<g::unary>()) return build_unary(n);
    if (n.is_type<g::member>()) return build_member(n);
    return build_primary(n);
  }

  std::uint32_t node_count() const { return next_id_; }
  std::vector<Issue>& issues() { return issues_; }

 private:
  Span span_of(const Node& n) const {
    auto b = static_cast<std::uint32_t>(n.m_begin.byte);
    auto e = n.has_content() ? static_cast<std::uint32_t>(n.m_end.byte) : b;
    while (e > b && is_blank(text_[e - 1])) --e;
    return {b, e};
  }

  ExprPtr make(ExprKind kind, Span span) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->span = span;
    e->id = next_id_++;
    return e;
  }

  ExprPtr make_call(std::string fn, Span span, Span name_span, std::vector<ExprPtr> args,
                    ExprPtr target = nullptr) {
    auto e = make(ExprKind::call, span);
    e->name = std::move(fn);
    e->name_span = name_span;
    e->args = std::move(args);
    e->target = std::move(target);
    return e;
  }

  void error(Span span, std::string message) {
    issues_.push_back({span, std::move(message)});
  }

  ExprPtr error_node(Span span) { return make(ExprKind::constant, span); }

  ExprPtr build_ternary(const Node& n) {
    auto cond = build(*n.children.at(0));
    auto a = build(*n.children.at(1));
    auto b = build(*n.children.at(2));
    Span span{cond->span.begin, b->span.end};
    std::vector<ExprPtr> args;
    args.push_back(std::move(cond));
    args.push_back(std::move(a));
    args.push_back(std::move(b));
    return make_call("_?_:_", span, span, std::move(args));
  }

  static std::string binary_name(const Node& op) {
    const std::string_view t = op.string_view();
    if (op.is_type<g::op_or>()) return "_||_";
    if (op.is_type<g::op_and>()) return "_&&_";
    if (t.starts_with("in")) return "@in";
    if (t.starts_with("<=")) return "_<=_";
    if (t.starts_with(">=")) return "_>=_";
    if (t.starts_with("==")) return "_==_";
    if (t.starts_with("!=")) return "_!=_";
    switch (t.front()) {
      case '<': return "_<_";
      case '>': return "_>_";
      case '+': return "_+_";
      case '-': return "_-_";
      case '*': return "_*_";
      case '/': return "_/_";
      default: return "_%_";
    }
  }

  ExprPtr build_binary(const Node& n) {
    auto lhs = build(*n.children.at(0));
    for (std::size_t i = 1; i + 1 < n.children.size(); i += 2) {
      const Node& op = *n.children[i];
      auto rhs = build(*n.children[i + 1]);
      Span span{lhs->span.begin, rhs->span.end};
      std::vector<ExprPtr> args;
      args.push_back(std::move(lhs));
      args.push_back(std::move(rhs));
      lhs = make_call(binary_name(op), span, span_of(op), std::move(args));
    }
    return lhs;
  }

  ExprPtr build_unary(const Node& n) {
    const Node& operand_node = *n.children.back();
    std::size_t ops = n.children.size() - 1;
    ExprPtr operand;
    // `-` directly before an integer literal negates the literal, so that
    // -9223372036854775808 is a valid int.
    if (n.children[ops - 1]->is_type<g::op_neg>() && operand_node.is_type<g::int_lit>()) {
      Span s{span_of(*n.children[ops - 1]).begin, span_of(operand_node).end};
      operand = build_int(operand_node, true, s);
      --ops;
    } else {
      operand = build(operand_node);
    }
    while (ops > 0) {
      const Node& op = *n.children[ops - 1];
      Span span{span_of(op).begin, operand->span.end};
      std::vector<ExprPtr> args;
      args.push_back(std::move(operand));
      operand = make_call(op.is_type<g::op_not>() ? "!_" : "-_", span, span_of(op),
                          std::move(args));
      --ops;
    }
    return operand;
  }

  std::vector<ExprPtr> build_args(const Node& args_node) {
    std::vector<ExprPtr> out;
    for (const auto& c : args_node.children) out.push_back(build(*c));
    return out;
  }

  ExprPtr build_member(const Node& n) {
    auto cur = build(*n.children.at(0));
    for (std::size_t i = 1; i < n.children.size(); ++i) {
      const Node& suffix = *n.children[i];
      Span whole{cur->span.begin, span_of(suffix).end};
      if (suffix.is_type<g::index_suffix>()) {
        std::vector<ExprPtr> args;
        args.push_back(std::move(cur));
        args.push_back(build(*suffix.children.at(0)));
        cur = make_call("_[_]", whole, span_of(suffix), std::move(args));
        continue;
      }
      const Node& name = *suffix.children.at(0);
      const Span name_span = span_of(name);
      std::string name_text = name.string();
      const bool quoted = name_text.starts_with('`');
      if (quoted) name_text = name_text.substr(1, name_text.size() - 2);
      if (suffix.children.size() > 1) {
        if (quoted) error(name_span, "a back-quoted name cannot be called as a method");
        cur = build_method(std::move(cur), std::move(name_text), name_span,
                           build_args(*suffix.children[1]), whole);
      } else {
        auto sel = make(ExprKind::select, whole);
        sel->name = std::move(name_text);
        sel->name_span = name_span;
        sel->target = std::move(cur);
        cur = std::move(sel);
      }
    }
    return cur;
  }

  ExprPtr build_method(ExprPtr target, std::string name, Span name_span,
                       std::vector<ExprPtr> args, Span whole) {
    if (options_.enable_macros) {
      MacroKind kind{};
      std::size_t arity = 2;
      bool is_macro = true;
      if (name == "all") {
        kind = MacroKind::all;
      } else if (name == "exists") {
        kind = MacroKind::exists;
      } else if (name == "exists_one") {
        kind = MacroKind::exists_one;
      } else if (name == "filter") {
        kind = MacroKind::filter;
      } else if (name == "map") {
        kind = args.size() == 3 ? MacroKind::map_filter : MacroKind::map;
        arity = args.size() == 3 ? 3 : 2;
      } else {
        is_macro = false;
      }
      if (is_macro && args.size() != arity) {
        error(name_span, name + "() takes " + (name == "map" ? std::string("2 or 3") : std::to_string(arity)) +
                             " arguments: a variable name and " +
                             (name == "map" ? "an optional filter and a transform" : "a condition"));
        return error_node(whole);
      }
      if (is_macro) {
        if (args[0]->kind != ExprKind::ident || args[0]->name.starts_with('.')) {
          error(args[0]->span, "the first argument of " + name + "() must be a simple name");
          return error_node(whole);
        }
        auto c = make(ExprKind::comprehension, whole);
        c->macro = kind;
        c->name = name;
        c->name_span = name_span;
        c->iter_var = args[0]->name;
        c->iter_var_span = args[0]->span;
        c->target = std::move(target);
        for (std::size_t i = 1; i < args.size(); ++i) c->args.push_back(std::move(args[i]));
        return c;
      }
    }
    return make_call(std::move(name), whole, name_span, std::move(args), std::move(target));
  }

  ExprPtr build_primary(const Node& n) {
    const Span span = span_of(n);
    if (n.is_type<g::int_lit>()) return build_int(n, false, span);
    if (n.is_type<g::uint_lit>()) return build_uint(n, span);
    if (n.is_type<g::double_lit>()) {
      auto e = make(ExprKind::constant, span);
      const std::string_view t = n.string_view();
      double d = 0;
      auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), d);
      if (ec == std::errc::result_out_of_range) {
        d = std::strtod(std::string(t).c_str(), nullptr);
      } else if (ec != std::errc()) {
        error(span, "invalid floating-point literal");
      }
      (void)ptr;
      e->constant = d;
      return e;
    }
    if (n.is_type<g::string_lit>() || n.is_type<g::bytes_lit>()) return build_string(n, span);
    if (n.is_type<g::kw_true>() || n.is_type<g::kw_false>()) {
      auto e = make(ExprKind::constant, span);
      e->constant = n.is_type<g::kw_true>();
      return e;
    }
    if (n.is_type<g::kw_null>()) {
      auto e = make(ExprKind::constant, span);
      e->constant = NullValue{};
      return e;
    }
    if (n.is_type<g::ident_name>()) {
      auto e = make(ExprKind::ident, span);
      e->name = strip_blanks(n.string_view());
      e->name_span = span;
      return e;
    }
    if (n.is_type<g::global_call>()) {
      const Node& name_node = *n.children.at(0);
      std::string name = strip_blanks(name_node.string_view());
      std::vector<ExprPtr> args = build_args(*n.children.at(1));
      const Span name_span = span_of(name_node);
      if (options_.enable_macros && name == "has") {
        if (args.size() != 1 || args[0]->kind != ExprKind::select) {
          error(args.size() == 1 ? args[0]->span : name_span,
                "invalid argument to has(): expected one field selection like a.b");
          return error_node(span);
        }
        auto e = std::move(args[0]);
        e->test_only = true;
        e->span = span;
        return e;
      }
      return make_call(std::move(name), span, name_span, std::move(args));
    }
    if (n.is_type<g::list_lit>()) {
      auto e = make(ExprKind::list, span);
      for (const auto& c : n.children) e->args.push_back(build(*c));
      return e;
    }
    if (n.is_type<g::map_lit>()) {
      auto e = make(ExprKind::map, span);
      for (const auto& c : n.children) {
        MapEntry entry;
        entry.key = build(*c->children.at(0));
        entry.value = build(*c->children.at(1));
        entry.span = span_of(*c);
        e->entries.push_back(std::move(entry));
      }
      return e;
    }
    if (n.is_type<g::struct_lit>()) {
      auto e = make(ExprKind::message, span);
      const Node& type = *n.children.at(0);
      e->name = strip_blanks(type.string_view());
      e->name_span = span_of(type);
      for (std::size_t i = 1; i < n.children.size(); ++i) {
        const Node& f = *n.children[i];
        FieldInit init;
        init.name = f.children.at(0)->string();
        init.name_span = span_of(*f.children.at(0));
        init.value = build(*f.children.at(1));
        e->fields.push_back(std::move(init));
      }
      return e;
    }
    error(span, "unsupported syntax");
    return error_node(span);
  }

  static std::string strip_blanks(std::string_view s) {
    std::string out;
    bool in_comment = false;
    for (char c : s) {
      if (in_comment) {
        if (c == '\n') in_comment = false;
        continue;
      }
      if (c == '/' && !out.empty() && out.back() == '/') {
        out.pop_back();
        in_comment = true;
        continue;
      }
      if (!is_blank(c)) out.push_back(c);
    }
    return out;
  }

  bool parse_magnitude(std::string_view t, std::uint64_t& v) {
    int base = 10;
    if (t.size() > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X')) {
      base = 16;
      t.remove_prefix(2);
    }
    auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), v, base);
    return ec == std::errc() && ptr == t.data() + t.size();
  }

  ExprPtr build_int(const Node& n, bool negate, Span span) {
    auto e = make(ExprKind::constant, span);
    std::uint64_t mag = 0;
    const bool ok = parse_magnitude(n.string_view(), mag);
    constexpr std::uint64_t kMinMag = std::uint64_t{1} << 63;
    if (!ok || (negate ? mag > kMinMag : mag >= kMinMag)) {
      error(span, "integer literal out of range");
      e->constant = std::int64_t{0};
      return e;
    }
    if (negate) {
      e->constant = mag == kMinMag ? std::numeric_limits<std::int64_t>::min()
                                   : -static_cast<std::int64_t>(mag);
    } else {
      e->constant = static_cast<std::int64_t>(mag);
    }
    return e;
  }

  ExprPtr build_uint(const Node& n, Span span) {
    auto e = make(ExprKind::constant, span);
    std::string_view t = n.string_view();
    t.remove_suffix(1);
    std::uint64_t v = 0;
    if (!parse_magnitude(t, v)) error(span, "unsigned integer literal out of range");
    e->constant = v;
    return e;
  }

  ExprPtr build_string(const Node& n, Span span) {
    std::string_view t = n.string_view();
    std::size_t pos = 0;
    bool is_bytes = false;
    bool raw = false;
    if (t[pos] == 'b' || t[pos] == 'B') {
      is_bytes = true;
      ++pos;
    }
    if (t[pos] == 'r' || t[pos] == 'R') {
      raw = true;
      ++pos;
    }
    const char q = t[pos];
    std::size_t quote_len = 1;
    if (t.size() >= pos + 6 && t[pos + 1] == q && t[pos + 2] == q) quote_len = 3;
    const std::size_t body_begin = pos + quote_len;
    std::string_view body = t.substr(body_begin, t.size() - body_begin - quote_len);
    std::string out;
    if (raw) {
      out.assign(body);
    } else {
      std::string msg;
      std::size_t off = 0;
      if (!unescape(body, is_bytes, out, msg, off)) {
        const auto at = static_cast<std::uint32_t>(span.begin + body_begin + off);
        error({at, std::min<std::uint32_t>(at + 2, span.end)}, msg);
      }
    }
    auto e = make(ExprKind::constant, span);
    if (is_bytes) {
      e->constant = Bytes{std::move(out)};
    } else {
      e->constant = std::move(out);
    }
    return e;
  }

  std::string_view text_;
  const ParseOptions& options_;
  std::uint32_t next_id_ = 0;
  std::vector<Issue> issues_;
};

std::size_t depth_of(const Expr& e, std::size_t limit) {
  if (limit == 0) return 1;
  std::size_t d = 0;
  auto visit = [&](const ExprPtr& c) {
    if (c) d = std::max(d, depth_of(*c, limit - 1));
  };
  visit(e.target);
  for (const auto& a : e.args) visit(a);
  for (const auto& m : e.entries) {
    visit(m.key);
    visit(m.value);
  }
  for (const auto& f : e.fields) visit(f.value);
  return d + 1;
}

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

bool unescape(std::string_view body, bool is_bytes, std::string& out, std::string& error,
              std::size_t& error_offset) {
  out.clear();
  out.reserve(body.size());
  for (std::size_t i = 0; i < body.size(); ++i) {
    const char c = body[i];
    if (c != '\\') {
      out.push_back(c);
      continue;
    }
    error_offset = i;
    if (i + 1 >= body.size()) {
      error = "incomplete escape sequence";
      return false;
    }
    const char k = body[++i];
    switch (k) {
      case 'a': out.push_back('\a'); continue;
      case 'b': out.push_back('\b'); continue;
      case 'f': out.push_back('\f'); continue;
      case 'n': out.push_back('\n'); continue;
      case 'r': out.push_back('\r'); continue;
      case 't': out.push_back('\t'); continue;
      case 'v': out.push_back('\v'); continue;
      case '\\': case '\'': case '"': case '`': case '?': out.push_back(k); continue;
      default: break;
    }
    std::uint32_t v = 0;
    if (k >= '0' && k <= '3') {
      if (i + 2 >= body.size() || body[i + 1] < '0' || body[i + 1] > '7' || body[i + 2] < '0' ||
          body[i + 2] > '7') {
        error = "invalid octal escape (expected three octal digits)";
        return false;
      }
      v = static_cast<std::uint32_t>((k - '0') * 64 + (body[i + 1] - '0') * 8 + (body[i + 2] - '0'));
      i += 2;
    } else if (k == 'x' || k == 'X' || k == 'u' || k == 'U') {
      const std::size_t n = (k == 'x' || k == 'X') ? 2 : (k == 'u' ? 4 : 8);
      if (i + n >= body.size()) {
        error = "incomplete hexadecimal escape";
        return false;
      }
      for (std::size_t j = 1; j <= n; ++j) {
        const int h = hex_value(body[i + j]);
        if (h < 0) {
          error = "invalid hexadecimal escape";
          return false;
        }
        v = v * 16 + static_cast<std::uint32_t>(h);
      }
      i += n;
      if (n > 2) {
        if (is_bytes) {
          error = "\\u and \\U escapes are not allowed in bytes literals";
          return false;
        }
        if ((v >= 0xD800 && v <= 0xDFFF) || v > 0x10FFFF) {
          error = "invalid Unicode code point in escape";
          return false;
        }
      }
    } else {
      error = std::string("invalid escape sequence '\\") + k + "'";
      return false;
    }
    if (is_bytes) {
      out.push_back(static_cast<char>(v));
    } else {
      append_utf8(out, v);
    }
  }
  return true;
}

ParseResult parse(std::string_view text, const ParseOptions& options) {
  ParseResult result;
  if (text.size() > options.max_length) {
    result.errors.push_back({{0, static_cast<std::uint32_t>(text.size())},
                             "expression longer than " + std::to_string(options.max_length) +
                                 " bytes"});
    return result;
  }
  g::NestingState nesting;
  nesting.max_depth = options.max_nesting;
  try {
    pegtl::memory_input<> in(text.data(), text.size(), "cel");
    auto root = pegtl::parse_tree::parse<g::root, Node, selector, pegtl::nothing, control>(
        in, nesting);
    if (!root || root->children.empty()) {
      result.errors.push_back({{0, static_cast<std::uint32_t>(text.size())}, "empty expression"});
      return result;
    }
    Builder builder(text, options);
    ExprPtr expr = builder.build(*root->children.front());
    result.node_count = builder.node_count();
    if (!builder.issues().empty()) {
      result.errors = std::move(builder.issues());
      return result;
    }
    if (depth_of(*expr, options.max_depth + 1) > options.max_depth) {
      result.errors.push_back({expr->span, "expression nested too deeply (more than " +
                                               std::to_string(options.max_depth) + " levels)"});
      return result;
    }
    result.expr = std::move(expr);
  } catch (const pegtl::parse_error& e) {
    const auto& positions = e.positions();
    std::uint32_t at = positions.empty() ? 0 : static_cast<std::uint32_t>(positions.front().byte);
    std::uint32_t end = at;
    if (at < text.size()) {
      end = at + 1;
      while (end < text.size() && !is_blank(text[end]) && end - at < 16) ++end;
    }
    std::string msg(e.message());
    if (msg.starts_with("unterminated string") && nesting.last_string_start < at) {
      result.errors.push_back({{static_cast<std::uint32_t>(nesting.last_string_start), at}, msg});
      return result;
    }
    if (at >= text.size()) {
      msg += " at end of input";
    } else {
      msg += " near '" + std::string(text.substr(at, end - at)) + "'";
    }
    result.errors.push_back({{at, end}, std::move(msg)});
  } catch (const std::exception& e) {
    result.errors.push_back({{0, static_cast<std::uint32_t>(text.size())}, e.what()});
  }
  return result;
}

}  // namespace portcullis::dsl::cel
