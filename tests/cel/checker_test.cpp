#include "dsl/cel/checker.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "dsl/cel/parser.hpp"

namespace {

using namespace portcullis::dsl::cel;

class CelChecker : public ::testing::Test {
 protected:
  CelChecker() {
    auto requester = std::make_shared<ObjectType>();
    requester->name = "requester";
    requester->fields = {{"email", types::string()},      {"department", types::string()},
                         {"employment", types::string()}, {"manager", types::string()},
                         {"groups", types::list(types::string())}};
    auto request = std::make_shared<ObjectType>();
    request->name = "request";
    request->fields = {{"app", types::string()},
                       {"role", types::string()},
                       {"duration", types::duration()},
                       {"justification", types::string()}};
    env.declare("requester", types::object(requester));
    env.declare("request", types::object(request));
    env.declare("member.last_login_age", types::duration());
    env.declare("now", types::timestamp());
    env.declare("labels", types::map(types::string(), types::string()));
  }

  CheckResult run(const std::string& text) {
    source = text;
    auto parsed = parse(text);
    EXPECT_TRUE(parsed.ok()) << text;
    if (!parsed.ok()) return {};
    tree = std::move(parsed.expr);
    return check(*tree, env);
  }

  std::string at(Span s) const { return source.substr(s.begin, s.end - s.begin); }

  Env env;
  std::string source;
  ExprPtr tree;
};

TEST_F(CelChecker, WellTypedConditionIsBool) {
  auto r = run(
      "requester.employment == 'full_time' && request.duration <= duration('8h') && "
      "'admins' in requester.groups && member.last_login_age < duration('720h') && "
      "now - timestamp('2024-01-01T00:00:00Z') > duration('1h') && labels['team'] == 'x' && "
      "requester.groups.exists(g, g.startsWith('eng-')) && size(requester.email) > 3");
  EXPECT_TRUE(r.ok()) << (r.issues.empty() ? "" : r.issues.front().message);
  ASSERT_TRUE(r.type);
  EXPECT_EQ(to_string(*r.type), "bool");
}

TEST_F(CelChecker, UnknownFieldPointsAtFieldWithSuggestion) {
  auto r = run("requester.departmnet == 'eng'");
  ASSERT_EQ(r.issues.size(), 1u);
  EXPECT_EQ(at(r.issues[0].span), "departmnet");
  EXPECT_NE(r.issues[0].message.find("did you mean 'department'?"), std::string::npos) << r.issues[0].message;
}

TEST_F(CelChecker, UnknownIdentifierWithSuggestion) {
  auto r = run("true && rquest.app == 'github'");
  ASSERT_EQ(r.issues.size(), 1u);
  EXPECT_EQ(at(r.issues[0].span), "rquest");
  EXPECT_NE(r.issues[0].message.find("did you mean 'request'?"), std::string::npos) << r.issues[0].message;

  auto far = run("zzzzzz == 1");
  ASSERT_EQ(far.issues.size(), 1u);
  EXPECT_EQ(far.issues[0].message.find("did you mean"), std::string::npos);
}

TEST_F(CelChecker, TypeMismatchPointsAtOperator) {
  auto r = run("requester.department > 3");
  ASSERT_EQ(r.issues.size(), 1u);
  EXPECT_EQ(at(r.issues[0].span), ">");
  EXPECT_NE(r.issues[0].message.find("(string, int)"), std::string::npos) << r.issues[0].message;

  auto d = run("request.duration <= '8h'");
  ASSERT_EQ(d.issues.size(), 1u);
  EXPECT_EQ(at(d.issues[0].span), "<=");

  auto eq = run("requester.email == 42");
  ASSERT_EQ(eq.issues.size(), 1u);
}

TEST_F(CelChecker, ResultTypeIsReportedForNonBool) {
  auto r = run("request.duration + duration('1h')");
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(to_string(*r.type), "duration");
  auto s = run("requester.groups.map(g, size(g))");
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(to_string(*s.type), "list(int)");
}

TEST_F(CelChecker, UnknownFunctionWithSuggestion) {
  auto r = run("requester.email.startswith('a')");
  ASSERT_EQ(r.issues.size(), 1u);
  EXPECT_EQ(at(r.issues[0].span), "startswith");
  EXPECT_NE(r.issues[0].message.find("startsWith"), std::string::npos);
}

TEST_F(CelChecker, ComprehensionVariablesAreScoped) {
  EXPECT_TRUE(run("requester.groups.all(g, g != '')").ok());
  auto r = run("requester.groups.all(g, g != '') && g == ''");
  ASSERT_EQ(r.issues.size(), 1u);
  EXPECT_EQ(at(r.issues[0].span), "g");
}

TEST_F(CelChecker, FieldOfPrimitiveIsAnError) {
  auto r = run("requester.email.domain == 'x'");
  ASSERT_EQ(r.issues.size(), 1u);
  EXPECT_EQ(at(r.issues[0].span), "domain");
}

TEST(CelSuggest, EditDistance) {
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(suggest("emial", {"email", "manager"}), "email");
  EXPECT_EQ(suggest("xyz", {"email", "manager"}), "");
}

}  // namespace

namespace {

TEST(CelAnalyze, ParseErrorsAndCheckIssuesInOneCall) {
  using namespace portcullis::dsl::cel;
  Env env;
  env.declare("x", types::int64());
  auto bad_syntax = analyze("x +", env);
  EXPECT_FALSE(bad_syntax.ok());
  EXPECT_EQ(bad_syntax.expr, nullptr);
  auto bad_type = analyze("x == 'a'", env);
  EXPECT_FALSE(bad_type.ok());
  auto good = analyze("x > 3", env);
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(to_string(*good.type), "bool");
}

}  // namespace
