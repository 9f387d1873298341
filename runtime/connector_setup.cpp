#include "runtime/connector_setup.hpp"

#include <cstdlib>
#include <filesystem>

#include "connectors/entra/entra.hpp"
#include "connectors/google/google.hpp"
#include "connectors/jira/jira.hpp"
#include "connectors/okta/okta.hpp"
#include "connectors/scim/scim.hpp"
#include "connectors/slack/slack.hpp"

namespace portcullis::runtime {
namespace ast = dsl::ast;

std::optional<std::string> read_process_env(const std::string& name) {
  const char* value = std::getenv(name.c_str());
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

namespace {

// The settings of one provider, tracker or chat block, with secrets
// resolved on demand.
class Settings {
 public:
  Settings(std::string what, const std::vector<ast::Setting>& settings, const EnvReader& env,
           const dsl::FileReader& files)
      : what_(std::move(what)), settings_(settings), env_(env), files_(files) {}

  // The value as text ("" when absent). Strings, identifiers, integers and
  // secret references are accepted; a list is an error.
  Result<std::string> text(const std::string& key) const {
    const ast::Setting* s = find(key);
    if (s == nullptr) return std::string();
    return text_of(*s, s->value);
  }

  Result<std::vector<std::string>> list(const std::string& key) const {
    std::vector<std::string> out;
    const ast::Setting* s = find(key);
    if (s == nullptr) return out;
    if (const auto* items = std::get_if<ast::ListValue>(&s->value.data)) {
      for (const auto& item : items->items) {
        auto t = text_of(*s, item);
        if (!t) return t.error();
        out.push_back(std::move(*t));
      }
      return out;
    }
    auto t = text_of(*s, s->value);
    if (!t) return t.error();
    out.push_back(std::move(*t));
    return out;
  }

  // A base URL setting: must be https:// or loopback http://.
  Result<std::string> url(const std::string& key, const std::string& fallback) const {
    auto value = text(key);
    if (!value) return value;
    if (value->empty()) return fallback;
    while (value->size() > 1 && value->back() == '/') value->pop_back();
    const bool https = value->starts_with("https://");
    const bool loopback = value->starts_with("http://127.0.0.1") || value->starts_with("http://localhost") ||
                          value->starts_with("http://[::1]");
    if (!https && !loopback) {
      return make_error(ErrorCode::invalid, where(*find(key)) + ": " + key + " must be an https:// URL, not \"" +
                                                *value + "\" (http:// is accepted for loopback addresses only)");
    }
    return value;
  }

 private:
  const ast::Setting* find(const std::string& key) const {
    for (const auto& s : settings_) {
      if (s.key.name == key) return &s;
    }
    return nullptr;
  }

  std::string where(const ast::Setting& s) const { return s.span.location() + ": " + what_; }

  Result<std::string> text_of(const ast::Setting& s, const ast::Value& value) const {
    if (const auto* str = std::get_if<ast::StringLit>(&value.data)) return str->value;
    if (const auto* id = std::get_if<ast::Identifier>(&value.data)) return id->name;
    if (const auto* n = std::get_if<ast::IntegerLit>(&value.data)) return std::to_string(n->value);
    if (const auto* secret = std::get_if<ast::SecretRef>(&value.data)) return resolve(s, *secret);
    return make_error(ErrorCode::invalid, where(s) + ": " + s.key.name + " must be a string");
  }

  Result<std::string> resolve(const ast::Setting& s, const ast::SecretRef& secret) const {
    const std::string& target = secret.target.value;
    if (secret.kind == ast::SecretRef::Kind::env) {
      auto value = env_(target);
      if (!value || value->empty()) {
        return make_error(ErrorCode::invalid, where(s) + ": " + s.key.name + " reads the environment variable " +
                                                  target + ", which is not set");
      }
      return *value;
    }
    std::filesystem::path path(target);
    if (path.is_relative() && s.span.file) {
      path = std::filesystem::path(s.span.file->path()).parent_path() / path;
    }
    auto content = files_(path.string());
    if (!content) {
      return make_error(ErrorCode::invalid,
                        where(s) + ": " + s.key.name + " reads the file " + path.string() + ", which cannot be read");
    }
    if (!content->empty() && content->back() == '\n') content->pop_back();
    if (!content->empty() && content->back() == '\r') content->pop_back();
    return *content;
  }

  std::string what_;
  const std::vector<ast::Setting>& settings_;
  const EnvReader& env_;
  const dsl::FileReader& files_;
};

// Wraps a connector constructor's error with the declaration it came from.
Error at(const dsl::Span& span, const std::string& what, const Error& error) {
  return make_error(error.code, span.location() + ": " + what + ": " + error.message);
}

#define PORTCULLIS_TRY(var, expr)      \
  auto var##_result = (expr);          \
  if (!var##_result) return var##_result.error(); \
  auto var = std::move(*var##_result)

Result<std::shared_ptr<connectors::GroupProvider>> build_provider(const ast::Provider& p, const EnvReader& env,
                                                                  const dsl::FileReader& files) {
  const std::string name = p.kind.name + "." + p.name.value;
  const Settings s("provider " + name, p.settings, env, files);
  Result<std::shared_ptr<connectors::GroupProvider>> made = make_error(ErrorCode::invalid, "");
  if (p.kind.name == "okta") {
    connectors::OktaConfig c;
    c.name = name;
    PORTCULLIS_TRY(url, s.url("url", ""));
    PORTCULLIS_TRY(token, s.text("token"));
    PORTCULLIS_TRY(client_id, s.text("client_id"));
    PORTCULLIS_TRY(key, s.text("private_key"));
    PORTCULLIS_TRY(key_id, s.text("key_id"));
    PORTCULLIS_TRY(scopes, s.list("scopes"));
    c.url = url;
    c.token = token;
    c.client_id = client_id;
    c.private_key_pem = key;
    c.key_id = key_id;
    if (!scopes.empty()) c.scopes = scopes;
    made = connectors::make_okta_provider(std::move(c));
  } else if (p.kind.name == "entra") {
    connectors::EntraConfig c;
    c.name = name;
    PORTCULLIS_TRY(tenant, s.text("tenant"));
    PORTCULLIS_TRY(client_id, s.text("client_id"));
    PORTCULLIS_TRY(secret, s.text("client_secret"));
    PORTCULLIS_TRY(graph, s.url("graph_url", c.graph_url));
    PORTCULLIS_TRY(login, s.url("login_url", c.login_url));
    c.tenant = tenant;
    c.client_id = client_id;
    c.client_secret = secret;
    c.graph_url = graph;
    c.login_url = login;
    made = connectors::make_entra_provider(std::move(c));
  } else if (p.kind.name == "google") {
    connectors::GoogleConfig c;
    c.name = name;
    PORTCULLIS_TRY(domain, s.text("domain"));
    PORTCULLIS_TRY(customer, s.text("customer"));
    PORTCULLIS_TRY(account, s.text("service_account"));
    PORTCULLIS_TRY(admin, s.text("admin_email"));
    PORTCULLIS_TRY(api, s.url("api_url", c.api_url));
    PORTCULLIS_TRY(token_url, s.url("token_url", ""));
    c.domain = domain;
    c.customer = customer;
    c.service_account_json = account;
    c.admin_email = admin;
    c.api_url = api;
    c.token_url = token_url;
    made = connectors::make_google_provider(std::move(c));
  } else if (p.kind.name == "scim") {
    connectors::ScimConfig c;
    c.name = name;
    PORTCULLIS_TRY(url, s.url("url", ""));
    PORTCULLIS_TRY(token, s.text("token"));
    c.url = url;
    c.token = token;
    made = connectors::make_scim_provider(std::move(c));
  } else {
    return make_error(ErrorCode::invalid, p.span.location() + ": provider " + name + ": unknown kind " + p.kind.name);
  }
  if (!made) return at(p.span, "provider " + name, made.error());
  return made;
}

// `transitions: ["approved=Approved", "expired=Done"]`
Result<std::map<std::string, std::string>> parse_transitions(const std::vector<std::string>& items,
                                                             const dsl::Span& span) {
  std::map<std::string, std::string> out;
  for (const auto& item : items) {
    const auto eq = item.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == item.size()) {
      return make_error(ErrorCode::invalid, span.location() + ": tracker jira: transitions: \"" + item +
                                                "\" is not STATE=Jira status (e.g. \"approved=Approved\")");
    }
    out[item.substr(0, eq)] = item.substr(eq + 1);
  }
  return out;
}

}  // namespace

Result<RemoteConnectors> build_remote_connectors(const dsl::Program& program,
                                                 std::shared_ptr<connectors::ConnectorState> state,
                                                 const EnvReader& env, const dsl::FileReader& files) {
  RemoteConnectors out;
  for (const auto& file : program.files) {
    for (const auto* p : file.all<ast::Provider>()) {
      if (p->kind.name == "sandbox") continue;
      auto provider = build_provider(*p, env, files);
      if (!provider) return provider.error();
      out.providers[p->kind.name + "." + p->name.value] = std::move(*provider);
    }
    for (const auto* i : file.all<ast::Integration>()) {
      if (i->role == ast::Integration::Role::tracker) {
        out.tracker_kind = i->kind.name;
        if (i->kind.name != "jira") continue;
        const Settings s("tracker jira", i->settings, env, files);
        auto config = std::make_shared<connectors::JiraConfig>();
        PORTCULLIS_TRY(url, s.url("url", ""));
        PORTCULLIS_TRY(project, s.text("project"));
        PORTCULLIS_TRY(issue_type, s.text("issue_type"));
        PORTCULLIS_TRY(approved, s.text("approved_status"));
        PORTCULLIS_TRY(denied, s.text("denied_status"));
        PORTCULLIS_TRY(user, s.text("user"));
        PORTCULLIS_TRY(token, s.text("token"));
        PORTCULLIS_TRY(secret, s.text("webhook_secret"));
        PORTCULLIS_TRY(transition_items, s.list("transitions"));
        PORTCULLIS_TRY(transitions, parse_transitions(transition_items, i->span));
        config->url = url;
        config->project = project;
        if (!issue_type.empty()) config->issue_type = issue_type;
        config->approved_status = approved;
        config->denied_status = denied;
        config->user = user;
        config->token = token;
        config->webhook_secret = secret;
        config->transitions = transitions;
        for (const char* field : {"app_field", "role_field", "duration_field"}) {
          PORTCULLIS_TRY(value, s.text(field));
          if (value.empty()) continue;
          if (std::string(field) == "app_field") config->app_field = value;
          else if (std::string(field) == "role_field") config->role_field = value;
          else config->duration_field = value;
        }
        auto jira = connectors::JiraTracker::make(*config, state);
        if (!jira) return at(i->span, "tracker jira", jira.error());
        out.jira = std::move(*jira);
        out.jira_webhook_secret = secret;
        out.jira_config = config;
      } else {
        out.chat_kind = i->kind.name;
        if (i->kind.name != "slack") continue;
        const Settings s("chat slack", i->settings, env, files);
        connectors::SlackConfig config;
        PORTCULLIS_TRY(api, s.url("api_url", config.api_url));
        PORTCULLIS_TRY(token, s.text("token"));
        PORTCULLIS_TRY(secret, s.text("signing_secret"));
        PORTCULLIS_TRY(channel, s.text("channel"));
        config.api_url = api;
        config.token = token;
        config.signing_secret = secret;
        config.channel = channel;
        auto slack = connectors::SlackChat::make(config, state);
        if (!slack) return at(i->span, "chat slack", slack.error());
        out.slack = std::move(*slack);
        out.slack_signing_secret = secret;
      }
    }
  }
  return out;
}

}  // namespace portcullis::runtime
