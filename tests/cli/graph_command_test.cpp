// `portcullis graph POLICY APP.ROLE`: DOT on standard output, exit 2 with a
// did-you-mean for an unknown role, and (when Graphviz is installed) output
// that `dot` renders.

#include <gtest/gtest.h>

#include <cstdlib>

#include "run_cli.hpp"

namespace portcullis::testing {
namespace {

const char* const kPolicy = R"(provider sandbox "okta" {}
approvers security = group "security-oncall"
bucket routine { approve: auto when requester.employment == "full_time" else manager }
bucket privileged {
  approve: app.owner then security
  duration: one_of(1h, 6h, 24h) default 1h
  expiry: required
}
bucket unknown { approve: group "it-ops" }
app figma "Figma" {
  owner: "dana@acme.com"
  bucket: routine
  role viewer { grants: sandbox.okta group "figma-viewers" }
  role admin { grants: sandbox.okta group "figma-admins"; bucket: privileged }
  role billing { manual "Dana adds the person in Figma > Billing"; bucket: privileged }
}
)";

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(GraphCommand, PrintsDotForARole) {
  TempDir dir;
  dir.write("p.policy", kPolicy);
  const auto result = run_cli({"graph", "p.policy", "figma.admin"}, dir.path());
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out.rfind("digraph \"figma.admin\" {\n", 0), 0u) << result.out;
  EXPECT_EQ(result.out.substr(result.out.size() - 2), "}\n");
  EXPECT_EQ(count(result.out, "{"), count(result.out, "}"));
  for (const char* state : {"\"b1_step1\" [label=\"awaiting_approval\\nstep 1 of 2: app.owner",
                            "\"b1_step2\" [label=\"awaiting_approval\\nstep 2 of 2: security", "\"provisioning\"",
                            "\"active\" [label=\"active\\nexpires after 1h by default", "\"expired\"", "\"revoked\"",
                            "\"denied\"", "\"cancelled\""}) {
    EXPECT_NE(result.out.find(state), std::string::npos) << state << "\n" << result.out;
  }
  EXPECT_NE(result.out.find("\"b1_step1\" -> \"b1_step2\" [label=\"approve\"];"), std::string::npos);
}

TEST(GraphCommand, ManualAndConditionalRoles) {
  TempDir dir;
  dir.write("p.policy", kPolicy);
  const auto manual = run_cli({"graph", "p.policy", "figma.billing"}, dir.path());
  EXPECT_EQ(manual.exit_code, 0);
  EXPECT_NE(manual.out.find("\"awaiting_fulfilment\""), std::string::npos);
  EXPECT_EQ(manual.out.find("\"provisioning\""), std::string::npos);
  const auto conditional = run_cli({"graph", "p.policy", "figma.viewer"}, dir.path());
  EXPECT_EQ(conditional.exit_code, 0);
  EXPECT_NE(
      conditional.out.find(
          R"("submitted" -> "approved" [label="approved automatically\nwhen requester.employment == \"full_time\""];)"),
      std::string::npos)
      << conditional.out;
  EXPECT_NE(conditional.out.find(R"("submitted" -> "b2_step1" [label="otherwise"];)"), std::string::npos);
}

TEST(GraphCommand, TriageForRequestsOutsideTheCatalog) {
  TempDir dir;
  dir.write("p.policy", kPolicy);
  const auto result = run_cli({"graph", "p.policy", "--triage"}, dir.path());
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("\"awaiting_triage\""), std::string::npos);
  const auto named = run_cli({"graph", "p.policy", "canva.pro", "--triage"}, dir.path());
  EXPECT_EQ(named.exit_code, 0);
  EXPECT_EQ(named.out, result.out);
}

TEST(GraphCommand, UnknownRoleExitsTwoWithSuggestion) {
  TempDir dir;
  dir.write("p.policy", kPolicy);
  const auto typo = run_cli({"graph", "p.policy", "figma.admn"}, dir.path());
  EXPECT_EQ(typo.exit_code, 2);
  EXPECT_EQ(typo.out, "");
  EXPECT_NE(typo.err.find("`figma.admn` is not a role in the catalog"), std::string::npos) << typo.err;
  EXPECT_NE(typo.err.find("help: did you mean `figma.admin`?"), std::string::npos) << typo.err;
  const auto far = run_cli({"graph", "p.policy", "figma.superuser"}, dir.path());
  EXPECT_EQ(far.exit_code, 2);
  EXPECT_NE(far.err.find("the roles of figma are viewer, admin, billing"), std::string::npos) << far.err;
  EXPECT_EQ(run_cli({"graph", "p.policy"}, dir.path()).exit_code, 2);
  EXPECT_EQ(run_cli({"graph", "missing.policy", "figma.admin"}, dir.path()).exit_code, 2);
}

TEST(GraphCommand, InvalidPolicyExitsOne) {
  TempDir dir;
  dir.write("bad.policy", std::string(kPolicy) + "app broken { }\n");
  EXPECT_EQ(run_cli({"graph", "bad.policy", "figma.admin"}, dir.path()).exit_code, 1);
}

TEST(GraphCommand, HelpExplainsTheCommand) {
  const auto result = run_cli({"graph", "--help"});
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_NE(result.out.find("APP.ROLE"), std::string::npos);
  EXPECT_NE(result.out.find("--triage"), std::string::npos);
  EXPECT_NE(result.out.find("Exit status"), std::string::npos);
}

TEST(GraphCommand, GraphvizRendersTheOutput) {
  if (std::system("command -v dot >/dev/null 2>&1") != 0) GTEST_SKIP() << "graphviz (dot) is not installed";
  TempDir dir;
  dir.write("p.policy", kPolicy);
  for (const char* role : {"figma.viewer", "figma.admin", "figma.billing"}) {
    const auto result = run_cli({"graph", "p.policy", role}, dir.path());
    ASSERT_EQ(result.exit_code, 0);
    const std::string dot = dir.write("g.dot", result.out);
    const std::string svg = dir.path() + "/g.svg";
    EXPECT_EQ(std::system(("dot -Tsvg '" + dot + "' -o '" + svg + "'").c_str()), 0) << role;
    EXPECT_NE(dir.read("g.svg").find("<svg"), std::string::npos) << role;
  }
}

}  // namespace
}  // namespace portcullis::testing
