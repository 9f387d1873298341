// `portcullis serve` killed with SIGKILL in the middle of a burst of
// requests, then restarted on the same database: no acknowledged request
// is lost, every one is carried out, no effect is applied twice, the audit
// chain holds. Also: SIGTERM stops it gracefully.

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <mutex>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "daemon_test_support.hpp"
#include "runtime/http/client.hpp"
#include "runtime/principals.hpp"

namespace portcullis::runtime::testing {
namespace {

using Json = nlohmann::json;

class ServeProcess {
 public:
  ServeProcess(const TempDir& dir, const std::string& log_name) : log_(dir.file(log_name)) {
    pid_ = fork();
    if (pid_ == 0) {
      const int out = open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      dup2(out, 1);
      dup2(out, 2);
      const std::string policy = kAcmePolicy;
      const std::string db = dir.file("state.db");
      const std::string principals = dir.file("principals.json");
      execl(PORTCULLIS_CLI, PORTCULLIS_CLI, "serve", "--policy", policy.c_str(), "--db", db.c_str(), "--listen",
            "127.0.0.1:0", "--principals", principals.c_str(), "--directory", kAcmeDirectory.c_str(), nullptr);
      _exit(127);
    }
  }
  ~ServeProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }

  // The port from the "serving on" line, waiting for it.
  int port() {
    const std::regex serving(R"(serving on http://127\.0\.0\.1:(\d+))");
    for (int i = 0; i < 600; ++i) {
      std::ifstream in(log_);
      std::stringstream text;
      text << in.rdbuf();
      std::smatch match;
      const std::string s = text.str();
      if (std::regex_search(s, match, serving)) return std::stoi(match[1]);
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ADD_FAILURE() << "the daemon did not start:\n" << log();
    return 0;
  }

  std::string log() const {
    std::ifstream in(log_);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  // Sends `signal` and returns the exit status (or -signal when killed).
  int stop_with(int signal) {
    kill(pid_, signal);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    if (WIFSIGNALED(status)) return -WTERMSIG(status);
    return WEXITSTATUS(status);
  }

 private:
  std::string log_;
  pid_t pid_ = -1;
};

class ServeCrashTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const NewToken t = make_token();
    token = t.token;
    Json principals = {{"principals", {{{"name", "ann.lee@acme.com"}, {"token_sha256", t.sha256}}}}};
    std::ofstream(dir.file("principals.json")) << principals.dump();
  }

  http::Client client(int port) {
    return http::Client({"http://127.0.0.1:" + std::to_string(port), token, std::chrono::seconds(30)});
  }

  TempDir dir;
  std::string token;
};

TEST_F(ServeCrashTest, SigkillDuringABurstLosesNothingAndAppliesNothingTwice) {
  std::set<std::string> acknowledged;
  {
    ServeProcess serve(dir, "first.log");
    const int port = serve.port();
    ASSERT_NE(port, 0);
    std::mutex mutex;
    std::atomic<bool> killed{false};
    std::vector<std::thread> clients;
    for (int c = 0; c < 4; ++c) {
      clients.emplace_back([&, c] {
        auto http = client(port);
        for (int i = 0; i < 200 && !killed; ++i) {
          const std::string key = "burst-" + std::to_string(c) + "-" + std::to_string(i);
          auto response = http.post("/v1/requests", Json{{"app", "figma"}, {"role", "viewer"}}.dump(),
                                    {{"Idempotency-Key", key}});
          if (!response || response->status != 201) continue;  // not acknowledged: may or may not exist
          const auto id = Json::parse(response->body)["request"]["id"].get<std::string>();
          std::lock_guard lock(mutex);
          acknowledged.insert(id);
        }
      });
    }
    // Kill while requests are in flight and effects are running.
    for (int i = 0; i < 400; ++i) {
      {
        std::lock_guard lock(mutex);
        if (acknowledged.size() >= 150) break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_EQ(serve.stop_with(SIGKILL), -SIGKILL);
    killed = true;
    for (auto& t : clients) t.join();
  }
  ASSERT_GE(acknowledged.size(), 20u) << "the burst should have been acknowledged in part before the kill";

  ServeProcess serve(dir, "second.log");
  const int port = serve.port();
  ASSERT_NE(port, 0);
  auto http = client(port);
  std::set<std::string> stored;
  std::optional<std::string> after;
  do {
    auto page = http.get("/v1/requests?limit=1000" + (after ? "&after=" + *after : std::string()));
    ASSERT_TRUE(page);
    const Json body = Json::parse(page->body);
    for (const auto& r : body["requests"]) stored.insert(r["id"].get<std::string>());
    after = body["next"].is_null() ? std::nullopt : std::optional<std::string>(body["next"].get<std::string>());
  } while (after);
  for (const auto& id : acknowledged) EXPECT_TRUE(stored.count(id)) << "acknowledged request " << id << " was lost";

  // Every stored request is carried out after the restart.
  for (const auto& id : stored) {
    auto done = http.get("/v1/requests/" + id + "?wait_for=active&timeout_ms=30000");
    ASSERT_TRUE(done);
    EXPECT_EQ(Json::parse(done->body)["request"]["status"], "active") << id;
  }
  EXPECT_EQ(serve.stop_with(SIGTERM), 0) << serve.log();

  // Nothing was applied twice: each request's ticket has its evidence once.
  std::string error;
  connectors::SandboxOptions sandbox_options;
  sandbox_options.db_path = dir.file("state.db");
  sandbox_options.own_file = true;  // as the daemon opens it
  auto sandbox = connectors::open_sandbox(sandbox_options, error);
  ASSERT_TRUE(sandbox) << error;
  for (const auto& id : stored) {
    const auto comments = sandbox->comments(id);
    std::set<std::string> texts;
    int added = 0;
    for (const auto& c : comments) {
      EXPECT_TRUE(texts.insert(c.text).second) << id << ": twice: " << c.text;
      if (c.text.find("added ann.lee@acme.com to sandbox.okta group figma-viewers") != std::string::npos) ++added;
    }
    EXPECT_EQ(added, 1) << id;
  }
  auto verified = verify_sqlite_audit(dir.file("state.db"));
  ASSERT_TRUE(verified) << verified.error().message;
  EXPECT_TRUE(verified->ok) << verified->why;
}

TEST_F(ServeCrashTest, SigtermStopsGracefullyAndARestartServesTheSameData) {
  std::string id;
  {
    ServeProcess serve(dir, "first.log");
    auto http = client(serve.port());
    auto submitted = http.post("/v1/requests", Json{{"app", "figma"}, {"role", "viewer"}}.dump());
    ASSERT_TRUE(submitted);
    ASSERT_EQ(submitted->status, 201);
    id = Json::parse(submitted->body)["request"]["id"].get<std::string>();
    EXPECT_EQ(serve.stop_with(SIGTERM), 0) << serve.log();
    EXPECT_NE(serve.log().find("stopped"), std::string::npos) << serve.log();
    EXPECT_EQ(serve.log().find(token), std::string::npos) << "the token must never be logged";
  }
  ServeProcess serve(dir, "second.log");
  auto http = client(serve.port());
  auto done = http.get("/v1/requests/" + id + "?wait_for=active&timeout_ms=30000");
  ASSERT_TRUE(done);
  EXPECT_EQ(Json::parse(done->body)["request"]["status"], "active");
}

}  // namespace
}  // namespace portcullis::runtime::testing
