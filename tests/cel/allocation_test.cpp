// Proves the evaluation hot path does not allocate: a typical condition,
// compiled once, evaluated against a prepared activation.

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <new>

#include "dsl/cel/env.hpp"
#include "interpreter/cel/program.hpp"

namespace {
std::atomic<long> g_allocations{0};
}  // namespace

// Counting replacements of the global allocation functions (this test binary
// only). GCC 12 cannot see that these new/delete replacements pair malloc
// with free and warns once they are inlined into library code.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t /*n*/) noexcept { std::free(p); }
#pragma GCC diagnostic pop

namespace {

namespace dc = portcullis::dsl::cel;
namespace ic = portcullis::interpreter::cel;

TEST(CelAllocation, TypicalConditionEvaluatesWithoutHeapAllocation) {
  auto requester = std::make_shared<dc::ObjectType>();
  requester->name = "requester";
  requester->fields = {{"employment", dc::types::string()},
                       {"department", dc::types::string()},
                       {"location", dc::types::string()},
                       {"groups", dc::types::list(dc::types::string())}};
  auto request = std::make_shared<dc::ObjectType>();
  request->name = "request";
  request->fields = {{"duration", dc::types::duration()}};
  auto env = std::make_shared<dc::Env>();
  env->declare("requester", dc::types::object(requester));
  env->declare("request", dc::types::object(request));
  auto compiled = ic::compile(
      R"(requester.employment == "full_time" && request.duration <= duration("8h") && )"
      R"(requester.department != "contractors" && 'oncall' in requester.groups && )"
      R"(requester.location in ["US","CA","GB","DE","FR","NL","IE","ES","IT","PT"])",
      env);
  ASSERT_TRUE(compiled.ok());
  ic::Activation act(env);
  act.bind("requester", ic::Value::object(requester, {ic::Value::string("full_time"), ic::Value::string("eng"),
                                                      ic::Value::string("PT"),
                                                      ic::Value::list({ic::Value::string("oncall")})}));
  act.bind("request", ic::Value::object(request, {ic::Value::duration({3600, 0})}));

  const long before = g_allocations.load();
  bool all_true = true;
  for (int i = 0; i < 100; ++i) {
    ic::Value v = compiled.program->evaluate(act);
    all_true = all_true && v.kind() == ic::Kind::bool_ && v.as_bool();
  }
  const long after = g_allocations.load();
  EXPECT_TRUE(all_true);
  EXPECT_EQ(after - before, 0);
}

}  // namespace
