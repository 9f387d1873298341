#include "runtime/daemon.hpp"

#include <charconv>
#include <fstream>
#include <set>
#include <sstream>

#include "connectors/jira/jira.hpp"
#include "connectors/slack/slack.hpp"
#include "dsl/diagnostics.hpp"
#include "runtime/logging.hpp"

namespace portcullis::runtime {

namespace ip = interpreter;

std::optional<std::pair<std::string, std::uint16_t>> parse_listen_address(const std::string& text) {
  std::string host;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') return std::nullopt;
    host = text.substr(1, close - 1);
    port_text = std::string_view(text).substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string::npos || colon == 0) return std::nullopt;
    host = text.substr(0, colon);
    port_text = std::string_view(text).substr(colon + 1);
  }
  unsigned port = 0;
  auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || ptr != port_text.data() + port_text.size() || port > 65535 || host.empty()) {
    return std::nullopt;
  }
  return std::make_pair(host, static_cast<std::uint16_t>(port));
}

namespace {

// Provider name -> kind, for every provider the policy grants groups in.
std::map<std::string, std::string> providers_of(const ip::Policy& policy) {
  std::map<std::string, std::string> out;
  for (const auto& [name, app] : policy.apps()) {
    for (const auto& role : app.roles) {
      for (const auto& group : role.groups) out.emplace(group.provider, group.kind);
    }
  }
  return out;
}

}  // namespace

Result<std::unique_ptr<Daemon>> Daemon::start(DaemonOptions options) {
  auto address = parse_listen_address(options.listen);
  if (!address) {
    return make_error(ErrorCode::invalid, "--listen: \"" + options.listen + "\" is not ADDR:PORT (e.g. 127.0.0.1:8080)");
  }

  auto principals = Principals::load(options.principals_path);
  if (!principals) return principals.error();

  auto compiled = ip::load_policy(options.policy_path, dsl::read_file_from_disk);
  compiled.diagnostics.sort_and_dedupe();
  if (!compiled.policy) {
    std::string message = options.policy_path + " has " + std::to_string(compiled.diagnostics.error_count()) +
                          " error(s); the daemon does not start on a policy that does not check:";
    for (const auto& d : compiled.diagnostics.items()) {
      if (d.severity == dsl::Severity::error) message += "\n" + dsl::render_text(d);
    }
    return make_error(ErrorCode::invalid, message);
  }

  std::unique_ptr<Daemon> daemon(new Daemon());
  SqliteOptions store_options;
  store_options.path = options.db_path;
  store_options.synchronous = options.synchronous;
  auto store = open_sqlite_store(store_options);
  if (!store) return store.error();
  daemon->store_ = std::shared_ptr<Store>(std::move(*store));

  std::string error;
  connectors::SandboxOptions sandbox_options;
  sandbox_options.db_path = options.db_path;
  // Its own file next to the store's ("<db>-sandbox"): connector calls then
  // never wait for the store's write lock.
  sandbox_options.own_file = true;
  sandbox_options.latency = options.sandbox_latency;
  daemon->sandbox_ = connectors::open_sandbox(sandbox_options, error);
  if (!daemon->sandbox_) return make_error(ErrorCode::io, error);
  if (options.directory_path) {
    std::ifstream in(*options.directory_path, std::ios::binary);
    if (!in) return make_error(ErrorCode::io, *options.directory_path + ": cannot read the directory file");
    std::stringstream text;
    text << in.rdbuf();
    nlohmann::json json;
    try {
      json = nlohmann::json::parse(text.str());
    } catch (const nlohmann::json::parse_error& e) {
      return make_error(ErrorCode::invalid,
                        *options.directory_path + ": not valid JSON (byte " + std::to_string(e.byte) + ")");
    }
    if (!daemon->sandbox_->load_directory(json, error)) {
      return make_error(ErrorCode::invalid, *options.directory_path + ": " + error);
    }
  }

  // Remote connectors come from the policy's provider, tracker and chat
  // declarations (secrets resolved now); sandbox ones live in the store's
  // file. Anything the policy does not declare remotely is the sandbox's.
  auto program = dsl::load_program(options.policy_path);
  const auto clock = options.clock ? options.clock : std::make_shared<SystemClock>();
  daemon->connector_state_ = std::make_shared<StoreConnectorState>(daemon->store_, clock);
  auto remote = build_remote_connectors(program.program, daemon->connector_state_);
  if (!remote) return remote.error();
  daemon->remote_ = std::make_unique<RemoteConnectors>(std::move(*remote));

  std::vector<std::string> sandbox_providers;
  for (const auto& [name, kind] : providers_of(*compiled.policy)) {
    if (kind == "sandbox") {
      sandbox_providers.push_back(name);
    } else if (!daemon->remote_->providers.contains(name)) {
      return make_error(ErrorCode::invalid, "provider " + name + " is granted in the catalog but not declared");
    }
  }

  EngineConfig config;
  config.store = daemon->store_;
  config.connectors = daemon->sandbox_->connectors(sandbox_providers);
  for (const auto& [name, provider] : daemon->remote_->providers) config.connectors.providers[name] = provider;
  if (daemon->remote_->jira) config.connectors.tracker = daemon->remote_->jira;
  if (daemon->remote_->slack) {
    config.connectors.chat = daemon->remote_->slack;
    config.connectors.notifier = daemon->remote_->slack;
  }
  config.policy = compiled.policy;
  config.clock = clock;
  config.executor = options.executor;
  auto engine = Engine::create(std::move(config));
  if (!engine) return engine.error();
  daemon->engine_ = std::move(*engine);
  daemon->engine_->start();

  ApiOptions api_options;
  api_options.policy_path = options.policy_path;
  daemon->webhooks_ = std::make_unique<Webhooks>(*daemon->engine_, *daemon->remote_, daemon->connector_state_);
  Webhooks* webhooks = daemon->webhooks_.get();
  api_options.webhooks = [webhooks](const http::Request& request) { return webhooks->handle(request); };
  daemon->api_ = std::make_unique<Api>(*daemon->engine_, std::move(*principals), api_options);

  http::ServerOptions server_options;
  server_options.address = address->first;
  server_options.port = address->second;
  server_options.io_threads = options.io_threads;
  server_options.worker_threads = options.worker_threads;
  Api* api = daemon->api_.get();
  auto server = http::start_server(server_options, [api](const http::Request& request) { return api->handle(request); });
  if (!server) {
    daemon->engine_->stop();
    return server.error();
  }
  daemon->server_ = std::move(*server);
  log_event(LogLevel::info, "serving",
            {{"listen", address->first + ":" + std::to_string(daemon->server_->port())},
             {"policy", options.policy_path},
             {"apps", std::to_string(compiled.policy->apps().size())},
             {"db", options.db_path}});
  return daemon;
}

Daemon::~Daemon() { stop(); }

std::uint16_t Daemon::port() const { return server_ ? server_->port() : 0; }

void Daemon::stop() {
  if (server_) server_->stop();
  if (engine_) engine_->stop();
}

}  // namespace portcullis::runtime
