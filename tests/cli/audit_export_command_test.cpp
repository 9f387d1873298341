// `portcullis audit export --db PATH --request ID --format json|markdown|html`
// and its batch mode (`--sample N --out DIR`): run as a user would, against a
// database written through the Store. The same pages rendered by Chromium:
// audit_html_test.cpp.

#include <gtest/gtest.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "run_cli.hpp"
#include "runtime/audit_export.hpp"
#include "runtime/codec.hpp"
#include "runtime/sqlite_store.hpp"

namespace portcullis::testing {
namespace {

namespace ip = portcullis::interpreter;
namespace rt = portcullis::runtime;

// A database holding one request: submitted by sam, approved by dana, and
// active in okta.main group figma-editors.
void write_database(const std::string& path, const std::string& justification = "design review") {
  rt::SqliteOptions options;
  options.path = path;
  auto store = rt::open_sqlite_store(options);
  ASSERT_TRUE(store.ok()) << store.error().message;

  ip::RequestState s;
  s.id = "req-42";
  s.request.requester = "sam@acme.com";
  s.request.app = "figma";
  s.request.role = "editor";
  s.request.duration = 3600;
  s.request.justification = justification;
  s.plan.outcome = ip::Outcome::approval;
  s.plan.app = "figma";
  s.plan.role = "editor";
  s.plan.duration = 3600;
  ip::PlanStep step;
  step.who = "the app owner (dana@acme.com)";
  step.why = "owner of app Figma";
  step.eligible = {"dana@acme.com"};
  s.plan.steps = {step};
  ip::GroupRef group;
  group.provider = "okta.main";
  group.kind = "okta";
  group.group = "figma-editors";
  s.plan.groups = {group};
  s.status = ip::Status::awaiting_approval;
  s.approvals = {{}};
  s.escalated = {false};
  s.created_at = 1700000000;
  s.updated_at = 1700000000;
  s.version = 1;

  rt::Commit submit;
  submit.state = s;
  submit.event = nlohmann::json{{"type", "submit"}};
  submit.audit = {{"submitted", "sam@acme.com", "asked for figma editor", nlohmann::json::object()}};
  submit.now = 1700000000;
  ASSERT_TRUE((*store)->commit(std::move(submit)).ok());

  rt::Commit approve;
  approve.expected_version = 1;
  s.version = 2;
  s.approvals = {{{"dana@acme.com", 1700000100}}};
  s.status = ip::Status::active;
  s.approved_at = s.active_at = 1700000100;
  s.expires_at = 1700003700;
  s.memberships = {{group, ip::Membership::State::added, ""}};
  approve.state = s;
  approve.event = rt::codec::encode_event(ip::ApproveEvent{"dana@acme.com"});
  approve.audit = {{"approved", "dana@acme.com", "approved step 1 of 1", nlohmann::json::object()},
                   {"evidence", "system", "added sam@acme.com to okta.main group figma-editors",
                    nlohmann::json::object()}};
  approve.now = 1700000100;
  ASSERT_TRUE((*store)->commit(std::move(approve)).ok());
}

// Adds closed request `id` (submitted and closed in one commit).
void add_closed(rt::Store& store, const std::string& id, ip::Status status, rt::Time closed_at) {
  ip::RequestState s;
  s.id = id;
  s.request.requester = id + "@acme.com";
  s.request.app = "figma";
  s.request.role = "viewer";
  s.plan.outcome = status == ip::Status::denied ? ip::Outcome::denied : ip::Outcome::auto_approved;
  s.status = status;
  s.created_at = closed_at - 60;
  s.updated_at = s.closed_at.emplace(closed_at);
  s.closed_by = "system";
  s.version = 1;
  rt::Commit c;
  c.state = s;
  c.event = nlohmann::json{{"type", "submit"}};
  c.audit = {{std::string(ip::status_name(status)), "system", id + " closed", nlohmann::json::object()}};
  c.now = closed_at;
  ASSERT_TRUE(store.commit(std::move(c)).ok());
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST(AuditExportCommand, PrintsJsonAndMarkdown) {
  TempDir dir;
  const std::string db = dir.path() + "/state.db";
  write_database(db);
  if (HasFatalFailure()) return;

  const auto json = run_cli({"audit", "export", "--db", db, "--request", "req-42", "--format", "json"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  const auto x = nlohmann::json::parse(json.out);
  EXPECT_EQ(x["request"]["requester"], "sam@acme.com");
  EXPECT_EQ(x["plan"]["steps"][0]["approvals"][0]["by"], "dana@acme.com");
  EXPECT_EQ(x["plan"]["steps"][0]["approvals"][0]["at"], "2023-11-14T22:15:00Z");
  EXPECT_EQ(x["memberships"][0]["changes"][0]["change"], "added");
  EXPECT_EQ(x["audit"]["consistent"], true);
  EXPECT_EQ(x["chain"]["ok"], true);

  const auto md = run_cli({"audit", "export", "--db", db, "--request", "req-42", "--format", "markdown"});
  ASSERT_EQ(md.exit_code, 0) << md.err;
  EXPECT_NE(md.out.find("# Access request req-42: evidence"), std::string::npos) << md.out;
  EXPECT_NE(md.out.find("| okta.main | figma-editors | added | 2023-11-14T22:15:00Z |"), std::string::npos) << md.out;
  EXPECT_NE(md.out.find("dana@acme.com"), std::string::npos);
}

TEST(AuditExportCommand, ExitCodesNameWhatIsMissing) {
  TempDir dir;
  const std::string db = dir.path() + "/state.db";
  write_database(db);
  if (HasFatalFailure()) return;

  const auto unknown = run_cli({"audit", "export", "--db", db, "--request", "req-nope"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.err.find("req-nope"), std::string::npos) << unknown.err;
  EXPECT_NE(unknown.err.find(db), std::string::npos) << unknown.err;

  const std::string missing = dir.path() + "/missing.db";
  const auto no_file = run_cli({"audit", "export", "--db", missing, "--request", "req-42"});
  EXPECT_EQ(no_file.exit_code, 2);
  EXPECT_NE(no_file.err.find(missing), std::string::npos) << no_file.err;

  EXPECT_EQ(run_cli({"audit", "export", "--db", db}).exit_code, 2);  // --request is required
  EXPECT_EQ(run_cli({"audit", "export", "--db", db, "--request", "req-42", "--format", "pdf"}).exit_code, 2);
  // Batch mode needs both --sample and --out, and excludes --request.
  EXPECT_EQ(run_cli({"audit", "export", "--db", db, "--sample", "3"}).exit_code, 2);
  EXPECT_EQ(run_cli({"audit", "export", "--db", db, "--out", dir.path() + "/x"}).exit_code, 2);
  EXPECT_EQ(run_cli({"audit", "export", "--db", db, "--request", "req-42", "--sample", "3", "--out", dir.path() + "/x"})
                .exit_code,
            2);
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/x"));
}

TEST(AuditExportCommand, PrintsOneSelfContainedHtmlPage) {
  TempDir dir;
  const std::string db = dir.path() + "/state.db";
  write_database(db);
  if (HasFatalFailure()) return;

  const auto html = run_cli({"audit", "export", "--db", db, "--request", "req-42", "--format", "html"});
  ASSERT_EQ(html.exit_code, 0) << html.err;
  const std::string& page = html.out;
  EXPECT_EQ(page.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_TRUE(contains(page, "<td id=\"requester\">sam@acme.com</td>")) << page;
  EXPECT_TRUE(contains(page, "id=\"chain-verdict\">VERIFIED")) << page;
  EXPECT_TRUE(contains(page, "owner of app Figma")) << page;                      // why these approvers
  EXPECT_TRUE(contains(page, "2023-11-14T22:15:00Z")) << page;                    // approval time, UTC
  EXPECT_TRUE(contains(page, "<h3>okta.main</h3>")) << page;                      // changes per provider
  EXPECT_TRUE(contains(page, "added sam@acme.com to okta.main group figma-editors")) << page;
  // Self-contained: no script, nothing fetched.
  for (const std::string banned : {"<script", "<link", "src=", "@import", "url(", "http://", "https://"}) {
    EXPECT_FALSE(contains(page, banned)) << banned;
  }
  EXPECT_TRUE(contains(page, "Content-Security-Policy\" content=\"default-src 'none'"));
}

TEST(AuditExportCommand, HtmlEscapesEveryStoredText) {
  TempDir dir;
  const std::string db = dir.path() + "/state.db";
  write_database(db, "<script>alert(1)</script> \"quoted\" & 'single' <img src=x onerror=alert(2)>");
  if (HasFatalFailure()) return;

  const auto html = run_cli({"audit", "export", "--db", db, "--request", "req-42", "--format", "html"});
  ASSERT_EQ(html.exit_code, 0) << html.err;
  EXPECT_TRUE(contains(html.out,
                       "&lt;script&gt;alert(1)&lt;/script&gt; &quot;quoted&quot; &amp; &#39;single&#39; "
                       "&lt;img src=x onerror=alert(2)&gt;"))
      << html.out;
  EXPECT_FALSE(contains(html.out, "<script"));
  EXPECT_FALSE(contains(html.out, "<img"));

  EXPECT_EQ(rt::html_escape("a<b>&\"'"), "a&lt;b&gt;&amp;&quot;&#39;");
  EXPECT_EQ(rt::html_escape("caf\xC3\xA9 \xE2\x9C\x93"), "caf\xC3\xA9 \xE2\x9C\x93");  // UTF-8 kept
  EXPECT_EQ(rt::html_escape("x\xC3<\x01\xFF"), "x\xEF\xBF\xBD&lt;\xEF\xBF\xBD\xEF\xBF\xBD");  // broken bytes replaced
}

TEST(AuditExportCommand, HtmlSaysWhatIsBroken) {
  ip::RequestState s;
  s.id = "req-7";
  s.request.requester = "sam@acme.com";
  s.status = ip::Status::expired;
  rt::audit::Entry first;
  first.seq = 1;
  first.request_id = "req-7";
  first.at = 1700000000;
  first.kind = "submitted";
  first.actor = "sam@acme.com";
  first.text = "asked";
  first.payload = "{}";
  first.prev_hash = rt::audit::kGenesisHash;
  first.hash = rt::audit::compute_hash(first.prev_hash, first);
  rt::audit::Entry second = first;
  second.seq = 2;
  second.text = "expired";
  second.prev_hash = first.hash;
  second.hash = rt::audit::compute_hash(second.prev_hash, second);
  second.text = "rewritten later";  // the stored hash no longer matches

  const std::string page = rt::export_html(s, {first, second}, {});
  EXPECT_TRUE(contains(page, "id=\"chain-verdict\">BROKEN")) << page;
  EXPECT_TRUE(contains(page, "entry 2: hash does not match the entry&#39;s contents")) << page;
  EXPECT_FALSE(contains(page, "VERIFIED"));

  rt::AuditVerification chain;
  chain.ok = false;
  chain.checked = 2;
  chain.first_bad_seq = 2;
  chain.why = "hash mismatch";
  const std::string whole = rt::export_html(s, {first}, {}, chain);
  EXPECT_TRUE(contains(whole, "id=\"chain-verdict\">BROKEN")) << whole;
  EXPECT_TRUE(contains(whole, "broken at entry 2: hash mismatch")) << whole;
}

TEST(AuditExportCommand, SampleTakesEachOutcomeInTurnNewestFirst) {
  using S = ip::Status;
  std::vector<rt::ClosedRequest> all = {
      {"e1", S::expired, 100}, {"e2", S::expired, 300}, {"e3", S::expired, 200}, {"e4", S::expired, 400},
      {"d1", S::denied, 50},   {"d2", S::denied, 60},   {"r1", S::revoked, 10},  {"a1", S::active, 999},
  };
  const auto ids = [](const std::vector<rt::ClosedRequest>& chosen) {
    std::vector<std::string> out;
    for (const auto& c : chosen) out.push_back(c.id);
    return out;
  };
  // Round 1: e4, r1, d2; round 2: e2, d1. Listed newest first.
  EXPECT_EQ(ids(rt::choose_sample(all, 5)), (std::vector<std::string>{"e4", "e2", "d2", "d1", "r1"}));
  EXPECT_EQ(ids(rt::choose_sample(all, 2)), (std::vector<std::string>{"e4", "r1"}));
  EXPECT_EQ(rt::choose_sample(all, 100).size(), 7u);  // the active one is not closed
  EXPECT_EQ(ids(rt::choose_sample(all, 5)), ids(rt::choose_sample({all.rbegin(), all.rend()}, 5)));
}

TEST(AuditExportCommand, BatchWritesOneFilePerRequestAndAnIndex) {
  TempDir dir;
  const std::string db = dir.path() + "/state.db";
  write_database(db);
  if (HasFatalFailure()) return;
  {
    rt::SqliteOptions options;
    options.path = db;
    auto store = rt::open_sqlite_store(options);
    ASSERT_TRUE(store.ok()) << store.error().message;
    add_closed(**store, "req-a", ip::Status::revoked, 1700001000);
    add_closed(**store, "req-b", ip::Status::cancelled, 1700002000);
    add_closed(**store, "req-c", ip::Status::revoked, 1700003000);
    if (HasFatalFailure()) return;
  }

  const std::string out = dir.path() + "/evidence";
  const auto json = run_cli({"audit", "export", "--db", db, "--sample", "2", "--out", out, "--format", "json"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  EXPECT_TRUE(contains(json.out, "wrote 2 of 3 closed requests")) << json.out;
  const auto index = nlohmann::json::parse(dir.read("evidence/index.json"));
  ASSERT_EQ(index["requests"].size(), 2u) << index.dump(2);
  EXPECT_EQ(index["requests"][0]["request_id"], "req-c");  // newest revoked, then the only cancelled
  EXPECT_EQ(index["requests"][1]["request_id"], "req-b");
  EXPECT_EQ(index["requests"][0]["chain_verified"], true);
  EXPECT_EQ(nlohmann::json::parse(dir.read("evidence/req-c.json"))["status"], "revoked");

  // A non-empty directory is refused (and left alone) unless --force.
  dir.write("evidence/req-c.json", "kept");
  const auto again = run_cli({"audit", "export", "--db", db, "--sample", "2", "--out", out, "--format", "markdown"});
  EXPECT_EQ(again.exit_code, 2);
  EXPECT_TRUE(contains(again.err, out)) << again.err;
  EXPECT_TRUE(contains(again.err, "--force")) << again.err;
  EXPECT_EQ(dir.read("evidence/req-c.json"), "kept");

  const auto forced =
      run_cli({"audit", "export", "--db", db, "--sample", "2", "--out", out, "--format", "markdown", "--force"});
  ASSERT_EQ(forced.exit_code, 0) << forced.err;
  EXPECT_TRUE(contains(dir.read("evidence/index.md"), "[req-c](req-c.md)"));
  EXPECT_TRUE(contains(dir.read("evidence/req-b.md"), "# Access request req-b: evidence"));

  const std::string file = dir.write("file", "x");
  const auto not_dir = run_cli({"audit", "export", "--db", db, "--sample", "2", "--out", file});
  EXPECT_EQ(not_dir.exit_code, 2);
  EXPECT_TRUE(contains(not_dir.err, file)) << not_dir.err;

  const std::string missing = dir.path() + "/missing.db";
  const auto no_db = run_cli({"audit", "export", "--db", missing, "--sample", "2", "--out", dir.path() + "/new"});
  EXPECT_EQ(no_db.exit_code, 2);
  EXPECT_TRUE(contains(no_db.err, missing)) << no_db.err;
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/new"));
}

}  // namespace
}  // namespace portcullis::testing
