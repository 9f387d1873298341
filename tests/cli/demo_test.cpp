// `portcullis demo`: the scripted walk-through against the daemon it starts
// in-process, run as a user would from the repository root. The full run
// waits for a real 20-second grant to expire, so it takes about half a
// minute.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "run_cli.hpp"

namespace portcullis::testing {
namespace {

bool mentions(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST(DemoCommand, EveryScenarioEndsInTheExpectedState) {
  TempDir dir;
  const std::string db = dir.path() + "/demo.db";
  const CliResult result = run_cli({"demo", "--db", db}, PORTCULLIS_SOURCE_DIR);
  ASSERT_EQ(result.exit_code, 0) << result.out << "\n--- stderr ---\n" << result.err;

  // The summary names each scenario's final state.
  for (const std::string line : {
           "ok      1. auto-approved viewer: active",
           "ok      2. manager-approved editor: active",
           "ok      3. two-step privileged grant that expires: expired",
           "ok      4. unknown app through IT triage: active",
           "ok      5. separation of duties: denied",
           "ok      6. self-approval attempt: refused (409), still awaiting_approval",
           "ok      audit chain: verified",
           "Every scripted step turned out as expected.",
       }) {
    EXPECT_TRUE(mentions(result.out, line)) << "missing: " << line << "\n" << result.out;
  }
  // The story along the way: who approved, which groups changed.
  EXPECT_TRUE(mentions(result.out, "sandbox.okta group figma-viewers: ann.lee@acme.com is a member")) << result.out;
  EXPECT_TRUE(mentions(result.out, "bob.stone@acme.com (Carl's manager) approves")) << result.out;
  EXPECT_TRUE(mentions(result.out, "sandbox.okta group aws-staging-admin: ann.lee@acme.com is not a member"))
      << result.out;
  EXPECT_TRUE(mentions(result.out, "tom.nash@acme.com (IT triage) maps it to figma.editor")) << result.out;
  EXPECT_TRUE(mentions(result.out, "cannot approve their own request")) << result.out;
  EXPECT_TRUE(mentions(result.out, "== evidence ==")) << result.out;
  EXPECT_TRUE(mentions(result.out, "entries verified, head")) << result.out;
  // Without --keep-serving no token is ever printed.
  EXPECT_FALSE(mentions(result.out, "Throwaway demo tokens")) << result.out;

  // The principals file next to the database holds hashes only, with one
  // admin.
  const auto principals = nlohmann::json::parse(dir.read("demo.db.principals.json"));
  ASSERT_TRUE(principals.contains("principals"));
  int admins = 0;
  for (const auto& p : principals["principals"]) {
    EXPECT_EQ(p["token_sha256"].get<std::string>().size(), 64u);
    EXPECT_FALSE(p.contains("token"));
    if (p.value("admin", false)) ++admins;
  }
  EXPECT_EQ(admins, 1);
}

TEST(DemoCommand, RefusesToReuseAnExistingDatabase) {
  TempDir dir;
  const std::string db = dir.write("demo.db", "an earlier run");
  const CliResult result = run_cli({"demo", "--db", db}, PORTCULLIS_SOURCE_DIR);
  EXPECT_EQ(result.exit_code, 2) << result.out << result.err;
  EXPECT_TRUE(mentions(result.err, db)) << result.err;
  EXPECT_EQ(dir.read("demo.db"), "an earlier run");
}

TEST(DemoCommand, ServesOnLoopbackOnly) {
  TempDir dir;
  const CliResult result =
      run_cli({"demo", "--db", dir.path() + "/demo.db", "--listen", "0.0.0.0:0"}, PORTCULLIS_SOURCE_DIR);
  EXPECT_EQ(result.exit_code, 2) << result.out << result.err;
  EXPECT_TRUE(mentions(result.err, "127.0.0.1")) << result.err;
}

}  // namespace
}  // namespace portcullis::testing
