// portcullis-load: a closed-loop load generator for a running daemon.
//
// Each of --clients threads owns one keep-alive Client and repeats:
//   POST /v1/requests {"app","role","reason":"load"} (unique Idempotency-Key)
//   GET  /v1/requests/{id}?wait_for=active&timeout_ms=N   until "active"
// and records the submit -> active latency. It stops after --duration
// seconds or after --requests requests in total, prints a summary (text, or
// JSON with --json) and exits 1 if any request failed, 2 on bad usage.
//
//   portcullis-load --url http://127.0.0.1:8080 --token-file alice.token
//       --app payroll --role reader --clients 16 --duration 30
//   (one command line)
//
// With --tokens-file (one token per line) client i uses token i mod n, so
// the load is spread over several requesters.

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "runtime/http/client.hpp"

namespace {

using portcullis::runtime::http::Client;
using portcullis::runtime::http::ClientOptions;
using portcullis::runtime::http::Header;
using portcullis::runtime::http::Response;
using portcullis::runtime::http::url_encode;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

constexpr int kExitOk = 0;
constexpr int kExitFailures = 1;
constexpr int kExitUsage = 2;

struct Options {
  std::string url;
  std::string token;
  std::string token_file;
  std::string tokens_file;
  std::size_t clients = 4;
  double duration_s = 0;    // 0: not given
  std::uint64_t requests = 0;  // 0: not given
  std::string app;
  std::string role;
  long wait_timeout_ms = 10'000;  // one long poll
  double max_wait_s = 120;        // submit -> active, before we call it failed
  bool json_output = false;
};

// The outcome of one submit -> active cycle.
struct Outcome {
  bool ok = false;
  double latency_ms = 0;
  std::string error_kind;     // empty when ok
  std::string error_message;  // for the first error of each kind
};

struct ClientStats {
  std::vector<double> latencies_ms;
  std::map<std::string, std::uint64_t> errors;
  std::map<std::string, std::string> first_message;
};

std::string trim(std::string s) {
  const auto not_space = [](unsigned char c) { return !std::isspace(c); };
  s.erase(s.begin(), std::find_if(s.begin(), s.end(), not_space));
  s.erase(std::find_if(s.rbegin(), s.rend(), not_space).base(), s.end());
  return s;
}

// One token per non-blank line; '#' starts a comment line.
std::optional<std::vector<std::string>> read_tokens(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::vector<std::string> tokens;
  for (std::string line; std::getline(in, line);) {
    line = trim(line);
    if (line.empty() || line.front() == '#') continue;
    tokens.push_back(line);
  }
  return tokens;
}

// "http 409 conflict" from an error response, so that errors group by
// status and API error code (never by message, which may carry ids).
std::string http_error_kind(std::string_view step, const Response& r) {
  std::string kind = std::string(step) + " http " + std::to_string(r.status);
  const auto body = json::parse(r.body, nullptr, false);
  if (body.is_object() && body.contains("error") && body["error"].is_object() && body["error"].contains("code") &&
      body["error"]["code"].is_string()) {
    kind += " " + body["error"]["code"].get<std::string>();
  }
  return kind;
}

Outcome failure(std::string kind, std::string message) {
  Outcome o;
  o.error_kind = std::move(kind);
  o.error_message = std::move(message);
  return o;
}

// {"request": {"id": ..., "status": ...}} -> (id, status), or nullopt.
std::optional<std::pair<std::string, std::string>> request_of(const std::string& text) {
  const auto body = json::parse(text, nullptr, false);
  if (!body.is_object() || !body.contains("request") || !body["request"].is_object()) return std::nullopt;
  const auto& req = body["request"];
  if (!req.contains("id") || !req["id"].is_string()) return std::nullopt;
  std::string status;
  if (req.contains("status") && req["status"].is_string()) status = req["status"].get<std::string>();
  return std::make_pair(req["id"].get<std::string>(), status);
}

// Statuses after which "active" will never come. The server also returns
// from a long poll on these (or on time-out, with a non-terminal status,
// in which case we poll again).
bool is_terminal(const std::string& status) {
  return status == "closed" || status == "failed" || status == "denied" || status == "rejected" ||
         status == "expired" || status == "cancelled" || status == "revoked";
}

Outcome one_request(Client& client, const Options& opts, const std::string& idempotency_key) {
  const auto started = Clock::now();
  const json submit_body = {{"app", opts.app}, {"role", opts.role}, {"reason", "load"}};
  auto submitted = client.post("/v1/requests", submit_body.dump(), {Header{"Idempotency-Key", idempotency_key}});
  if (!submitted.ok()) return failure("submit transport", submitted.error().message);
  if (submitted->status != 201 && submitted->status != 200) {
    return failure(http_error_kind("submit", *submitted), submitted->body);
  }
  auto req = request_of(submitted->body);
  if (!req) return failure("submit bad response", submitted->body);
  const std::string id = req->first;
  std::string status = req->second;

  const auto give_up = started + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(opts.max_wait_s));
  const std::string poll = "/v1/requests/" + url_encode(id) + "?wait_for=active&timeout_ms=" +
                           std::to_string(opts.wait_timeout_ms);
  while (status != "active") {
    if (is_terminal(status)) return failure("status " + status, "request " + id + " ended " + status);
    if (Clock::now() >= give_up) return failure("not active in time", "request " + id + " still " + status);
    auto polled = client.get(poll);
    if (!polled.ok()) return failure("poll transport", polled.error().message);
    if (polled->status != 200) return failure(http_error_kind("poll", *polled), polled->body);
    auto current = request_of(polled->body);
    if (!current) return failure("poll bad response", polled->body);
    status = current->second;
  }
  Outcome o;
  o.ok = true;
  o.latency_ms = std::chrono::duration<double, std::milli>(Clock::now() - started).count();
  return o;
}

// Nearest-rank percentile of sorted values; 0 when empty.
double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
}

int run(const Options& opts, const std::vector<std::string>& tokens) {
  const auto deadline =
      opts.duration_s > 0
          ? std::optional(Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(opts.duration_s)))
          : std::nullopt;
  std::atomic<std::uint64_t> claimed{0};
  // Unique across runs and processes, so a rerun never collides with the
  // idempotency keys of an earlier one.
  const std::string key_prefix =
      "load-" + std::to_string(::getpid()) + "-" +
      std::to_string(std::chrono::system_clock::now().time_since_epoch().count()) + "-";

  std::vector<ClientStats> stats(opts.clients);
  std::vector<std::thread> threads;
  threads.reserve(opts.clients);
  const auto started = Clock::now();
  for (std::size_t c = 0; c < opts.clients; ++c) {
    threads.emplace_back([&, c] {
      ClientOptions co;
      co.base_url = opts.url;
      co.bearer_token = tokens[c % tokens.size()];
      // A long poll may legitimately take wait_timeout_ms; allow a margin.
      co.timeout = std::chrono::milliseconds(opts.wait_timeout_ms + 10'000);
      Client client(co);
      auto& mine = stats[c];
      for (std::uint64_t seq = 0;; ++seq) {
        if (deadline) {
          if (Clock::now() >= *deadline) break;
        } else if (claimed.fetch_add(1) >= opts.requests) {
          break;
        }
        const auto key = key_prefix + std::to_string(c) + "-" + std::to_string(seq);
        auto outcome = one_request(client, opts, key);
        if (outcome.ok) {
          mine.latencies_ms.push_back(outcome.latency_ms);
        } else {
          ++mine.errors[outcome.error_kind];
          mine.first_message.emplace(outcome.error_kind, std::move(outcome.error_message));
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  const double elapsed_s = std::chrono::duration<double>(Clock::now() - started).count();

  std::vector<double> latencies;
  std::map<std::string, std::uint64_t> errors;
  std::map<std::string, std::string> first_message;
  std::uint64_t error_count = 0;
  for (auto& s : stats) {
    latencies.insert(latencies.end(), s.latencies_ms.begin(), s.latencies_ms.end());
    for (const auto& [kind, n] : s.errors) {
      errors[kind] += n;
      error_count += n;
    }
    for (auto& [kind, msg] : s.first_message) first_message.emplace(kind, msg);
  }
  std::sort(latencies.begin(), latencies.end());
  const std::uint64_t ok_count = latencies.size();
  const std::uint64_t total = ok_count + error_count;
  const double throughput = elapsed_s > 0 ? static_cast<double>(ok_count) / elapsed_s : 0;
  const double p50 = percentile(latencies, 50);
  const double p90 = percentile(latencies, 90);
  const double p99 = percentile(latencies, 99);
  const double max = latencies.empty() ? 0 : latencies.back();

  if (opts.json_output) {
    json out = {{"clients", opts.clients},
                {"elapsed_s", elapsed_s},
                {"total", total},
                {"ok", ok_count},
                {"errors", error_count},
                {"errors_by_kind", errors},
                {"throughput_rps", throughput},
                {"latency_ms", {{"p50", p50}, {"p90", p90}, {"p99", p99}, {"max", max}}}};
    std::cout << out.dump(2) << "\n";
  } else {
    std::cout << "portcullis-load: " << opts.clients << " clients, " << elapsed_s << " s\n"
              << "requests:   " << total << " total, " << ok_count << " ok, " << error_count << " errors\n"
              << "throughput: " << throughput << " req/s (submit -> active)\n"
              << "latency ms: p50 " << p50 << "  p90 " << p90 << "  p99 " << p99 << "  max " << max << "\n";
    for (const auto& [kind, n] : errors) {
      std::cout << "error " << kind << ": " << n << "\n";
    }
  }
  // The first message of each kind goes to stderr so that --json output
  // stays machine-readable. Client messages never contain the token.
  for (const auto& [kind, msg] : first_message) {
    std::cerr << "first " << kind << ": " << msg.substr(0, 500) << "\n";
  }
  if (total == 0) {
    std::cerr << "portcullis-load: no request completed\n";
    return kExitFailures;
  }
  return error_count == 0 ? kExitOk : kExitFailures;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"portcullis-load: drive a running portcullis daemon and measure submit -> active latency",
               "portcullis-load"};
  Options opts;
  app.add_option("--url", opts.url, "daemon base URL, e.g. http://127.0.0.1:8080")->required();
  auto* token = app.add_option("--token", opts.token, "bearer token (visible in ps; prefer --token-file)");
  auto* token_file = app.add_option("--token-file", opts.token_file, "file holding one bearer token");
  auto* tokens_file =
      app.add_option("--tokens-file", opts.tokens_file, "file with one token per line; clients use them round-robin");
  token->excludes(token_file, tokens_file);
  token_file->excludes(token, tokens_file);
  tokens_file->excludes(token, token_file);
  app.add_option("--clients", opts.clients, "concurrent clients (threads), each with its own connection")
      ->check(CLI::Range(std::size_t{1}, std::size_t{10'000}));
  auto* duration = app.add_option("--duration", opts.duration_s, "run for this many seconds (default 10)")
                       ->check(CLI::PositiveNumber);
  auto* requests = app.add_option("--requests", opts.requests, "run this many requests in total")
                       ->check(CLI::PositiveNumber);
  duration->excludes(requests);
  requests->excludes(duration);
  app.add_option("--app", opts.app, "application of each access request")->required();
  app.add_option("--role", opts.role, "role of each access request")->required();
  app.add_option("--wait-timeout-ms", opts.wait_timeout_ms, "timeout_ms of each long poll")
      ->check(CLI::Range(1L, 600'000L));
  app.add_option("--max-wait", opts.max_wait_s, "seconds a request may take to become active before it counts as failed")
      ->check(CLI::PositiveNumber);
  app.add_flag("--json", opts.json_output, "print the summary as JSON");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitUsage;
  }

  std::vector<std::string> tokens;
  if (!opts.token.empty()) {
    tokens.push_back(opts.token);
  } else if (!opts.token_file.empty() || !opts.tokens_file.empty()) {
    const auto& path = opts.token_file.empty() ? opts.tokens_file : opts.token_file;
    auto read = read_tokens(path);
    if (!read) {
      std::cerr << "portcullis-load: cannot read " << path << "\n";
      return kExitUsage;
    }
    tokens = std::move(*read);
    if (!opts.token_file.empty() && tokens.size() > 1) {
      std::cerr << "portcullis-load: " << path << " holds several tokens; use --tokens-file\n";
      return kExitUsage;
    }
  }
  if (tokens.empty()) {
    std::cerr << "portcullis-load: a token is required (--token, --token-file or --tokens-file)\n";
    return kExitUsage;
  }
  if (opts.duration_s == 0 && opts.requests == 0) opts.duration_s = 10;
  return run(opts, tokens);
}
