// The daemon with real connector kinds and no sandbox, end to end against
// the local fakes: a request filed in Jira (signed webhook), approved from
// Slack (signed interactivity click), provisioned into Okta and Entra ID
// groups, its evidence commented on the Jira issue as it advances, and the
// memberships removed from both providers at expiry.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <thread>

#include "runtime/daemon.hpp"
#include "runtime/http/client.hpp"
#include "runtime/principals.hpp"
#include "tests/daemon/daemon_test_support.hpp"
#include "tests/fakes/graph_fake.hpp"
#include "tests/fakes/jira_fake.hpp"
#include "tests/fakes/okta_fake.hpp"
#include "tests/fakes/slack_fake.hpp"

namespace portcullis::runtime {
namespace {

using testing::TempDir;
using Json = nlohmann::json;

constexpr const char* kJiraSecret = "jira-webhook-secret-for-tests";
constexpr const char* kSlackSecret = "slack-signing-secret-for-tests";

// Polls `done` until it holds or 20 s pass (the effect executor runs on its
// own threads).
template <class F>
bool eventually(F done) {
  for (int i = 0; i < 400; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return done();
}

bool contains(const std::vector<std::string>& lines, const std::string& needle) {
  for (const auto& line : lines) {
    if (line.find(needle) != std::string::npos) return true;
  }
  return false;
}

class ConnectorsEndToEnd : public ::testing::Test {
 protected:
  void SetUp() override {
    okta.add_user("00u-alice", "alice@acme.com");
    okta.add_user("00u-mike", "mike@acme.com");
    okta.add_group("00g-aws", "aws-admins");
    alice_entra = graph.add_user("alice@acme.com", "alice@acme.com");
    entra_group = graph.add_group("aws-admins");
    jira.add_user("acc-alice", "alice@acme.com", "Alice");
    jira.add_user("acc-mike", "mike@acme.com", "Mike");
    slack.add_channel("C0REQ", "access-requests");
    slack.add_user("U0MIKE", "Mike@Acme.com", "mike");
    slack.add_user("U0ALICE", "alice@acme.com", "alice");

    setenv("E2E_OKTA_TOKEN", "okta-test-api-token", 1);
    setenv("E2E_ENTRA_SECRET", graph.options().client_secret.c_str(), 1);
    setenv("E2E_JIRA_TOKEN", jira.token().c_str(), 1);
    setenv("E2E_JIRA_HOOK", kJiraSecret, 1);
    setenv("E2E_SLACK_TOKEN", slack.token().c_str(), 1);
    setenv("E2E_SLACK_SIGNING", kSlackSecret, 1);

    std::ofstream(dir.file("access.policy")) << R"(
provider okta "main" {
  url: ")" << okta.base_url() << R"("
  token: env("E2E_OKTA_TOKEN")
}
provider entra "corp" {
  tenant: ")" << graph.options().tenant << R"("
  client_id: ")" << graph.options().client_id << R"("
  client_secret: env("E2E_ENTRA_SECRET")
  graph_url: ")" << graph.base_url() << R"("
  login_url: ")" << graph.base_url() << R"("
}
tracker jira {
  url: ")" << jira.base_url() << R"("
  project: "ACC"
  approved_status: "Approved"
  denied_status: "Declined"
  user: ")" << jira.user() << R"("
  token: env("E2E_JIRA_TOKEN")
  webhook_secret: env("E2E_JIRA_HOOK")
  transitions: ["approved=Approved", "expired=Done"]
}
chat slack {
  channel: "#access-requests"
  token: env("E2E_SLACK_TOKEN")
  signing_secret: env("E2E_SLACK_SIGNING")
  api_url: ")" << slack.base_url() << R"("
}
bucket privileged {
  approve: manager
  duration: at_most 8h default 1h
  expiry: required
}
app aws "AWS" {
  owner: "olivia@acme.com"
  bucket: privileged
  role admin { grants: okta.main group "aws-admins", entra.corp group "aws-admins" }
}
)";
    std::ofstream(dir.file("directory.json")) << Json{
        {"people",
         {{{"email", "alice@acme.com"}, {"name", "Alice"}, {"manager", "mike@acme.com"}},
          {{"email", "mike@acme.com"}, {"name", "Mike"}},
          {{"email", "olivia@acme.com"}, {"name", "Olivia"}}}}}.dump();
    const NewToken admin = make_token();
    std::ofstream(dir.file("principals.json"))
        << Json{{"principals", {{{"name", "it@acme.com"}, {"token_sha256", admin.sha256}, {"admin", true}}}}}.dump();

    clock = std::make_shared<ManualClock>(testing::kStart);
    DaemonOptions options;
    options.policy_path = dir.file("access.policy");
    options.directory_path = dir.file("directory.json");
    options.db_path = dir.file("state.db");
    options.principals_path = dir.file("principals.json");
    options.listen = "127.0.0.1:0";
    options.synchronous = SqliteOptions::Synchronous::normal;
    options.worker_threads = 4;
    options.clock = clock;
    auto started = Daemon::start(options);
    ASSERT_TRUE(started) << started.error().message;
    daemon = std::move(*started);
  }

  void TearDown() override {
    if (daemon) daemon->stop();
  }

  Result<http::Response> post(const std::string& path, const std::string& body, std::vector<http::Header> headers) {
    http::Client client({"http://127.0.0.1:" + std::to_string(daemon->port()), "", std::chrono::seconds(10)});
    return client.post(path, body, headers);
  }

  // Posts a Jira webhook body signed with the webhook secret.
  Result<http::Response> post_jira(const std::string& body, const std::string& delivery = {}) {
    std::vector<http::Header> headers{{"X-Hub-Signature", fakes::JiraFake::sign(kJiraSecret, body)}};
    if (!delivery.empty()) headers.push_back({"X-Atlassian-Webhook-Identifier", delivery});
    return post("/webhooks/jira", body, headers);
  }

  // Alice files aws.admin in Jira. Sets `key` to the issue; returns the
  // request's id, or empty (with a failure recorded) when it was not filed.
  std::string file_aws_admin(std::string& key) {
    key = jira.create_issue({{"summary", "AWS admin"},
                             {"reporter", {{"accountId", "acc-alice"}}},
                             {"customfield_app", "aws"},
                             {"customfield_role", "admin"}});
    auto filed = post_jira(jira.issue_created_webhook(key, "acc-alice"));
    if (!filed || filed->status != 201) {
      ADD_FAILURE() << "not filed: " << (filed ? filed->body : filed.error().message);
      return {};
    }
    return Json::parse(filed->body)["request_id"].get<std::string>();
  }

  fakes::OktaFake okta;
  fakes::GraphFake graph;
  fakes::JiraFake jira;
  fakes::SlackFake slack;
  std::string alice_entra;
  std::string entra_group;
  TempDir dir;
  std::shared_ptr<ManualClock> clock;
  std::unique_ptr<Daemon> daemon;
};

TEST_F(ConnectorsEndToEnd, FiledInJiraApprovedInSlackProvisionedAndRemovedAtExpiry) {
  // Alice files the request in Jira.
  const std::string key = jira.create_issue({{"summary", "AWS admin for the migration"},
                                             {"description", "Need to rotate the KMS keys"},
                                             {"reporter", {{"accountId", "acc-alice"}}},
                                             {"customfield_app", "aws"},
                                             {"customfield_role", "admin"},
                                             {"customfield_duration", "2h"}});
  const std::string created = jira.issue_created_webhook(key, "acc-alice");
  auto filed = post_jira(created, "delivery-1");
  ASSERT_TRUE(filed) << filed.error().message;
  ASSERT_EQ(filed->status, 201) << filed->body;
  const std::string id = Json::parse(filed->body)["request_id"].get<std::string>();

  // Jira redelivers: acknowledged, not filed twice.
  auto again = post_jira(created, "delivery-1");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200);
  EXPECT_EQ(Json::parse(again->body).value("duplicate", false), true);

  auto state = daemon->engine().get(id);
  ASSERT_TRUE(state);
  EXPECT_EQ(state->request.requester, "alice@acme.com");
  EXPECT_EQ(state->request.ticket, key);
  EXPECT_EQ(state->status, interpreter::Status::awaiting_approval);

  // The card reaches Slack with both buttons; the issue is adopted, not duplicated.
  ASSERT_TRUE(eventually([&] { return !slack.messages_in("#access-requests").empty(); }));
  const auto card = slack.messages_in("#access-requests").front();
  ASSERT_TRUE(card.has_buttons());
  ASSERT_TRUE(eventually([&] { return contains(jira.labels(key), "portcullis-" + id); }));
  EXPECT_EQ(jira.issue_count(), 1u);
  // The adopted issue's description is now the approval card, reason included.
  const std::string description = fakes::JiraFake::flatten_adf(jira.description(key));
  EXPECT_NE(description.find("request: " + id), std::string::npos) << description;
  EXPECT_NE(description.find("alice@acme.com"), std::string::npos) << description;
  EXPECT_NE(description.find("aws-admins"), std::string::npos) << description;

  // A forged click changes nothing.
  const auto click = slack.click(card, "approve", "U0MIKE");
  auto forged = fakes::SlackFake::signed_interaction(click, "not-the-secret", clock->now());
  auto refused = post("/webhooks/slack", forged.body, forged.headers());
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 401);
  EXPECT_EQ(daemon->engine().get(id)->status, interpreter::Status::awaiting_approval);

  // Mike, Alice's manager, approves from Slack.
  auto signed_click = fakes::SlackFake::signed_interaction(click, kSlackSecret, clock->now());
  auto approved = post("/webhooks/slack", signed_click.body, signed_click.headers());
  ASSERT_TRUE(approved);
  ASSERT_EQ(approved->status, 200) << approved->body;
  EXPECT_NE(approved->body.find("Approved"), std::string::npos) << approved->body;
  // The same click again is a replay.
  auto replayed = post("/webhooks/slack", signed_click.body, signed_click.headers());
  ASSERT_TRUE(replayed);
  EXPECT_EQ(replayed->status, 409);

  auto active = daemon->engine().wait_for(id, {interpreter::Status::active}, std::chrono::seconds(20));
  ASSERT_TRUE(active) << active.error().message;
  ASSERT_EQ(active->status, interpreter::Status::active);
  EXPECT_EQ(okta.members_of("aws-admins"), std::vector<std::string>{"alice@acme.com"});
  EXPECT_TRUE(graph.has_member(entra_group, alice_entra));

  // The evidence is on the issue, the issue moved, the card lost its buttons.
  ASSERT_TRUE(eventually([&] { return jira.status(key) == "Approved"; })) << jira.status(key);
  ASSERT_TRUE(eventually([&] {
    const auto comments = jira.comment_texts(key);
    return contains(comments, "mike@acme.com") && contains(comments, "okta.main") && contains(comments, "entra.corp");
  }));
  ASSERT_TRUE(eventually([&] {
    auto updated = slack.message(card.channel, card.ts);
    return updated && !updated->has_buttons();
  }));

  // Half an hour before the end (a quarter of the 2 hours granted) Alice
  // is warned in a Slack direct message.
  clock->advance(90 * 60);
  daemon->engine().fire_due_timers();
  ASSERT_TRUE(eventually([&] {
    for (const auto& m : slack.messages()) {
      if (m.channel != "C0REQ" && m.text.find("expires at") != std::string::npos &&
          m.text.find("renewal") != std::string::npos) {
        return true;
      }
    }
    return false;
  }));
  EXPECT_EQ(daemon->engine().get(id)->status, interpreter::Status::active);

  // Two hours after approval the grant expires and both memberships go.
  const std::size_t comments_before_expiry = jira.comment_texts(key).size();
  clock->advance(30 * 60 + 1);
  daemon->engine().fire_due_timers();
  auto expired = daemon->engine().wait_for(id, {interpreter::Status::expired}, std::chrono::seconds(20));
  ASSERT_TRUE(expired) << expired.error().message;
  ASSERT_EQ(expired->status, interpreter::Status::expired);
  EXPECT_TRUE(okta.members_of("aws-admins").empty());
  EXPECT_FALSE(graph.has_member(entra_group, alice_entra));
  ASSERT_TRUE(eventually([&] { return jira.status(key) == "Done"; })) << jira.status(key);
  ASSERT_TRUE(eventually([&] { return jira.comment_texts(key).size() > comments_before_expiry; }));

  // Nothing was ever done under the sandbox: the policy declares none.
  EXPECT_TRUE(daemon->sandbox().comments(id).empty());
  EXPECT_TRUE(daemon->sandbox().messages(id).empty());
}

TEST_F(ConnectorsEndToEnd, APartialFailureIsRetriedForTheFailedGroupOnly) {
  // Entra answers the first membership change with 503 and Retry-After: 7.
  graph.server().inject("POST", "/v1.0/groups/",
                        fakes::json_response(503, fakes::GraphFake::error_body("ServiceUnavailable", "try later"),
                                             {{"Retry-After", "7"}}));
  std::string key;
  const std::string id = file_aws_admin(key);
  ASSERT_FALSE(id.empty());
  ASSERT_TRUE(eventually([&] { return !slack.messages_in("#access-requests").empty(); }));
  const auto click = slack.click(slack.messages_in("#access-requests").front(), "approve", "U0MIKE");
  auto signed_click = fakes::SlackFake::signed_interaction(click, kSlackSecret, clock->now());
  auto approved = post("/webhooks/slack", signed_click.body, signed_click.headers());
  ASSERT_TRUE(approved);
  ASSERT_EQ(approved->status, 200) << approved->body;

  // Okta is done, Entra waits for its retry: the request says which.
  ASSERT_TRUE(eventually([&] { return okta.members_of("aws-admins") == std::vector<std::string>{"alice@acme.com"}; }));
  ASSERT_TRUE(eventually([&] { return graph.server().received("POST", "/v1.0/groups/").size() == 1; }));
  auto waiting = daemon->engine().get(id);
  ASSERT_TRUE(waiting);
  EXPECT_EQ(waiting->status, interpreter::Status::provisioning);

  // Past the Retry-After the Entra call is made again, and only that one.
  clock->advance(120);
  daemon->engine().executor().wake();
  auto active = daemon->engine().wait_for(id, {interpreter::Status::active}, std::chrono::seconds(20));
  ASSERT_TRUE(active) << active.error().message;
  ASSERT_EQ(active->status, interpreter::Status::active);
  EXPECT_TRUE(graph.has_member(entra_group, alice_entra));
  EXPECT_EQ(graph.server().received("POST", "/v1.0/groups/").size(), 2u);
  EXPECT_EQ(okta.server().received("PUT", "/api/v1/groups/").size(), 1u);
}

TEST_F(ConnectorsEndToEnd, AJiraTransitionBySomeoneNotEligibleIsRefusedAndCommented) {
  std::string key;
  const std::string id = file_aws_admin(key);
  ASSERT_FALSE(id.empty());

  // Alice moves her own issue to Approved: nobody approves their own request.
  const std::string moved = jira.issue_updated_webhook(key, "Approved", "acc-alice");
  auto refused = post_jira(moved);
  ASSERT_TRUE(refused);
  ASSERT_EQ(refused->status, 200) << refused->body;
  EXPECT_TRUE(Json::parse(refused->body).contains("refused")) << refused->body;
  EXPECT_EQ(daemon->engine().get(id)->status, interpreter::Status::awaiting_approval);
  ASSERT_TRUE(eventually([&] { return contains(jira.comment_texts(key), "refused the approval by alice@acme.com"); }));

  // Mike, her manager, may: the same kind of delivery from him approves.
  const std::string approved = jira.issue_updated_webhook(key, "Approved", "acc-mike");
  auto applied = post_jira(approved);
  ASSERT_TRUE(applied);
  ASSERT_EQ(applied->status, 200) << applied->body;
  auto active = daemon->engine().wait_for(id, {interpreter::Status::active}, std::chrono::seconds(20));
  ASSERT_TRUE(active) << active.error().message;
  EXPECT_EQ(active->status, interpreter::Status::active);
}

}  // namespace
}  // namespace portcullis::runtime
