#pragma once
// The whole daemon in one object: the store, the sandbox connectors, the
// engine (timers and effect executor), the API and the HTTP server, started
// and stopped in the right order. `portcullis serve`, `portcullis demo` and
// the integration tests all start it through here.
//
// Start order: store (migrations) -> connectors -> policy (checked fully;
// a policy with errors never starts) -> engine threads -> HTTP server.
// Stop order is the reverse: stop accepting and finish the HTTP requests in
// flight, then let the executor finish the effects it is running (rows not
// yet started stay in the outbox for the next start), then close the store.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "connectors/sandbox/sandbox.hpp"
#include "runtime/api.hpp"
#include "runtime/connector_setup.hpp"
#include "runtime/connector_state.hpp"
#include "runtime/engine.hpp"
#include "runtime/http/server.hpp"
#include "runtime/sqlite_store.hpp"
#include "runtime/webhooks.hpp"

namespace portcullis::runtime {

struct DaemonOptions {
  std::string policy_path;
  std::string db_path;
  std::string listen = "127.0.0.1:8080";  // ADDR:PORT; port 0 picks a free one
  std::string principals_path;
  // People and groups loaded into the sandbox directory at start (the
  // directory JSON format); without it the sandbox keeps what it has.
  std::optional<std::string> directory_path;
  std::size_t io_threads = 2;
  std::size_t worker_threads = 64;
  SqliteOptions::Synchronous synchronous = SqliteOptions::Synchronous::full;
  ExecutorOptions executor;
  std::chrono::microseconds sandbox_latency{0};
  std::shared_ptr<const Clock> clock;  // null: the system clock
};

class Daemon {
 public:
  // Errors name what failed: the policy (with its diagnostics rendered in
  // the message), the database, the principals file, the address.
  static Result<std::unique_ptr<Daemon>> start(DaemonOptions options);
  ~Daemon();

  std::uint16_t port() const;
  Engine& engine() { return *engine_; }
  connectors::Sandbox& sandbox() { return *sandbox_; }
  // Graceful stop; idempotent.
  void stop();

 private:
  Daemon() = default;
  std::unique_ptr<connectors::Sandbox> sandbox_;
  std::shared_ptr<Store> store_;
  std::shared_ptr<StoreConnectorState> connector_state_;
  std::unique_ptr<RemoteConnectors> remote_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<Webhooks> webhooks_;
  std::unique_ptr<Api> api_;
  std::unique_ptr<http::Server> server_;
};

// Splits "ADDR:PORT" ("127.0.0.1:8080", "[::1]:8080"). nullopt when malformed.
std::optional<std::pair<std::string, std::uint16_t>> parse_listen_address(const std::string& text);

}  // namespace portcullis::runtime
