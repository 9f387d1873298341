#pragma once
// Runs the `test` blocks of a policy: each test builds a small world
// (directory facts from `given`), files one request, drives it with
// approvals, denials, renewals and the passing of time, and checks its
// expectations against the real resolver and state machine.
//
// Time is virtual: a test starts at 2026-01-01T00:00:00Z and only `wait`
// moves it, firing due timers in order. Provisioning effects succeed at
// once, as the sandbox connectors do. Deterministic: no clock, no I/O.

#include <string>
#include <vector>

#include "interpreter/directory.hpp"
#include "interpreter/model.hpp"

namespace portcullis::interpreter {

struct ExpectationFailure {
  Span span;             // the `expect` (or statement) that failed
  std::string expected;
  std::string actual;
};

struct TestResult {
  std::string name;
  Span span;
  std::vector<ExpectationFailure> failures;
  bool passed() const { return failures.empty(); }
};

struct TestCoverage {
  // Catalog roles (app.role) that no test requests or maps to.
  std::vector<std::string> untested_roles;
  std::size_t total_roles = 0;
};

struct TestReport {
  std::vector<TestResult> results;
  TestCoverage coverage;
  std::size_t passed() const;
  std::size_t failed() const;
};

struct TestOptions {
  const Directory* base = nullptr;       // the directory every test starts from
  std::string filter;                    // run tests whose name contains it
  const dsl::SourceFile* only = nullptr; // run only the tests written in this file
};

TestReport run_tests(const Policy& policy, const TestOptions& options);

}  // namespace portcullis::interpreter
