// Hostile and broken input against the assembled daemon: bad JSON, wrong
// types, unknown fields, invalid UTF-8, path tricks, oversized and slow
// requests, bad tokens, principals acting for others, forged and replayed
// webhooks, policies too big or too deep to reload, and a store that cannot
// write. Each is refused with its status and a message that says why, and
// the store reads the same afterwards (every request's state, and the
// audit chain's head).
//
// What api_test.cpp and tests/http/server_test.cpp already prove (a
// missing or forged token is 401, one unknown field, `requester` naming
// someone else, oversize bodies and headers on the bare server) is not
// repeated here.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <ctime>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "tests/support/raw_connection.hpp"
#include "connectors/auth/crypto.hpp"
#include "connectors/slack/block_kit.hpp"
#include "daemon_test_support.hpp"
#include "runtime/codec.hpp"
#include "runtime/daemon.hpp"
#include "runtime/http/client.hpp"
#include "runtime/http/server.hpp"
#include "runtime/principals.hpp"

namespace portcullis::runtime::testing {
namespace {

using Json = nlohmann::json;
using namespace std::chrono_literals;

// Only reached when something is broken.
constexpr auto kEventually = 15s;

using portcullis::testing::RawConnection;

// One raw HTTP exchange, the connection closed after it.
struct RawAnswer {
  int status = 0;
  std::string body;
  Json json;  // discarded when the body is not JSON
};

RawAnswer parse_raw_answer(const std::string& got) {
  RawAnswer answer;
  if (got.rfind("HTTP/1.1 ", 0) == 0 && got.size() >= 12) answer.status = std::atoi(got.substr(9, 3).c_str());
  const auto end = got.find("\r\n\r\n");
  if (end != std::string::npos) answer.body = got.substr(end + 4);
  answer.json = Json::parse(answer.body, nullptr, false);
  return answer;
}

RawAnswer raw_exchange(std::uint16_t port, const std::string& method, const std::string& target,
                       const std::string& token, const std::string& body = {},
                       const std::vector<http::Header>& headers = {}) {
  RawConnection c(port);
  EXPECT_TRUE(c.connected());
  std::string message = method + " " + target + " HTTP/1.1\r\nHost: portcullis\r\nConnection: close\r\n";
  if (!token.empty()) message += "Authorization: Bearer " + token + "\r\n";
  for (const auto& h : headers) message += h.name + ": " + h.value + "\r\n";
  message += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  EXPECT_TRUE(c.send_all(message));
  std::string got;
  EXPECT_TRUE(c.read_until_closed(got)) << "no answer to " << method << " " << target;
  return parse_raw_answer(got);
}

// Everything the daemon stores that a refused call could have touched:
// every request as stored (status, version, plan, decisions) and the head
// of the audit chain.
struct Snapshot {
  std::vector<std::string> requests;
  std::int64_t audit_seq = 0;
  std::string audit_hash;
  bool operator==(const Snapshot&) const = default;
};

std::ostream& operator<<(std::ostream& out, const Snapshot& s) {
  out << s.requests.size() << " request(s), audit head " << s.audit_seq << ":" << s.audit_hash;
  for (const auto& r : s.requests) out << "\n  " << r;
  return out;
}

struct Person {
  std::string name;
  std::string token;
  bool admin = false;
};

// A daemon on a copy of the acme example (so a test may change the policy
// and reload), over a fresh database, with a token per person.
class HostileDaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    copy_acme_example(dir);
    people = {{"ann.lee@acme.com", "", false},    {"carl.diaz@acme.com", "", false},
              {"bob.stone@acme.com", "", false},  {"chloe.martin@acme.com", "", false},
              {"tom.nash@acme.com", "", false},   {"it-admin@acme.com", "", true}};
    for (auto& person : people) person.token = make_token().token;
    write_principals(people);
    prepare();
    start();
  }

  void TearDown() override {
    if (daemon) daemon->stop();
  }

  // Runs before the daemon starts (the webhook tests declare Slack and Jira).
  virtual void prepare() {}
  virtual DaemonOptions options() {
    DaemonOptions options;
    options.policy_path = dir.file("examples/acme/acme.policy");
    options.directory_path = dir.file("examples/acme/directory.json");
    options.db_path = dir.file("state.db");
    options.principals_path = dir.file("principals.json");
    options.listen = "127.0.0.1:0";
    options.synchronous = SqliteOptions::Synchronous::normal;
    options.worker_threads = 8;
    return options;
  }

  void start() {
    auto started = Daemon::start(options());
    ASSERT_TRUE(started) << started.error().message;
    daemon = std::move(*started);
  }

  void write_principals(const std::vector<Person>& who) {
    Json principals = {{"principals", Json::array()}};
    for (const auto& p : who) {
      principals["principals"].push_back({{"name", p.name}, {"token_sha256", token_hash(p.token)}, {"admin", p.admin}});
    }
    std::ofstream(dir.file("principals.json")) << principals.dump(2);
  }

  const std::string& token_of(const std::string& name) const {
    for (const auto& p : people) {
      if (p.name == name) return p.token;
    }
    ADD_FAILURE() << "no principal " << name;
    static const std::string none;
    return none;
  }

  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(daemon->port()); }

  http::Client client(const std::string& name) {
    return http::Client({base_url(), name.empty() ? std::string() : token_of(name), kEventually});
  }

  static Json json_of(const Result<http::Response>& response) {
    EXPECT_TRUE(response) << response.error().message;
    if (!response) return Json();
    const Json parsed = Json::parse(response->body, nullptr, false);
    EXPECT_FALSE(parsed.is_discarded()) << "the answer is not JSON: " << response->body;
    return parsed;
  }

  // Waits until no effect is left in the outbox, so that what the store
  // holds only changes when someone calls in.
  void settle() {
    const auto deadline = std::chrono::steady_clock::now() + kEventually;
    for (;;) {
      auto stats = daemon->engine().store().stats();
      ASSERT_TRUE(stats) << stats.error().message;
      if (stats->outbox_pending == 0) return;
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << stats->outbox_pending << " effect(s) never finished";
      std::this_thread::sleep_for(5ms);
    }
  }

  Snapshot snapshot() {
    settle();
    Snapshot s;
    RequestFilter filter;
    filter.limit = 1000;
    auto page = daemon->engine().store().list(filter);
    EXPECT_TRUE(page) << page.error().message;
    if (page) {
      for (const auto& state : page->requests) s.requests.push_back(codec::encode_state(state).dump());
    }
    auto head = daemon->engine().store().audit_head();
    EXPECT_TRUE(head) << head.error().message;
    if (head) {
      s.audit_seq = head->seq;
      s.audit_hash = head->hash;
    }
    return s;
  }

  std::string submit(const std::string& who, const Json& request) {
    auto response = client(who).post("/v1/requests", request.dump());
    EXPECT_TRUE(response);
    if (!response) return {};
    EXPECT_EQ(response->status, 201) << response->body;
    return json_of(response)["request"]["id"].get<std::string>();
  }

  std::string status_of(const std::string& id) {
    auto state = daemon->engine().get(id);
    EXPECT_TRUE(state) << state.error().message;
    return state ? std::string(interpreter::status_name(state->status)) : std::string();
  }

  // Carl's request for Figma editor waits for Bob, his manager.
  std::string awaiting_bob() {
    const std::string id = submit("carl.diaz@acme.com", {{"app", "figma"}, {"role", "editor"}});
    EXPECT_EQ(status_of(id), "awaiting_approval");
    return id;
  }

  TempDir dir;
  std::vector<Person> people;
  std::unique_ptr<Daemon> daemon;
};

// Asserts a 400 in the API's error shape, naming `field` (empty: none) and
// saying `says`.
void expect_invalid(const Result<http::Response>& response, const std::string& field, const std::string& says,
                    const std::string& what) {
  ASSERT_TRUE(response) << what << ": " << response.error().message;
  EXPECT_EQ(response->status, 400) << what << ": " << response->body;
  const Json body = Json::parse(response->body, nullptr, false);
  ASSERT_TRUE(body.is_object()) << what << ": " << response->body;
  EXPECT_EQ(body["error"]["code"], "invalid") << what;
  const std::string message = body["error"].value("message", "");
  EXPECT_NE(message.find(says), std::string::npos) << what << ": the message should say \"" << says << "\": " << message;
  if (field.empty()) {
    EXPECT_FALSE(body["error"].contains("field")) << what << ": " << response->body;
  } else {
    EXPECT_EQ(body["error"].value("field", ""), field) << what << ": " << response->body;
  }
}

// ---- bodies -----------------------------------------------------------------------------------

TEST_F(HostileDaemonTest, MalformedTruncatedAndNonObjectJsonIs400AndStoresNothing) {
  const std::string id = awaiting_bob();
  const Snapshot before = snapshot();
  auto carl = client("carl.diaz@acme.com");
  auto bob = client("bob.stone@acme.com");
  const std::vector<std::string> broken = {
      "{",
      R"({"app":"figma","role":"vie)",
      R"({"app":"figma",)",
      R"({"app":"figma" "role":"viewer"})",
      R"({'app':'figma','role':'viewer'})",
      R"({"app":"figma","role":"viewer"} and more)",
      R"({"app":"figma","role":"viewer"}{"app":"slack"})",
      std::string("{\"app\":\"fig") + '\0' + "ma\",\"role\":\"viewer\"}",  // a raw NUL inside a string
      "{\"app\":\"figma\",\"role\":\"viewer\",\"reason\":\"line\nbreak\"}",  // raw control character
      "\xef\xbb",  // half a byte-order mark
  };
  for (const auto& body : broken) {
    expect_invalid(carl.post("/v1/requests", body), "", "body: invalid JSON", "submit " + body);
    expect_invalid(bob.post("/v1/requests/" + id + "/deny", body), "", "body: invalid JSON", "deny " + body);
  }
  for (const std::string body : {"[]", R"([{"app":"figma","role":"viewer"}])", R"("figma")", "42", "null", "true"}) {
    expect_invalid(carl.post("/v1/requests", body), "", "body: expected a JSON object", "submit " + body);
    expect_invalid(bob.post("/v1/requests/" + id + "/approve", body), "", "body: expected a JSON object",
                   "approve " + body);
  }
  // An empty body is an empty object: the first required field is named.
  expect_invalid(carl.post("/v1/requests", ""), "app", "body.app: required", "empty submit");
  expect_invalid(bob.post("/v1/requests/" + id + "/deny", ""), "reason", "body.reason: required", "empty deny");
  EXPECT_EQ(snapshot(), before);
  EXPECT_EQ(status_of(id), "awaiting_approval");
}

TEST_F(HostileDaemonTest, WrongTypesAreRefusedNamingTheFieldAndStoreNothing) {
  const std::string id = awaiting_bob();
  const Snapshot before = snapshot();
  struct Case {
    std::string who, target;
    Json body;
    std::string field, says;
  };
  const std::string act = "/v1/requests/" + id;
  const std::vector<Case> cases = {
      {"ann.lee@acme.com", "/v1/requests", {{"app", 42}, {"role", "viewer"}}, "app", "body.app: expected a string"},
      {"ann.lee@acme.com", "/v1/requests", {{"app", "figma"}, {"role", nullptr}}, "role", "expected a string"},
      {"ann.lee@acme.com", "/v1/requests", {{"app", "figma"}, {"role", Json::array({"viewer"})}}, "role", "expected a string"},
      {"ann.lee@acme.com", "/v1/requests", {{"app", "figma"}, {"role", "viewer"}, {"duration", 3600}}, "duration",
       "expected a string"},
      {"ann.lee@acme.com", "/v1/requests", {{"app", "figma"}, {"role", "viewer"}, {"duration", "-8h"}}, "duration",
       "is not a duration"},
      {"ann.lee@acme.com", "/v1/requests", {{"app", "figma"}, {"role", "viewer"}, {"permanent", "yes"}}, "permanent",
       "expected true or false"},
      {"ann.lee@acme.com", "/v1/requests", {{"app", "figma"}, {"role", "viewer"}, {"reason", {{"text", "x"}}}},
       "reason", "expected a string"},
      {"ann.lee@acme.com", "/v1/requests", {{"app", "figma"}, {"role", "viewer"}, {"ticket", 7}}, "ticket",
       "expected a string"},
      {"ann.lee@acme.com", "/v1/requests", {{"app", "figma"}, {"role", "viewer"}, {"requester", false}}, "requester",
       "expected a string"},
      {"ann.lee@acme.com", "/v1/requests", {{"app", ""}, {"role", "viewer"}}, "app", "must not be empty"},
      {"bob.stone@acme.com", act + "/deny", {{"reason", 5}}, "reason", "body.reason: expected a string"},
      {"bob.stone@acme.com", act + "/deny", {{"reason", ""}}, "reason", "must not be empty"},
      {"bob.stone@acme.com", act + "/revoke", {{"reason", {{"why", "x"}}}}, "reason", "expected a string"},
      {"carl.diaz@acme.com", act + "/renew", {{"duration", true}}, "duration", "expected a string"},
      {"carl.diaz@acme.com", act + "/renew", {{"duration", "forever"}}, "duration", "is not a duration"},
      {"it-admin@acme.com", act + "/triage", {{"app", 1}, {"role", "viewer"}}, "app", "expected a string"},
      {"it-admin@acme.com", act + "/triage", {{"deny", false}}, "deny", "expected a string"},
  };
  for (const auto& c : cases) {
    expect_invalid(client(c.who).post(c.target, c.body.dump()), c.field, c.says, c.target + " " + c.body.dump());
  }
  EXPECT_EQ(snapshot(), before);
}

TEST_F(HostileDaemonTest, UnknownFieldsAreRefusedSayingWhichFieldsTheCallTakes) {
  const std::string id = awaiting_bob();
  const Snapshot before = snapshot();
  const std::string act = "/v1/requests/" + id;
  auto bob = client("bob.stone@acme.com");
  // An action without fields says so instead of listing nothing.
  expect_invalid(bob.post(act + "/approve", R"({"comment":"lgtm"})"), "comment", "takes no fields", "approve");
  expect_invalid(client("carl.diaz@acme.com").post(act + "/cancel", R"({"reason":"oops"})"), "reason",
                 "takes no fields", "cancel");
  expect_invalid(bob.post(act + "/deny", R"({"reason":"no","notify":false})"), "notify", "expected: reason",
                 "deny");
  // Field names are case-sensitive: "Role" is not "role".
  expect_invalid(client("ann.lee@acme.com").post("/v1/requests", R"({"app":"figma","role":"viewer","Role":"admin"})"),
                 "Role", "unknown field (expected: requester, app, role, duration, permanent, reason, ticket)",
                 "submit");
  expect_invalid(client("it-admin@acme.com").post(act + "/triage", R"({"app":"figma","role":"viewer","deny":"no"})"),
                 "deny", "give either app and role, or deny", "triage");
  EXPECT_EQ(snapshot(), before);
  EXPECT_EQ(status_of(id), "awaiting_approval");
}

TEST_F(HostileDaemonTest, InvalidUtf8IsRefusedWithAJsonAnswerNeverA500) {
  const std::string id = awaiting_bob();
  const Snapshot before = snapshot();
  auto ann = client("ann.lee@acme.com");
  for (const std::string bad : {"\xff\xfe", "\xc0\xaf", "\xed\xa0\x80", "caf\xc3", "\xf8\x88\x80\x80\x80"}) {
    const std::string body = R"({"app":"figma","role":"viewer","reason":")" + bad + R"("})";
    expect_invalid(ann.post("/v1/requests", body), "", "body: invalid JSON", "reason with bytes " + Json(body).dump(
                                                                                  -1, ' ', true, Json::error_handler_t::replace));
  }
  // A lone surrogate escape is not a character either.
  expect_invalid(ann.post("/v1/requests", R"({"app":"figma","role":"viewer","reason":"\ud800"})"), "",
                 "body: invalid JSON", "lone surrogate");
  // Raw bytes in the path and in a query value: answered in JSON, not 500.
  const auto port = daemon->port();
  const RawAnswer in_path = raw_exchange(port, "GET", "/v1/requests/req_\xff\xfe", token_of("it-admin@acme.com"));
  EXPECT_EQ(in_path.status, 404) << in_path.body;
  ASSERT_TRUE(in_path.json.is_object()) << in_path.body;
  EXPECT_EQ(in_path.json["error"]["code"], "not_found");
  const RawAnswer acting = raw_exchange(port, "POST", "/v1/requests/\xc3(/approve", token_of("bob.stone@acme.com"));
  EXPECT_EQ(acting.status, 404) << acting.body;
  EXPECT_TRUE(acting.json.is_object()) << acting.body;
  const RawAnswer no_endpoint = raw_exchange(port, "GET", "/v1/\xff", token_of("ann.lee@acme.com"));
  EXPECT_EQ(no_endpoint.status, 404) << no_endpoint.body;
  EXPECT_TRUE(no_endpoint.json.is_object()) << no_endpoint.body;
  auto state = client("ann.lee@acme.com").get("/v1/requests?status=%FF%FE");
  ASSERT_TRUE(state);
  EXPECT_EQ(state->status, 400) << state->body;
  EXPECT_EQ(json_of(state)["error"]["field"], "status");
  auto waiting = client("carl.diaz@acme.com").get("/v1/requests/" + id + "?wait_for=%C3%28&timeout_ms=1");
  ASSERT_TRUE(waiting);
  EXPECT_EQ(waiting->status, 400) << waiting->body;
  EXPECT_EQ(json_of(waiting)["error"]["field"], "wait_for");
  EXPECT_EQ(snapshot(), before);
}

// ---- paths --------------------------------------------------------------------------------------

TEST_F(HostileDaemonTest, PathTricksInRequestIdsReachNothingAndChangeNothing) {
  const std::string id = awaiting_bob();
  const Snapshot before = snapshot();
  const auto port = daemon->port();
  const std::string& admin = token_of("it-admin@acme.com");
  const std::string& bob = token_of("bob.stone@acme.com");
  // Read as the admin, who may read every request: only the id decides.
  for (const std::string& trick : std::vector<std::string>{"..", "%2e%2e", "..%2f..%2fstate.db", "%2e%2e%2f%2e%2e%2fetc%2fpasswd", id + "%00", id + "%2f..",
        id + "'%20OR%20'1'='1", "req_%25", "*", "%", std::string(8000, 'r'), id.substr(0, id.size() - 1),
        id + "x"}) {
    const RawAnswer got = raw_exchange(port, "GET", "/v1/requests/" + trick, admin);
    EXPECT_EQ(got.status, 404) << trick << ": " << got.body;
    ASSERT_TRUE(got.json.is_object()) << trick << ": " << got.body;
    EXPECT_EQ(got.json["error"]["code"], "not_found") << trick;
    EXPECT_NE(got.json["error"].value("message", "").find("no request"), std::string::npos) << got.body;
  }
  // Dot segments are not resolved: they never turn into another endpoint.
  for (const std::string& target : {"/v1/requests/" + id + "/../approve", "/v1/requests/../requests/" + id + "/approve",
                                   "/v1/requests/" + id + "/./approve", "/v1/requests/" + id + "/approve/.."}) {
    const RawAnswer got = raw_exchange(port, "POST", target, bob);
    EXPECT_EQ(got.status, 404) << target << ": " << got.body;
    EXPECT_EQ(got.json["error"]["code"], "not_found") << target << ": " << got.body;
  }
  // An encoded slash is part of the id, not a separator.
  const RawAnswer encoded = raw_exchange(port, "POST", "/v1/requests/" + id + "%2Fapprove", bob);
  EXPECT_EQ(encoded.status, 405) << encoded.body;
  const RawAnswer action = raw_exchange(port, "POST", "/v1/requests/" + id + "/approve%00", bob);
  EXPECT_EQ(action.status, 404) << action.body;
  EXPECT_NE(action.json["error"].value("message", "").find("no action"), std::string::npos) << action.body;
  // The webhooks do not resolve dot segments either.
  const RawAnswer hook = raw_exchange(port, "POST", "/webhooks/../v1/requests/" + id + "/approve", "");
  EXPECT_EQ(hook.status, 404) << hook.body;
  EXPECT_EQ(snapshot(), before);
  EXPECT_EQ(status_of(id), "awaiting_approval");
}

// ---- sizes and slow clients --------------------------------------------------------------------

TEST_F(HostileDaemonTest, OversizedBodiesAndHeadersAreRefusedBeforeReachingTheApi) {
  const Snapshot before = snapshot();
  const auto port = daemon->port();
  const std::string& ann = token_of("ann.lee@acme.com");
  {
    // Announced too large: answered from the header alone.
    RawConnection c(port);
    ASSERT_TRUE(c.send_all("POST /v1/requests HTTP/1.1\r\nHost: p\r\nAuthorization: Bearer " + ann +
                           "\r\nContent-Length: 2000000\r\n\r\n{\"app\":\"figma\",\"role\":\"viewer\",\"reason\":\""));
    std::string got;
    EXPECT_TRUE(c.read_until_closed(got));
    const RawAnswer answer = parse_raw_answer(got);
    EXPECT_EQ(answer.status, 413) << got;
    EXPECT_EQ(answer.json["error"]["code"], "invalid") << got;
    EXPECT_EQ(answer.json["error"]["message"], "request body too large") << got;
  }
  {
    // Chunked, so no length is announced: refused once 1 MiB has arrived,
    // while the valid-looking JSON is still streaming in.
    RawConnection c(port);
    ASSERT_TRUE(c.send_all("POST /v1/requests HTTP/1.1\r\nHost: p\r\nAuthorization: Bearer " + ann +
                           "\r\nTransfer-Encoding: chunked\r\n\r\n"));
    const std::string chunk = std::string("10000\r\n") + std::string(0x10000, 'a') + "\r\n";
    for (int i = 0; i < 20; ++i) {
      if (!c.send_all(chunk)) break;  // the server may have answered and stopped reading
    }
    std::string got;
    EXPECT_TRUE(c.read_until_closed(got));
    const RawAnswer answer = parse_raw_answer(got);
    EXPECT_EQ(answer.status, 413) << got.substr(0, 300);
    EXPECT_EQ(answer.json["error"]["message"], "request body too large") << got.substr(0, 300);
  }
  {
    const RawAnswer answer = raw_exchange(port, "POST", "/v1/requests", ann, R"({"app":"figma","role":"viewer"})",
                                          {{"X-Padding", std::string(20 * 1024, 'x')}});
    EXPECT_EQ(answer.status, 431) << answer.body;
    EXPECT_EQ(answer.json["error"]["message"], "request header fields too large") << answer.body;
  }
  {
    // Many small headers add up the same way.
    std::vector<http::Header> many;
    for (int i = 0; i < 2000; ++i) many.push_back({"X-H" + std::to_string(i), "v"});
    const RawAnswer answer = raw_exchange(port, "POST", "/v1/requests", ann, R"({"app":"figma","role":"viewer"})", many);
    EXPECT_EQ(answer.status, 431) << answer.body;
  }
  EXPECT_EQ(snapshot(), before);
  EXPECT_EQ(client("ann.lee@acme.com").get("/v1/whoami")->status, 200) << "the daemon serves on";
}

TEST_F(HostileDaemonTest, SlowClientsHoldingConnectionsDoNotStarveOthers) {
  const auto port = daemon->port();
  const std::string& ann = token_of("ann.lee@acme.com");
  // Twenty connections stuck half-way through their headers and ten
  // half-way through a body announced longer than what was sent; more than
  // the daemon's I/O threads and workers together.
  std::vector<std::unique_ptr<RawConnection>> slow;
  for (int i = 0; i < 20; ++i) {
    slow.push_back(std::make_unique<RawConnection>(port));
    ASSERT_TRUE(slow.back()->send_all("POST /v1/requests HTTP/1.1\r\nHost: p\r\nAuthorization: Bearer " + ann +
                                      "\r\nContent-Le"));
  }
  for (int i = 0; i < 10; ++i) {
    slow.push_back(std::make_unique<RawConnection>(port));
    ASSERT_TRUE(slow.back()->send_all("POST /v1/requests HTTP/1.1\r\nHost: p\r\nAuthorization: Bearer " + ann +
                                      "\r\nContent-Length: 100\r\n\r\n{\"app\":\"figma\","));
  }
  // A well-behaved client is served meanwhile.
  const std::string id = submit("carl.diaz@acme.com", {{"app", "figma"}, {"role", "viewer"}});
  EXPECT_FALSE(id.empty());
  EXPECT_EQ(client("carl.diaz@acme.com").get("/v1/whoami")->status, 200);
  // Half-sent requests were never handled: carl's is the only request.
  const Snapshot now = snapshot();
  ASSERT_EQ(now.requests.size(), 1u) << now;
  slow.clear();
  EXPECT_EQ(snapshot(), now);
}

// The daemon's header and idle deadlines are the server's defaults (10 s
// and 60 s); the same server with short ones shows that a client trickling
// bytes cannot hold a connection past them.
TEST(HostileHttpServer, ATricklingClientIsCutOffAtTheDeadlineWithoutReachingTheHandler) {
  std::atomic<int> handled{0};
  http::ServerOptions options;
  options.header_timeout = 300ms;
  options.idle_timeout = 300ms;
  auto server = http::start_server(options, [&](const http::Request&) {
    ++handled;
    return http::Response{};
  });
  ASSERT_TRUE(server) << server.error().message;
  const auto port = (*server)->port();

  auto trickle = [&](const std::string& head, const std::string& rest) {
    RawConnection c(port);
    EXPECT_TRUE(c.send_all(head));
    const auto started = std::chrono::steady_clock::now();
    bool closed = false;
    // One byte every 50 ms: each read sees progress, none completes.
    for (char ch : rest) {
      if (!c.send_all(std::string(1, ch))) {
        closed = true;
        break;
      }
      std::this_thread::sleep_for(50ms);
      if (std::chrono::steady_clock::now() - started > 5s) break;
    }
    std::string got;
    if (!closed) closed = c.read_until_closed(got);
    EXPECT_TRUE(closed) << "the connection outlived its deadline";
    EXPECT_TRUE(got.empty()) << "a timed-out request gets no answer: " << got;
    EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
  };
  // Headers, one byte at a time: the deadline covers the whole block.
  trickle("POST /slow HTTP/1.1\r\n", "Host: p\r\nX-Slow: " + std::string(200, 'a') + "\r\n\r\n");
  // A body, one byte at a time: the deadline covers the whole body.
  trickle("POST /slow HTTP/1.1\r\nHost: p\r\nContent-Length: 200\r\n\r\n", std::string(200, 'b'));
  EXPECT_EQ(handled.load(), 0);

  RawConnection ok(port);
  ASSERT_TRUE(ok.send_all("GET /fine HTTP/1.1\r\nHost: p\r\nConnection: close\r\n\r\n"));
  std::string got;
  EXPECT_TRUE(ok.read_until_closed(got));
  EXPECT_EQ(parse_raw_answer(got).status, 200) << got;
  EXPECT_EQ(handled.load(), 1);
}

TEST(HostileHttpServer, TheParserSeamAnswersLikeTheServer) {
  using Outcome = http::ParsedRequest::Outcome;
  auto parsed = http::parse_request("GET /a?b=c HTTP/1.1\r\nHost: p\r\nX-A: 1\r\n\r\nGET /next", 1024, 16);
  ASSERT_EQ(parsed.outcome, Outcome::complete);
  EXPECT_EQ(parsed.request.method, "GET");
  EXPECT_EQ(parsed.request.target, "/a?b=c");
  ASSERT_NE(parsed.request.header("x-a"), nullptr);
  EXPECT_EQ(parsed.consumed, std::string_view("GET /a?b=c HTTP/1.1\r\nHost: p\r\nX-A: 1\r\n\r\n").size());
  EXPECT_EQ(http::parse_request("POST /a HTTP/1.1\r\nHost: p\r\nContent-Length: 5\r\n\r\nab", 1024, 16).outcome,
            Outcome::incomplete);
  auto chunked = http::parse_request(
      "POST /a HTTP/1.1\r\nHost: p\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n", 1024, 16);
  ASSERT_EQ(chunked.outcome, Outcome::complete);
  EXPECT_EQ(chunked.request.body, "abcde");
  auto big = http::parse_request("POST /a HTTP/1.1\r\nHost: p\r\nContent-Length: 17\r\n\r\n", 1024, 16);
  ASSERT_EQ(big.outcome, Outcome::rejected);
  EXPECT_EQ(big.error.status, 413);
  auto tall = http::parse_request("GET /a HTTP/1.1\r\nHost: p\r\nX: " + std::string(2000, 'x') + "\r\n\r\n", 1024, 16);
  ASSERT_EQ(tall.outcome, Outcome::rejected);
  EXPECT_EQ(tall.error.status, 431);
  for (const std::string garbage : {"this is not http\r\n\r\n", "GET / HTTP/9.9\r\n\r\n",
                                    "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                                    "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", "GET /\x7f HTTP/1.1\r\n\r\n"}) {
    auto bad = http::parse_request(garbage, 1024, 16);
    ASSERT_EQ(bad.outcome, Outcome::rejected) << garbage;
    EXPECT_EQ(bad.error.status, 400) << garbage;
    EXPECT_EQ(Json::parse(bad.error.body)["error"]["message"], "malformed HTTP request");
  }
}

// ---- who is calling -------------------------------------------------------------------------

TEST_F(HostileDaemonTest, MalformedUnknownAndRevokedTokensAre401AndWriteNothing) {
  const std::string ann_id = submit("ann.lee@acme.com", {{"app", "figma"}, {"role", "viewer"}});
  const Snapshot before = snapshot();
  const auto port = daemon->port();
  const std::string request = R"({"app":"figma","role":"viewer"})";
  const std::string& ann = token_of("ann.lee@acme.com");
  struct Case {
    std::vector<http::Header> headers;
    std::string says;
  };
  const std::vector<Case> cases = {
      {{}, "an Authorization: Bearer token is required"},
      {{{"Authorization", "Bearer"}}, "the bearer token is not known"},
      {{{"Authorization", "Bearer "}}, "the bearer token is not known"},
      {{{"Authorization", "Basic " + ann}}, "the bearer token is not known"},
      {{{"Authorization", ann}}, "the bearer token is not known"},
      {{{"Authorization", "Bearer " + ann + "x"}}, "the bearer token is not known"},
      {{{"Authorization", "Bearer " + ann.substr(0, ann.size() - 1)}}, "the bearer token is not known"},
      {{{"Authorization", "Bearer  " + ann}}, "the bearer token is not known"},
      {{{"Authorization", "Bearer " + token_hash(ann)}}, "the bearer token is not known"},  // the stored hash
      {{{"X-Api-Token", ann}}, "an Authorization: Bearer token is required"},
  };
  for (const auto& c : cases) {
    const RawAnswer got = raw_exchange(port, "POST", "/v1/requests", "", request, c.headers);
    const std::string what = c.headers.empty() ? "no header" : c.headers[0].name + ": " + c.headers[0].value;
    EXPECT_EQ(got.status, 401) << what << ": " << got.body;
    EXPECT_EQ(got.json["error"]["code"], "unauthorized") << what;
    EXPECT_EQ(got.json["error"]["message"], c.says) << what;
    EXPECT_EQ(got.body.find(ann), std::string::npos) << "the answer echoes the token";
  }
  // A token in the query string is not a credential.
  EXPECT_EQ(raw_exchange(port, "GET", "/v1/whoami?access_token=" + ann, "").status, 401);
  EXPECT_EQ(snapshot(), before);

  // Tokens have no expiry of their own: a token ends when its line leaves
  // the principals file and the daemon restarts. Ann's is gone, Carl's stays.
  daemon->stop();
  daemon.reset();
  std::vector<Person> remaining;
  for (const auto& p : people) {
    if (p.name != "ann.lee@acme.com") remaining.push_back(p);
  }
  write_principals(remaining);
  start();
  ASSERT_TRUE(daemon);
  const Snapshot restarted = snapshot();
  const RawAnswer revoked = raw_exchange(daemon->port(), "POST", "/v1/requests", ann, request);
  EXPECT_EQ(revoked.status, 401) << revoked.body;
  EXPECT_EQ(revoked.json["error"]["message"], "the bearer token is not known");
  const RawAnswer cancel = raw_exchange(daemon->port(), "POST", "/v1/requests/" + ann_id + "/cancel", ann);
  EXPECT_EQ(cancel.status, 401) << cancel.body;
  EXPECT_EQ(snapshot(), restarted);
  EXPECT_EQ(client("carl.diaz@acme.com").get("/v1/whoami")->status, 200);
}

TEST_F(HostileDaemonTest, APrincipalCannotActOrReadAsSomeoneElse) {
  const std::string id = awaiting_bob();
  const Snapshot before = snapshot();
  const auto port = daemon->port();
  // Headers a proxy might add do not change who is calling: Chloe stays a
  // stranger to Carl's request however she dresses it up.
  const RawAnswer dressed = raw_exchange(port, "POST", "/v1/requests/" + id + "/approve",
                                         token_of("chloe.martin@acme.com"), "",
                                         {{"X-Forwarded-User", "bob.stone@acme.com"},
                                          {"X-Remote-User", "bob.stone@acme.com"},
                                          {"X-Portcullis-Principal", "bob.stone@acme.com"}});
  EXPECT_EQ(dressed.status, 404) << dressed.body;
  EXPECT_EQ(dressed.body.find("carl.diaz"), std::string::npos) << "a stranger learns nothing: " << dressed.body;
  // A second Authorization header does not add a second identity.
  const RawAnswer doubled = raw_exchange(port, "POST", "/v1/requests/" + id + "/approve",
                                         token_of("chloe.martin@acme.com"), "",
                                         {{"Authorization", "Bearer " + token_of("bob.stone@acme.com")}});
  EXPECT_EQ(doubled.status, 404) << doubled.body;
  // Naming the approver in the body is refused before anything happens;
  // the requester trying it leaves no refusal in the evidence either.
  auto carl = client("carl.diaz@acme.com");
  expect_invalid(carl.post("/v1/requests/" + id + "/approve", R"({"approver":"bob.stone@acme.com"})"), "approver",
                 "unknown field", "approve naming bob");
  expect_invalid(carl.post("/v1/requests/" + id + "/deny", R"({"reason":"x","actor":"bob.stone@acme.com"})"), "actor",
                 "unknown field", "deny naming bob");
  // Reading other people's lists.
  auto listed = carl.get("/v1/requests?requester=bob.stone%40acme.com");
  ASSERT_TRUE(listed);
  EXPECT_EQ(listed->status, 403) << listed->body;
  EXPECT_EQ(json_of(listed)["error"]["field"], "requester");
  const Json chloe_waits = json_of(client("chloe.martin@acme.com").get("/v1/approvals"));
  EXPECT_TRUE(chloe_waits["requests"].empty()) << chloe_waits.dump();
  EXPECT_EQ(client("chloe.martin@acme.com").get("/v1/audit/head")->status, 403);
  EXPECT_EQ(snapshot(), before);
  EXPECT_EQ(status_of(id), "awaiting_approval");
}

// ---- policy reloads ---------------------------------------------------------------------------

TEST_F(HostileDaemonTest, HugeDeepOrNonUtf8PolicyFilesAreRefusedOnReloadAndTheOldOneServes) {
  auto admin = client("it-admin@acme.com");
  const Json catalog = json_of(admin.get("/v1/catalog"));
  const Snapshot before = snapshot();
  const std::string path = dir.file("examples/acme/apps/workplace.policy");
  std::string original;
  {
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    original = text.str();
  }
  auto refused_with = [&](const std::string& code, const std::string& what) {
    const auto started = std::chrono::steady_clock::now();
    auto refused = admin.post("/v1/policy/reload", "");
    ASSERT_TRUE(refused) << what;
    EXPECT_EQ(refused->status, 422) << what << ": " << refused->body.substr(0, 500);
    const Json why = json_of(refused);
    EXPECT_EQ(why["error"]["code"], "policy_invalid") << what;
    EXPECT_NE(why["error"].value("message", "").find("the previous policy keeps serving"), std::string::npos) << what;
    bool named = false;
    for (const auto& d : why["diagnostics"]) named = named || d.dump().find(code) != std::string::npos;
    EXPECT_TRUE(named) << what << ": no " << code << " in " << why["diagnostics"].dump().substr(0, 500);
    EXPECT_LT(std::chrono::steady_clock::now() - started, 10s) << what << " took too long to refuse";
  };

  // 64 MiB is the limit for one file; this one is one byte over (sparse:
  // written in no time).
  std::filesystem::resize_file(path, (64u << 20) + 1);
  refused_with("E0901", "a file over the size limit");
  // Lists nested 200,000 deep.
  std::ofstream(path, std::ios::binary | std::ios::trunc)
      << original << "\nprovider sandbox \"deep\" {\n  description: " << std::string(200'000, '[') << "\n}\n";
  refused_with("E0902", "lists nested too deep");
  // A condition nested 200,000 parentheses deep.
  std::ofstream(path, std::ios::binary | std::ios::trunc)
      << original << "\napp deeper \"Deeper\" {\n  owner: \"ann.lee@acme.com\"\n  bucket: routine\n  role viewer {\n"
      << "    grants: sandbox.okta group \"deeper\"\n    approve: auto when " << std::string(200'000, '(') << "true"
      << std::string(200'000, ')') << " else manager\n  }\n}\n";
  refused_with("E0902", "a condition nested too deep");
  std::ofstream(path, std::ios::binary | std::ios::trunc) << original << "\n# caf\xc3\x28\n";
  refused_with("E0109", "invalid UTF-8");

  EXPECT_EQ(json_of(admin.get("/v1/catalog")), catalog) << "the old policy still serves";
  EXPECT_EQ(snapshot(), before);
  const std::string id = submit("ann.lee@acme.com", {{"app", "figma"}, {"role", "viewer"}});
  EXPECT_FALSE(id.empty());
  std::ofstream(path, std::ios::binary | std::ios::trunc) << original;
  EXPECT_EQ(admin.post("/v1/policy/reload", "")->status, 200);
}

// ---- the store ----------------------------------------------------------------------------------

TEST_F(HostileDaemonTest, AReadOnlyDatabaseFileStopsTheStartAndIsLeftAlone) {
  submit("ann.lee@acme.com", {{"app", "figma"}, {"role", "viewer"}});
  settle();
  daemon->stop();
  daemon.reset();
  auto read_all = [&] {
    std::ifstream in(dir.file("state.db"), std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  };
  const std::string bytes = read_all();
  ASSERT_FALSE(bytes.empty());

  auto options = this->options();
  options.db_path = "file:" + dir.file("state.db") + "?mode=ro";
  auto refused = Daemon::start(options);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::io);
  EXPECT_NE(refused.error().message.find("read-only"), std::string::npos) << refused.error().message;
  if (geteuid() != 0) {  // root ignores file modes
    ASSERT_EQ(::chmod(dir.file("state.db").c_str(), 0444), 0);
    auto denied = Daemon::start(this->options());
    ASSERT_FALSE(denied);
    EXPECT_NE(denied.error().message.find("read-only"), std::string::npos) << denied.error().message;
    ASSERT_EQ(::chmod(dir.file("state.db").c_str(), 0644), 0);
  }
  EXPECT_EQ(read_all(), bytes) << "a refused start wrote to the file";
  start();
  ASSERT_TRUE(daemon);
  EXPECT_EQ(snapshot().requests.size(), 1u);
}

// While the limit is set, any write past the first byte of any file fails
// the way a full disk does (SQLite sees the write fail).
class FileSizeLimit {
 public:
  FileSizeLimit() {
    previous_handler_ = std::signal(SIGXFSZ, SIG_IGN);  // EFBIG instead of a killed process
    ::getrlimit(RLIMIT_FSIZE, &previous_);
    rlimit tiny = previous_;
    tiny.rlim_cur = 1;
    ok_ = ::setrlimit(RLIMIT_FSIZE, &tiny) == 0;
  }
  ~FileSizeLimit() {
    ::setrlimit(RLIMIT_FSIZE, &previous_);
    std::signal(SIGXFSZ, previous_handler_);
  }
  FileSizeLimit(const FileSizeLimit&) = delete;
  FileSizeLimit& operator=(const FileSizeLimit&) = delete;
  bool ok() const { return ok_; }

 private:
  rlimit previous_{};
  void (*previous_handler_)(int) = nullptr;
  bool ok_ = false;
};

TEST_F(HostileDaemonTest, AFullDiskIs503WithAClearMessageAndLeavesNoHalfWrittenRequest) {
  const std::string id = awaiting_bob();
  const Snapshot before = snapshot();
  auto ann = client("ann.lee@acme.com");
  auto bob = client("bob.stone@acme.com");
  Result<http::Response> submitted = make_error(ErrorCode::io, "not sent");
  Result<http::Response> approved = make_error(ErrorCode::io, "not sent");
  {
    FileSizeLimit full;
    ASSERT_TRUE(full.ok());
    submitted = ann.post("/v1/requests", R"({"app":"figma","role":"viewer"})");
    approved = bob.post("/v1/requests/" + id + "/approve", "");
  }
  for (const auto* answer : {&submitted, &approved}) {
    ASSERT_TRUE(*answer) << answer->error().message;
    EXPECT_EQ((*answer)->status, 503) << (*answer)->body;
    const Json body = json_of(*answer);
    EXPECT_EQ(body["error"]["code"], "unavailable");
    EXPECT_NE(body["error"].value("message", "").find("the store is unavailable"), std::string::npos)
        << (*answer)->body;
  }
  EXPECT_EQ(snapshot(), before);
  // Once there is room again, the same calls go through.
  EXPECT_FALSE(submit("ann.lee@acme.com", {{"app", "figma"}, {"role", "viewer"}}).empty());
  auto again = bob.post("/v1/requests/" + id + "/approve", "");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200) << again->body;
}

// ---- webhooks -----------------------------------------------------------------------------------

// Stands in for Slack's Web API and Jira's REST API: Slack calls succeed
// (users.info knows Bob and Chloe by Slack id); every Jira call is a 404,
// so the tracker's effects give up at once and the store goes quiet.
class RemoteStub {
 public:
  RemoteStub() {
    auto server = http::start_server({}, [this](const http::Request& request) { return handle(request); });
    if (!server) throw std::runtime_error(server.error().message);
    server_ = std::move(*server);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(server_->port()); }
  int calls(std::string_view prefix) const {
    std::lock_guard lock(mutex_);
    int n = 0;
    for (const auto& path : paths_) n += path.starts_with(prefix) ? 1 : 0;
    return n;
  }

 private:
  http::Response handle(const http::Request& request) {
    {
      std::lock_guard lock(mutex_);
      paths_.emplace_back(request.path());
    }
    http::Response response;
    if (request.path() == "/slack/users.info") {
      std::string user;
      for (const auto& [key, value] : http::parse_query(request.query())) {
        if (key == "user") user = value;
      }
      const std::map<std::string, std::string> emails = {{"U0BOB", "bob.stone@acme.com"},
                                                          {"U0CHLOE", "chloe.martin@acme.com"}};
      const auto it = emails.find(user);
      response.body = it == emails.end()
                          ? Json{{"ok", false}, {"error", "user_not_found"}}.dump()
                          : Json{{"ok", true}, {"user", {{"id", user}, {"profile", {{"email", it->second}}}}}}.dump();
    } else if (request.path().starts_with("/slack/")) {
      response.body = Json{{"ok", true}, {"channel", "C0ACCESS"}, {"ts", "1700000000.000100"},
                           {"user", {{"id", "U0SOMEONE"}}}}.dump();
    } else {
      response.status = 404;
      response.body = R"({"errorMessages":["not in this stub"],"errors":{}})";
    }
    return response;
  }

  mutable std::mutex mutex_;
  std::vector<std::string> paths_;
  std::unique_ptr<http::Server> server_;
};

constexpr const char* kSlackSecret = "slack-signing-secret-for-tests";
constexpr const char* kJiraSecret = "jira-webhook-secret-for-tests";

std::string slack_sign(const std::string& secret, const std::string& timestamp, const std::string& body) {
  return "v0=" + connectors::hmac_sha256_hex(secret, "v0:" + timestamp + ":" + body);
}

std::string jira_sign(const std::string& secret, const std::string& body) {
  return "sha256=" + connectors::hmac_sha256_hex(secret, body);
}

std::string now_text(std::int64_t offset = 0) { return std::to_string(static_cast<std::int64_t>(std::time(nullptr)) + offset); }

class HostileWebhookTest : public HostileDaemonTest {
 protected:
  void prepare() override {
    ::setenv("PORTCULLIS_HOSTILE_SLACK_TOKEN", "xoxb-test", 1);
    ::setenv("PORTCULLIS_HOSTILE_SLACK_SECRET", kSlackSecret, 1);
    ::setenv("PORTCULLIS_HOSTILE_JIRA_TOKEN", "jira-api-token", 1);
    ::setenv("PORTCULLIS_HOSTILE_JIRA_SECRET", kJiraSecret, 1);
    const std::string providers = dir.file("examples/acme/providers.policy");
    std::ifstream in(providers);
    std::stringstream text;
    text << in.rdbuf();
    std::string policy = text.str();
    const auto tracker = policy.find("tracker sandbox {}");
    ASSERT_NE(tracker, std::string::npos);
    policy = policy.substr(0, tracker);  // the tracker and chat come last
    policy += "tracker jira {\n  url: \"" + stub.url() + "/jira\"\n  project: \"ACC\"\n"
              "  approved_status: \"Approved\"\n  user: \"portcullis-bot@acme.com\"\n"
              "  token: env(\"PORTCULLIS_HOSTILE_JIRA_TOKEN\")\n"
              "  webhook_secret: env(\"PORTCULLIS_HOSTILE_JIRA_SECRET\")\n}\n\n"
              "chat slack {\n  api_url: \"" + stub.url() + "/slack\"\n  channel: \"#access-requests\"\n"
              "  token: env(\"PORTCULLIS_HOSTILE_SLACK_TOKEN\")\n"
              "  signing_secret: env(\"PORTCULLIS_HOSTILE_SLACK_SECRET\")\n}\n";
    std::ofstream(providers, std::ios::trunc) << policy;
  }

  DaemonOptions options() override {
    auto options = HostileDaemonTest::options();
    options.executor.max_attempts = 1;  // the stub's failures are final: no retries running in the background
    return options;
  }

  // A click on a card's button, as Slack posts it.
  static std::string slack_click(const std::string& request_id, const std::string& user_id,
                                 const std::string& action = "approve",
                                 const std::string& action_ts = "1700000000.000001") {
    const Json payload = {
        {"type", "block_actions"},
        {"user", {{"id", user_id}}},
        {"trigger_id", "trigger.1"},
        {"actions", {{{"action_id", action}, {"value", connectors::slack::button_value(request_id, 0)},
                      {"action_ts", action_ts}, {"type", "button"}}}}};
    return "payload=" + http::url_encode(payload.dump());
  }

  http::Response post_slack(const std::string& body, const std::string& timestamp, const std::string& signature) {
    std::vector<http::Header> headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
    if (!timestamp.empty()) headers.push_back({"X-Slack-Request-Timestamp", timestamp});
    if (!signature.empty()) headers.push_back({"X-Slack-Signature", signature});
    auto response = client("").post("/webhooks/slack", body, headers);
    EXPECT_TRUE(response) << response.error().message;
    return response ? *response : http::Response{};
  }

  http::Response post_jira(const std::string& body, const std::string& signature, const std::string& delivery = {}) {
    std::vector<http::Header> headers = {{"Content-Type", "application/json"}};
    if (!signature.empty()) headers.push_back({"X-Hub-Signature", signature});
    if (!delivery.empty()) headers.push_back({"X-Atlassian-Webhook-Identifier", delivery});
    auto response = client("").post("/webhooks/jira", body, headers);
    EXPECT_TRUE(response) << response.error().message;
    return response ? *response : http::Response{};
  }

  // Ann files ACC-7 in Jira asking for Figma viewer.
  static std::string issue_created() {
    return Json{{"webhookEvent", "jira:issue_created"},
                {"issue",
                 {{"key", "ACC-7"},
                  {"fields",
                   {{"project", {{"key", "ACC"}}},
                    {"issuetype", {{"name", "Access request"}}},
                    {"summary", "Figma for the design review"},
                    {"reporter", {{"accountId", "acc-ann"}, {"emailAddress", "ann.lee@acme.com"}}},
                    {"customfield_app", "figma"},
                    {"customfield_role", "viewer"}}}}}}
        .dump();
  }

  static void expect_error(const http::Response& response, int status, const std::string& code,
                           const std::string& says, const std::string& what) {
    EXPECT_EQ(response.status, status) << what << ": " << response.body;
    const Json body = Json::parse(response.body, nullptr, false);
    ASSERT_TRUE(body.is_object()) << what << ": " << response.body;
    EXPECT_EQ(body["error"]["code"], code) << what << ": " << response.body;
    EXPECT_NE(body["error"].value("message", "").find(says), std::string::npos) << what << ": " << response.body;
  }

  RemoteStub stub;
};

TEST_F(HostileWebhookTest, ForgedTamperedStaleAndUnsignedSlackClicksAre401AndChangeNothing) {
  const std::string id = awaiting_bob();
  const Snapshot before = snapshot();
  const int lookups = stub.calls("/slack/users.info");
  const std::string body = slack_click(id, "U0BOB");
  const std::string ts = now_text();
  const std::string good = slack_sign(kSlackSecret, ts, body);

  expect_error(post_slack(body, "", ""), 401, "unauthorized", "X-Slack-Request-Timestamp and X-Slack-Signature are required",
               "unsigned");
  expect_error(post_slack(body, ts, ""), 401, "unauthorized", "are required", "no signature");
  expect_error(post_slack(body, "", good), 401, "unauthorized", "are required", "no timestamp");
  expect_error(post_slack(body, ts, slack_sign("not-the-secret", ts, body)), 401, "unauthorized",
               "X-Slack-Signature does not match the body", "wrong secret");
  expect_error(post_slack(slack_click(id, "U0BOB", "deny"), ts, good), 401, "unauthorized", "does not match",
               "approve turned into deny after signing");
  expect_error(post_slack(body + "&extra=1", ts, good), 401, "unauthorized", "does not match", "appended field");
  expect_error(post_slack(body, now_text(1), good), 401, "unauthorized", "does not match", "timestamp moved");
  expect_error(post_slack(body, ts, "v0=" + std::string(64, '0')), 401, "unauthorized", "does not match", "zeros");
  expect_error(post_slack(body, ts, "v1=" + good.substr(3)), 401, "unauthorized", "does not match", "version");
  expect_error(post_slack(body, ts, good.substr(0, good.size() - 1)), 401, "unauthorized", "does not match",
               "truncated");
  const std::string old = now_text(-301);
  expect_error(post_slack(body, old, slack_sign(kSlackSecret, old, body)), 401, "unauthorized",
               "more than 5 minutes", "signed 5 minutes ago");
  const std::string ahead = now_text(3600);
  expect_error(post_slack(body, ahead, slack_sign(kSlackSecret, ahead, body)), 401, "unauthorized",
               "more than 5 minutes", "signed an hour ahead");
  expect_error(post_slack(body, "soon", slack_sign(kSlackSecret, "soon", body)), 401, "unauthorized",
               "more than 5 minutes", "timestamp not a number");
  // Signed correctly but not a click on one of our buttons: 400.
  for (const std::string& junk : {std::string("payload=%7B"), std::string("{\"type\":\"block_actions\"}"),
                                 "payload=" + http::url_encode(R"({"type":"view_submission"})"),
                                 std::string("token=abc")}) {
    expect_error(post_slack(junk, ts, slack_sign(kSlackSecret, ts, junk)), 400, "invalid", "slack interaction:",
                 "signed junk " + junk);
  }
  auto get = client("").get("/webhooks/slack");
  EXPECT_EQ(get->status, 405) << get->body;
  auto elsewhere = client("").post("/webhooks/github", "{}");
  EXPECT_EQ(elsewhere->status, 404) << elsewhere->body;

  EXPECT_EQ(stub.calls("/slack/users.info"), lookups) << "nobody was looked up for a refused delivery";
  EXPECT_EQ(snapshot(), before);
  // None of the refused attempts used up the click: the genuine one applies.
  const http::Response genuine = post_slack(body, ts, good);
  EXPECT_EQ(genuine.status, 200) << genuine.body;
  EXPECT_NE(genuine.body.find("Approved " + id), std::string::npos) << genuine.body;
  EXPECT_NE(status_of(id), "awaiting_approval");
}

TEST_F(HostileWebhookTest, AReplayedSlackClickIs409AndIsNotAppliedTwice) {
  const std::string id = awaiting_bob();
  const std::string body = slack_click(id, "U0BOB");
  const std::string ts = now_text();
  const http::Response first = post_slack(body, ts, slack_sign(kSlackSecret, ts, body));
  EXPECT_EQ(first.status, 200) << first.body;
  EXPECT_NE(first.body.find("Approved " + id), std::string::npos) << first.body;
  const Snapshot after_first = snapshot();

  // The same bytes again, and the same click re-signed a little later (as a
  // replayer holding an old delivery and the clock cannot produce, but
  // Slack's own retry can).
  expect_error(post_slack(body, ts, slack_sign(kSlackSecret, ts, body)), 409, "replayed",
               "this Slack action was already applied", "replay");
  const std::string later = now_text(5);
  expect_error(post_slack(body, later, slack_sign(kSlackSecret, later, body)), 409, "replayed", "already applied",
               "re-signed replay");
  EXPECT_EQ(snapshot(), after_first);

  // Another click by someone who may not decide is refused as a decision,
  // and recorded as such (that is evidence, not a replay).
  const std::string chloe = slack_click(id, "U0CHLOE", "deny", "1700000000.000002");
  const http::Response refused = post_slack(chloe, ts, slack_sign(kSlackSecret, ts, chloe));
  EXPECT_EQ(refused.status, 200) << refused.body;
  EXPECT_NE(refused.body.find("ephemeral"), std::string::npos) << refused.body;
  EXPECT_NE(status_of(id), "denied");
}

TEST_F(HostileWebhookTest, ForgedOrMalformedJiraDeliveriesAre401Or400AndCreateNothing) {
  const Snapshot before = snapshot();
  ASSERT_TRUE(before.requests.empty());
  const std::string body = issue_created();
  const std::string good = jira_sign(kJiraSecret, body);
  const std::string says = "X-Hub-Signature is missing or does not match the body";
  expect_error(post_jira(body, ""), 401, "unauthorized", says, "unsigned");
  expect_error(post_jira(body, jira_sign("not-the-secret", body)), 401, "unauthorized", says, "wrong secret");
  std::string tampered = body;
  tampered.replace(tampered.find("\"viewer\""), 8, "\"admin\" ");
  expect_error(post_jira(tampered, good), 401, "unauthorized", says, "role changed after signing");
  expect_error(post_jira(body + "\n", good), 401, "unauthorized", says, "trailing newline");
  expect_error(post_jira(body, "sha1=" + good.substr(7, 40)), 401, "unauthorized", says, "sha1");
  expect_error(post_jira(body, good.substr(7)), 401, "unauthorized", says, "no prefix");
  expect_error(post_jira(body, good + "00"), 401, "unauthorized", says, "too long");
  expect_error(post_jira(body, "sha256=" + std::string(64, 'g')), 401, "unauthorized", says, "not hex");
  expect_error(post_jira("", jira_sign(kJiraSecret, "")), 400, "invalid", "jira webhook: the body is not JSON",
               "signed empty body");
  for (const auto& [junk, why] : std::vector<std::pair<std::string, std::string>>{
           {"{\"webhookEvent\":", "the body is not JSON"},
           {"[1,2]", "the body is not a JSON object"},
           {R"({"issue":{"key":"ACC-1"}})", "no \"webhookEvent\""},
           {R"({"webhookEvent":"jira:issue_created","issue":[]})", "\"issue\" is not an object"},
           {R"({"webhookEvent":"jira:issue_created","issue":{"fields":{}}})", "no issue key"},
           {R"({"webhookEvent":"jira:issue_created","issue":{"key":"ACC-1","fields":"x"}})",
            "\"issue.fields\" is not an object"},
           {"{\"webhookEvent\":\"jira:issue_created\",\"x\":\"\xff\"}", "the body is not JSON"}}) {
    expect_error(post_jira(junk, jira_sign(kJiraSecret, junk)), 400, "invalid", why, "signed junk " + why);
  }
  EXPECT_EQ(snapshot(), before);
  // The refused deliveries did not burn the delivery id either.
  const http::Response genuine = post_jira(body, good, "delivery-1");
  EXPECT_EQ(genuine.status, 201) << genuine.body;
}

TEST_F(HostileWebhookTest, AReplayedJiraDeliveryIsAcknowledgedAndNotAppliedTwice) {
  const std::string body = issue_created();
  const std::string signature = jira_sign(kJiraSecret, body);
  const http::Response first = post_jira(body, signature, "delivery-7");
  ASSERT_EQ(first.status, 201) << first.body;
  const std::string id = Json::parse(first.body)["request_id"].get<std::string>();
  const Snapshot after_first = snapshot();
  ASSERT_EQ(after_first.requests.size(), 1u);

  const http::Response replay = post_jira(body, signature, "delivery-7");
  EXPECT_EQ(replay.status, 200) << replay.body;
  EXPECT_EQ(Json::parse(replay.body, nullptr, false), Json({{"duplicate", true}})) << replay.body;
  // A redelivery under a new id is still the same issue: the same request.
  const http::Response again = post_jira(body, signature, "delivery-8");
  EXPECT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(Json::parse(again.body, nullptr, false).value("request_id", ""), id) << again.body;
  EXPECT_EQ(snapshot(), after_first);
}

}  // namespace
}  // namespace portcullis::runtime::testing
