#include "connectors/scim/scim.hpp"

#include <algorithm>
#include <map>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "connectors/http/membership_provider.hpp"
#include "connectors/http/outbound.hpp"

namespace portcullis::connectors {
namespace {

using json = nlohmann::json;

constexpr std::string_view kScimJson = "application/scim+json";
constexpr std::string_view kPatchOp = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
constexpr int kPageCount = 100;
// A filter on a unique attribute matches one resource, a case-insensitive
// one a handful; 1,000 pages means the server ignores startIndex.
constexpr int kMaxPages = 1'000;

std::string json_string(const json& object, const char* key) {
  if (!object.is_object()) return {};
  auto it = object.find(key);
  if (it == object.end() || !it->is_string()) return {};
  return it->get<std::string>();
}

std::int64_t json_int(const json& object, const char* key, std::int64_t fallback) {
  if (!object.is_object()) return fallback;
  auto it = object.find(key);
  if (it == object.end() || !it->is_number_integer()) return fallback;
  return it->get<std::int64_t>();
}

// A string literal in a SCIM filter (RFC 7644 3.4.2.2: JSON string rules).
std::string filter_literal(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

bool iequals(std::string_view a, std::string_view b) { return http::header_equals(a, b); }

class ScimProvider final : public MembershipProvider {
 public:
  ScimProvider(ScimConfig config, std::shared_ptr<Outbound> outbound)
      : MembershipProvider(config.name), config_(std::move(config)), outbound_(std::move(outbound)) {}

 private:
  struct Reply {
    Outcome outcome;  // not ok: no response arrived
    http::Response response;
  };


  std::string redact(std::string message) const {
    for (auto at = message.find(config_.token); at != std::string::npos; at = message.find(config_.token, at)) {
      message.replace(at, config_.token.size(), "[redacted]");
    }
    return message;
  }

  // The SCIM error (urn:ietf:params:scim:api:messages:2.0:Error) as
  // "detail (status 404, scimType noTarget)".
  static std::string describe(const http::Response& response) {
    const json body = json::parse(response.body, nullptr, false);
    std::string detail = json_string(body, "detail");
    std::string status = json_string(body, "status");
    if (status.empty() && body.is_object() && body.contains("status") && body["status"].is_number_integer()) {
      status = std::to_string(body["status"].get<int>());
    }
    if (status.empty()) status = std::to_string(response.status);
    const std::string scim_type = json_string(body, "scimType");
    std::string out = detail.empty() ? "HTTP " + std::to_string(response.status) : detail;
    out += " (status " + status;
    if (!scim_type.empty()) out += ", scimType " + scim_type;
    out += ")";
    return out;
  }

  static std::string scim_type(const http::Response& response) {
    return json_string(json::parse(response.body, nullptr, false), "scimType");
  }

  Outcome failure(const http::Response& response, const std::string& what) const {
    const int status = response.status;
    std::string detail = describe(response);
    if (status == 401) {
      detail = "the SCIM server rejected the bearer token (" + detail + "); it is invalid, expired or revoked";
    } else if (status == 403) {
      detail = "the bearer token lacks permission for this call (" + detail +
               "); it must be allowed to read Users and Groups and to modify Groups";
    } else if (status == 429) {
      detail = "rate limited (" + detail + ")";
    } else if (status >= 500 || status == 408) {
      detail = "the SCIM server answered HTTP " + std::to_string(status) + ": " + detail;
    }
    std::string message = redact(prefix(what) + detail);
    if (status == 429) return Outcome::transient_failure(std::move(message), retry_after_seconds(response));
    if (status >= 500 || status == 408) return Outcome::transient_failure(std::move(message));
    return Outcome::permanent_failure(std::move(message));
  }

  Reply call(const std::string& method, const std::string& target, const std::string& body, const std::string& what) {
    std::vector<http::Header> headers = {{"Authorization", "Bearer " + config_.token},
                                         {"Accept", std::string(kScimJson)}};
    if (!body.empty()) headers.push_back({"Content-Type", std::string(kScimJson)});
    auto response = outbound_->send(method, target, body, headers);
    if (!response) return {Outcome::transient_failure(prefix(what) + response.error().message), {}};
    return {Outcome::success(), std::move(*response)};
  }

  // The id of the one resource whose `attribute` equals `value`, walking
  // the ListResponse pages. Users match case-insensitively (userName is
  // caseExact=false), groups exactly (the policy names one group).
  Outcome find_one(const std::string& resource, const std::string& attribute, const std::string& value,
                   bool case_exact, const std::string& what, std::string& id, std::string& matched) {
    const std::string filter = "?filter=" + http::url_encode(attribute + " eq " + filter_literal(value));
    const std::string extra = resource == "Groups" ? "&excludedAttributes=members" : "";
    std::int64_t start = 1;
    for (int page = 0; page < kMaxPages; ++page) {
      const std::string target = "/" + resource + filter + "&startIndex=" + std::to_string(start) +
                                 "&count=" + std::to_string(kPageCount) + extra;
      Reply reply = call("GET", target, {}, what);
      if (!reply.outcome.ok()) return reply.outcome;
      if (reply.response.status != 200) return failure(reply.response, what);
      const json list = json::parse(reply.response.body, nullptr, false);
      if (!list.is_object()) return Outcome::transient_failure(prefix(what) + "the " + resource + " answer is not JSON");
      // An empty result may omit Resources (RFC 7644 3.4.2).
      const json resources = list.contains("Resources") ? list["Resources"] : json::array();
      if (!resources.is_array()) return Outcome::transient_failure(prefix(what) + "Resources is not a list");
      for (const auto& r : resources) {
        const std::string got = json_string(r, attribute.c_str());
        if (case_exact ? got == value : iequals(got, value)) {
          id = json_string(r, "id");
          if (id.empty()) continue;
          matched = got;
          return Outcome::success();
        }
      }
      const std::int64_t total = json_int(list, "totalResults", 0);
      const std::int64_t first = json_int(list, "startIndex", start);
      const std::int64_t next = first + static_cast<std::int64_t>(resources.size());
      if (resources.empty() || next > total) break;
      start = next;
    }
    id.clear();
    return Outcome::success();
  }

  Outcome resolve_group(const std::string& name, const std::string& what, bool fresh, std::string& id) {
    if (!fresh) {
      std::lock_guard lock(mutex_);
      if (auto it = group_ids_.find(name); it != group_ids_.end()) {
        id = it->second;
        return Outcome::success();
      }
    }
    std::string matched;
    Outcome found = find_one("Groups", "displayName", name, true, what, id, matched);
    if (!found.ok()) return found;
    if (id.empty()) return Outcome::permanent_failure(prefix(what) + "no group with displayName \"" + name + "\"");
    std::lock_guard lock(mutex_);
    group_ids_[name] = id;
    return Outcome::success();
  }

  Outcome resolve_user(const std::string& user, const std::string& what, bool fresh, std::string& id) {
    if (!fresh) {
      std::lock_guard lock(mutex_);
      if (auto it = user_ids_.find(user); it != user_ids_.end()) {
        id = it->second;
        return Outcome::success();
      }
    }
    std::string matched;
    Outcome found = find_one("Users", "userName", user, false, what, id, matched);
    if (!found.ok()) return found;
    if (id.empty()) return Outcome::permanent_failure(prefix(what) + "no user with userName " + user);
    std::lock_guard lock(mutex_);
    user_ids_[user] = id;
    user_names_[id] = matched;
    return Outcome::success();
  }

  void forget(const std::string& group, const std::string& user) {
    std::lock_guard lock(mutex_);
    group_ids_.erase(group);
    if (!user.empty()) user_ids_.erase(user);
  }

  static std::string patch_body(bool add, const std::string& user_id) {
    json operation;
    if (add) {
      operation = {{"op", "add"}, {"path", "members"}, {"value", json::array({{{"value", user_id}}})}};
    } else {
      operation = {{"op", "remove"}, {"path", "members[value eq " + filter_literal(user_id) + "]"}};
    }
    return json{{"schemas", json::array({kPatchOp})}, {"Operations", json::array({operation})}}.dump();
  }

  Outcome lookup_user(const std::string& email, const std::string& what, std::string& id) override {
    return resolve_user(email, what, false, id);
  }

  Outcome change(bool add, const std::string& group, const std::string& user, const std::string& what) override {
    std::string group_id;
    std::string user_id;
    Outcome found = resolve_group(group, what, false, group_id);
    if (!found.ok()) return found;
    found = resolve_user(user, what, false, user_id);
    if (!found.ok()) return found;
    for (int attempt = 0;; ++attempt) {
      Reply reply = call("PATCH", "/Groups/" + http::url_encode(group_id), patch_body(add, user_id), what);
      if (!reply.outcome.ok()) return reply.outcome;
      const int status = reply.response.status;
      if (status == 200 || status == 204) return Outcome::success();
      // Already done: the member exists (uniqueness), or there is no
      // such member to remove.
      if (add && status == 409) return Outcome::success();
      if (!add && status == 400 && scim_type(reply.response) == "noTarget") return Outcome::success();
      if (status != 404 || attempt > 0) return failure(reply.response, what);
      // 404: a stale cached id, or (some servers) no such member on
      // remove. Look both up again: gone is permanent, same ids on remove
      // means nothing to remove, new ids get one more try.
      forget(group, user);
      std::string fresh_group;
      std::string fresh_user;
      found = resolve_group(group, what, true, fresh_group);
      if (!found.ok()) return found;
      found = resolve_user(user, what, true, fresh_user);
      if (!found.ok()) return found;
      if (fresh_group == group_id && fresh_user == user_id) {
        if (!add) return Outcome::success();
        return failure(reply.response, what);
      }
      group_id = std::move(fresh_group);
      user_id = std::move(fresh_user);
    }
  }

  // userName for a member id: the cache, else `display` when it is an
  // email, else GET /Users/{id}. Empty (and ok) when the user is gone.
  Outcome member_name(const std::string& id, const std::string& display, const std::string& what,
                      std::string& name) {
    {
      std::lock_guard lock(mutex_);
      if (auto it = user_names_.find(id); it != user_names_.end()) {
        name = it->second;
        return Outcome::success();
      }
    }
    if (display.find('@') != std::string::npos) {
      name = display;
      return Outcome::success();
    }
    Reply reply = call("GET", "/Users/" + http::url_encode(id), {}, what);
    if (!reply.outcome.ok()) return reply.outcome;
    if (reply.response.status == 404) {
      name.clear();
      return Outcome::success();
    }
    if (reply.response.status != 200) return failure(reply.response, what);
    name = json_string(json::parse(reply.response.body, nullptr, false), "userName");
    if (name.empty()) return Outcome::success();
    std::lock_guard lock(mutex_);
    user_names_[id] = name;
    user_ids_.emplace(name, id);
    return Outcome::success();
  }

  Outcome list_members(const std::string& group, const std::string& what, std::vector<std::string>& out) override {
    std::string group_id;
    Outcome found = resolve_group(group, what, false, group_id);
    if (!found.ok()) return found;
    Reply reply = call("GET", "/Groups/" + http::url_encode(group_id) + "?attributes=members", {}, what);
    if (reply.outcome.ok() && reply.response.status == 404) {
      forget(group, {});
      found = resolve_group(group, what, true, group_id);
      if (!found.ok()) return found;
      reply = call("GET", "/Groups/" + http::url_encode(group_id) + "?attributes=members", {}, what);
    }
    if (!reply.outcome.ok()) return reply.outcome;
    if (reply.response.status != 200) return failure(reply.response, what);
    const json resource = json::parse(reply.response.body, nullptr, false);
    if (!resource.is_object()) return Outcome::transient_failure(prefix(what) + "the group answer is not JSON");
    if (!resource.contains("members")) return Outcome::success();  // no members: attribute omitted
    const json& members = resource["members"];
    if (!members.is_array()) return Outcome::transient_failure(prefix(what) + "members is not a list");
    for (const auto& member : members) {
      if (iequals(json_string(member, "type"), "Group")) continue;  // nested groups are not people
      const std::string id = json_string(member, "value");
      if (id.empty()) continue;
      std::string name;
      Outcome named = member_name(id, json_string(member, "display"), what, name);
      if (!named.ok()) return named;
      if (!name.empty()) out.push_back(std::move(name));
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return Outcome::success();
  }

  const ScimConfig config_;
  const std::shared_ptr<Outbound> outbound_;
  std::mutex mutex_;  // guards the caches
  std::map<std::string, std::string> group_ids_;   // displayName -> id
  std::map<std::string, std::string> user_ids_;    // userName as asked -> id
  std::map<std::string, std::string> user_names_;  // id -> userName
};

bool has_control_characters(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7F; });
}

}  // namespace

runtime::Result<std::shared_ptr<GroupProvider>> make_scim_provider(ScimConfig config) {
  using runtime::ErrorCode;
  using runtime::make_error;
  if (config.name.empty()) config.name = "scim";
  while (!config.url.empty() && config.url.back() == '/') config.url.pop_back();
  if (config.token.empty()) return make_error(ErrorCode::invalid, config.name + ": needs a bearer token");
  if (has_control_characters(config.token)) {
    return make_error(ErrorCode::invalid, config.name + ": the token contains a control character");
  }
  auto outbound = Outbound::make({config.url, config.timeout, config.max_concurrency});
  if (!outbound) return make_error(ErrorCode::invalid, config.name + ": " + outbound.error().message);
  return std::shared_ptr<GroupProvider>(std::make_shared<ScimProvider>(std::move(config), std::move(*outbound)));
}

}  // namespace portcullis::connectors
