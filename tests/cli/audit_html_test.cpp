// `portcullis audit export --format html`, opened the way an auditor would:
// in a browser. Builds one demo database (`portcullis demo`, 10x clock, about
// 3 s) for the whole suite, adds closed requests of every outcome (one with
// a hostile reason), exports one page and a 25-request sample, and loads
// them in headless Chromium (`--dump-dom`), asserting on the DOM it built.
//
// Chromium is required, not optional: scripts/install-deps.sh installs it
// (Debian package `chromium`, /usr/bin/chromium; $PORTCULLIS_CHROMIUM
// overrides the path). Without it the tests fail and say so.

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <regex>
#include <set>

#include <nlohmann/json.hpp>

#include "tests/support/chromium.hpp"
#include "run_cli.hpp"
#include "runtime/codec.hpp"
#include "runtime/sqlite_store.hpp"

namespace portcullis::testing {
namespace {

namespace fs = std::filesystem;
namespace ip = portcullis::interpreter;
namespace rt = portcullis::runtime;

const std::string kHostile = "<script>document.body.setAttribute('data-pwned','1')</script> \"quoted\" & 'single' "
                             "<img src=x onerror=\"document.title='pwned'\">";
const std::string kHostileId = "req_hostile";

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// One closed request, submitted and closed in one commit.
void add_closed(rt::Store& store, const std::string& id, ip::Status status, rt::Time closed_at,
                const std::string& justification) {
  ip::RequestState s;
  s.id = id;
  s.request.requester = "person" + std::to_string(closed_at % 97) + "@acme.com";
  s.request.app = "figma";
  s.request.role = "viewer";
  s.request.justification = justification;
  s.plan.outcome = status == ip::Status::denied ? ip::Outcome::denied : ip::Outcome::auto_approved;
  if (status == ip::Status::denied) s.plan.denial = justification;
  s.status = status;
  s.created_at = closed_at - 120;
  s.updated_at = s.closed_at.emplace(closed_at);
  s.closed_by = status == ip::Status::revoked ? "sec@acme.com" : "system";
  s.closing_reason = justification;
  s.version = 1;
  rt::Commit c;
  c.state = s;
  c.event = nlohmann::json{{"type", "submit"}};
  c.audit = {{"submitted", s.request.requester, "asked: " + justification, nlohmann::json::object()},
             {std::string(ip::status_name(status)), s.closed_by, justification, nlohmann::json::object()}};
  c.now = closed_at;
  ASSERT_TRUE(store.commit(std::move(c)).ok());
}

class AuditHtml : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir;
    db_ = new std::string(dir_->path() + "/demo.db");
    const CliResult demo = run_cli({"demo", "--db", *db_, "--time-scale", "10"}, PORTCULLIS_SOURCE_DIR);
    if (demo.exit_code != 0) {
      setup_error_ = new std::string("portcullis demo failed:\n" + demo.out + demo.err);
      return;
    }
    // The demo closes two requests; add 30 more, six of each outcome, the
    // newest denial with a hostile reason.
    rt::SqliteOptions options;
    options.path = *db_;
    auto store = rt::open_sqlite_store(options);
    if (!store) {
      setup_error_ = new std::string("cannot open " + *db_ + ": " + store.error().message);
      return;
    }
    const ip::Status outcomes[] = {ip::Status::expired, ip::Status::revoked, ip::Status::denied,
                                   ip::Status::cancelled, ip::Status::failed};
    rt::Time at = 1790000000;
    for (int round = 0; round < 6; ++round) {
      for (ip::Status status : outcomes) {
        at += 60;
        const bool hostile = round == 5 && status == ip::Status::denied;
        add_closed(**store, hostile ? kHostileId : "req_" + std::to_string(at), status, at,
                   hostile ? kHostile : "closed in round " + std::to_string(round));
      }
    }
  }

  static void TearDownTestSuite() {
    delete setup_error_;
    delete db_;
    delete dir_;
    setup_error_ = nullptr;
    db_ = nullptr;
    dir_ = nullptr;
  }

  void SetUp() override {
    ASSERT_EQ(setup_error_, nullptr) << *setup_error_;
    ASSERT_TRUE(fs::exists(chromium_path()))
        << "Chromium is not installed at " << chromium_path()
        << kChromiumMissingHelp;
  }

  static TempDir* dir_;
  static std::string* db_;
  static std::string* setup_error_;
};

TempDir* AuditHtml::dir_ = nullptr;
std::string* AuditHtml::db_ = nullptr;
std::string* AuditHtml::setup_error_ = nullptr;

TEST_F(AuditHtml, ChromiumRendersOneRequestWithTheHostileReasonAsText) {
  TempDir out;
  const auto page = run_cli({"audit", "export", "--db", *db_, "--request", kHostileId, "--format", "html"});
  ASSERT_EQ(page.exit_code, 0) << page.err;
  const std::string file = out.write(kHostileId + ".html", page.out);

  const std::string dom = dump_dom(file, out.path() + "/profile");
  ASSERT_TRUE(contains(dom, "<html")) << "chromium printed no DOM for " << file;
  EXPECT_TRUE(contains(dom, "<td id=\"requester\">person")) << dom;
  EXPECT_TRUE(contains(dom, "id=\"chain-verdict\">VERIFIED")) << dom;
  EXPECT_TRUE(contains(dom, "<strong>denied</strong>")) << dom;
  // The hostile reason is text in the page, never markup: no script or img
  // element exists, nothing it would have done happened.
  EXPECT_TRUE(contains(dom,
                       "<span class=\"text\">&lt;script&gt;document.body.setAttribute('data-pwned','1')&lt;/script&gt; "
                       "\"quoted\" &amp; 'single' &lt;img src=x onerror=\"document.title='pwned'\"&gt;</span>"))
      << dom;
  EXPECT_FALSE(contains(dom, "<script")) << dom;
  EXPECT_FALSE(contains(dom, "<img")) << dom;
  EXPECT_FALSE(contains(dom, "data-pwned=\"1\"")) << dom;
  EXPECT_TRUE(contains(dom, "<title>Access request " + kHostileId + ": evidence</title>")) << dom;
}

TEST_F(AuditHtml, ChromiumRendersASampleOf25WithAnIndexWhoseLinksAllResolve) {
  TempDir out;
  const std::string folder = out.path() + "/evidence";
  const auto batch = run_cli({"audit", "export", "--db", *db_, "--sample", "25", "--out", folder, "--format", "html"});
  ASSERT_EQ(batch.exit_code, 0) << batch.err;
  EXPECT_TRUE(contains(batch.out, "wrote 25 of 32 closed requests")) << batch.out;

  const std::string dom = dump_dom(folder + "/index.html", out.path() + "/profile");
  ASSERT_TRUE(contains(dom, "<table id=\"index\">")) << dom;
  const std::regex link("<a class=\"mono\" href=\"([^\"]+)\">([^<]+)</a>");
  std::set<std::string> files;
  for (auto it = std::sregex_iterator(dom.begin(), dom.end(), link); it != std::sregex_iterator(); ++it) {
    const std::string href = (*it)[1];
    EXPECT_TRUE(fs::is_regular_file(folder + "/" + href)) << href << " does not resolve in " << folder;
    EXPECT_EQ(href, std::string((*it)[2]) + ".html");
    files.insert(href);
  }
  EXPECT_EQ(files.size(), 25u) << dom;
  EXPECT_TRUE(files.count(kHostileId + ".html")) << dom;
  // Every outcome is represented and every page's chain verifies.
  for (const std::string outcome : {"expired", "revoked", "denied", "cancelled", "failed"}) {
    EXPECT_TRUE(contains(dom, "<td>" + outcome + "</td>")) << outcome;
  }
  EXPECT_FALSE(contains(dom, "BROKEN")) << dom;
  std::size_t verified = 0;
  for (std::size_t at = dom.find(">VERIFIED<"); at != std::string::npos; at = dom.find(">VERIFIED<", at + 1)) ++verified;
  EXPECT_EQ(verified, 25u);
  // The folder holds exactly the pages and the index.
  std::size_t entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(folder)) ++entries;
  EXPECT_EQ(entries, 26u);

  // One page of the sample as rendered: the demo's two-step privileged
  // grant to ann.lee, which expired.
  std::smatch row;
  ASSERT_TRUE(std::regex_search(dom, row, std::regex("href=\"([^\"]+)\">[^<]+</a></td><td>ann.lee@acme.com</td>")))
      << dom;
  const std::string page = dump_dom(folder + "/" + std::string(row[1]), out.path() + "/profile");
  EXPECT_TRUE(contains(page, "<td id=\"requester\">ann.lee@acme.com</td>")) << page;
  EXPECT_TRUE(contains(page, "id=\"chain-verdict\">VERIFIED")) << page;
  EXPECT_TRUE(contains(page, "<h3>sandbox.okta</h3>")) << page;
  EXPECT_TRUE(contains(page, "removed ann.lee@acme.com from sandbox.okta group aws-staging-admin")) << page;
  EXPECT_TRUE(contains(page, "<section id=\"timeline\">")) << page;
}

}  // namespace
}  // namespace portcullis::testing
