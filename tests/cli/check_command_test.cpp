// `portcullis check` as CI runs it: exit statuses, output formats, and the
// shipped policies.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "run_cli.hpp"

namespace portcullis::testing {
namespace {

const char* const kClean = R"(provider sandbox "okta" {}
bucket routine { approve: manager }
app figma { bucket: routine; role viewer { grants: sandbox.okta group "figma-viewers" } }
)";

const char* const kWithError = R"(provider sandbox "okta" {}
bucket routine { approve: manager }
app figma { bucket: routin; role viewer { grants: sandbox.okta group "figma-viewers" } }
)";

const char* const kWithWarning = R"(provider sandbox "okta" {}
bucket routine { approve: manager }
bucket spare { approve: manager }
app figma { bucket: routine; role viewer { grants: sandbox.okta group "figma-viewers" } }
)";

TEST(CheckCommand, CleanPolicyExitsZero) {
  TempDir dir;
  dir.write("ok.policy", kClean);
  const auto result = run_cli({"check", "ok.policy"}, dir.path());
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
  EXPECT_EQ(result.out, "checked 1 file: 0 errors, 0 warnings\n");
}

TEST(CheckCommand, ErrorsExitOneWithLocationCaretAndHelp) {
  TempDir dir;
  dir.write("bad.policy", kWithError);
  const auto result = run_cli({"check", "bad.policy"}, dir.path());
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.out.find("bad.policy:3:21: error[E0201]: unknown bucket `routin`\n"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("                    ^~~~~~\n"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("help: did you mean `routine`?\n"), std::string::npos);
  EXPECT_NE(result.out.find("checked 1 file: 1 error, 0 warnings"), std::string::npos);
}

TEST(CheckCommand, WarningsFailOnlyWithStrict) {
  TempDir dir;
  dir.write("warn.policy", kWithWarning);
  const auto lenient = run_cli({"check", "warn.policy"}, dir.path());
  EXPECT_EQ(lenient.exit_code, 0);
  EXPECT_NE(lenient.out.find("warning[W0101]"), std::string::npos);
  const auto strict = run_cli({"check", "--strict", "warn.policy"}, dir.path());
  EXPECT_EQ(strict.exit_code, 1);
}

TEST(CheckCommand, MissingPathIsAUsageError) {
  TempDir dir;
  const auto result = run_cli({"check", "nope.policy"}, dir.path());
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("nope.policy: no such file or directory"), std::string::npos);
}

TEST(CheckCommand, DirectoryWithoutPoliciesIsAUsageError) {
  TempDir dir;
  dir.write("notes.txt", "nothing here");
  EXPECT_EQ(run_cli({"check", "."}, dir.path()).exit_code, 2);
}

TEST(CheckCommand, UnknownOptionIsAUsageError) {
  EXPECT_EQ(run_cli({"check", "--frobnicate", "x.policy"}).exit_code, 2);
  EXPECT_EQ(run_cli({"check", "--format", "xml", "x.policy"}).exit_code, 2);
  EXPECT_EQ(run_cli({}).exit_code, 2);
}

TEST(CheckCommand, HelpDescribesExitStatuses) {
  const auto result = run_cli({"check", "--help"});
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_NE(result.out.find("Exit status"), std::string::npos);
  EXPECT_NE(result.out.find("--format"), std::string::npos);
  EXPECT_NE(result.out.find("--strict"), std::string::npos);
}

TEST(CheckCommand, DirectoriesAreSearchedForPolicyFiles) {
  TempDir dir;
  dir.write("policies/a.policy", kClean);
  dir.write("policies/nested/b.policy", kWithError);
  dir.write("policies/readme.md", "# not a policy");
  const auto result = run_cli({"check", "policies"}, dir.path());
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.out.find("checked 2 files"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("policies/nested/b.policy:3:21"), std::string::npos) << result.out;
}

TEST(CheckCommand, JsonFormatIsMachineReadable) {
  TempDir dir;
  dir.write("bad.policy", kWithError);
  const auto result = run_cli({"check", "--format", "json", "bad.policy"}, dir.path());
  EXPECT_EQ(result.exit_code, 1);
  const auto report = nlohmann::json::parse(result.out);
  EXPECT_EQ(report["errors"], 1);
  EXPECT_EQ(report["warnings"], 0);
  const auto& d = report["diagnostics"][0];
  EXPECT_EQ(d["code"], "E0201");
  EXPECT_EQ(d["name"], "unknown-bucket");
  EXPECT_EQ(d["severity"], "error");
  EXPECT_EQ(d["file"], "bad.policy");
  EXPECT_EQ(d["line"], 3);
  EXPECT_EQ(d["column"], 21);
  EXPECT_EQ(d["end_column"], 27);
  EXPECT_EQ(d["help"], "did you mean `routine`?");
}

TEST(CheckCommand, SarifIsValidForCodeScanning) {
  TempDir dir;
  dir.write("policies/bad.policy", kWithError);
  const auto result = run_cli({"check", "--format", "sarif", "policies"}, dir.path());
  EXPECT_EQ(result.exit_code, 1);
  const auto log = nlohmann::json::parse(result.out);
  EXPECT_EQ(log["version"], "2.1.0");
  EXPECT_TRUE(log["$schema"].get<std::string>().find("sarif-2.1.0") != std::string::npos);
  const auto& run = log["runs"][0];
  EXPECT_EQ(run["tool"]["driver"]["name"], "portcullis");
  const auto& rules = run["tool"]["driver"]["rules"];
  ASSERT_TRUE(rules.is_array());
  const auto& result0 = run["results"][0];
  EXPECT_EQ(result0["ruleId"], "E0201");
  EXPECT_EQ(result0["level"], "error");
  const auto index = result0["ruleIndex"].get<std::size_t>();
  EXPECT_EQ(rules[index]["id"], "E0201") << "ruleIndex must point at the rule";
  const auto& location = result0["locations"][0]["physicalLocation"];
  EXPECT_EQ(location["artifactLocation"]["uri"], "policies/bad.policy") << "code scanning needs repo-relative URIs";
  EXPECT_EQ(location["region"]["startLine"], 3);
  EXPECT_EQ(location["region"]["startColumn"], 21);
  EXPECT_TRUE(result0["message"]["text"].get<std::string>().find("unknown bucket") != std::string::npos);
  // Every rule has what code scanning displays.
  for (const auto& rule : rules) {
    EXPECT_TRUE(rule.contains("shortDescription"));
    EXPECT_TRUE(rule["defaultConfiguration"]["level"] == "error" || rule["defaultConfiguration"]["level"] == "warning");
  }
}

TEST(CheckCommand, ImportedFileErrorsAreReportedInTheImportedFile) {
  TempDir dir;
  dir.write("main.policy", "import \"lib/b.policy\"\n" + std::string(kClean));
  dir.write("lib/b.policy", "module \"b\"\nbucket broken { approve: nobody }\n");
  const auto result = run_cli({"check", "main.policy"}, dir.path());
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.out.find("lib/b.policy:2:26: error[E0205]: unknown approver pool `nobody`"), std::string::npos)
      << result.out;
}

// The policies the project ships must stay clean: CI runs what users run.
TEST(ShippedPolicies, PassCheckStrict) {
  const auto result = run_cli({"check", "--strict", "examples", "policies"}, PORTCULLIS_SOURCE_DIR);
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
}

TEST(ShippedPolicies, AreFormatted) {
  const auto result = run_cli({"fmt", "--check", "examples", "policies"}, PORTCULLIS_SOURCE_DIR);
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
}

}  // namespace
}  // namespace portcullis::testing

namespace portcullis::testing {
namespace {

TEST(AuditCommand, MissingDatabaseIsAUsageError) {
  TempDir dir;
  const auto result = run_cli({"audit", "verify", "--db", "nope.db"}, dir.path());
  EXPECT_EQ(result.exit_code, 2) << result.out << result.err;
  EXPECT_FALSE(result.err.empty());
}

TEST(AuditCommand, NeedsASubcommandAndADatabase) {
  EXPECT_EQ(run_cli({"audit"}).exit_code, 2);
  EXPECT_EQ(run_cli({"audit", "verify"}).exit_code, 2);
  EXPECT_EQ(run_cli({"audit", "verify", "--help"}).exit_code, 0);
}

}  // namespace
}  // namespace portcullis::testing
