// `portcullis diff OLD NEW` as CI runs it on a pull request: exit statuses
// 0/1/2/3 and the text, json and markdown reports.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "run_cli.hpp"

namespace portcullis::testing {
namespace {

const std::string kOld = R"(provider sandbox "okta" {}
approvers security = group "security-oncall"
bucket routine { approve: manager }
bucket privileged {
  approve: app.owner then security
  duration: one_of(1h, 6h) default 1h
  expiry: required
}
app figma "Figma" {
  owner: "dana@acme.com"
  bucket: routine
  role viewer { grants: sandbox.okta group "figma-viewers" }
  role admin { grants: sandbox.okta group "figma-admins"; bucket: privileged }
}
)";

std::string replace(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return at == std::string::npos ? text : text.replace(at, from.size(), to);
}

// The admin route loses its security step (risky); the viewer's route
// gains a second step (not risky).
std::string risky_new() {
  std::string text = replace(kOld, "role admin { grants: sandbox.okta group \"figma-admins\"; bucket: privileged }",
                             "role admin {\n    grants: sandbox.okta group \"figma-admins\"\n    bucket: privileged\n"
                             "    approve: app.owner\n  }");
  return replace(text, "bucket routine { approve: manager }", "bucket routine { approve: manager then app.owner }");
}

std::string safe_new() {
  return replace(kOld, "bucket routine { approve: manager }", "bucket routine { approve: manager then app.owner }");
}

TEST(DiffCommand, IdenticalPoliciesExitZero) {
  TempDir dir;
  dir.write("old.policy", kOld);
  dir.write("new.policy", kOld);
  const auto result = run_cli({"diff", "old.policy", "new.policy"}, dir.path());
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
  EXPECT_EQ(result.out, "no semantic changes\n");
}

TEST(DiffCommand, NonRiskyChangesExitZero) {
  TempDir dir;
  dir.write("old.policy", kOld);
  dir.write("new.policy", safe_new());
  const auto result = run_cli({"diff", "old.policy", "new.policy"}, dir.path());
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
  EXPECT_NE(result.out.find(
                "  figma.viewer: route: manager -> manager then app.owner\n    at new.policy:3 (was old.policy:3)\n"),
            std::string::npos)
      << result.out;
  EXPECT_NE(result.out.find("none raises risk"), std::string::npos) << result.out;
}

TEST(DiffCommand, RiskyChangesExitThreeAndComeFirst) {
  TempDir dir;
  dir.write("old.policy", kOld);
  dir.write("new.policy", risky_new());
  const auto result = run_cli({"diff", "old.policy", "new.policy"}, dir.path());
  EXPECT_EQ(result.exit_code, 3) << result.out << result.err;
  const auto risky = result.out.find(
      "! figma.admin: route: app.owner then security -> app.owner\n"
      "    risk: a step was removed (2 -> 1 steps)\n"
      "    at new.policy:16 (was old.policy:5)\n");
  const auto safe = result.out.find("  figma.viewer: route:");
  EXPECT_NE(risky, std::string::npos) << result.out;
  EXPECT_NE(safe, std::string::npos) << result.out;
  EXPECT_LT(risky, safe);
  EXPECT_NE(result.out.find("2 changes in 2 apps and roles; 1 raises risk: needs a security review\n"),
            std::string::npos)
      << result.out;
}

TEST(DiffCommand, InvalidPolicyExitsOne) {
  TempDir dir;
  dir.write("old.policy", kOld);
  dir.write("new.policy", replace(kOld, "bucket: routine", "bucket: routin"));
  const auto result = run_cli({"diff", "old.policy", "new.policy"}, dir.path());
  EXPECT_EQ(result.exit_code, 1) << result.out << result.err;
  EXPECT_NE(result.err.find("new.policy:11:11: error[E0201]"), std::string::npos) << result.err;
  EXPECT_EQ(result.out, "");
}

TEST(DiffCommand, UsageAndIoErrorsExitTwo) {
  TempDir dir;
  dir.write("old.policy", kOld);
  EXPECT_EQ(run_cli({"diff", "old.policy", "missing.policy"}, dir.path()).exit_code, 2);
  EXPECT_EQ(run_cli({"diff", "old.policy"}, dir.path()).exit_code, 2);
  EXPECT_EQ(run_cli({"diff", "--format", "xml", "old.policy", "old.policy"}, dir.path()).exit_code, 2);
}

TEST(DiffCommand, HelpDescribesExitStatuses) {
  const auto result = run_cli({"diff", "--help"});
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_NE(result.out.find("Exit status"), std::string::npos);
  EXPECT_NE(result.out.find("markdown"), std::string::npos);
}

TEST(DiffCommand, JsonFormatIsMachineReadable) {
  TempDir dir;
  dir.write("old.policy", kOld);
  dir.write("new.policy", risky_new());
  const auto result = run_cli({"diff", "--format", "json", "old.policy", "new.policy"}, dir.path());
  EXPECT_EQ(result.exit_code, 3);
  const auto report = nlohmann::json::parse(result.out);
  EXPECT_EQ(report["old"], "old.policy");
  EXPECT_EQ(report["summary"]["changes"], 2);
  EXPECT_EQ(report["summary"]["risk"], 1);
  EXPECT_EQ(report["summary"]["needs_review"], true);
  ASSERT_EQ(report["changes"].size(), 2u);
  // In policy order: app, then role as OLD lists them.
  EXPECT_EQ(report["changes"][0]["target"], "figma.viewer");
  const auto& admin = report["changes"][1];
  EXPECT_EQ(admin["kind"], "route");
  EXPECT_EQ(admin["target"], "figma.admin");
  EXPECT_EQ(admin["app"], "figma");
  EXPECT_EQ(admin["role"], "admin");
  EXPECT_EQ(admin["before"], "app.owner then security");
  EXPECT_EQ(admin["after"], "app.owner");
  EXPECT_EQ(admin["risk"], true);
  EXPECT_EQ(admin["new"]["file"], "new.policy");
  EXPECT_EQ(admin["new"]["line"], 16);
  EXPECT_EQ(admin["old"]["line"], 5);
  EXPECT_EQ(report["changes"][0]["risk"], false);
  EXPECT_TRUE(report["changes"][0]["risk_reason"].is_null());

  dir.write("same.policy", kOld);
  const auto none = run_cli({"diff", "--format", "json", "old.policy", "same.policy"}, dir.path());
  EXPECT_EQ(none.exit_code, 0);
  EXPECT_EQ(nlohmann::json::parse(none.out)["changes"].size(), 0u);
}

TEST(DiffCommand, MarkdownIsAPullRequestComment) {
  TempDir dir;
  dir.write("old.policy", kOld);
  dir.write("new.policy", risky_new());
  const auto result = run_cli({"diff", "--format", "markdown", "old.policy", "new.policy"}, dir.path());
  EXPECT_EQ(result.exit_code, 3);
  const std::string& md = result.out;
  EXPECT_EQ(md.rfind("### Portcullis policy diff\n\n", 0), 0u) << md;
  EXPECT_NE(md.find("\u26A0\uFE0F **2 changes in 2 apps and roles; 1 raises risk**: a security review is required."),
            std::string::npos)
      << md;
  const auto table = md.find("| | App / role | Changes |\n|---|---|---|\n");
  const auto admin_row = md.find("| \u26A0\uFE0F | `figma.admin` | route |");
  const auto viewer_row = md.find("|  | `figma.viewer` | route |");
  EXPECT_NE(table, std::string::npos) << md;
  EXPECT_NE(admin_row, std::string::npos) << md;
  EXPECT_NE(viewer_row, std::string::npos) << md;
  EXPECT_LT(admin_row, viewer_row);
  const auto risky = md.find(
      "- \u26A0\uFE0F `figma.admin` route: `app.owner then security` -> `app.owner`: "
      "**a step was removed (2 -> 1 steps)** (new.policy:16 (was old.policy:5))");
  const auto other = md.find("#### Other changes");
  EXPECT_NE(risky, std::string::npos) << md;
  EXPECT_NE(other, std::string::npos) << md;
  EXPECT_LT(risky, other);

  dir.write("same.policy", kOld);
  const auto none = run_cli({"diff", "--format", "markdown", "old.policy", "same.policy"}, dir.path());
  EXPECT_EQ(none.exit_code, 0);
  EXPECT_NE(none.out.find("No semantic changes"), std::string::npos);
}

TEST(DiffCommand, ImportsAreFollowed) {
  TempDir dir;
  dir.write("old/root.policy", "import \"apps.policy\"\n");
  dir.write("old/apps.policy", "module \"apps\"\n" + kOld);
  dir.write("new/root.policy", "import \"apps.policy\"\n");
  dir.write("new/apps.policy", "module \"apps\"\n" + risky_new());
  const auto result = run_cli({"diff", "old/root.policy", "new/root.policy"}, dir.path());
  EXPECT_EQ(result.exit_code, 3) << result.out << result.err;
  EXPECT_NE(result.out.find("at new/apps.policy:17 (was old/apps.policy:6)"), std::string::npos) << result.out;
}

}  // namespace
}  // namespace portcullis::testing
