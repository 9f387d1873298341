// `portcullis audit export --db PATH --request ID --format json|markdown`:
// run as a user would, against a database written through the Store.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "run_cli.hpp"
#include "runtime/codec.hpp"
#include "runtime/sqlite_store.hpp"

namespace portcullis::testing {
namespace {

namespace ip = portcullis::interpreter;
namespace rt = portcullis::runtime;

// A database holding one request: submitted by sam, approved by dana, and
// active in okta.main group figma-editors.
void write_database(const std::string& path) {
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
  s.request.justification = "design review";
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
}

}  // namespace
}  // namespace portcullis::testing
