// `portcullis analyze` end to end: its exit statuses, its JSON, and its HTML
// page rendered by headless Chromium (`--dump-dom`), which must show both
// SVG charts with their bars and the bucket shares.
//
// Chromium is required, not optional (as in audit_html_test.cpp):
// /usr/bin/chromium, or $PORTCULLIS_CHROMIUM. Without it the test fails.

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <regex>

#include <nlohmann/json.hpp>

#include "tests/support/chromium.hpp"
#include "fixtures.hpp"
#include "run_cli.hpp"

namespace portcullis::testing {
namespace {

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

std::size_t count(const std::string& text, const std::string& part) {
  std::size_t n = 0;
  for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

TEST(AnalyzeCommand, JsonOverCsvAndJsonExports) {
  TempDir dir;
  const auto csv = dir.write("history.csv", fixture_csv());
  const auto json = dir.write("history.json", fixture_json());
  const auto r = run_cli({"analyze", "--policy", acme_policy(), "--tickets", csv, "--tickets", json, "--format", "json",
                          "--now", "2024-03-01T00:00:00Z"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["history"]["tickets"], 22);
  EXPECT_EQ(j["now"], "2024-03-01T00:00:00Z");
  EXPECT_EQ(j["buckets"][0]["bucket"], "routine");
  EXPECT_EQ(j["buckets"][0]["requests"], 15);
  EXPECT_EQ(j["privileged_without_expiry"]["requests"], 4);
  EXPECT_EQ(j["top_apps"][0]["app"], "figma");
}

TEST(AnalyzeCommand, BadInputIsAUsageErrorNamingFileLineAndColumn) {
  TempDir dir;
  const auto csv = dir.write("bad.csv", "Issue key,Created,App,Role\nK-1,2024-01-01,figma,viewer\nK-2,\"oops,figma,viewer\n");
  auto r = run_cli({"analyze", "--policy", acme_policy(), "--tickets", csv});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, csv + ":3:5: quoted field is never closed")) << r.err;

  r = run_cli({"analyze", "--policy", acme_policy(), "--tickets", dir.path() + "/missing.json"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "missing.json: cannot read the file")) << r.err;

  r = run_cli({"analyze", "--policy", acme_policy(), "--db", dir.path() + "/missing.db"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "missing.db")) << r.err;

  r = run_cli({"analyze", "--policy", acme_policy()});
  EXPECT_EQ(r.exit_code, 2);
}

TEST(AnalyzeCommand, HtmlReportRendersChartsAndFiguresInChromium) {
  ASSERT_TRUE(std::filesystem::exists(chromium_path()))
      << "Chromium is not installed at " << chromium_path()
      << kChromiumMissingHelp;
  TempDir dir;
  // A hostile app name must come out as text.
  std::string history = fixture_csv();
  history += "ACC-99,x,2024-01-30,,h@acme.com,<script>document.title='pwned'</script>,role\n";
  const auto csv = dir.write("history.csv", history);
  const auto r = run_cli({"analyze", "--policy", acme_policy(), "--tickets", csv, "--format", "html", "--now",
                          "2024-02-01T00:00:00Z"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(contains(r.out, "<script")) << "the page must carry no script";
  EXPECT_FALSE(contains(r.out, "http://") && !contains(r.out, "http://www.w3.org/2000/svg"));
  const auto page = dir.write("report.html", r.out);

  const std::string dom = dump_dom(page, dir.path() + "/profile");
  ASSERT_TRUE(contains(dom, "<svg")) << "Chromium rendered nothing usable:\n" << dom.substr(0, 2000);
  EXPECT_TRUE(contains(dom, "id=\"chart-buckets\""));
  EXPECT_TRUE(contains(dom, "id=\"chart-apps\""));
  EXPECT_EQ(count(dom, "<rect class=\"bar\""), 4u + 5u);  // four buckets, five apps
  // 19 tickets: routine 13 (68.4%), sensitive 1 (5.3%), privileged 3 (15.8%), unknown 2 (10.5%).
  EXPECT_TRUE(std::regex_search(dom, std::regex("id=\"share-routine\"[^>]*>68\\.4%<")));
  EXPECT_TRUE(std::regex_search(dom, std::regex("id=\"share-sensitive\"[^>]*>5\\.3%<")));
  EXPECT_TRUE(std::regex_search(dom, std::regex("id=\"share-privileged\"[^>]*>15\\.8%<")));
  EXPECT_TRUE(std::regex_search(dom, std::regex("id=\"share-unknown\"[^>]*>10\\.5%<")));
  EXPECT_TRUE(contains(dom, "id=\"flag-automation_opportunity\" class=\"flag\""));
  EXPECT_TRUE(contains(dom, "&lt;script&gt;document.title='pwned'&lt;/script&gt;"));
  EXPECT_FALSE(contains(dom, "<title>pwned"));
}

}  // namespace
}  // namespace portcullis::testing
