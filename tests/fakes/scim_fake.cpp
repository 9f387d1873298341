#include "tests/fakes/scim_fake.hpp"

#include <algorithm>
#include <charconv>

namespace portcullis::fakes {
namespace {

using json = nlohmann::json;

constexpr const char* kError = "urn:ietf:params:scim:api:messages:2.0:Error";
constexpr const char* kListResponse = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
constexpr const char* kPatchOp = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
constexpr std::string_view kPrefix = "/scim/v2";

http::Response scim_response(int status, const json& body, std::vector<http::Header> headers = {}) {
  http::Response response = json_response(status, body.dump(), std::move(headers));
  response.content_type = "application/scim+json";
  return response;
}

http::Response scim_error(int status, const std::string& scim_type, const std::string& detail,
                          std::vector<http::Header> headers = {}) {
  json body = {{"schemas", {kError}}, {"status", std::to_string(status)}, {"detail", detail}};
  if (!scim_type.empty()) body["scimType"] = scim_type;
  return scim_response(status, body, std::move(headers));
}

std::int64_t parse_int(const std::string& text, std::int64_t fallback) {
  std::int64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size()) return fallback;
  return value;
}

// `ATTR eq "VALUE"` -> (attr, value); false for anything else.
bool parse_filter(const std::string& filter, std::string& attribute, std::string& value) {
  const auto space = filter.find(' ');
  if (space == std::string::npos) return false;
  attribute = filter.substr(0, space);
  const std::string rest = filter.substr(space + 1);
  if (!rest.starts_with("eq \"") || !rest.ends_with("\"") || rest.size() < 5) return false;
  value.clear();
  const std::string_view literal = std::string_view(rest).substr(4, rest.size() - 5);
  for (std::size_t i = 0; i < literal.size(); ++i) {
    if (literal[i] == '\\' && i + 1 < literal.size()) ++i;
    value.push_back(literal[i]);
  }
  return true;
}

}  // namespace

ScimFake::ScimFake(std::string token)
    : token_(std::move(token)), server_([this](const http::Request& r) { return handle(r); }) {}

void ScimFake::add_user(const std::string& id, const std::string& user_name, const std::string& display) {
  std::lock_guard lock(mutex_);
  users_[id] = User{user_name, display.empty() ? user_name : display};
}

void ScimFake::add_group(const std::string& id, const std::string& display_name) {
  std::lock_guard lock(mutex_);
  groups_[id] = display_name;
  members_[id];
}

void ScimFake::add_member(const std::string& group_name, const std::string& user_name) {
  std::lock_guard lock(mutex_);
  for (const auto& [gid, name] : groups_) {
    if (name != group_name) continue;
    for (const auto& [uid, user] : users_) {
      if (user.user_name == user_name) members_[gid].insert(uid);
    }
  }
}

std::vector<std::string> ScimFake::members_of(const std::string& group_name) const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> out;
  for (const auto& [gid, name] : groups_) {
    if (name != group_name) continue;
    for (const auto& uid : members_.at(gid)) out.push_back(users_.at(uid).user_name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

void ScimFake::set_page_size(std::size_t size) {
  std::lock_guard lock(mutex_);
  page_size_ = std::max<std::size_t>(size, 1);
}

void ScimFake::set_strict_membership(bool strict) {
  std::lock_guard lock(mutex_);
  strict_ = strict;
}

void ScimFake::set_patch_returns_resource(bool value) {
  std::lock_guard lock(mutex_);
  patch_returns_resource_ = value;
}

void ScimFake::configure_rate_limit(int calls, std::chrono::seconds retry_after) {
  std::lock_guard lock(mutex_);
  rate_limited_calls_ = calls;
  retry_after_ = retry_after;
}

json ScimFake::user_json(const std::string& id) const {
  const User& user = users_.at(id);
  return {{"schemas", {"urn:ietf:params:scim:schemas:core:2.0:User"}},
          {"id", id},
          {"userName", user.user_name},
          {"displayName", user.display},
          {"active", true},
          {"emails", {{{"value", user.user_name}, {"primary", true}, {"type", "work"}}}},
          {"meta", {{"resourceType", "User"}, {"location", base_url() + "/Users/" + id}}}};
}

json ScimFake::group_json(const std::string& id, bool with_members) const {
  json group = {{"schemas", {"urn:ietf:params:scim:schemas:core:2.0:Group"}},
                {"id", id},
                {"displayName", groups_.at(id)},
                {"meta", {{"resourceType", "Group"}, {"location", base_url() + "/Groups/" + id}}}};
  if (with_members) {
    json members = json::array();
    for (const auto& uid : members_.at(id)) {
      members.push_back({{"value", uid},
                         {"display", users_.at(uid).display},
                         {"type", "User"},
                         {"$ref", base_url() + "/Users/" + uid}});
    }
    // RFC 7643: an empty multi-valued attribute may be left out.
    if (!members.empty()) group["members"] = members;
  }
  return group;
}

http::Response ScimFake::handle(const http::Request& request) {
  std::lock_guard lock(mutex_);
  if (rate_limited_calls_ > 0) {
    --rate_limited_calls_;
    return scim_error(429, "", "Too many requests", {{"Retry-After", std::to_string(retry_after_.count())}});
  }
  const std::string* auth = request.header("Authorization");
  if (auth == nullptr || *auth != "Bearer " + token_) {
    return scim_error(401, "", "Authorization failure. The authorization header is invalid or missing.");
  }
  std::string_view path = request.path();
  if (!path.starts_with(kPrefix)) return scim_error(404, "", "Resource not found");
  path.remove_prefix(kPrefix.size());
  if (path == "/Users" || path == "/Groups") {
    if (request.method != "GET") return scim_error(405, "", "Method not allowed");
    return list(request, path == "/Groups");
  }
  if (path.starts_with("/Users/") && request.method == "GET") {
    const std::string id = percent_decode(path.substr(7));
    if (users_.count(id) == 0) return scim_error(404, "", "Resource " + id + " not found");
    return scim_response(200, user_json(id));
  }
  if (path.starts_with("/Groups/")) {
    const std::string id = percent_decode(path.substr(8));
    if (groups_.count(id) == 0) return scim_error(404, "", "Resource " + id + " not found");
    if (request.method == "GET") {
      const std::string excluded = query_value(request, "excludedAttributes");
      return scim_response(200, group_json(id, excluded.find("members") == std::string::npos));
    }
    if (request.method == "PATCH") return patch(id, request);
    return scim_error(405, "", "Method not allowed");
  }
  return scim_error(404, "", "Resource not found");
}

http::Response ScimFake::list(const http::Request& request, bool groups) {
  std::vector<std::string> ids;
  const std::string filter = query_value(request, "filter");
  std::string attribute;
  std::string value;
  if (!filter.empty() && !parse_filter(filter, attribute, value)) {
    return scim_error(400, "invalidFilter", "The filter is not supported: " + filter);
  }
  if (!attribute.empty() && attribute != "id" && attribute != (groups ? "displayName" : "userName")) {
    return scim_error(400, "invalidFilter", "Filtering on " + attribute + " is not supported");
  }
  if (groups) {
    for (const auto& [id, name] : groups_) {
      if (attribute.empty() || lower(attribute == "id" ? id : name) == lower(value)) ids.push_back(id);
    }
  } else {
    for (const auto& [id, user] : users_) {
      if (attribute.empty() || lower(attribute == "id" ? id : user.user_name) == lower(value)) ids.push_back(id);
    }
  }
  const std::int64_t start = std::max<std::int64_t>(parse_int(query_value(request, "startIndex"), 1), 1);
  const std::int64_t asked = parse_int(query_value(request, "count"), static_cast<std::int64_t>(page_size_));
  const auto count = static_cast<std::size_t>(std::clamp<std::int64_t>(asked, 0, static_cast<std::int64_t>(page_size_)));
  const bool with_members = query_value(request, "excludedAttributes").find("members") == std::string::npos;
  json resources = json::array();
  for (std::size_t i = static_cast<std::size_t>(start - 1); i < ids.size() && resources.size() < count; ++i) {
    resources.push_back(groups ? group_json(ids[i], with_members) : user_json(ids[i]));
  }
  return scim_response(200, {{"schemas", {kListResponse}},
                             {"totalResults", ids.size()},
                             {"startIndex", start},
                             {"itemsPerPage", resources.size()},
                             {"Resources", resources}});
}

http::Response ScimFake::patch(const std::string& group_id, const http::Request& request) {
  const json body = json::parse(request.body, nullptr, false);
  if (!body.is_object() || !body.contains("schemas") || !body["schemas"].is_array() ||
      std::find(body["schemas"].begin(), body["schemas"].end(), kPatchOp) == body["schemas"].end() ||
      !body.contains("Operations") || !body["Operations"].is_array()) {
    return scim_error(400, "invalidSyntax", "The request is not a PatchOp");
  }
  auto& members = members_[group_id];
  // Validate everything first: a PATCH is atomic (RFC 7644 3.5.2).
  std::set<std::string> adds;
  std::set<std::string> removes;
  for (const auto& op : body["Operations"]) {
    const std::string kind = op.is_object() && op.contains("op") && op["op"].is_string() ? lower(op["op"]) : "";
    const std::string path = op.is_object() && op.contains("path") && op["path"].is_string() ? op["path"].get<std::string>() : "";
    if (kind == "add" && path == "members" && op.contains("value") && op["value"].is_array()) {
      for (const auto& v : op["value"]) {
        const std::string id = v.is_object() && v.contains("value") && v["value"].is_string() ? v["value"].get<std::string>() : "";
        if (users_.count(id) == 0) return scim_error(400, "invalidValue", "User " + id + " does not exist");
        if (members.count(id) != 0 && strict_) {
          return scim_error(409, "uniqueness", "User " + id + " is already a member of the group");
        }
        adds.insert(id);
      }
    } else if (kind == "remove" && path.starts_with("members[value eq \"") && path.ends_with("\"]")) {
      const std::string id = path.substr(18, path.size() - 20);
      if (members.count(id) == 0 && strict_) {
        return scim_error(400, "noTarget", "No member matches " + path);
      }
      removes.insert(id);
    } else {
      return scim_error(400, "invalidPath", "Unsupported operation " + kind + " " + path);
    }
  }
  for (const auto& id : adds) members.insert(id);
  for (const auto& id : removes) members.erase(id);
  if (patch_returns_resource_) return scim_response(200, group_json(group_id, true));
  http::Response response;
  response.status = 204;
  response.content_type.clear();
  return response;
}

}  // namespace portcullis::fakes
