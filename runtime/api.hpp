#pragma once
// The daemon's HTTP API (JSON, versioned under /v1), independent of the
// server that carries it: handle() maps one http::Request to one
// http::Response, so it is tested without sockets. docs/api.md lists the
// endpoints with examples.
//
// - Every call but GET /healthz and the webhooks (/webhooks/..., signed by
//   their sender, see runtime/webhooks.hpp) needs `Authorization: Bearer <token>`; the
//   token names the principal, and every event is recorded as that
//   principal's (nobody approves as someone else).
// - Errors are {"error": {"code", "message", "field"?}} with 400 (bad
//   input, naming the field), 401, 403, 404, 409 (a refused event or a
//   version race), 422 (a policy that does not check), 503 (the store is
//   unavailable or shutting down).
// - handle() may block (commits wait for their fsync; wait_for long-polls)
//   and is safe to call from many threads.

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "runtime/engine.hpp"
#include "runtime/http/message.hpp"
#include "runtime/principals.hpp"

namespace portcullis::runtime {

struct ApiOptions {
  std::string policy_path;  // reloaded by POST /v1/policy/reload
  std::chrono::milliseconds max_wait{30'000};  // the longest wait_for long-poll
  // Receives POST /webhooks/... without bearer authentication (each webhook
  // checks its own signature). Empty: those paths are 404.
  std::function<http::Response(const http::Request&)> webhooks;
};

class Api {
 public:
  Api(Engine& engine, Principals principals, ApiOptions options);

  http::Response handle(const http::Request& request);

  // Counted for /metrics.
  struct Counters {
    std::atomic<std::uint64_t> http_requests{0};
    std::atomic<std::uint64_t> http_errors{0};  // 5xx answers
    std::atomic<std::uint64_t> policy_reloads{0};
    std::atomic<std::uint64_t> policy_reload_failures{0};
  };
  const Counters& counters() const { return counters_; }

 private:
  struct Call;
  http::Response route(Call& call);

  Engine& engine_;
  Principals principals_;
  ApiOptions options_;
  std::mutex reload_mutex_;
  Counters counters_;
};

}  // namespace portcullis::runtime
