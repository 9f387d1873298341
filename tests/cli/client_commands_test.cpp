// End-to-end tests of the client verbs (token, request, approve, deny,
// status): a real daemon runs inside this test process on a free port with
// the acme policy and directory, and the built `portcullis` binary talks to
// it as a user would, its token in a --token-file.
//
// The people (examples/acme/directory.json, rules in examples/acme/tests/):
// - ann.lee: full-time engineer; figma.viewer is automatic for her.
// - carl.diaz: contractor engineer; figma.editor needs his manager.
// - bob.stone: their manager.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "run_cli.hpp"
#include "runtime/daemon.hpp"
#include "runtime/principals.hpp"

namespace portcullis {
namespace {

using testing::CliResult;
using testing::run_cli;
using testing::TempDir;

constexpr const char* kAnn = "ann.lee@acme.com";
constexpr const char* kCarl = "carl.diaz@acme.com";
constexpr const char* kBob = "bob.stone@acme.com";

class ClientCommandsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // The child inherits this process's environment: a developer's own
    // settings must not leak into what the tests assert.
    unsetenv("PORTCULLIS_TOKEN");
    unsetenv("PORTCULLIS_URL");

    dir_ = std::make_unique<TempDir>();
    nlohmann::json principals = {{"principals", nlohmann::json::array()}};
    for (const char* person : {kAnn, kCarl, kBob}) {
      const runtime::NewToken token = runtime::make_token();
      tokens_[person] = token.token;
      token_files_[person] = dir_->write(std::string("tokens/") + person, token.token + "\n");
      principals["principals"].push_back({{"name", person}, {"token_sha256", token.sha256}});
    }

    runtime::DaemonOptions options;
    options.policy_path = PORTCULLIS_SOURCE_DIR "/examples/acme/acme.policy";
    options.directory_path = PORTCULLIS_SOURCE_DIR "/examples/acme/directory.json";
    options.db_path = dir_->path() + "/portcullis.db";
    options.principals_path = dir_->write("principals.json", principals.dump());
    options.listen = "127.0.0.1:0";
    options.worker_threads = 8;
    // The tests only read their own files; durability is not what they test.
    options.synchronous = runtime::SqliteOptions::Synchronous::normal;
    auto daemon = runtime::Daemon::start(std::move(options));
    ASSERT_TRUE(daemon.ok()) << daemon.error().message;
    daemon_ = std::move(*daemon);
    url_ = "http://127.0.0.1:" + std::to_string(daemon_->port());
  }

  void SetUp() override { ASSERT_NE(daemon_, nullptr) << "the daemon did not start"; }

  static void TearDownTestSuite() {
    if (daemon_) daemon_->stop();
    daemon_.reset();
    dir_.reset();
  }

  // `portcullis args... --url URL --token-file FILE-OF(person)`.
  static CliResult as(const std::string& person, std::vector<std::string> args) {
    args.insert(args.end(), {"--url", url_, "--token-file", token_files_.at(person)});
    return run_cli(args);
  }

  // Submits a request as `person` and returns its id (read from --json).
  static std::string submit(const std::string& person, const std::string& app, const std::string& role,
                            std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"request", app, role, "--json"};
    args.insert(args.end(), extra.begin(), extra.end());
    const CliResult result = as(person, args);
    EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
    const auto json = nlohmann::json::parse(result.out, nullptr, false);
    if (json.is_discarded() || !json.contains("request")) {
      ADD_FAILURE() << "not JSON: " << result.out;
      return {};
    }
    return json["request"]["id"].get<std::string>();
  }

  static std::string wait_for_status(const std::string& id, interpreter::Status status) {
    auto state = daemon_->engine().wait_for(id, {status}, std::chrono::seconds(20));
    if (!state) return "error: " + state.error().message;
    return std::string(interpreter::status_name(state->status));
  }

  static inline std::unique_ptr<TempDir> dir_;
  static inline std::unique_ptr<runtime::Daemon> daemon_;
  static inline std::string url_;
  static inline std::map<std::string, std::string> tokens_;
  static inline std::map<std::string, std::string> token_files_;
};

// ---- token -------------------------------------------------------------------

TEST(TokenCommandTest, NewPrintsATokenAndItsPrincipalsLine) {
  const CliResult result = run_cli({"token", "new", "--principal", "dana@acme.com", "--admin"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto newline = result.out.find('\n');
  ASSERT_NE(newline, std::string::npos);
  const std::string token = result.out.substr(0, newline);
  EXPECT_EQ(token.rfind("pct_", 0), 0u) << token;
  const auto line = nlohmann::json::parse(result.out.substr(newline + 1));
  EXPECT_EQ(line["name"], "dana@acme.com");
  EXPECT_EQ(line["admin"], true);
  EXPECT_EQ(line["token_sha256"], runtime::token_hash(token));
  // The line is accepted by the daemon's own loader as it is.
  auto principals = runtime::Principals::from_json({{"principals", {line}}}, "test");
  ASSERT_TRUE(principals.ok()) << principals.error().message;
  ASSERT_NE(principals->authenticate(token), nullptr);
  EXPECT_TRUE(principals->authenticate(token)->admin);

  // Two runs never make the same token.
  const CliResult again = run_cli({"token", "new", "--principal", "dana@acme.com"});
  ASSERT_EQ(again.exit_code, 0);
  EXPECT_NE(again.out.substr(0, again.out.find('\n')), token);
  EXPECT_EQ(nlohmann::json::parse(again.out.substr(again.out.find('\n') + 1))["admin"], false);
}

TEST(TokenCommandTest, HashReadsTheTokenFromStandardInput) {
  const CliResult result = run_cli({"token", "hash"}, {}, "pct_example-token\n");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, runtime::token_hash("pct_example-token") + "\n");
}

TEST(TokenCommandTest, HashWithoutATokenIsAUsageError) {
  const CliResult result = run_cli({"token", "hash"}, {}, "");
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("standard input"), std::string::npos) << result.err;
}

TEST(TokenCommandTest, NewNeedsAPrincipal) { EXPECT_EQ(run_cli({"token", "new"}).exit_code, 2); }

// ---- request, approve, deny, status ---------------------------------------------

TEST_F(ClientCommandsTest, AutoApprovedRequestWaitsUntilActive) {
  const CliResult result = as(kAnn, {"request", "figma", "viewer", "--wait", "--wait-timeout", "60s"});
  ASSERT_EQ(result.exit_code, 0) << result.out << result.err;
  EXPECT_NE(result.out.find("request "), std::string::npos) << result.out;
  // The summary after waiting says it is active.
  EXPECT_TRUE(std::regex_search(result.out, std::regex(R"(request \S+: active)"))) << result.out;
  EXPECT_NE(result.out.find("Figma"), std::string::npos) << "approval card missing:\n" << result.out;
}

TEST_F(ClientCommandsTest, RequestNeedingTheManagerSaysWhoMustApprove) {
  const CliResult result = as(kCarl, {"request", "figma", "editor", "--reason", "design reviews"});
  ASSERT_EQ(result.exit_code, 0) << result.out << result.err;
  EXPECT_TRUE(std::regex_search(result.out, std::regex(R"(request \S+: awaiting_approval)"))) << result.out;
  EXPECT_NE(result.out.find("waiting for: step 1 of 1"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find(kBob), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("design reviews"), std::string::npos) << "card text missing:\n" << result.out;
}

TEST_F(ClientCommandsTest, ManagerApprovesAndStatusShowsActive) {
  const std::string id = submit(kCarl, "figma", "editor");
  ASSERT_FALSE(id.empty());
  const CliResult approved = as(kBob, {"approve", id});
  ASSERT_EQ(approved.exit_code, 0) << approved.out << approved.err;
  EXPECT_NE(approved.out.find("request " + id + ": "), std::string::npos) << approved.out;

  ASSERT_EQ(wait_for_status(id, interpreter::Status::active), "active");
  const CliResult status = as(kCarl, {"status", id});
  ASSERT_EQ(status.exit_code, 0) << status.out << status.err;
  EXPECT_TRUE(std::regex_search(status.out, std::regex(R"(status:\s+active)"))) << status.out;
  EXPECT_TRUE(std::regex_search(status.out, std::regex(R"(requester:\s+carl\.diaz@acme\.com)"))) << status.out;
  EXPECT_NE(status.out.find("figma.editor"), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("approved by bob.stone@acme.com"), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("\"figma-editors\": added"), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("evidence:"), std::string::npos) << status.out;

  // The manager, as an approver of the request, may read it too.
  EXPECT_EQ(as(kBob, {"status", id}).exit_code, 0);
  // Someone unrelated may not: the daemon does not even confirm it exists.
  const CliResult stranger = as(kAnn, {"status", id});
  EXPECT_EQ(stranger.exit_code, 1) << stranger.out << stranger.err;
}

TEST_F(ClientCommandsTest, RequesterCannotApproveTheirOwnRequest) {
  const std::string id = submit(kCarl, "figma", "editor");
  ASSERT_FALSE(id.empty());
  const CliResult result = as(kCarl, {"approve", id});
  EXPECT_EQ(result.exit_code, 1) << result.out << result.err;
  EXPECT_NE(result.err.find("cannot approve their own request"), std::string::npos) << result.err;
  EXPECT_NE(result.out.find("is awaiting_approval"), std::string::npos) << result.out;
}

TEST_F(ClientCommandsTest, ManagerDeniesWithAReason) {
  const std::string id = submit(kCarl, "figma", "editor");
  ASSERT_FALSE(id.empty());
  const CliResult denied = as(kBob, {"deny", id, "--reason", "use the viewer seat"});
  ASSERT_EQ(denied.exit_code, 0) << denied.out << denied.err;
  EXPECT_NE(denied.out.find("request " + id + ": denied"), std::string::npos) << denied.out;
  EXPECT_NE(denied.out.find("use the viewer seat"), std::string::npos) << denied.out;

  const CliResult status = as(kCarl, {"status", id});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  EXPECT_TRUE(std::regex_search(status.out, std::regex(R"(status:\s+denied)"))) << status.out;
  EXPECT_NE(status.out.find("use the viewer seat"), std::string::npos) << status.out;

  // A second decision on a closed request is refused.
  const CliResult again = as(kBob, {"approve", id});
  EXPECT_EQ(again.exit_code, 1) << again.out << again.err;
  EXPECT_NE(again.err.find("denied"), std::string::npos) << again.err;
}

TEST_F(ClientCommandsTest, DenyWithoutAReasonIsAUsageError) {
  const CliResult result = as(kBob, {"deny", "some-id"});
  EXPECT_EQ(result.exit_code, 2) << result.out << result.err;
  EXPECT_NE(result.err.find("--reason"), std::string::npos) << result.err;
}

TEST_F(ClientCommandsTest, StatusListsTheCallersRequestsAndPendingApprovals) {
  const std::string pending = submit(kCarl, "figma", "editor");
  ASSERT_FALSE(pending.empty());

  const CliResult mine = as(kCarl, {"status"});
  ASSERT_EQ(mine.exit_code, 0) << mine.err;
  EXPECT_NE(mine.out.find("ID"), std::string::npos) << mine.out;
  EXPECT_TRUE(std::regex_search(mine.out, std::regex(pending + R"(\s+awaiting_approval\s+figma\.editor)"))) << mine.out;

  const CliResult filtered = as(kCarl, {"status", "--status", "active"});
  ASSERT_EQ(filtered.exit_code, 0) << filtered.err;
  EXPECT_EQ(filtered.out.find(pending), std::string::npos) << filtered.out;

  const CliResult approvals = as(kBob, {"status", "--approvals"});
  ASSERT_EQ(approvals.exit_code, 0) << approvals.err;
  EXPECT_TRUE(std::regex_search(approvals.out, std::regex(pending + R"(\s+carl\.diaz@acme\.com\s+figma\.editor)")))
      << approvals.out;

  // Nobody else's requests show in a person's own list.
  const CliResult anns = as(kAnn, {"status"});
  ASSERT_EQ(anns.exit_code, 0) << anns.err;
  EXPECT_EQ(anns.out.find(pending), std::string::npos) << anns.out;

  const CliResult json = as(kCarl, {"status", "--json", "--app", "figma"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  const auto parsed = nlohmann::json::parse(json.out);
  bool found = false;
  for (const auto& request : parsed["requests"]) found = found || request["id"] == pending;
  EXPECT_TRUE(found) << json.out;

  EXPECT_EQ(as(kCarl, {"status", "--status", "sleeping"}).exit_code, 2);
}

TEST_F(ClientCommandsTest, RequesterCancelsTheirOwnRequest) {
  const std::string id = submit(kCarl, "figma", "editor");
  ASSERT_FALSE(id.empty());
  const CliResult cancelled = as(kCarl, {"cancel", id});
  ASSERT_EQ(cancelled.exit_code, 0) << cancelled.out << cancelled.err;
  EXPECT_NE(cancelled.out.find("request " + id + ": cancelled"), std::string::npos) << cancelled.out;
}

TEST_F(ClientCommandsTest, TriageNeedsExactlyOneDecision) {
  EXPECT_EQ(as(kBob, {"triage", "some-id"}).exit_code, 2);
  EXPECT_EQ(as(kBob, {"triage", "some-id", "--to", "figma.viewer", "--deny", "no"}).exit_code, 2);
  const CliResult malformed = as(kBob, {"triage", "some-id", "--to", "figma"});
  EXPECT_EQ(malformed.exit_code, 2) << malformed.err;
  EXPECT_NE(malformed.err.find("APP.ROLE"), std::string::npos) << malformed.err;
}

TEST_F(ClientCommandsTest, UnknownRequestIsRefused) {
  const CliResult result = as(kCarl, {"status", "no-such-request"});
  EXPECT_EQ(result.exit_code, 1) << result.out << result.err;
  EXPECT_NE(result.err.find("no request"), std::string::npos) << result.err;
}

TEST_F(ClientCommandsTest, RepeatedIdempotencyKeyReturnsTheFirstRequest) {
  const std::string first = submit(kCarl, "figma", "editor", {"--idempotency-key", "carl-figma-1"});
  const std::string second = submit(kCarl, "figma", "editor", {"--idempotency-key", "carl-figma-1"});
  ASSERT_FALSE(first.empty());
  EXPECT_EQ(first, second);
}

TEST_F(ClientCommandsTest, BadDurationIsAUsageError) {
  const CliResult result = as(kCarl, {"request", "figma", "editor", "--duration", "soon"});
  EXPECT_EQ(result.exit_code, 2) << result.out << result.err;
  EXPECT_NE(result.err.find("duration"), std::string::npos) << result.err;
}

TEST_F(ClientCommandsTest, NoTokenIsAUsageError) {
  const CliResult result = run_cli({"status", "--url", url_});
  EXPECT_EQ(result.exit_code, 2) << result.out << result.err;
  EXPECT_NE(result.err.find("PORTCULLIS_TOKEN"), std::string::npos) << result.err;
}

TEST_F(ClientCommandsTest, UnknownTokenIsAUsageError) {
  const std::string file = dir_->write("tokens/unknown", "pct_not-a-known-token\n");
  const CliResult result = run_cli({"status", "--url", url_, "--token-file", file});
  EXPECT_EQ(result.exit_code, 2) << result.out << result.err;
  EXPECT_EQ((result.out + result.err).find("pct_not-a-known-token"), std::string::npos);
}

TEST_F(ClientCommandsTest, UnreachableDaemonNamesTheUrlButNeverTheToken) {
  // A port that was free a moment ago: bind, read the number, close.
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  socklen_t length = sizeof address;
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length), 0);
  close(fd);
  const std::string url = "http://127.0.0.1:" + std::to_string(ntohs(address.sin_port));

  const CliResult result = run_cli({"approve", "some-id", "--url", url, "--token-file", token_files_.at(kBob)});
  EXPECT_EQ(result.exit_code, 2) << result.out << result.err;
  const std::string output = result.out + result.err;
  EXPECT_NE(output.find(url), std::string::npos) << output;
  EXPECT_EQ(output.find(tokens_.at(kBob)), std::string::npos) << output;
}

}  // namespace
}  // namespace portcullis
