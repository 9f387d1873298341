// `portcullis fmt`: rewriting in place, --check, --diff, standard input,
// syntax errors and unreadable paths, end to end.

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "run_cli.hpp"

namespace portcullis::testing {
namespace {

namespace fs = std::filesystem;

const std::string kMessy = "bucket b {   approve: manager\n   remind:after 1h }\n";
const std::string kTidy = "bucket b {\n  approve: manager\n  remind: after 1h\n}\n";
const std::string kBroken = "bucket b {\n  approve: \n}\n";

TEST(FmtCommand, RewritesChangedFilesInPlaceAndNamesThem) {
  TempDir dir;
  const std::string messy = dir.write("messy.policy", kMessy);
  const std::string tidy = dir.write("tidy.policy", kTidy);
  const auto result = run_cli({"fmt", messy, tidy});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, messy + "\n");
  EXPECT_EQ(result.err, "");
  EXPECT_EQ(dir.read("messy.policy"), kTidy);
  EXPECT_EQ(dir.read("tidy.policy"), kTidy);
  // No temporary files left behind.
  std::size_t entries = 0;
  for (const auto& entry : fs::directory_iterator(dir.path())) {
    (void)entry;
    ++entries;
  }
  EXPECT_EQ(entries, 2u);
  // A second run has nothing to do.
  const auto again = run_cli({"fmt", messy});
  EXPECT_EQ(again.exit_code, 0);
  EXPECT_EQ(again.out, "");
}

TEST(FmtCommand, KeepsFilePermissions) {
  TempDir dir;
  const std::string path = dir.write("p.policy", kMessy);
  fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
  ASSERT_EQ(run_cli({"fmt", path}).exit_code, 0);
  EXPECT_EQ(fs::status(path).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
}

TEST(FmtCommand, ExpandsDirectories) {
  TempDir dir;
  dir.write("a.policy", kMessy);
  dir.write("sub/b.policy", kMessy);
  dir.write("sub/notes.txt", kMessy);
  dir.write("build/c.policy", kMessy);
  const auto result = run_cli({"fmt", "."}, dir.path());
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "a.policy\nsub/b.policy\n");
  EXPECT_EQ(dir.read("a.policy"), kTidy);
  EXPECT_EQ(dir.read("sub/b.policy"), kTidy);
  EXPECT_EQ(dir.read("sub/notes.txt"), kMessy);
  EXPECT_EQ(dir.read("build/c.policy"), kMessy);
}

TEST(FmtCommand, CheckListsUnformattedFilesAndChangesNothing) {
  TempDir dir;
  dir.write("messy.policy", kMessy);
  dir.write("tidy.policy", kTidy);
  const auto result = run_cli({"fmt", "--check", "messy.policy", "tidy.policy"}, dir.path());
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(result.out, "messy.policy\n");
  EXPECT_EQ(dir.read("messy.policy"), kMessy);

  const auto clean = run_cli({"fmt", "--check", "tidy.policy"}, dir.path());
  EXPECT_EQ(clean.exit_code, 0);
  EXPECT_EQ(clean.out, "");
}

TEST(FmtCommand, DiffPrintsAUnifiedDiffAndChangesNothing) {
  TempDir dir;
  dir.write("messy.policy", kMessy);
  const auto result = run_cli({"fmt", "--diff", "messy.policy"}, dir.path());
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out,
            "--- a/messy.policy\n"
            "+++ b/messy.policy\n"
            "@@ -1,2 +1,4 @@\n"
            "-bucket b {   approve: manager\n"
            "-   remind:after 1h }\n"
            "+bucket b {\n"
            "+  approve: manager\n"
            "+  remind: after 1h\n"
            "+}\n");
  EXPECT_EQ(dir.read("messy.policy"), kMessy);

  const auto checked = run_cli({"fmt", "--diff", "--check", "messy.policy"}, dir.path());
  EXPECT_EQ(checked.exit_code, 1);
  EXPECT_EQ(checked.out, result.out);
  EXPECT_EQ(dir.read("messy.policy"), kMessy);
}

TEST(FmtCommand, DiffHunksHaveThreeLinesOfContext) {
  TempDir dir;
  std::string text;
  for (int i = 1; i <= 12; ++i) text += "approvers p" + std::to_string(i) + " = group \"g\"\n\n";
  text += "approvers last =  group \"g\"\n";
  dir.write("pools.policy", text);
  const auto result = run_cli({"fmt", "--diff", "pools.policy"}, dir.path());
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out,
            "--- a/pools.policy\n"
            "+++ b/pools.policy\n"
            "@@ -22,4 +22,4 @@\n"
            " \n"
            " approvers p12 = group \"g\"\n"
            " \n"
            "-approvers last =  group \"g\"\n"
            "+approvers last = group \"g\"\n");
}

TEST(FmtCommand, StandardInputToStandardOutput) {
  const auto result = run_cli({"fmt", "-"}, {}, kMessy);
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, kTidy);

  const auto tidy = run_cli({"fmt", "-"}, {}, kTidy);
  EXPECT_EQ(tidy.exit_code, 0);
  EXPECT_EQ(tidy.out, kTidy);

  const auto checked = run_cli({"fmt", "--check", "-"}, {}, kMessy);
  EXPECT_EQ(checked.exit_code, 1);
  EXPECT_EQ(checked.out, "<stdin>\n");
}

TEST(FmtCommand, SyntaxErrorsLeaveTheFileUntouched) {
  TempDir dir;
  dir.write("broken.policy", kBroken);
  dir.write("messy.policy", kMessy);
  const auto result = run_cli({"fmt", "broken.policy", "messy.policy"}, dir.path());
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("broken.policy:3:1: error[E"), std::string::npos) << result.err;
  EXPECT_EQ(dir.read("broken.policy"), kBroken);
  // The other files are still formatted.
  EXPECT_EQ(result.out, "messy.policy\n");
  EXPECT_EQ(dir.read("messy.policy"), kTidy);

  const auto from_stdin = run_cli({"fmt", "-"}, {}, kBroken);
  EXPECT_EQ(from_stdin.exit_code, 1);
  EXPECT_EQ(from_stdin.out, "");
  EXPECT_NE(from_stdin.err.find("<stdin>:3:1: error["), std::string::npos) << from_stdin.err;
}

TEST(FmtCommand, MissingPathsAreUsageErrors) {
  TempDir dir;
  dir.write("messy.policy", kMessy);
  const auto result = run_cli({"fmt", "nope.policy", "messy.policy"}, dir.path());
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("nope.policy"), std::string::npos) << result.err;
  EXPECT_EQ(dir.read("messy.policy"), kTidy);

  EXPECT_EQ(run_cli({"fmt"}).exit_code, 2);
  EXPECT_EQ(run_cli({"fmt", "--no-such-flag", "x.policy"}).exit_code, 2);
}

TEST(FmtCommand, UnreadableFilesAreIoErrors) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads every file";
  TempDir dir;
  const std::string path = dir.write("secret.policy", kMessy);
  fs::permissions(path, fs::perms::none);
  const auto result = run_cli({"fmt", path});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("cannot read"), std::string::npos) << result.err;
}

TEST(FmtCommand, HelpDescribesTheCommand) {
  const auto result = run_cli({"fmt", "--help"});
  EXPECT_EQ(result.exit_code, 0);
  for (const char* word : {"--check", "--diff", "standard input", "in place", "syntax errors", "Exit status", "a/PATH"}) {
    EXPECT_NE(result.out.find(word), std::string::npos) << word << "\n" << result.out;
  }
}

}  // namespace
}  // namespace portcullis::testing
