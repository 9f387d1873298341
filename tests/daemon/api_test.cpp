// The daemon over HTTP: authentication, the /v1 endpoints, long-polls,
// policy reload, metrics, and that logs never hold a token.

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "daemon_test_support.hpp"
#include "runtime/daemon.hpp"
#include "runtime/http/client.hpp"
#include "runtime/logging.hpp"
#include "runtime/principals.hpp"

namespace portcullis::runtime::testing {
namespace {

using Json = nlohmann::json;

struct Person {
  std::string name;
  std::string token;
  bool admin = false;
};

class ApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The policy is copied so a test can break it and reload.
    copy_acme_example(dir);
    people = {{"ann.lee@acme.com", "", false},    {"carl.diaz@acme.com", "", false},
              {"bob.stone@acme.com", "", false},  {"chloe.martin@acme.com", "", false},
              {"tom.nash@acme.com", "", false},   {"it-admin@acme.com", "", true}};
    Json principals = {{"principals", Json::array()}};
    for (auto& person : people) {
      const NewToken token = make_token();
      person.token = token.token;
      principals["principals"].push_back(
          {{"name", person.name}, {"token_sha256", token.sha256}, {"admin", person.admin}});
    }
    std::ofstream(dir.file("principals.json")) << principals.dump(2);

    DaemonOptions options;
    options.policy_path = dir.file("examples/acme/acme.policy");
    options.directory_path = dir.file("examples/acme/directory.json");
    options.db_path = dir.file("state.db");
    options.principals_path = dir.file("principals.json");
    options.listen = "127.0.0.1:0";
    options.synchronous = SqliteOptions::Synchronous::normal;
    options.worker_threads = 8;
    auto started = Daemon::start(options);
    ASSERT_TRUE(started) << started.error().message;
    daemon = std::move(*started);
  }

  void TearDown() override {
    if (daemon) daemon->stop();
  }

  http::Client client(const std::string& name) {
    http::ClientOptions options;
    options.base_url = "http://127.0.0.1:" + std::to_string(daemon->port());
    for (const auto& p : people) {
      if (p.name == name) options.bearer_token = p.token;
    }
    return http::Client(options);
  }

  const std::string& token_of(const std::string& name) {
    return std::find_if(people.begin(), people.end(), [&](const Person& p) { return p.name == name; })->token;
  }

  static Json body(const Result<http::Response>& response) {
    EXPECT_TRUE(response) << response.error().message;
    if (!response) return Json();
    return Json::parse(response->body, nullptr, false);
  }

  // Submits and returns the new request's id.
  std::string submit(const std::string& who, const Json& request) {
    auto c = client(who);
    auto response = c.post("/v1/requests", request.dump());
    EXPECT_TRUE(response);
    EXPECT_EQ(response->status, 201) << response->body;
    return body(response)["request"]["id"].get<std::string>();
  }

  std::string wait_until(const std::string& who, const std::string& id, const std::string& states) {
    auto c = client(who);
    auto response = c.get("/v1/requests/" + id + "?wait_for=" + states + "&timeout_ms=20000");
    return body(response)["request"]["status"].get<std::string>();
  }

  TempDir dir;
  std::vector<Person> people;
  std::unique_ptr<Daemon> daemon;
};

TEST_F(ApiTest, EveryCallButHealthNeedsAKnownToken) {
  http::Client anonymous({"http://127.0.0.1:" + std::to_string(daemon->port()), "", std::chrono::seconds(10)});
  auto health = anonymous.get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  auto whoami = anonymous.get("/v1/whoami");
  ASSERT_TRUE(whoami);
  EXPECT_EQ(whoami->status, 401);
  EXPECT_EQ(body(whoami)["error"]["code"], "unauthorized");
  http::Client forged({"http://127.0.0.1:" + std::to_string(daemon->port()), "pct_not-a-real-token",
                       std::chrono::seconds(10)});
  auto refused = forged.get("/v1/whoami");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 401);
  auto c = client("ann.lee@acme.com");
  auto me = c.get("/v1/whoami");
  EXPECT_EQ(body(me)["name"], "ann.lee@acme.com");
}

TEST_F(ApiTest, ARequestRunsToActiveAndTheLongPollSeesIt) {
  const std::string id = submit("ann.lee@acme.com", {{"app", "figma"}, {"role", "viewer"}, {"reason", "design review"}});
  EXPECT_EQ(wait_until("ann.lee@acme.com", id, "active"), "active");
  auto c = client("ann.lee@acme.com");
  const Json detail = body(c.get("/v1/requests/" + id));
  EXPECT_EQ(detail["request"]["status"], "active");
  EXPECT_EQ(detail["request"]["requester"], "ann.lee@acme.com");
  ASSERT_TRUE(detail["evidence"].is_array());
  EXPECT_EQ(detail["evidence"][0]["kind"], "submitted");
  EXPECT_NE(detail["card_text"].get<std::string>().find("figma-viewers"), std::string::npos);
  const auto members = daemon->sandbox().members("sandbox.okta", "figma-viewers");
  EXPECT_NE(std::find(members.begin(), members.end(), "ann.lee@acme.com"), members.end());
  const Json grants = body(c.get("/v1/grants"));
  ASSERT_EQ(grants["grants"].size(), 1u);
  EXPECT_EQ(grants["grants"][0]["request_id"], id);
}

TEST_F(ApiTest, ARetriedSubmitWithTheSameKeyCreatesOneRequest) {
  auto c = client("ann.lee@acme.com");
  const std::string request = Json{{"app", "figma"}, {"role", "viewer"}}.dump();
  auto first = c.post("/v1/requests", request, {{"Idempotency-Key", "retry-1"}});
  auto second = c.post("/v1/requests", request, {{"Idempotency-Key", "retry-1"}});
  ASSERT_TRUE(first);
  ASSERT_TRUE(second);
  EXPECT_EQ(first->status, 201);
  EXPECT_EQ(second->status, 200);
  EXPECT_EQ(body(second)["duplicate"], true);
  EXPECT_EQ(body(first)["request"]["id"], body(second)["request"]["id"]);
  // The same key from someone else is their own key.
  auto other = client("carl.diaz@acme.com").post("/v1/requests", request, {{"Idempotency-Key", "retry-1"}});
  EXPECT_EQ(other->status, 201);
  const Json mine = body(c.get("/v1/requests"));
  EXPECT_EQ(mine["requests"].size(), 1u);
}

TEST_F(ApiTest, BadInputIsRefusedNamingTheField) {
  auto c = client("ann.lee@acme.com");
  auto no_role = c.post("/v1/requests", Json{{"app", "figma"}}.dump());
  EXPECT_EQ(no_role->status, 400);
  EXPECT_EQ(body(no_role)["error"]["field"], "role");
  auto bad_duration = c.post("/v1/requests", Json{{"app", "figma"}, {"role", "viewer"}, {"duration", "soon"}}.dump());
  EXPECT_EQ(bad_duration->status, 400);
  EXPECT_EQ(body(bad_duration)["error"]["field"], "duration");
  auto unknown = c.post("/v1/requests", Json{{"app", "figma"}, {"role", "viewer"}, {"color", "red"}}.dump());
  EXPECT_EQ(unknown->status, 400);
  EXPECT_EQ(body(unknown)["error"]["field"], "color");
  auto not_json = c.post("/v1/requests", "{app: figma");
  EXPECT_EQ(not_json->status, 400);
  auto someone_else =
      c.post("/v1/requests", Json{{"app", "figma"}, {"role", "viewer"}, {"requester", "carl.diaz@acme.com"}}.dump());
  EXPECT_EQ(someone_else->status, 403);
  auto nothing = c.get("/v1/requests/req_does_not_exist");
  EXPECT_EQ(nothing->status, 404);
  auto no_endpoint = c.get("/v1/nothing-here");
  EXPECT_EQ(no_endpoint->status, 404);
}

TEST_F(ApiTest, APrincipalActsOnlyAsItself) {
  const std::string id = submit("carl.diaz@acme.com", {{"app", "figma"}, {"role", "editor"}});
  auto self = client("carl.diaz@acme.com").post("/v1/requests/" + id + "/approve", "");
  ASSERT_TRUE(self);
  EXPECT_EQ(self->status, 409);
  EXPECT_EQ(body(self)["error"]["code"], "refused");
  // A stranger cannot read it, let alone approve it.
  auto peek = client("chloe.martin@acme.com").get("/v1/requests/" + id);
  EXPECT_EQ(peek->status, 404);
  // Acting on it answers as if it did not exist, and leaves no trace.
  auto stranger = client("chloe.martin@acme.com").post("/v1/requests/" + id + "/approve", "");
  EXPECT_EQ(stranger->status, 404);
  EXPECT_EQ(stranger->body.find("carl.diaz"), std::string::npos) << stranger->body;

  // The manager sees it awaiting them, and approves.
  auto bob = client("bob.stone@acme.com");
  const Json waiting = body(bob.get("/v1/approvals"));
  ASSERT_EQ(waiting["requests"].size(), 1u);
  EXPECT_EQ(waiting["requests"][0]["id"], id);
  auto approved = bob.post("/v1/requests/" + id + "/approve", "");
  EXPECT_EQ(approved->status, 200) << approved->body;
  EXPECT_EQ(wait_until("carl.diaz@acme.com", id, "active"), "active");

  const Json detail = body(client("carl.diaz@acme.com").get("/v1/requests/" + id));
  std::vector<std::string> actors;
  for (const auto& e : detail["evidence"]) actors.push_back(e["kind"].get<std::string>() + ":" + e["actor"].get<std::string>());
  EXPECT_NE(std::find(actors.begin(), actors.end(), "refused:carl.diaz@acme.com"), actors.end());
  EXPECT_NE(std::find(actors.begin(), actors.end(), "approved:bob.stone@acme.com"), actors.end());
}

TEST_F(ApiTest, GrantsComeInPagesOrderedByExpiryAndEachPersonSeesTheirOwn) {
  std::vector<std::string> ids;
  ids.push_back(submit("ann.lee@acme.com", {{"app", "figma"}, {"role", "viewer"}}));
  ids.push_back(submit("carl.diaz@acme.com", {{"app", "slack"}, {"role", "member"}}));
  ids.push_back(submit("bob.stone@acme.com", {{"app", "figma"}, {"role", "viewer"}}));
  for (const auto& id : ids) EXPECT_NE(wait_until("it-admin@acme.com", id, "active,awaiting_approval"), "");
  auto admin = client("it-admin@acme.com");
  std::vector<std::string> seen;
  std::string target = "/v1/grants?limit=1";
  for (int page = 0; page < 10; ++page) {
    const Json body = this->body(admin.get(target));
    ASSERT_LE(body["grants"].size(), 1u);
    for (const auto& g : body["grants"]) seen.push_back(g["request_id"].get<std::string>());
    if (body["next"].is_null()) break;
    target = "/v1/grants?limit=1&after=" + body["next"].get<std::string>();
  }
  auto active = admin.get("/v1/requests?status=active");
  EXPECT_EQ(seen.size(), this->body(active)["requests"].size());
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), seen.size()) << "no grant twice";
  const Json mine = body(client("ann.lee@acme.com").get("/v1/grants"));
  ASSERT_EQ(mine["grants"].size(), 1u);
  EXPECT_EQ(mine["grants"][0]["requester"], "ann.lee@acme.com");
  EXPECT_EQ(client("ann.lee@acme.com").get("/v1/grants?requester=bob.stone@acme.com")->status, 403);
  EXPECT_EQ(admin.get("/v1/grants?after=nonsense")->status, 400);
}

TEST_F(ApiTest, TheSameIdempotencyKeyForADifferentRequestIsRefused) {
  auto c = client("ann.lee@acme.com");
  auto first = c.post("/v1/requests", Json{{"app", "figma"}, {"role", "viewer"}}.dump(), {{"Idempotency-Key", "k"}});
  EXPECT_EQ(first->status, 201);
  auto other = c.post("/v1/requests", Json{{"app", "slack"}, {"role", "member"}}.dump(), {{"Idempotency-Key", "k"}});
  EXPECT_EQ(other->status, 422);
  EXPECT_EQ(body(other)["error"]["field"], "Idempotency-Key");
}

TEST_F(ApiTest, AKnownPathWithAnotherMethodIs405WithAllow) {
  auto c = client("ann.lee@acme.com");
  auto wrong = c.send("PUT", "/v1/requests", "{}");
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 405);
  const std::string* allow = nullptr;
  http::Request probe;
  probe.headers = wrong->headers;
  allow = probe.header("Allow");
  ASSERT_NE(allow, nullptr);
  EXPECT_EQ(*allow, "GET, POST");
}

TEST_F(ApiTest, TriagersSeeRequestsOutsideTheCatalogAmongTheirApprovals) {
  const std::string id = submit("ann.lee@acme.com", {{"app", "canva"}, {"role", "pro"}, {"reason", "assets"}});
  EXPECT_EQ(wait_until("ann.lee@acme.com", id, "awaiting_triage"), "awaiting_triage");
  auto ids_waiting_for = [&](const std::string& who) {
    std::vector<std::string> ids;
    const Json waiting = body(client(who).get("/v1/approvals"));
    for (const auto& r : waiting["requests"]) ids.push_back(r["id"].get<std::string>());
    return ids;
  };
  const auto tom = ids_waiting_for("tom.nash@acme.com");  // it-ops: the acme triagers
  EXPECT_NE(std::find(tom.begin(), tom.end(), id), tom.end());
  const auto bob = ids_waiting_for("bob.stone@acme.com");  // her manager, no triager
  EXPECT_EQ(std::find(bob.begin(), bob.end(), id), bob.end());
  auto mapped = client("tom.nash@acme.com").post("/v1/requests/" + id + "/triage",
                                                 Json{{"app", "figma"}, {"role", "viewer"}}.dump());
  EXPECT_EQ(mapped->status, 200) << mapped->body;
  EXPECT_EQ(wait_until("ann.lee@acme.com", id, "active"), "active");
}

TEST_F(ApiTest, DenyNeedsAReasonAndRecordsIt) {
  const std::string id = submit("carl.diaz@acme.com", {{"app", "figma"}, {"role", "editor"}});
  auto bob = client("bob.stone@acme.com");
  auto no_reason = bob.post("/v1/requests/" + id + "/deny", "{}");
  EXPECT_EQ(no_reason->status, 400);
  EXPECT_EQ(body(no_reason)["error"]["field"], "reason");
  auto denied = bob.post("/v1/requests/" + id + "/deny", Json{{"reason", "use the viewer seat"}}.dump());
  EXPECT_EQ(denied->status, 200);
  EXPECT_EQ(body(denied)["request"]["status"], "denied");
  auto again = bob.post("/v1/requests/" + id + "/approve", "");
  EXPECT_EQ(again->status, 409) << "a closed request cannot be approved";
}

TEST_F(ApiTest, ABadPolicyIsRefusedOnReloadAndTheOldOneKeepsServing) {
  auto admin = client("it-admin@acme.com");
  auto ann = client("ann.lee@acme.com");
  EXPECT_EQ(ann.post("/v1/policy/reload", "")->status, 403);

  const std::string path = dir.file("examples/acme/apps/workplace.policy");
  std::string original;
  {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    original = text.str();
  }
  std::ofstream(path) << original << "\napp broken {\n  title: \n";
  auto refused = admin.post("/v1/policy/reload", "");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 422);
  const Json why = body(refused);
  EXPECT_EQ(why["error"]["code"], "policy_invalid");
  EXPECT_FALSE(why["diagnostics"].empty()) << refused->body;
  // Still serving the old policy.
  const std::string id = submit("ann.lee@acme.com", {{"app", "figma"}, {"role", "viewer"}});
  EXPECT_EQ(wait_until("ann.lee@acme.com", id, "active"), "active");

  std::ofstream(path) << original;
  auto reloaded = admin.post("/v1/policy/reload", "");
  EXPECT_EQ(reloaded->status, 200) << reloaded->body;
}

TEST_F(ApiTest, MetricsCountRequestsByStateForAdmins) {
  const std::string id = submit("ann.lee@acme.com", {{"app", "figma"}, {"role", "viewer"}});
  EXPECT_EQ(wait_until("ann.lee@acme.com", id, "active"), "active");
  EXPECT_EQ(client("ann.lee@acme.com").get("/metrics")->status, 403);
  auto metrics = client("it-admin@acme.com").get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 200);
  EXPECT_NE(metrics->body.find("portcullis_requests{state=\"active\"} 1\n"), std::string::npos) << metrics->body;
  EXPECT_NE(metrics->body.find("portcullis_effects_total{kind=\"add_membership\"} 1\n"), std::string::npos);
  EXPECT_NE(metrics->body.find("portcullis_outbox_pending"), std::string::npos);
  EXPECT_NE(metrics->body.find("portcullis_effect_duration_seconds_bucket{kind=\"add_membership\",le=\"+Inf\"} 1"),
            std::string::npos);
}

TEST_F(ApiTest, LogsNeverHoldATokenOrAuthorizationHeader) {
  std::ostringstream captured;
  LogOptions options;
  options.level = "debug";
  options.format = LogOptions::Format::json;
  ASSERT_TRUE(setup_logging_to(captured, options));
  auto ann = client("ann.lee@acme.com");
  (void)ann.get("/v1/whoami");
  (void)ann.post("/v1/requests", Json{{"app", "figma"}, {"role", "viewer"}}.dump());
  // A token sent where a path or a field goes must not be echoed either.
  (void)ann.get("/v1/requests/" + token_of("ann.lee@acme.com"));
  (void)ann.post("/v1/requests", Json{{"app", "figma"}, {"role", token_of("ann.lee@acme.com")}}.dump());
  ASSERT_TRUE(setup_logging(LogOptions{}));
  const std::string logs = captured.str();
  EXPECT_NE(logs.find("ann.lee@acme.com"), std::string::npos) << "the principal is logged";
  EXPECT_NE(logs.find("\"request_id\":\"req_"), std::string::npos) << "transitions carry the request id:\n" << logs;
  for (const auto& person : people) {
    EXPECT_EQ(logs.find(person.token), std::string::npos) << "a token leaked into the logs:\n" << logs;
  }
  EXPECT_EQ(logs.find("Bearer pct_"), std::string::npos);
}

}  // namespace
}  // namespace portcullis::runtime::testing
