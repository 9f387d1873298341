#pragma once
// Shared by the engine and daemon tests: a temporary directory, the acme
// example policy compiled once, and an engine on the sandbox connectors
// that the test drives by hand (manual clock, no background threads).

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "connectors/sandbox/sandbox.hpp"
#include "interpreter/model.hpp"
#include "runtime/engine.hpp"
#include "runtime/sqlite_store.hpp"

namespace portcullis::runtime::testing {

namespace ip = portcullis::interpreter;

inline const std::string kAcmePolicy = std::string(PORTCULLIS_SOURCE_DIR) + "/examples/acme/acme.policy";
inline const std::string kAcmeDirectory = std::string(PORTCULLIS_SOURCE_DIR) + "/examples/acme/directory.json";
inline const std::vector<std::string> kAcmeProviders{"sandbox.okta", "sandbox.entra", "sandbox.google"};
inline constexpr ip::Time kStart = 1'780'000'000;  // 2026-05-28, a fixed instant for the manual clock

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "portcullis-daemon-XXXXXX").string();
    path_ = mkdtemp(pattern.data());
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Copies the acme example under `dir` (examples/acme, with the standard
// module it imports at the same relative place), so a test can change the
// policy and reload it without touching the source tree.
inline void copy_acme_example(const TempDir& dir) {
  std::filesystem::create_directories(dir.file("examples"));
  std::filesystem::create_directories(dir.file("policies"));
  std::filesystem::copy(std::string(PORTCULLIS_SOURCE_DIR) + "/examples/acme", dir.file("examples/acme"),
                        std::filesystem::copy_options::recursive);
  std::filesystem::copy(std::string(PORTCULLIS_SOURCE_DIR) + "/policies/standard", dir.file("policies/standard"),
                        std::filesystem::copy_options::recursive);
}

inline ip::PolicyPtr acme_policy() {
  static const ip::PolicyPtr policy = [] {
    auto compiled = ip::load_policy(kAcmePolicy, dsl::read_file_from_disk);
    EXPECT_TRUE(compiled.policy) << "the acme example must compile";
    return compiled.policy;
  }();
  return policy;
}

inline nlohmann::json acme_directory_json() {
  std::ifstream in(kAcmeDirectory);
  std::stringstream text;
  text << in.rdbuf();
  return nlohmann::json::parse(text.str());
}

// An engine over a store and a sandbox in one file, driven by hand.
struct EngineHarness {
  explicit EngineHarness(std::string db_path, ExecutorOptions executor = {})
      : path(std::move(db_path)), clock(std::make_shared<ManualClock>(kStart)), executor_options(std::move(executor)) {
    open();
    std::string error;
    EXPECT_TRUE(sandbox->load_directory(acme_directory_json(), error)) << error;
  }

  void open() {
    SqliteOptions options;
    options.path = path;
    options.synchronous = SqliteOptions::Synchronous::normal;
    auto opened = open_sqlite_store(options);
    ASSERT_TRUE(opened) << opened.error().message;
    store = std::shared_ptr<Store>(std::move(*opened));
    std::string error;
    connectors::SandboxOptions sandbox_options;
    sandbox_options.db_path = path;
    sandbox = connectors::open_sandbox(sandbox_options, error);
    ASSERT_TRUE(sandbox) << error;
    EngineConfig config;
    config.store = store;
    config.connectors = sandbox->connectors(kAcmeProviders);
    config.policy = acme_policy();
    config.clock = clock;
    config.executor = executor_options;
    auto created = Engine::create(std::move(config));
    ASSERT_TRUE(created) << created.error().message;
    engine = std::move(*created);
  }

  // Drops everything as a crash would leave the file (the store finishes
  // its queued commits; nothing else is flushed).
  void close() {
    engine.reset();
    sandbox.reset();
    store.reset();
  }

  // Runs outbox rows until none is due now.
  std::size_t drain() {
    std::size_t total = 0;
    for (int i = 0; i < 100; ++i) {
      const std::size_t ran = engine->executor().run_once();
      if (ran == 0) break;
      total += ran;
    }
    return total;
  }

  ip::RequestState state(const std::string& id) {
    auto s = engine->get(id);
    EXPECT_TRUE(s) << s.error().message;
    return s ? *s : ip::RequestState{};
  }

  std::string path;
  std::shared_ptr<ManualClock> clock;
  ExecutorOptions executor_options;
  std::shared_ptr<Store> store;
  std::unique_ptr<connectors::Sandbox> sandbox;
  std::unique_ptr<Engine> engine;
};

inline ip::AccessRequest make_request(std::string requester, std::string app, std::string role,
                                      std::optional<ip::Seconds> duration = std::nullopt, std::string reason = "",
                                      std::string ticket = "") {
  ip::AccessRequest r;
  r.requester = std::move(requester);
  r.app = std::move(app);
  r.role = std::move(role);
  r.duration = duration;
  r.justification = std::move(reason);
  r.ticket = std::move(ticket);
  return r;
}

}  // namespace portcullis::runtime::testing
