#include "dsl/cel/parser.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

using namespace portcullis::dsl::cel;

// Compact rendering of a tree: calls as (fn args...), selects as a.b.
std::string show(const Expr& e) {
  switch (e.kind) {
    case ExprKind::constant: {
      const Constant& c = e.constant;
      if (std::holds_alternative<NullValue>(c)) return "null";
      if (auto* b = std::get_if<bool>(&c)) return *b ? "true" : "false";
      if (auto* i = std::get_if<std::int64_t>(&c)) return std::to_string(*i);
      if (auto* u = std::get_if<std::uint64_t>(&c)) return std::to_string(*u) + "u";
      if (auto* d = std::get_if<double>(&c)) return std::to_string(*d);
      if (auto* s = std::get_if<std::string>(&c)) return "\"" + *s + "\"";
      return "b\"" + std::get<Bytes>(c).data + "\"";
    }
    case ExprKind::ident: return e.name;
    case ExprKind::select: return (e.test_only ? "has:" : "") + show(*e.target) + "." + e.name;
    case ExprKind::call: {
      std::string s = "(" + e.name;
      if (e.target) s += " recv=" + show(*e.target);
      for (const auto& a : e.args) s += " " + show(*a);
      return s + ")";
    }
    case ExprKind::list: {
      std::string s = "[";
      for (const auto& a : e.args) s += show(*a) + ",";
      return s + "]";
    }
    case ExprKind::map: return "{map}";
    case ExprKind::message: return e.name + "{}";
    case ExprKind::comprehension: {
      std::string s = "(" + e.name + " " + show(*e.target) + " " + e.iter_var;
      for (const auto& a : e.args) s += " " + show(*a);
      return s + ")";
    }
  }
  return "?";
}

std::string parsed(std::string_view text) {
  auto r = parse(text);
  if (!r.ok()) return "error: " + r.errors.front().message;
  return show(*r.expr);
}

TEST(CelParser, Precedence) {
  EXPECT_EQ(parsed("1 + 2 * 3"), "(_+_ 1 (_*_ 2 3))");
  EXPECT_EQ(parsed("1 - 2 - 3"), "(_-_ (_-_ 1 2) 3)");
  EXPECT_EQ(parsed("a || b && c"), "(_||_ a (_&&_ b c))");
  EXPECT_EQ(parsed("a && b == c"), "(_&&_ a (_==_ b c))");
  EXPECT_EQ(parsed("x < 1 + 2"), "(_<_ x (_+_ 1 2))");
  EXPECT_EQ(parsed("a ? b : c ? d : e"), "(_?_:_ a b (_?_:_ c d e))");
  EXPECT_EQ(parsed("a || b ? c : d"), "(_?_:_ (_||_ a b) c d)");
  EXPECT_EQ(parsed("!a.b"), "(!_ a.b)");
  EXPECT_EQ(parsed("-x[0]"), "(-_ (_[_] x 0))");
  EXPECT_EQ(parsed("x in [1, 2] && y"), "(_&&_ (@in x [1,2,]) y)");
  EXPECT_EQ(parsed("a.b.c(d)"), "(c recv=a.b d)");
  EXPECT_EQ(parsed("(1 + 2) * 3"), "(_*_ (_+_ 1 2) 3)");
}

TEST(CelParser, Literals) {
  EXPECT_EQ(parsed("-9223372036854775808"), "-9223372036854775808");
  EXPECT_EQ(parsed("18446744073709551615u"), "18446744073709551615u");
  EXPECT_EQ(parsed("0x1F"), "31");
  EXPECT_EQ(parsed("true != null"), "(_!=_ true null)");
  EXPECT_NE(parsed("9223372036854775808").find("error"), std::string::npos);
  EXPECT_NE(parsed("18446744073709551616u").find("error"), std::string::npos);
}

TEST(CelParser, Escapes) {
  EXPECT_EQ(parsed(R"("\a\b\f\n\r\t\v\\\'\"\`\?")"), "\"\a\b\f\n\r\t\v\\'\"`?\"");
  EXPECT_EQ(parsed(R"("\101\x42\u0043\U00000044")"), "\"ABCD\"");
  EXPECT_EQ(parsed(R"("\377")"), "\"\xC3\xBF\"");      // code point U+00FF in a string
  EXPECT_EQ(parsed(R"(b"\377")"), "b\"\xFF\"");         // one byte in bytes
  EXPECT_EQ(parsed(R"(r"\n")"), "\"\\n\"");             // raw: no escapes
  EXPECT_EQ(parsed("'''a\nb'''"), "\"a\nb\"");          // triple-quoted: newlines allowed
  EXPECT_EQ(parsed(R"("""x"y""")"), "\"x\"y\"");
}

TEST(CelParser, EscapeErrorsPointAtTheEscape) {
  auto r = parse(R"(x == "ab\qc")");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.errors.front().span.begin, 8u);
  EXPECT_NE(r.errors.front().message.find("invalid escape"), std::string::npos);
  auto s = parse(R"("\uD800")");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.errors.front().span.begin, 1u);
}

TEST(CelParser, SyntaxErrorPositions) {
  auto r = parse("a && (b || c");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.errors.front().span.begin, 12u);
  EXPECT_NE(r.errors.front().message.find("expected ')'"), std::string::npos);

  auto t = parse("a + * b");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.errors.front().span.begin, 4u);

  auto u = parse("a b");
  ASSERT_FALSE(u.ok());
  EXPECT_EQ(u.errors.front().span.begin, 2u);

  auto v = parse("x == 'unterminated");
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.errors.front().message.find("unterminated"), std::string::npos);
  EXPECT_EQ(v.errors.front().span.begin, 5u);  // the opening quote
  auto w = parse("x == b\"abc\ny\"");
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.errors.front().span.begin, 5u);

  EXPECT_FALSE(parse("").ok());
  EXPECT_FALSE(parse("   ").ok());
}

TEST(CelParser, SpansCoverExactText) {
  const std::string text = "requester.department  ==  'eng'";
  auto r = parse(text);
  ASSERT_TRUE(r.ok());
  const Expr& eq = *r.expr;
  EXPECT_EQ(eq.span.begin, 0u);
  EXPECT_EQ(eq.span.end, text.size());
  const Expr& sel = *eq.args[0];
  EXPECT_EQ(text.substr(sel.span.begin, sel.span.end - sel.span.begin), "requester.department");
  EXPECT_EQ(text.substr(sel.name_span.begin, sel.name_span.end - sel.name_span.begin), "department");
  EXPECT_EQ(text.substr(eq.name_span.begin, eq.name_span.end - eq.name_span.begin), "==");
}

TEST(CelParser, Macros) {
  EXPECT_EQ(parsed("has(a.b)"), "has:a.b");
  EXPECT_EQ(parsed("l.all(x, x > 0)"), "(all l x (_>_ x 0))");
  EXPECT_EQ(parsed("l.map(x, x > 0, x * 2)"), "(map l x (_>_ x 0) (_*_ x 2))");
  EXPECT_EQ(parsed("l.exists_one(x, x)"), "(exists_one l x x)");
  EXPECT_FALSE(parse("has(a)").ok());
  EXPECT_FALSE(parse("l.all(x.y, true)").ok());
  auto arity = parse("l.exists(x)");
  ASSERT_FALSE(arity.ok());
  EXPECT_EQ(arity.errors.front().span.begin, 2u);
  EXPECT_NE(arity.errors.front().message.find("takes 2 arguments"), std::string::npos);
  EXPECT_FALSE(parse("has(a.b, c.d)").ok());
  ParseOptions no_macros;
  no_macros.enable_macros = false;
  auto r = parse("has(a.b)", no_macros);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(show(*r.expr), "(has a.b)");
}

TEST(CelParser, CommentsAndWhitespace) {
  EXPECT_EQ(parsed("a // first\n && // second\n b"), "(_&&_ a b)");
}

TEST(CelParser, DeepNestingIsRejectedNotCrashing) {
  std::string deep(40'000, '(');
  deep += "1";
  deep += std::string(40'000, ')');
  auto r = parse(deep);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.errors.front().message.find("nested too deeply"), std::string::npos);

  std::string unary(50'000, '-');
  unary += "1";
  EXPECT_FALSE(parse(unary).ok());

  std::string chain = "1";
  for (int i = 0; i < 5000; ++i) chain += " + 1";
  EXPECT_FALSE(parse(chain).ok());

  std::string lists(50'000, '[');
  EXPECT_FALSE(parse(lists).ok());

  std::string ok(90, '(');
  ok += "1";
  ok += std::string(90, ')');
  EXPECT_TRUE(parse(ok).ok());
}

TEST(CelParser, LengthLimit) {
  ParseOptions small;
  small.max_length = 10;
  EXPECT_FALSE(parse("aaaaaaaaaaaaaaaaaaaa", small).ok());
}

}  // namespace
