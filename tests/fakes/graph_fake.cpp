#include "tests/fakes/graph_fake.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <optional>

#include <nlohmann/json.hpp>

namespace portcullis::fakes {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

std::vector<std::string> segments_of(std::string_view path) {
  std::vector<std::string> out;
  std::size_t start = 1;
  while (start <= path.size()) {
    const auto end = std::min(path.find('/', start), path.size());
    out.push_back(percent_decode(path.substr(start, end - start)));
    start = end + 1;
  }
  return out;
}

// "PREFIX 'it''s'" -> "it's"; nullopt when the filter has another shape.
std::optional<std::string> eq_literal(const std::string& filter, const std::string& property) {
  const std::string prefix = property + " eq '";
  if (!filter.starts_with(prefix) || filter.size() < prefix.size() + 1 || filter.back() != '\'') return std::nullopt;
  const std::string inner = filter.substr(prefix.size(), filter.size() - prefix.size() - 1);
  std::string out;
  for (std::size_t i = 0; i < inner.size(); ++i) {
    if (inner[i] == '\'') {
      if (i + 1 >= inner.size() || inner[i + 1] != '\'') return std::nullopt;  // unescaped quote
      ++i;
    }
    out += inner[i];
  }
  return out;
}

http::Response graph_error(int status, const std::string& code, const std::string& message) {
  return json_response(status, GraphFake::error_body(code, message), {{"request-id", "fake-request-id"}});
}

http::Response not_found(const std::string& id) {
  return graph_error(404, "Request_ResourceNotFound",
                     "Resource '" + id + "' does not exist or one of its queried reference-property objects are not "
                     "present.");
}

http::Response token_error(int status, const std::string& error, const std::string& description) {
  return json_response(status, json{{"error", error},
                                    {"error_description", description + "\r\nTrace ID: fake\r\nCorrelation ID: fake"},
                                    {"error_codes", json::array({0})}}
                                   .dump());
}

}  // namespace

GraphFake::GraphFake(GraphFakeOptions options) : options_(std::move(options)) {
  server_ = std::make_unique<FakeServer>([this](const http::Request& r) { return handle(r); });
}

std::string GraphFake::error_body(const std::string& code, const std::string& message) {
  return json{{"error",
               {{"code", code},
                {"message", message},
                {"innerError", {{"date", "2024-01-01T00:00:00"}, {"request-id", "fake-request-id"}}}}}}
      .dump();
}

std::string GraphFake::new_id() {
  char buffer[40];
  std::snprintf(buffer, sizeof buffer, "00000000-0000-4000-8000-%012zx", next_id_++);
  return buffer;
}

std::string GraphFake::add_user(const std::string& upn, const std::string& mail) {
  std::lock_guard lock(mutex_);
  const std::string id = new_id();
  users_[id] = User{id, upn, mail};
  return id;
}

std::string GraphFake::add_group(const std::string& display_name) {
  std::lock_guard lock(mutex_);
  const std::string id = new_id();
  groups_[id] = Group{id, display_name, {}};
  return id;
}

void GraphFake::add_member(const std::string& group_id, const std::string& user_id) {
  std::lock_guard lock(mutex_);
  groups_.at(group_id).members.insert(user_id);
}

std::set<std::string> GraphFake::member_ids(const std::string& group_id) const {
  std::lock_guard lock(mutex_);
  return groups_.at(group_id).members;
}

bool GraphFake::has_member(const std::string& group_id, const std::string& user_id) const {
  return member_ids(group_id).contains(user_id);
}

void GraphFake::set_page_size(std::size_t size) {
  std::lock_guard lock(mutex_);
  options_.page_size = std::max<std::size_t>(1, size);
}

void GraphFake::expire_tokens() {
  std::lock_guard lock(mutex_);
  for (auto& [token, expiry] : tokens_) expiry = Clock::now() - std::chrono::seconds(1);
}

std::size_t GraphFake::tokens_issued() const {
  std::lock_guard lock(mutex_);
  return issued_;
}

void GraphFake::rate_limit(int count, int status, int retry_after) {
  const std::string code = status == 429 ? "TooManyRequests" : "ServiceUnavailable";
  const std::string message = status == 429 ? "Too many requests." : "Service is temporarily unavailable.";
  server_->inject("", "/v1.0/",
                  json_response(status, error_body(code, message), {{"Retry-After", std::to_string(retry_after)}}),
                  count);
}

const GraphFake::User* GraphFake::user_by_key(const std::string& key) const {
  for (const auto& [id, user] : users_) {
    if (id == lower(key) || lower(user.upn) == lower(key)) return &user;
  }
  return nullptr;
}

http::Response GraphFake::handle(const http::Request& request) {
  const auto segments = segments_of(request.path());
  if (segments.size() == 4 && segments[1] == "oauth2" && segments[2] == "v2.0" && segments[3] == "token") {
    if (request.method != "POST") return token_error(405, "invalid_request", "AADSTS900561: POST required.");
    return token(request);
  }
  if (segments.empty() || segments[0] != "v1.0") return graph_error(404, "UnknownPath", "No such endpoint.");

  const std::string* authorization = request.header("Authorization");
  if (authorization == nullptr || !authorization->starts_with("Bearer ") || authorization->size() == 7) {
    return graph_error(401, "InvalidAuthenticationToken", "Access token is empty.");
  }
  {
    std::lock_guard lock(mutex_);
    const auto it = tokens_.find(authorization->substr(7));
    if (it == tokens_.end()) return graph_error(401, "InvalidAuthenticationToken", "Access token validation failure.");
    if (Clock::now() >= it->second) {
      return graph_error(401, "InvalidAuthenticationToken", "Lifetime validation failed, the token is expired.");
    }
  }
  std::lock_guard lock(mutex_);
  return graph(request, segments);
}

http::Response GraphFake::token(const http::Request& request) {
  const std::string* content_type = request.header("Content-Type");
  if (content_type == nullptr || !content_type->starts_with("application/x-www-form-urlencoded")) {
    return token_error(400, "invalid_request", "AADSTS900144: The request body must be form-encoded.");
  }
  std::map<std::string, std::string> form;
  for (auto& [k, v] : http::parse_query(request.body)) form[k] = v;
  const auto segments = segments_of(request.path());
  if (segments[0] != options_.tenant) {
    return token_error(400, "invalid_request", "AADSTS90002: Tenant '" + segments[0] + "' not found.");
  }
  if (form["grant_type"] != "client_credentials") {
    return token_error(400, "unsupported_grant_type", "AADSTS70003: The app requested an unsupported grant type.");
  }
  if (form["client_id"] != options_.client_id) {
    return token_error(400, "unauthorized_client",
                       "AADSTS700016: Application with identifier '" + form["client_id"] +
                           "' was not found in the directory '" + options_.tenant + "'.");
  }
  if (form["client_secret"] != options_.client_secret) {
    return token_error(401, "invalid_client",
                       "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request "
                       "is the client secret value, not the client secret ID.");
  }
  if (form["scope"] != "https://graph.microsoft.com/.default") {
    return token_error(400, "invalid_scope",
                       "AADSTS1002012: The provided value for scope " + form["scope"] + " is not valid.");
  }
  std::lock_guard lock(mutex_);
  const std::string token = "fake-graph-token-" + std::to_string(++issued_);
  tokens_[token] = Clock::now() + options_.token_lifetime;
  return json_response(200, json{{"token_type", "Bearer"},
                                 {"expires_in", options_.token_lifetime.count()},
                                 {"ext_expires_in", options_.token_lifetime.count()},
                                 {"access_token", token}}
                                .dump());
}

http::Response GraphFake::graph(const http::Request& request, const std::vector<std::string>& s) {
  const std::string& method = request.method;
  if (s.size() == 2 && s[1] == "groups" && method == "GET") {
    const auto name = eq_literal(query_value(request, "$filter"), "displayName");
    if (!name) return graph_error(400, "Request_UnsupportedQuery", "Unsupported or invalid query filter clause.");
    json value = json::array();
    for (const auto& [id, group] : groups_) {
      if (lower(group.name) == lower(*name)) value.push_back({{"id", id}, {"displayName", group.name}});
    }
    return json_response(200, json{{"@odata.context", "fake"}, {"value", value}}.dump());
  }
  if (s.size() == 2 && s[1] == "users" && method == "GET") {
    const auto mail = eq_literal(query_value(request, "$filter"), "mail");
    if (!mail) return graph_error(400, "Request_UnsupportedQuery", "Unsupported or invalid query filter clause.");
    json value = json::array();
    for (const auto& [id, user] : users_) {
      if (!user.mail.empty() && lower(user.mail) == lower(*mail)) value.push_back({{"id", id}});
    }
    return json_response(200, json{{"@odata.context", "fake"}, {"value", value}}.dump());
  }
  if (s.size() == 3 && s[1] == "users" && method == "GET") {
    const User* user = user_by_key(s[2]);
    if (user == nullptr) return not_found(s[2]);
    return json_response(200, json{{"id", user->id},
                                   {"userPrincipalName", user->upn},
                                   {"mail", user->mail.empty() ? json(nullptr) : json(user->mail)}}
                                  .dump());
  }
  if (s.size() < 3 || s[1] != "groups") return graph_error(400, "BadRequest", "Unsupported request.");
  const auto group = groups_.find(s[2]);
  if (s.size() == 3 && method == "GET") {
    if (group == groups_.end()) return not_found(s[2]);
    return json_response(200, json{{"id", group->first}, {"displayName", group->second.name}}.dump());
  }
  if (s.size() < 4 || s[3] != "members") return graph_error(400, "BadRequest", "Unsupported request.");

  if (s.size() == 4 && method == "GET") {
    if (group == groups_.end()) return not_found(s[2]);
    const std::size_t skip = static_cast<std::size_t>(std::atoll(query_value(request, "$skiptoken").c_str()));
    const std::vector<std::string> ids(group->second.members.begin(), group->second.members.end());
    json value = json::array();
    for (std::size_t i = skip; i < ids.size() && i < skip + options_.page_size; ++i) {
      const User& user = users_.at(ids[i]);
      value.push_back({{"@odata.type", "#microsoft.graph.user"},
                       {"id", user.id},
                       {"userPrincipalName", user.upn},
                       {"mail", user.mail.empty() ? json(nullptr) : json(user.mail)}});
    }
    json body{{"@odata.context", "fake"}, {"value", value}};
    if (skip + options_.page_size < ids.size()) {
      body["@odata.nextLink"] = server_->base_url() + "/v1.0/groups/" + s[2] +
                                "/members?$select=id,mail,userPrincipalName&$skiptoken=" +
                                std::to_string(skip + options_.page_size);
    }
    return json_response(200, body.dump());
  }
  if (s.size() == 5 && s[4] == "$ref" && method == "POST") {
    if (group == groups_.end()) return not_found(s[2]);
    const json body = json::parse(request.body, nullptr, false);
    const std::string ref = body.is_object() && body.contains("@odata.id") && body["@odata.id"].is_string()
                                ? body["@odata.id"].get<std::string>()
                                : std::string();
    const auto at = ref.rfind("/v1.0/directoryObjects/");
    if (at == std::string::npos) {
      return graph_error(400, "Request_BadRequest", "Invalid object identifier '" + ref + "'.");
    }
    const std::string user_id = ref.substr(at + 23);
    if (!users_.contains(user_id)) return not_found(user_id);
    if (!group->second.members.insert(user_id).second) {
      return graph_error(400, "Request_BadRequest",
                         "One or more added object references already exist for the following modified "
                         "properties: 'members'.");
    }
    http::Response response;
    response.status = 204;
    response.content_type.clear();
    return response;
  }
  if (s.size() == 6 && s[5] == "$ref" && method == "DELETE") {
    if (group == groups_.end()) return not_found(s[2]);
    if (group->second.members.erase(s[4]) == 0) return not_found(s[4]);
    http::Response response;
    response.status = 204;
    response.content_type.clear();
    return response;
  }
  if (s.size() == 5 && method == "DELETE") {
    // Without /$ref: refused here so a connector that forgets it is caught.
    return graph_error(405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target.");
  }
  return graph_error(400, "BadRequest", "Unsupported request.");
}

}  // namespace portcullis::fakes
