// The figures of `portcullis analyze` on a small history over
// examples/acme (fixtures.hpp), and on a tiny daemon database written
// through the Store API.

#include "tools/analyze/analysis.hpp"

#include <gtest/gtest.h>

#include "dsl/loader.hpp"
#include "fixtures.hpp"
#include "run_cli.hpp"
#include "runtime/sqlite_store.hpp"
#include "tools/analyze/daemon_record.hpp"
#include "tools/analyze/render.hpp"
#include "tools/analyze/tickets.hpp"

namespace portcullis::testing {
namespace {

namespace an = portcullis::analyze;
namespace ip = portcullis::interpreter;
namespace rt = portcullis::runtime;

ip::PolicyPtr acme() {
  static ip::PolicyPtr policy = ip::load_policy(acme_policy(), dsl::read_file_from_disk).policy;
  return policy;
}

std::vector<an::Ticket> tickets_of(const an::TicketsOrError& r) {
  if (auto* e = std::get_if<an::TicketError>(&r)) ADD_FAILURE() << e->render();
  return std::holds_alternative<std::vector<an::Ticket>>(r) ? std::get<std::vector<an::Ticket>>(r)
                                                            : std::vector<an::Ticket>{};
}

const an::BucketFigure& bucket(const an::Analysis& a, const std::string& name) {
  for (const auto& b : a.buckets) {
    if (b.bucket == name) return b;
  }
  static an::BucketFigure none;
  ADD_FAILURE() << "no bucket " << name;
  return none;
}

TEST(AnalyzeTickets, ReadsJiraCsvColumnsAndSummaries) {
  const auto tickets = tickets_of(an::read_jira_csv(fixture_csv(), "history.csv"));
  ASSERT_EQ(tickets.size(), 18u);
  EXPECT_EQ(tickets[0].key, "ACC-1");
  EXPECT_EQ(tickets[0].app, "figma");
  EXPECT_EQ(tickets[0].role, "viewer");
  EXPECT_EQ(tickets[0].requester, "ann@acme.com");
  EXPECT_EQ(tickets[0].created, 1704099600);  // 2024-01-01T09:00:00Z
  ASSERT_TRUE(tickets[0].resolved);
  EXPECT_EQ(*tickets[0].resolved, 1704099900);
  EXPECT_EQ(tickets[1].created, 1704103200);  // 01/Jan/24 10:00 AM
  EXPECT_EQ(tickets[12].app, "slack");        // after a quoted line break
  EXPECT_TRUE(tickets[14].has_expiry_field);
  EXPECT_FALSE(tickets[14].expires);
  EXPECT_TRUE(tickets[15].expires);
  EXPECT_FALSE(tickets[16].expires);  // "never"
}

TEST(AnalyzeTickets, CustomColumnNamesAreCaseInsensitive) {
  const std::string csv = "issue KEY,created,Application,Access Role\nK-1,2024-05-01,figma,editor\n";
  an::TicketColumns columns{"application", "ACCESS ROLE"};
  const auto tickets = tickets_of(an::read_jira_csv(csv, "x.csv", columns));
  ASSERT_EQ(tickets.size(), 1u);
  EXPECT_EQ(tickets[0].app, "figma");
  EXPECT_EQ(tickets[0].role, "editor");
}

TEST(AnalyzeTickets, BadInputNamesFileLineAndColumn) {
  // Line 4 is the bad date (the quoted summary of line 2 spans two lines).
  const std::string csv = "Issue key,Summary,Created,App,Role\nK-1,\"two\nlines\",2024-05-01,figma,viewer\n"
                          "K-2,x,2024-02-30,figma,viewer\n";
  auto r = an::read_jira_csv(csv, "bad.csv");
  ASSERT_TRUE(std::holds_alternative<an::TicketError>(r));
  EXPECT_EQ(std::get<an::TicketError>(r).render(), "bad.csv:4:7: \"Created\": cannot read \"2024-02-30\" as a date");

  r = an::read_jira_csv("Issue key,App,Role\nK,figma,viewer\n", "nocreated.csv");
  ASSERT_TRUE(std::holds_alternative<an::TicketError>(r));
  EXPECT_EQ(std::get<an::TicketError>(r).line, 1u);

  r = an::read_jira_csv("Created,Summary\n2024-01-01,hello\n", "nosummary.csv");
  ASSERT_TRUE(std::holds_alternative<an::TicketError>(r));
  EXPECT_EQ(std::get<an::TicketError>(r).line, 2u);

  r = an::read_ticket_json("[\n  {\"key\": \"J\",\n   \"created\": 12,}\n]", "bad.json");
  ASSERT_TRUE(std::holds_alternative<an::TicketError>(r));
  EXPECT_EQ(std::get<an::TicketError>(r).line, 3u);

  r = an::read_ticket_json(R"([{"key": "J-9", "created": "2024-01-01", "app": "figma"}])", "missing.json");
  ASSERT_TRUE(std::holds_alternative<an::TicketError>(r));
  EXPECT_NE(std::get<an::TicketError>(r).render().find("ticket [0] (J-9): \"role\" is missing"), std::string::npos);
}

TEST(AnalyzeFigures, CsvHistory) {
  ASSERT_NE(acme(), nullptr);
  const auto tickets = tickets_of(an::read_jira_csv(fixture_csv(), "history.csv"));
  const auto a = an::analyze(*acme(), tickets, std::nullopt, 1706745600);
  EXPECT_EQ(a.tickets, 18u);
  EXPECT_DOUBLE_EQ(a.months, 1.0);
  ASSERT_GE(a.buckets.size(), 4u);
  EXPECT_EQ(a.buckets[0].bucket, "routine");
  EXPECT_EQ(bucket(a, "routine").requests, 13u);
  EXPECT_EQ(bucket(a, "sensitive").requests, 1u);
  EXPECT_EQ(bucket(a, "privileged").requests, 3u);
  EXPECT_EQ(bucket(a, "unknown").requests, 1u);
  EXPECT_NEAR(bucket(a, "routine").share, 13.0 / 18.0, 1e-9);
  EXPECT_EQ(a.privileged_without_expiry, 2u);
  ASSERT_EQ(a.flags.size(), 2u);
  EXPECT_EQ(a.flags[0].code, "automation_opportunity");
  EXPECT_TRUE(a.flags[0].raised);
  EXPECT_EQ(a.flags[1].code, "standing_privilege");
  EXPECT_FALSE(a.flags[1].raised);
  ASSERT_EQ(a.automate_first.size(), 1u);
  EXPECT_EQ(a.automate_first[0].app, "figma");
  EXPECT_EQ(a.automate_first[0].group_mapped_requests, 14u);
  ASSERT_EQ(a.manual_roles.size(), 1u);
  EXPECT_EQ(a.manual_roles[0].app + "." + a.manual_roles[0].role, "slack.org_owner");
  ASSERT_EQ(a.top_apps.size(), 4u);
  EXPECT_EQ(a.top_apps[0].app, "figma");
  EXPECT_EQ(a.top_apps[0].requests, 14u);
  EXPECT_EQ(a.top_apps[1].app, "slack");
  EXPECT_EQ(a.top_apps[2].app, "nosuch");  // ties by name
  EXPECT_FALSE(a.top_apps[2].in_catalog);
  EXPECT_FALSE(a.daemon);

  const auto j = an::analysis_json(a);
  EXPECT_EQ(j["analysis_version"], 1);
  EXPECT_EQ(j["buckets"][0]["share"], 0.7222);
  EXPECT_EQ(j["flags"][0]["raised"], true);
  EXPECT_TRUE(j["daemon"].is_null());
  const std::string text = an::render_text(a);
  EXPECT_NE(text.find("routine     13     72.2%"), std::string::npos) << text;
  EXPECT_NE(text.find("[FLAG] automation_opportunity"), std::string::npos) << text;
}

TEST(AnalyzeFigures, JsonHistoryRaisesStandingPrivilege) {
  ASSERT_NE(acme(), nullptr);
  const auto tickets = tickets_of(an::read_ticket_json(fixture_json(), "history.json"));
  ASSERT_EQ(tickets.size(), 4u);
  const auto a = an::analyze(*acme(), tickets, std::nullopt, 1706745600);
  EXPECT_EQ(bucket(a, "privileged").requests, 2u);
  EXPECT_EQ(bucket(a, "routine").requests, 2u);
  EXPECT_EQ(a.privileged_without_expiry, 2u);
  EXPECT_DOUBLE_EQ(a.privileged_without_expiry_share, 0.5);
  EXPECT_FALSE(a.flags[0].raised);
  EXPECT_TRUE(a.flags[1].raised);
  EXPECT_TRUE(a.automate_first.empty());
}

TEST(AnalyzeFigures, EmptyHistoryGivesZeroes) {
  ASSERT_NE(acme(), nullptr);
  const auto a = an::analyze(*acme(), {}, std::nullopt, 0);
  EXPECT_EQ(a.buckets.size(), 4u);
  for (const auto& b : a.buckets) EXPECT_EQ(b.share, 0.0);
  EXPECT_FALSE(a.flags[0].raised);
  EXPECT_FALSE(a.flags[1].raised);
}

// A request as the daemon stores it, committed in one go.
void add(rt::Store& store, const std::string& id, ip::Status status, ip::Outcome outcome, const std::string& bucket,
         rt::Time created, std::optional<rt::Time> active, bool approved_by_person) {
  ip::RequestState s;
  s.id = id;
  s.request.requester = id + "@acme.com";
  s.request.app = "figma";
  s.request.role = bucket == "privileged" ? "admin" : "viewer";
  s.plan.outcome = outcome;
  s.plan.bucket = bucket;
  s.plan.app = s.request.app;
  s.plan.role = s.request.role;
  if (outcome == ip::Outcome::approval) {
    ip::PlanStep step;
    step.who = "the app owner (dana@acme.com)";
    s.plan.steps.push_back(step);
    s.approvals.resize(1);
    s.escalated.resize(1);
    if (approved_by_person) s.approvals[0].push_back(ip::Approval{"dana@acme.com", created + 10});
  }
  s.status = status;
  s.created_at = created;
  s.updated_at = active.value_or(created);
  s.active_at = active;
  s.version = 1;
  rt::Commit c;
  c.state = s;
  c.event = nlohmann::json{{"type", "submit"}};
  c.audit = {{"submitted", s.request.requester, "asked", nlohmann::json::object()}};
  c.now = s.updated_at;
  ASSERT_TRUE(store.commit(std::move(c)).ok());
}

TEST(AnalyzeFigures, DaemonRecord) {
  TempDir dir;
  const std::string db = dir.path() + "/state.db";
  const rt::Time now = 1790000000;
  {
    rt::SqliteOptions options;
    options.path = db;
    auto store = rt::open_sqlite_store(options);
    ASSERT_TRUE(store.ok()) << store.error().message;
    add(**store, "r1", ip::Status::active, ip::Outcome::auto_approved, "routine", now - 9000, now - 8940, false);
    add(**store, "r2", ip::Status::active, ip::Outcome::auto_approved, "routine", now - 8000, now - 7880, false);
    add(**store, "r3", ip::Status::active, ip::Outcome::approval, "privileged", now - 7500, now - 3900, true);
    add(**store, "r4", ip::Status::awaiting_approval, ip::Outcome::approval, "privileged", now - 7200, {}, false);
    add(**store, "r5", ip::Status::awaiting_approval, ip::Outcome::approval, "sensitive", now - 3600, {}, false);
    add(**store, "r6", ip::Status::awaiting_triage, ip::Outcome::triage, "unknown", now - 100, {}, false);
  }
  auto states = an::read_daemon_requests(db);
  ASSERT_TRUE(states.ok()) << states.error().message;
  ASSERT_EQ(states->size(), 6u);
  const auto a = an::analyze(*acme(), {}, *states, now);
  ASSERT_TRUE(a.daemon);
  EXPECT_EQ(a.daemon->requests, 6u);
  EXPECT_EQ(a.daemon->fully_automated, 2u);
  EXPECT_NEAR(a.daemon->automated_share, 2.0 / 6.0, 1e-9);
  ASSERT_EQ(a.daemon->time_to_access.size(), 2u);
  EXPECT_EQ(a.daemon->time_to_access[0].bucket, "routine");
  EXPECT_EQ(a.daemon->time_to_access[0].median, 60);
  EXPECT_EQ(a.daemon->time_to_access[0].p90, 120);
  EXPECT_EQ(a.daemon->time_to_access[1].bucket, "privileged");
  EXPECT_EQ(a.daemon->time_to_access[1].median, 3600);
  ASSERT_EQ(a.daemon->waiting.size(), 3u);
  EXPECT_EQ(a.daemon->waiting[0].id, "r4");
  EXPECT_EQ(a.daemon->waiting[0].waiting, 7200);
  EXPECT_EQ(a.daemon->waiting[0].waiting_on, "the app owner (dana@acme.com)");
  EXPECT_EQ(a.daemon->waiting[2].id, "r6");
  EXPECT_EQ(a.daemon->waiting[2].waiting_on, "IT triage");

  auto missing = an::read_daemon_requests(dir.path() + "/nope.db");
  EXPECT_FALSE(missing.ok());
}

}  // namespace
}  // namespace portcullis::testing
