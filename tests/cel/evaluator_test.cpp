#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "dsl/cel/env.hpp"
#include "interpreter/cel/json.hpp"
#include "interpreter/cel/program.hpp"
#include "interpreter/cel/time.hpp"

namespace {

namespace dc = portcullis::dsl::cel;
using namespace portcullis::interpreter::cel;

// Compiles and evaluates `text` with no variables, unchecked.
Value eval(const std::string& text) {
  auto env = std::make_shared<dc::Env>();
  CompileOptions options;
  options.check = false;
  auto compiled = compile(text, env, options);
  if (!compiled.ok()) return Value::error("compile: " + compiled.issues.front().message);
  Activation act(env);
  return compiled.program->evaluate(act);
}

bool is_true(const std::string& text) {
  Value v = eval(text);
  return v.kind() == Kind::bool_ && v.as_bool();
}

TEST(CelEvaluator, IntegerOverflowIsAnError) {
  EXPECT_TRUE(eval("9223372036854775807 + 1").is_error());
  EXPECT_TRUE(eval("-9223372036854775808 - 1").is_error());
  EXPECT_TRUE(eval("-(-9223372036854775808)").is_error());
  EXPECT_TRUE(eval("4611686018427387904 * 2").is_error());
  EXPECT_TRUE(eval("-9223372036854775808 / -1").is_error());
  EXPECT_TRUE(eval("0u - 1u").is_error());
  EXPECT_TRUE(eval("18446744073709551615u + 1u").is_error());
  EXPECT_TRUE(eval("1 / 0").is_error());
  EXPECT_TRUE(eval("1 % 0").is_error());
  EXPECT_TRUE(eval("int(9.3e18)").is_error());
  EXPECT_TRUE(eval("uint(-1)").is_error());
  EXPECT_EQ(eval("9223372036854775806 + 1").as_int(), 9223372036854775807);
}

TEST(CelEvaluator, ErrorAbsorptionInLogic) {
  EXPECT_TRUE(is_true("!(false && 1/0 == 1)"));
  EXPECT_TRUE(is_true("!(1/0 == 1 && false)"));  // commutative
  EXPECT_TRUE(is_true("true || 1/0 == 1"));
  EXPECT_TRUE(is_true("1/0 == 1 || true"));
  EXPECT_TRUE(eval("1/0 == 1 || false").is_error());
  EXPECT_TRUE(eval("true && 1/0 == 1").is_error());
  EXPECT_TRUE(is_true("(1/0 == 1 ? 1 : 2) == 2 || true"));
  EXPECT_TRUE(is_true("[1, 2].exists(x, x == 2 || 1/0 == 0)"));
  EXPECT_TRUE(is_true("![0, 1].all(x, 1/x > 0)") == false);  // error: no false element
  EXPECT_TRUE(is_true("![0, -1].all(x, 1/x > 0)"));          // false absorbs the error
}

TEST(CelEvaluator, HeterogeneousEquality) {
  EXPECT_TRUE(is_true("1 == 1u && 1 == 1.0 && 1u == 1.0"));
  EXPECT_TRUE(is_true("1 != 'one' && null != 0 && [1] != ['1']"));
  EXPECT_TRUE(is_true("1 < 2u && 2u < 2.5 && -1 < 0u"));
  EXPECT_TRUE(eval("1 < 'a'").is_error());
  EXPECT_TRUE(is_true("{1: 'a'}[1u] == 'a' && {1u: 'a'}[1.0] == 'a'"));
  EXPECT_TRUE(eval("{1: 'a', 1u: 'b'}").is_error());  // duplicate key after numeric normalisation
}

TEST(CelEvaluator, StringsAndRegex) {
  EXPECT_TRUE(is_true("size('héllo') == 5 && size(b'h\\xff') == 2"));
  EXPECT_TRUE(is_true("'ada@example.com'.endsWith('@example.com')"));
  EXPECT_TRUE(is_true("'ada@example.com'.matches('^[a-z]+@example\\\\.com$')"));
  EXPECT_TRUE(eval("'x'.matches('(')").is_error());
  EXPECT_TRUE(is_true("string(1.5) == '1.5' && int('42') == 42 && bool('true')"));
  EXPECT_TRUE(is_true("string(1e6) == '1e+06' && string(123456.0) == '123456' && string(0.0001) == '0.0001'"));
  EXPECT_TRUE(is_true("type(1) == int && type('a') == string && type(type(1)) == type"));
}

TEST(CelEvaluator, TimestampsAndDurations) {
  EXPECT_TRUE(is_true("timestamp('2024-01-01T00:00:00Z') + duration('1h30m') == "
                      "timestamp('2024-01-01T01:30:00Z')"));
  EXPECT_TRUE(is_true("timestamp('2024-01-01T00:00:00+01:00') == timestamp('2023-12-31T23:00:00Z')"));
  EXPECT_TRUE(is_true("duration('8h') > duration('479m') && duration('-1.5s') < duration('0')"));
  EXPECT_TRUE(is_true("string(duration('1.5s')) == '1.5s' && string(duration('-90m')) == '-5400s'"));
  EXPECT_TRUE(is_true("timestamp('2024-03-01T00:00:00Z') - timestamp('2024-02-28T00:00:00Z') == duration('48h')"));
  EXPECT_TRUE(eval("timestamp('2024-02-30T00:00:00Z')").is_error());
  EXPECT_TRUE(eval("duration('5 hours')").is_error());
  EXPECT_EQ(eval("duration('90m').getHours()").as_int(), 1);
}

TEST(CelEvaluator, TimeZones) {
  // Los Angeles: PDT (-7) in July, PST (-8) in January.
  EXPECT_EQ(eval("timestamp('2024-07-01T12:00:00Z').getHours('America/Los_Angeles')").as_int(), 5);
  EXPECT_EQ(eval("timestamp('2024-01-15T12:00:00Z').getHours('America/Los_Angeles')").as_int(), 4);
  // DST change on 2024-03-10 at 10:00 UTC.
  EXPECT_EQ(eval("timestamp('2024-03-10T09:59:59Z').getHours('America/Los_Angeles')").as_int(), 1);
  EXPECT_EQ(eval("timestamp('2024-03-10T10:00:00Z').getHours('America/Los_Angeles')").as_int(), 3);
  // Far future: past the last transition in the file, from the POSIX footer rule.
  EXPECT_EQ(eval("timestamp('2100-07-01T12:00:00Z').getHours('America/Los_Angeles')").as_int(), 5);
  EXPECT_EQ(eval("timestamp('2100-01-01T12:00:00Z').getHours('America/Los_Angeles')").as_int(), 4);
  // Southern hemisphere: Sydney is +11 in January (DST), +10 in July.
  EXPECT_EQ(eval("timestamp('2024-01-15T00:00:00Z').getHours('Australia/Sydney')").as_int(), 11);
  EXPECT_EQ(eval("timestamp('2090-07-15T00:00:00Z').getHours('Australia/Sydney')").as_int(), 10);
  EXPECT_EQ(eval("timestamp('2090-01-15T00:00:00Z').getHours('Australia/Sydney')").as_int(), 11);
  // Fixed offsets and the calendar accessors.
  EXPECT_EQ(eval("timestamp('2024-01-01T00:10:00Z').getMinutes('+05:30')").as_int(), 40);
  EXPECT_EQ(eval("timestamp('2024-01-01T00:10:00Z').getFullYear('-01:00')").as_int(), 2023);
  EXPECT_EQ(eval("timestamp('2024-01-01T00:10:00Z').getDayOfWeek()").as_int(), 1);  // Monday
  EXPECT_EQ(eval("timestamp('2024-12-31T12:00:00Z').getDayOfYear()").as_int(), 365);
  EXPECT_EQ(eval("timestamp('2024-12-31T12:00:00Z').getMonth()").as_int(), 11);
  EXPECT_TRUE(eval("timestamp('2024-01-01T00:00:00Z').getHours('Mars/Olympus_Mons')").is_error());
  EXPECT_TRUE(eval("timestamp('2024-01-01T00:00:00Z').getHours('../../etc/passwd')").is_error());
}

TEST(CelEvaluator, Macros) {
  EXPECT_TRUE(is_true("[1, 2, 3].map(x, x * 2) == [2, 4, 6]"));
  EXPECT_TRUE(is_true("[1, 2, 3].map(x, x > 1, x * 10) == [20, 30]"));
  EXPECT_TRUE(is_true("[1, 2, 3].filter(x, x % 2 == 1) == [1, 3]"));
  EXPECT_TRUE(is_true("[1, 2, 3].exists_one(x, x == 2)"));
  EXPECT_TRUE(is_true("{'a': 1, 'b': 2}.all(k, k in ['a', 'b'])"));
  EXPECT_TRUE(is_true("[[1, 2], [3]].map(l, l.map(x, x + 1)) == [[2, 3], [4]]"));
  EXPECT_TRUE(is_true("has({'a': 1}.a) && !has({'a': 1}.b)"));
}

TEST(CelEvaluator, IterationBudget) {
  auto env = std::make_shared<dc::Env>();
  CompileOptions options;
  options.check = false;
  options.max_iterations = 1000;
  auto compiled = compile("[1,2,3,4,5,6,7,8,9,10].all(a, [1,2,3,4,5,6,7,8,9,10].all(b, "
                          "[1,2,3,4,5,6,7,8,9,10].all(c, true)))", env, options);
  ASSERT_TRUE(compiled.ok());
  Activation act(env);
  Value v = compiled.program->evaluate(act);
  ASSERT_TRUE(v.is_error());
  EXPECT_NE(v.error_message().find("iteration limit"), std::string::npos);
}

class CelTypedEnv : public ::testing::Test {
 protected:
  CelTypedEnv() {
    requester->name = "requester";
    requester->fields = {{"email", dc::types::string()},
                         {"manager", dc::types::string()},
                         {"groups", dc::types::list(dc::types::string())}};
    env->declare("requester", dc::types::object(requester));
    env->declare("member.last_login_age", dc::types::duration());
    env->declare("now", dc::types::timestamp());
  }
  std::shared_ptr<dc::ObjectType> requester = std::make_shared<dc::ObjectType>();
  std::shared_ptr<dc::Env> env = std::make_shared<dc::Env>();
};

TEST_F(CelTypedEnv, ObjectsSlotsAndHas) {
  auto compiled = compile(
      "'admins' in requester.groups && !has(requester.manager) && requester.manager == '' && "
      "member.last_login_age < duration('720h') && now.getFullYear() == 2023",
      env);
  ASSERT_TRUE(compiled.ok()) << compiled.issues.front().message;
  EXPECT_EQ(dc::to_string(*compiled.type), "bool");
  Activation act(env);
  act.bind("requester", Value::object(requester, {Value::string("a@x"), Value::absent(),
                                                  Value::list({Value::string("admins")})}));
  act.bind("member.last_login_age", Value::duration({3600, 0}));
  act.bind("now", Value::timestamp({1'700'000'000, 0}));
  Value v = compiled.program->evaluate(act);
  ASSERT_EQ(v.kind(), Kind::bool_) << v.debug_string();
  EXPECT_TRUE(v.as_bool());
}

TEST_F(CelTypedEnv, UnboundVariableIsAnErrorValue) {
  auto compiled = compile("now.getHours() > 3", env);
  ASSERT_TRUE(compiled.ok());
  Activation act(env);
  Value v = compiled.program->evaluate(act);
  ASSERT_TRUE(v.is_error());
  EXPECT_NE(v.error_message().find("now"), std::string::npos);
}

TEST_F(CelTypedEnv, CompileReportsCheckerIssues) {
  auto compiled = compile("requester.emial == 'x'", env);
  ASSERT_FALSE(compiled.ok());
  EXPECT_EQ(compiled.issues.front().span.begin, 10u);
  EXPECT_EQ(compiled.issues.front().span.end, 15u);
}

TEST_F(CelTypedEnv, ResultsOutliveTheActivation) {
  auto compiled = compile("requester.groups", env);
  ASSERT_TRUE(compiled.ok());
  Value kept;
  {
    Activation act(env);
    act.bind("requester", Value::object(requester, {Value::string("a@x"), Value::string("m"),
                                                    Value::list({Value::string("g1"), Value::string("g2")})}));
    kept = compiled.program->evaluate(act);
  }
  ASSERT_EQ(kept.kind(), Kind::list);
  EXPECT_EQ(kept.as_list().at(1).as_string(), "g2");
  EXPECT_EQ(eval("[[1, 2], [3]][0][1]").as_int(), 2);
  EXPECT_EQ(eval("{'a': ['x']}.a[0]").as_string(), "x");
  // Functions that return their argument (dyn, string, bytes) on temporaries.
  EXPECT_EQ(eval("dyn({'k': 'v'}).k").as_string(), "v");
  EXPECT_EQ(eval("dyn([['a']])[0][0]").as_string(), "a");
  EXPECT_EQ(eval("string('a' + 'b')").as_string(), "ab");
}

TEST_F(CelTypedEnv, ConcurrentEvaluation) {
  auto compiled = compile("requester.groups.exists(g, g == 'admins') && requester.email.endsWith('@x')", env);
  ASSERT_TRUE(compiled.ok());
  std::vector<std::thread> threads;
  std::vector<int> ok(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      Activation act(env);
      act.bind("requester", Value::object(requester, {Value::string("a@x"), Value::string("m"),
                                                      Value::list({Value::string("admins")})}));
      for (int i = 0; i < 2000; ++i) {
        Value v = compiled.program->evaluate(act);
        if (v.kind() == Kind::bool_ && v.as_bool()) ++ok[static_cast<std::size_t>(t)];
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int n : ok) EXPECT_EQ(n, 2000);
}

TEST(CelEvaluator, WrongActivationIsAnError) {
  auto env1 = std::make_shared<dc::Env>();
  auto env2 = std::make_shared<dc::Env>();
  auto compiled = compile("true", env1);
  ASSERT_TRUE(compiled.ok());
  Activation act(env2);
  EXPECT_TRUE(compiled.program->evaluate(act).is_error());
}

}  // namespace


namespace {

TEST(CelJson, RoundTrip) {
  using namespace portcullis::interpreter::cel;
  auto j = nlohmann::json::parse(R"({"a": [1, 2.5, "x", null, true], "b": {"c": 18446744073709551615}})");
  Value v = value_from_json(j);
  ASSERT_EQ(v.kind(), Kind::map);
  EXPECT_EQ(value_to_json(v), j);
  EXPECT_EQ(value_to_json(Value::duration({5400, 0})), "5400s");
  EXPECT_EQ(value_to_json(Value::bytes("hi")), "aGk=");
}

}  // namespace

namespace {

TEST(CelErrors, RuntimeErrorsCarryTheFailingSubexpression) {
  using namespace portcullis::interpreter::cel;
  const std::string text = "1 + 2 == 3 && {'a': 1}['b'] == 1";
  Value v = eval(text);
  ASSERT_TRUE(v.is_error());
  std::uint32_t begin = 0;
  std::uint32_t end = 0;
  ASSERT_TRUE(v.error_location(begin, end));
  EXPECT_EQ(text.substr(begin, end - begin), "{'a': 1}['b']");

  const std::string overflow = "[1, 2].map(x, x * 9223372036854775807)";
  Value o = eval(overflow);
  ASSERT_TRUE(o.is_error());
  ASSERT_TRUE(o.error_location(begin, end));
  EXPECT_EQ(overflow.substr(begin, end - begin), "x * 9223372036854775807");
}

}  // namespace

namespace {

TEST(CelLimits, ExpressionsAtTheDepthLimitEvaluate) {
  using namespace portcullis::interpreter::cel;
  std::string chain = "0";
  for (int i = 0; i < 240; ++i) chain += " + 1";
  Value v = eval(chain);
  ASSERT_EQ(v.kind(), Kind::int_) << v.debug_string();
  EXPECT_EQ(v.as_int(), 240);

  std::string nested = std::string(60, '[') + "7" + std::string(60, ']');
  for (int i = 0; i < 60; ++i) nested += "[0]";
  Value w = eval(nested);
  ASSERT_EQ(w.kind(), Kind::int_) << w.debug_string();
  EXPECT_EQ(w.as_int(), 7);
}

}  // namespace

namespace {

TEST(CelEvaluator, DurationStringsAcceptDays) {
  EXPECT_TRUE(is_true("duration('7d') == duration('168h')"));
  EXPECT_TRUE(is_true("duration('1d12h') == duration('36h')"));
  EXPECT_TRUE(is_true("duration('60d') > duration('59d23h59m')"));
  EXPECT_TRUE(eval("duration('7x')").is_error());
  EXPECT_TRUE(eval("duration('d')").is_error());
}

}  // namespace
