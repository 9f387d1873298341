// Evaluation cost of a typical auto-approve condition, compiled once.
//
// Target: under 200 ns per evaluation in a RelWithDebInfo/Release build.

#include <benchmark/benchmark.h>

#include <cstdlib>
#include <iostream>
#include <memory>

#include "dsl/cel/env.hpp"
#include "dsl/cel/types.hpp"
#include "interpreter/cel/program.hpp"
#include "interpreter/cel/time.hpp"

namespace {

namespace dc = portcullis::dsl::cel;
namespace ic = portcullis::interpreter::cel;

constexpr const char* kCondition =
    R"(requester.employment == "full_time" && request.duration <= duration("8h") && )"
    R"(requester.department != "contractors" && )"
    R"(requester.location in ["US","CA","GB","DE","FR","NL","IE","ES","IT","PT"])";

struct Fixture {
  std::shared_ptr<dc::ObjectType> requester_type = std::make_shared<dc::ObjectType>();
  std::shared_ptr<dc::ObjectType> request_type = std::make_shared<dc::ObjectType>();
  std::shared_ptr<dc::Env> env = std::make_shared<dc::Env>();

  Fixture() {
    requester_type->name = "requester";
    requester_type->fields = {{"email", dc::types::string()},
                              {"department", dc::types::string()},
                              {"employment", dc::types::string()},
                              {"manager", dc::types::string()},
                              {"location", dc::types::string()},
                              {"groups", dc::types::list(dc::types::string())}};
    request_type->name = "request";
    request_type->fields = {{"app", dc::types::string()},
                            {"role", dc::types::string()},
                            {"duration", dc::types::duration()},
                            {"justification", dc::types::string()}};
    env->declare("requester", dc::types::object(requester_type));
    env->declare("request", dc::types::object(request_type));
    env->declare("now", dc::types::timestamp());
  }

  ic::Activation activation(const char* location) const {
    ic::Activation act(env);
    act.bind("requester",
             ic::Value::object(requester_type,
                               {ic::Value::string("ada@example.com"), ic::Value::string("engineering"),
                                ic::Value::string("full_time"), ic::Value::string("grace@example.com"),
                                ic::Value::string(location),
                                ic::Value::list({ic::Value::string("eng"), ic::Value::string("oncall")})}));
    act.bind("request", ic::Value::object(request_type, {ic::Value::string("github"), ic::Value::string("admin"),
                                                         ic::Value::duration({4 * 3600, 0}),
                                                         ic::Value::string("incident 42")}));
    act.bind("now", ic::Value::timestamp({1'700'000'000, 0}));
    return act;
  }
};

void BM_AutoApproveCondition(benchmark::State& state) {
  Fixture fx;
  auto compiled = ic::compile(kCondition, fx.env);
  if (!compiled.ok()) {
    state.SkipWithError(compiled.issues.front().message.c_str());
    return;
  }
  const ic::Activation act = fx.activation(state.range(0) == 0 ? "PT" : "JP");
  const bool expected = state.range(0) == 0;
  for (auto _ : state) {
    ic::Value v = compiled.program->evaluate(act);
    benchmark::DoNotOptimize(v);
    if (v.kind() != ic::Kind::bool_ || v.as_bool() != expected) {
      state.SkipWithError("unexpected result");
      return;
    }
  }
}
// Arg 0: every clause true (worst case, all four evaluated); 1: last clause false.
BENCHMARK(BM_AutoApproveCondition)->Arg(0)->Arg(1);

void BM_CompileCondition(benchmark::State& state) {
  Fixture fx;
  for (auto _ : state) {
    auto compiled = ic::compile(kCondition, fx.env);
    benchmark::DoNotOptimize(compiled);
  }
}
BENCHMARK(BM_CompileCondition);

void BM_ActivationBuild(benchmark::State& state) {
  Fixture fx;
  for (auto _ : state) {
    auto act = fx.activation("PT");
    benchmark::DoNotOptimize(act);
  }
}
BENCHMARK(BM_ActivationBuild);

}  // namespace

BENCHMARK_MAIN();
