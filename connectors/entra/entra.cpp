#include "connectors/entra/entra.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <mutex>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "connectors/http/outbound.hpp"

namespace portcullis::connectors {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr std::string_view kPublicGraph = "https://graph.microsoft.com";
// Bounded by construction: a group with more members than this many pages
// (100 each by default) is refused rather than read forever.
constexpr std::size_t kMaxPages = 10'000;
constexpr std::size_t kMaxDetail = 400;

bool is_guid(std::string_view s) {
  if (s.size() != 36) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (std::isxdigit(static_cast<unsigned char>(c)) == 0) {
      return false;
    }
  }
  return true;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string without_trailing_slash(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

// An OData string literal: single quotes doubled.
std::string odata_literal(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    out += c;
    if (c == '\'') out += '\'';
  }
  return out + "'";
}

std::string in_quotes(std::string_view s) { return "\"" + std::string(s) + "\""; }

std::string shorten(std::string s) {
  // AADSTS descriptions carry "\r\nTrace ID: ..." lines; the first line says it.
  if (const auto eol = s.find_first_of("\r\n"); eol != std::string::npos) s.resize(eol);
  if (s.size() > kMaxDetail) s = s.substr(0, kMaxDetail) + "...";
  return s;
}

// "https://graph.microsoft.com/v1.0/x?y" -> "/v1.0/x?y". nextLinks are
// absolute; they are sent to graph_url so a link can never carry the token
// to another host.
std::optional<std::string> path_and_query(const std::string& url) {
  if (url.starts_with("/")) return url;
  const auto scheme = url.find("://");
  if (scheme == std::string::npos) return std::nullopt;
  const auto slash = url.find('/', scheme + 3);
  if (slash == std::string::npos) return std::nullopt;
  return url.substr(slash);
}

std::string string_field(const json& j, const char* key) {
  if (!j.is_object()) return {};
  const auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

json parse_json(const std::string& body) { return json::parse(body, nullptr, false); }

struct GraphError {
  std::string code;
  std::string message;
  std::string request_id;
};

GraphError graph_error(const http::Response& response) {
  GraphError e;
  const json body = parse_json(response.body);
  if (body.is_object()) {
    const auto error = body.find("error");
    if (error != body.end() && error->is_object()) {
      e.code = string_field(*error, "code");
      e.message = string_field(*error, "message");
      const auto inner = error->find("innerError");
      if (inner != error->end()) e.request_id = string_field(*inner, "request-id");
    }
  }
  if (e.request_id.empty()) {
    if (const std::string* id = find_header(response, "request-id")) e.request_id = *id;
  }
  return e;
}

std::string describe(const http::Response& response) {
  const GraphError e = graph_error(response);
  std::string out = "Graph answered " + std::to_string(response.status);
  if (!e.code.empty()) out += " " + e.code;
  if (!e.message.empty()) out += ": " + shorten(e.message);
  if (!e.request_id.empty()) out += " (request-id " + e.request_id + ")";
  return out;
}

class EntraProvider final : public GroupProvider {
 public:
  EntraProvider(EntraConfig config, std::shared_ptr<Outbound> graph, std::shared_ptr<Outbound> login)
      : config_(std::move(config)), graph_(std::move(graph)), login_(std::move(login)) {
    // Graph's own base URL names the token's audience and the directory
    // objects in $ref bodies. A national cloud (graph.microsoft.us, ...) is
    // configured with an https graph_url; a loopback fake stands in for the
    // public cloud.
    const std::string graph_url = without_trailing_slash(config_.graph_url);
    resource_ = graph_url.starts_with("https://") ? graph_url : std::string(kPublicGraph);
  }

  Outcome add_member(const std::string& group, const std::string& user, const std::string&) override {
    const std::string what = config_.name + ": add " + in_quotes(user) + " to group " + in_quotes(group);
    std::string group_id;
    std::string user_id;
    if (Outcome o = resolve_group(group, what, group_id); !o.ok()) return scrub(o);
    if (Outcome o = resolve_user(user, what, user_id); !o.ok()) return scrub(o);
    const std::string body = json{{"@odata.id", resource_ + "/v1.0/directoryObjects/" + user_id}}.dump();
    Outcome failure;
    auto response = call("POST", "/v1.0/groups/" + group_id + "/members/$ref", body, what, failure);
    if (!response) return scrub(failure);
    if (response->status == 204 || response->status == 200) return Outcome::success();
    if (response->status == 400 &&
        graph_error(*response).message.find("added object references already exist") != std::string::npos) {
      return Outcome::success();  // already a member
    }
    if (response->status == 404) {
      // The group or the user was deleted since it was looked up.
      forget(group, user);
      return scrub(Outcome::permanent_failure(what + ": the group or the user no longer exists: " +
                                              describe(*response)));
    }
    return scrub(classify(*response, what, "GroupMember.ReadWrite.All"));
  }

  Outcome remove_member(const std::string& group, const std::string& user, const std::string&) override {
    const std::string what = config_.name + ": remove " + in_quotes(user) + " from group " + in_quotes(group);
    std::string group_id;
    std::string user_id;
    if (Outcome o = resolve_group(group, what, group_id); !o.ok()) return scrub(o);
    bool unknown_user = false;
    if (Outcome o = resolve_user(user, what, user_id, &unknown_user); !o.ok()) {
      // A user the tenant does not know is not a member: the state a
      // revocation wants already holds, as long as the group exists. A
      // deleted account must not wedge the revocation.
      if (!unknown_user) return scrub(o);
      return scrub(confirm_group(group, group_id, what));
    }
    Outcome failure;
    // Always .../$ref: DELETE on the member itself is not a membership change.
    auto response = call("DELETE", "/v1.0/groups/" + group_id + "/members/" + user_id + "/$ref", {}, what, failure);
    if (!response) return scrub(failure);
    if (response->status == 204 || response->status == 200) return Outcome::success();
    if (response->status == 404) {
      // Graph answers 404 both for "not a member" (success) and for "no such
      // group" (permanent); only the group itself can tell them apart.
      return scrub(confirm_group(group, group_id, what));
    }
    return scrub(classify(*response, what, "GroupMember.ReadWrite.All"));
  }

  std::vector<std::string> members(const std::string& group, Outcome& outcome) override {
    const std::string what = config_.name + ": list the members of group " + in_quotes(group);
    outcome = Outcome::success();
    std::string group_id;
    if (Outcome o = resolve_group(group, what, group_id); !o.ok()) {
      outcome = scrub(o);
      return {};
    }
    std::vector<std::string> out;
    std::string target = "/v1.0/groups/" + group_id + "/members?$select=id,mail,userPrincipalName";
    for (std::size_t page = 0;; ++page) {
      if (page == kMaxPages) {
        outcome = Outcome::permanent_failure(what + ": more than " + std::to_string(kMaxPages) + " pages");
        return {};
      }
      Outcome failure;
      auto response = call("GET", target, {}, what, failure);
      if (!response) {
        outcome = scrub(failure);
        return {};
      }
      if (response->status == 404) {
        forget(group, {});
        outcome = Outcome::permanent_failure(what + ": the group does not exist: " + describe(*response));
        return {};
      }
      if (response->status != 200) {
        outcome = scrub(classify(*response, what, "GroupMember.Read.All"));
        return {};
      }
      const json body = parse_json(response->body);
      const auto value = body.is_object() ? body.find("value") : body.end();
      if (!body.is_object() || value == body.end() || !value->is_array()) {
        outcome = Outcome::transient_failure(what + ": Graph answered 200 without a member list");
        return {};
      }
      for (const auto& member : *value) {
        const std::string type = string_field(member, "@odata.type");
        if (!type.empty() && type != "#microsoft.graph.user") continue;  // nested groups, devices, apps
        std::string email = string_field(member, "mail");
        if (email.empty()) email = string_field(member, "userPrincipalName");
        if (!email.empty()) out.push_back(lower(std::move(email)));
      }
      const std::string next = string_field(body, "@odata.nextLink");
      if (next.empty()) break;
      auto next_target = path_and_query(next);
      if (!next_target) {
        outcome = Outcome::transient_failure(what + ": Graph sent an unusable @odata.nextLink");
        return {};
      }
      target = std::move(*next_target);
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
  }

  std::string find_user(const std::string& email, Outcome& outcome) override {
    const std::string what = config_.name + ": find user " + in_quotes(email);
    std::string id;
    outcome = scrub(resolve_user(email, what, id));
    return outcome.ok() ? id : std::string();
  }

 private:
  // The bearer token, fetched when there is none or it is about to expire.
  // One caller fetches while the others wait and then share it.
  Outcome token(std::string& out) {
    std::lock_guard lock(token_mutex_);
    if (!token_.empty() && Clock::now() < token_refresh_at_) {
      out = token_;
      return Outcome::success();
    }
    token_.clear();
    const std::string form = "client_id=" + http::url_encode(config_.client_id) +
                             "&client_secret=" + http::url_encode(config_.client_secret) +
                             "&scope=" + http::url_encode(resource_ + "/.default") +
                             "&grant_type=client_credentials";
    const std::string target = "/" + http::url_encode(config_.tenant) + "/oauth2/v2.0/token";
    auto response = login_->send("POST", target, form,
                                 {{"Content-Type", "application/x-www-form-urlencoded"}, {"Accept", "application/json"}});
    const std::string what = "token request for tenant " + in_quotes(config_.tenant);
    if (!response) return Outcome::transient_failure(what + " failed: " + response.error().message);
    const json body = parse_json(response->body);
    if (response->status != 200) {
      std::string detail = "the Microsoft identity platform answered " + std::to_string(response->status);
      if (const std::string error = string_field(body, "error"); !error.empty()) detail += " " + error;
      if (const std::string description = string_field(body, "error_description"); !description.empty()) {
        detail += ": " + shorten(description);
      }
      if (response->status == 429 || response->status >= 500) {
        return Outcome::transient_failure(what + ": " + detail, retry_after_seconds(*response));
      }
      return Outcome::permanent_failure(what + ": " + detail + " (check tenant, client_id and client_secret)");
    }
    const std::string access_token = string_field(body, "access_token");
    std::int64_t expires_in = 3599;
    if (body.is_object() && body.contains("expires_in")) {
      const json& e = body["expires_in"];
      if (e.is_number_integer()) expires_in = e.get<std::int64_t>();
      if (e.is_string()) expires_in = std::atoll(e.get<std::string>().c_str());  // the v1 endpoint sends a string
    }
    if (access_token.empty()) return Outcome::transient_failure(what + ": the answer carried no access_token");
    // Refresh a little early so a call never starts with a token that
    // expires on the way.
    const std::int64_t margin = std::min<std::int64_t>(300, expires_in / 2);
    token_ = access_token;
    token_refresh_at_ = Clock::now() + std::chrono::seconds(expires_in - margin);
    out = token_;
    return Outcome::success();
  }

  void drop_token(const std::string& used) {
    std::lock_guard lock(token_mutex_);
    // Another thread may already have replaced it.
    if (token_ == used) token_.clear();
  }

  // One Graph call with the bearer token; a 401 drops the token and retries
  // once with a fresh one. nullopt (with `failure` set) when no response
  // came or no token could be had; else the response, whatever its status.
  std::optional<http::Response> call(const std::string& method, const std::string& target, const std::string& body,
                                     const std::string& what, Outcome& failure) {
    for (int attempt = 0;; ++attempt) {
      std::string bearer;
      if (Outcome o = token(bearer); !o.ok()) {
        failure = Outcome{o.kind, what + ": " + o.message, o.retry_after};
        return std::nullopt;
      }
      std::vector<http::Header> headers{{"Authorization", "Bearer " + bearer}, {"Accept", "application/json"}};
      auto response = graph_->send(method, target, body, headers);
      if (!response) {
        failure = Outcome::transient_failure(what + ": " + response.error().message);
        return std::nullopt;
      }
      if (response->status == 401 && attempt == 0) {
        drop_token(bearer);
        continue;
      }
      return std::move(*response);
    }
  }

  Outcome classify(const http::Response& response, const std::string& what, std::string_view permission) {
    const std::string detail = what + ": " + describe(response);
    const int status = response.status;
    if (status == 429 || status == 503 || status == 408 || status >= 500) {
      return Outcome::transient_failure(detail, retry_after_seconds(response));
    }
    if (status == 401) {
      return Outcome::permanent_failure(detail + "; Graph refused a freshly issued token for tenant " +
                                        in_quotes(config_.tenant));
    }
    if (status == 403 && graph_error(response).code == "Authorization_RequestDenied") {
      return Outcome::permanent_failure(detail + "; the app registration needs the " + std::string(permission) +
                                        " application permission (with admin consent) in tenant " +
                                        in_quotes(config_.tenant));
    }
    return Outcome::permanent_failure(detail);
  }

  Outcome resolve_group(const std::string& group, const std::string& what, std::string& id) {
    if (is_guid(group)) {
      id = lower(group);
      return Outcome::success();
    }
    {
      std::lock_guard lock(cache_mutex_);
      if (const auto it = group_ids_.find(group); it != group_ids_.end()) {
        id = it->second;
        return Outcome::success();
      }
    }
    const std::string target =
        "/v1.0/groups?$filter=" + http::url_encode("displayName eq " + odata_literal(group)) + "&$select=id,displayName";
    Outcome failure;
    auto response = call("GET", target, {}, what, failure);
    if (!response) return failure;
    if (response->status != 200) return classify(*response, what, "GroupMember.Read.All");
    const json body = parse_json(response->body);
    const auto value = body.is_object() ? body.find("value") : body.end();
    if (!body.is_object() || value == body.end() || !value->is_array()) {
      return Outcome::transient_failure(what + ": Graph answered 200 without a group list");
    }
    if (value->empty()) {
      return Outcome::permanent_failure(what + ": no group named " + in_quotes(group) + " in tenant " +
                                        in_quotes(config_.tenant));
    }
    if (value->size() > 1) {
      return Outcome::permanent_failure(what + ": " + std::to_string(value->size()) + " groups are named " +
                                        in_quotes(group) + "; name the group by its object id in the policy");
    }
    id = string_field((*value)[0], "id");
    if (id.empty()) return Outcome::transient_failure(what + ": Graph answered a group without an id");
    std::lock_guard lock(cache_mutex_);
    group_ids_[group] = id;
    return Outcome::success();
  }

  // `unknown` (when given) is set on the permanent "no such user" answer,
  // so that remove_member can tell it from other failures.
  Outcome resolve_user(const std::string& user, const std::string& what, std::string& id, bool* unknown = nullptr) {
    if (is_guid(user)) {
      id = lower(user);
      return Outcome::success();
    }
    const std::string key = lower(user);
    {
      std::lock_guard lock(cache_mutex_);
      if (const auto it = user_ids_.find(key); it != user_ids_.end()) {
        id = it->second;
        return Outcome::success();
      }
    }
    Outcome failure;
    auto response = call("GET", "/v1.0/users/" + http::url_encode(user) + "?$select=id", {}, what, failure);
    if (!response) return failure;
    if (response->status == 200) {
      id = string_field(parse_json(response->body), "id");
    } else if (response->status == 404) {
      // Not a UPN; the address may be the user's mail.
      const std::string target =
          "/v1.0/users?$filter=" + http::url_encode("mail eq " + odata_literal(user)) + "&$select=id";
      response = call("GET", target, {}, what, failure);
      if (!response) return failure;
      if (response->status != 200) return classify(*response, what, "User.Read.All");
      const json body = parse_json(response->body);
      const auto value = body.is_object() ? body.find("value") : body.end();
      if (!body.is_object() || value == body.end() || !value->is_array()) {
        return Outcome::transient_failure(what + ": Graph answered 200 without a user list");
      }
      if (value->empty()) {
        if (unknown != nullptr) *unknown = true;
        return Outcome::permanent_failure(what + ": no user with the UPN or mail " + in_quotes(user) + " in tenant " +
                                          in_quotes(config_.tenant));
      }
      if (value->size() > 1) {
        return Outcome::permanent_failure(what + ": " + std::to_string(value->size()) + " users have the mail " +
                                          in_quotes(user) + "; use the UPN");
      }
      id = string_field((*value)[0], "id");
    } else {
      return classify(*response, what, "User.Read.All");
    }
    if (id.empty()) return Outcome::transient_failure(what + ": Graph answered a user without an id");
    std::lock_guard lock(cache_mutex_);
    user_ids_[key] = id;
    return Outcome::success();
  }

  // Success when the group exists (so a 404 on its membership meant "not a
  // member"), permanent when it does not.
  Outcome confirm_group(const std::string& group, const std::string& group_id, const std::string& what) {
    Outcome failure;
    auto response = call("GET", "/v1.0/groups/" + group_id + "?$select=id", {}, what, failure);
    if (!response) return failure;
    if (response->status == 200) return Outcome::success();
    if (response->status == 404) {
      forget(group, {});
      return Outcome::permanent_failure(what + ": the group does not exist (object id " + group_id + "): " +
                                        describe(*response));
    }
    return classify(*response, what, "GroupMember.Read.All");
  }

  void forget(const std::string& group, const std::string& user) {
    std::lock_guard lock(cache_mutex_);
    group_ids_.erase(group);
    if (!user.empty()) user_ids_.erase(lower(user));
  }

  // Belt and braces: no message leaves with the client secret in it, even
  // if a remote system echoed it.
  Outcome scrub(Outcome outcome) const {
    const std::string& secret = config_.client_secret;
    if (secret.empty()) return outcome;
    for (auto at = outcome.message.find(secret); at != std::string::npos; at = outcome.message.find(secret, at)) {
      outcome.message.replace(at, secret.size(), "[redacted]");
    }
    return outcome;
  }

  EntraConfig config_;
  std::shared_ptr<Outbound> graph_;
  std::shared_ptr<Outbound> login_;
  std::string resource_;

  std::mutex token_mutex_;  // held while a token is fetched
  std::string token_;
  Clock::time_point token_refresh_at_;

  std::mutex cache_mutex_;
  std::map<std::string, std::string> group_ids_;  // displayName -> object id
  std::map<std::string, std::string> user_ids_;   // lower-case UPN or mail -> object id
};

}  // namespace

runtime::Result<std::shared_ptr<GroupProvider>> make_entra_provider(EntraConfig config) {
  auto invalid = [&](const std::string& why) {
    return runtime::make_error(runtime::ErrorCode::invalid, "entra provider " + in_quotes(config.name) + ": " + why);
  };
  if (config.tenant.empty()) return invalid("the setting tenant is empty");
  if (config.client_id.empty()) return invalid("the setting client_id is empty");
  if (config.client_secret.empty()) return invalid("the setting client_secret is empty");
  config.graph_url = without_trailing_slash(config.graph_url);
  config.login_url = without_trailing_slash(config.login_url);
  auto graph = Outbound::make({config.graph_url, config.timeout, config.max_concurrency});
  if (!graph) return invalid("graph_url: " + graph.error().message);
  auto login = Outbound::make({config.login_url, config.timeout, config.max_concurrency});
  if (!login) return invalid("login_url: " + login.error().message);
  return std::shared_ptr<GroupProvider>(
      std::make_shared<EntraProvider>(std::move(config), std::move(*graph), std::move(*login)));
}

}  // namespace portcullis::connectors
