// `portcullis test` as CI runs it: outcomes, failure reports, exit codes.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "run_cli.hpp"

namespace portcullis::testing {
namespace {

const char* const kPolicy = R"(provider sandbox "okta" {}
approvers security = people "sec1@acme.com", "sec2@acme.com"

bucket routine {
  approve: auto when requester.employment == "full_time" else manager
}
bucket privileged {
  approve: app.owner then security
  expiry: required
  duration: one_of(1h, 6h) default 1h
  require: justification
}

app figma "Figma" {
  owner: "dana@acme.com"
  bucket: routine
  role viewer { grants: sandbox.okta group "figma-viewers" }
  role admin { grants: sandbox.okta group "figma-admins"; bucket: privileged }
}
)";

const char* const kPassing = R"(import "policy.policy"

test "staff get viewer at once" {
  given requester "ann@acme.com" { employment: "full_time", manager: "bob@acme.com" }
  request figma.viewer
  expect auto_approved
  expect state active
  expect grants sandbox.okta group "figma-viewers"
  expect permanent
}

test "admin needs the owner then security, and expires" {
  given requester "ann@acme.com" { employment: "full_time", manager: "bob@acme.com" }
  request figma.admin for 6h because "fix SSO"
  expect route app.owner then security
  approve by "ann@acme.com"
  expect refused "own request"
  approve by "dana@acme.com"
  expect state awaiting_approval
  approve by "sec1@acme.com"
  expect state active
  expect expires_after 6h
  wait 6h
  expect state expired
  expect no_grants
}
)";

const char* const kFailing = R"(import "policy.policy"

test "wrong expectation" {
  given requester "cal@acme.com" { employment: "contractor", manager: "bob@acme.com" }
  request figma.viewer
  expect auto_approved
}
)";

TEST(TestCommand, PassingTestsExitZeroWithTheClosingLine) {
  TempDir dir;
  dir.write("policy.policy", kPolicy);
  dir.write("policy_test.policy", kPassing);
  const auto result = run_cli({"test", "policy_test.policy"}, dir.path());
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
  EXPECT_NE(result.out.find("  ok    staff get viewer at once\n"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("\n2 passed, 0 failed\n"), std::string::npos) << result.out;
}

TEST(TestCommand, AFailingExpectationPrintsExpectedActualAndLine) {
  TempDir dir;
  dir.write("policy.policy", kPolicy);
  dir.write("failing_test.policy", kFailing);
  const auto result = run_cli({"test", "failing_test.policy"}, dir.path());
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.out.find("  FAIL  wrong expectation\n"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("failing_test.policy:6:10: expected auto_approved, got approval"), std::string::npos)
      << result.out;
  EXPECT_NE(result.out.find("0 passed, 1 failed"), std::string::npos);
}

TEST(TestCommand, CoverageListsUntestedRoles) {
  TempDir dir;
  dir.write("policy.policy", kPolicy);
  dir.write("only_viewer.policy", std::string(kPassing).substr(0, std::string(kPassing).find("test \"admin")));
  const auto result = run_cli({"test", "--coverage", "only_viewer.policy"}, dir.path());
  EXPECT_EQ(result.exit_code, 0) << result.out;
  EXPECT_NE(result.out.find("coverage: 1 of 2 roles requested by a test"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("untested: figma.admin"), std::string::npos);
}

TEST(TestCommand, JsonOutput) {
  TempDir dir;
  dir.write("policy.policy", kPolicy);
  dir.write("failing_test.policy", kFailing);
  const auto result = run_cli({"test", "--format", "json", "failing_test.policy"}, dir.path());
  EXPECT_EQ(result.exit_code, 1);
  const auto json = nlohmann::json::parse(result.out);
  EXPECT_EQ(json["failed"], 1);
  EXPECT_EQ(json["files"][0]["tests"][0]["failures"][0]["line"], 6);
}

TEST(TestCommand, InvalidPolicyIsExitOneAndMissingPathTwo) {
  TempDir dir;
  dir.write("bad.policy", "test \"x\" { request a.b\n expect state nonsense }\n");
  EXPECT_EQ(run_cli({"test", "bad.policy"}, dir.path()).exit_code, 1);
  EXPECT_EQ(run_cli({"test", "missing.policy"}, dir.path()).exit_code, 2);
}

TEST(ShippedPolicies, TestsPass) {
  const auto result = run_cli({"test", "--directory", "examples/acme/directory.json", "examples", "policies"},
                              PORTCULLIS_SOURCE_DIR);
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
  EXPECT_NE(result.out.find(" passed, 0 failed"), std::string::npos) << result.out;
}

TEST(ExplainCommand, PrintsTheApprovalCardAndThePolicyLines) {
  TempDir dir;
  dir.write("policy.policy", kPolicy);
  const auto result = run_cli({"explain", "policy.policy", "--requester", "ann@acme.com", "--app", "figma", "--role",
                               "admin", "--duration", "6h", "--reason", "fix SSO"},
                              dir.path());
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("Who asks:     ann@acme.com"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("Access:       Figma / admin  [privileged]"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("For how long: 6h"), std::string::npos);
  EXPECT_NE(result.out.find("1 of 2: the owner of Figma (dana@acme.com)"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("add to sandbox.okta group \"figma-admins\", removed after 6h"), std::string::npos);
  EXPECT_NE(result.out.find("policy.policy:10:13  granted for 6h"), std::string::npos) << result.out;
}

TEST(ExplainCommand, JsonCarriesTheCardAndReasons) {
  TempDir dir;
  dir.write("policy.policy", kPolicy);
  const auto result = run_cli({"explain", "policy.policy", "--requester", "cal@acme.com", "--app", "figma", "--role",
                               "viewer", "--attr", "employment=contractor", "--attr", "manager=bob@acme.com",
                               "--format", "json"},
                              dir.path());
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto json = nlohmann::json::parse(result.out);
  EXPECT_EQ(json["card"]["outcome"], "approval");
  EXPECT_EQ(json["card"]["approvers"][0]["eligible"][0], "bob@acme.com");
  EXPECT_EQ(json["card"]["duration"], "permanent");
  EXPECT_FALSE(json["reasons"].empty());
}

TEST(ExplainCommand, MissingJustificationIsRejectedWithTheReason) {
  TempDir dir;
  dir.write("policy.policy", kPolicy);
  const auto result = run_cli(
      {"explain", "policy.policy", "--requester", "ann@acme.com", "--app", "figma", "--role", "admin"}, dir.path());
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_NE(result.out.find("Decision:     rejected: a justification is required for figma.admin"), std::string::npos)
      << result.out;
}

TEST(ExplainCommand, UnknownAppGoesToTriageOrIsRejectedAndBadDurationIsUsage) {
  TempDir dir;
  dir.write("policy.policy", kPolicy);
  const auto unknown = run_cli(
      {"explain", "policy.policy", "--requester", "ann@acme.com", "--app", "nope", "--role", "x"}, dir.path());
  EXPECT_EQ(unknown.exit_code, 0);
  EXPECT_NE(unknown.out.find("not in the catalog"), std::string::npos) << unknown.out;
  const auto bad = run_cli({"explain", "policy.policy", "--requester", "a@x", "--app", "figma", "--role", "admin",
                            "--duration", "6 hours"},
                           dir.path());
  EXPECT_EQ(bad.exit_code, 2);
}

}  // namespace
}  // namespace portcullis::testing
