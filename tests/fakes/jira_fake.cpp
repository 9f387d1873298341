#include "tests/fakes/jira_fake.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cctype>
#include <charconv>

namespace portcullis::fakes {
namespace {

using nlohmann::json;

std::string base64(std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    std::uint32_t n = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16;
    if (i + 1 < bytes.size()) n |= static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8;
    if (i + 2 < bytes.size()) n |= static_cast<unsigned char>(bytes[i + 2]);
    out.push_back(kAlphabet[(n >> 18) & 63]);
    out.push_back(kAlphabet[(n >> 12) & 63]);
    out.push_back(i + 1 < bytes.size() ? kAlphabet[(n >> 6) & 63] : '=');
    out.push_back(i + 2 < bytes.size() ? kAlphabet[n & 63] : '=');
  }
  return out;
}

bool iequals(std::string_view a, std::string_view b) { return http::header_equals(a, b); }

http::Response jira_error(int status, std::vector<std::string> messages, json errors = json::object()) {
  return json_response(status, json{{"errorMessages", messages}, {"errors", errors}}.dump());
}

int int_param(const std::vector<std::pair<std::string, std::string>>& query, std::string_view name, int fallback) {
  for (const auto& [k, v] : query) {
    if (k != name) continue;
    int n = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec == std::errc() && end == v.data() + v.size()) return n;
  }
  return fallback;
}

std::string param(const std::vector<std::pair<std::string, std::string>>& query, std::string_view name) {
  for (const auto& [k, v] : query) {
    if (k == name) return v;
  }
  return {};
}

// Jira refuses ADF it cannot render; the checks that matter for a
// paragraph/bulletList document: known node types, content arrays, and no
// empty text node.
std::string adf_error(const json& node, int depth) {
  if (depth > 20) return "document too deep";
  if (!node.is_object()) return "node is not an object";
  if (!node.contains("type") || !node["type"].is_string()) return "node without type";
  const std::string type = node["type"];
  static const std::vector<std::string> kTypes = {"doc",  "paragraph", "text",     "bulletList", "orderedList",
                                                  "listItem", "hardBreak", "heading", "mention",  "codeBlock"};
  if (std::find(kTypes.begin(), kTypes.end(), type) == kTypes.end()) return "unknown node type " + type;
  if (depth == 0 && (type != "doc" || !node.contains("version") || node["version"] != 1)) {
    return "the top node must be {\"type\":\"doc\",\"version\":1}";
  }
  if (depth > 0 && type == "doc") return "doc nested inside a document";
  if (type == "text") {
    if (!node.contains("text") || !node["text"].is_string() || node["text"].get<std::string>().empty()) {
      return "text nodes must have non-empty text";
    }
    return {};
  }
  if (type == "bulletList" || type == "orderedList") {
    if (!node.contains("content") || !node["content"].is_array() || node["content"].empty()) return type + " without items";
    for (const auto& child : node["content"]) {
      if (!child.is_object() || child.value("type", "") != "listItem") return type + " may contain listItem only";
    }
  }
  if (type == "listItem" && (!node.contains("content") || !node["content"].is_array() || node["content"].empty())) {
    return "listItem without content";
  }
  if (node.contains("content")) {
    if (!node["content"].is_array()) return "content is not an array";
    for (const auto& child : node["content"]) {
      std::string e = adf_error(child, depth + 1);
      if (!e.empty()) return e;
    }
  }
  return {};
}

void flatten(const json& node, std::string& out, int depth) {
  if (depth > 32) return;
  if (node.is_array()) {
    for (const auto& child : node) flatten(child, out, depth + 1);
    return;
  }
  if (!node.is_object()) return;
  const std::string type = node.value("type", "");
  if (type == "text") {
    out += node.value("text", "");
    return;
  }
  if (type == "hardBreak") {
    out += '\n';
    return;
  }
  const bool block = type == "paragraph" || type == "heading" || type == "listItem" || type == "codeBlock";
  if (block && !out.empty() && out.back() != '\n') out += '\n';
  if (type == "listItem") {
    out += "- ";
    // The item's own paragraph must not start a new line after "- ".
    if (node.contains("content")) {
      for (const auto& child : node["content"]) {
        if (child.is_object() && child.value("type", "") == "paragraph") {
          if (child.contains("content")) flatten(child["content"], out, depth + 1);
        } else {
          flatten(child, out, depth + 1);
        }
      }
    }
  } else if (node.contains("content")) {
    flatten(node["content"], out, depth + 1);
  }
  if (block && !out.empty() && out.back() != '\n') out += '\n';
}

std::vector<std::string> label_list(const json& fields) {
  std::vector<std::string> out;
  if (fields.contains("labels") && fields["labels"].is_array()) {
    for (const auto& l : fields["labels"]) {
      if (l.is_string()) out.push_back(l);
    }
  }
  return out;
}

std::string trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())) != 0) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())) != 0) s.remove_suffix(1);
  return std::string(s);
}

// One JQL value: "quoted \"string\"" or a bare word.
std::optional<std::string> jql_value(std::string_view s) {
  std::string v = trim(s);
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') {
    std::string out;
    for (std::size_t i = 1; i + 1 < v.size(); ++i) {
      if (v[i] == '\\' && i + 2 < v.size()) ++i;
      out += v[i];
    }
    return out;
  }
  if (v.empty() || v.find_first_of("\" ()") != std::string::npos) return std::nullopt;
  return v;
}

}  // namespace

JiraFake::JiraFake(std::string user, std::string token, std::string project)
    : user_(std::move(user)),
      token_(std::move(token)),
      project_(std::move(project)),
      expected_authorization_("Basic " + base64(user_ + ":" + token_)),
      workflow_({{"11", "Approve", "Open", "Approved"},
                 {"21", "Decline", "Open", "Declined"},
                 {"31", "Complete", "Approved", "Done"},
                 {"41", "Close", "", "Done"}}),
      server_([this](const http::Request& r) { return handle(r); }) {
  add_user(kBotAccountId, user_, "Portcullis");
}

void JiraFake::set_workflow(std::vector<JiraFakeTransition> transitions, std::string initial_status) {
  std::lock_guard lock(mutex_);
  workflow_ = std::move(transitions);
  initial_status_ = std::move(initial_status);
}

void JiraFake::set_issue_types(std::vector<std::string> names) {
  std::lock_guard lock(mutex_);
  issue_types_ = std::move(names);
}

void JiraFake::add_user(const std::string& account_id, const std::string& email, const std::string& display_name) {
  std::lock_guard lock(mutex_);
  users_[account_id] = {email, display_name.empty() ? email : display_name};
}

JiraFakeIssue* JiraFake::find(const std::string& key) {
  for (auto& issue : issues_) {
    if (iequals(issue.key, key) || issue.id == key) return &issue;
  }
  return nullptr;
}

const JiraFakeIssue* JiraFake::find(const std::string& key) const {
  return const_cast<JiraFake*>(this)->find(key);
}

std::string JiraFake::create_issue(json fields) {
  std::lock_guard lock(mutex_);
  JiraFakeIssue issue;
  issue.id = std::to_string(10000 + issues_.size() + 1);
  issue.key = project_ + "-" + std::to_string(issues_.size() + 1);
  issue.fields = {{"project", {{"key", project_}, {"name", project_}}},
                  {"issuetype", {{"name", issue_types_.empty() ? "Task" : issue_types_.front()}}},
                  {"summary", "Issue " + issue.key},
                  {"labels", json::array()}};
  if (fields.is_object()) issue.fields.merge_patch(fields);
  if (!issue.fields.contains("status")) issue.fields["status"] = {{"name", initial_status_}};
  issues_.push_back(issue);
  return issue.key;
}

void JiraFake::set_status(const std::string& key, const std::string& status) {
  std::lock_guard lock(mutex_);
  if (auto* issue = find(key)) issue->fields["status"] = {{"name", status}};
}

std::optional<JiraFakeIssue> JiraFake::issue(const std::string& key) const {
  std::lock_guard lock(mutex_);
  const auto* found = find(key);
  if (found == nullptr) return std::nullopt;
  return *found;
}

std::size_t JiraFake::issue_count() const {
  std::lock_guard lock(mutex_);
  return issues_.size();
}

std::string JiraFake::status(const std::string& key) const {
  auto found = issue(key);
  return found ? found->fields["status"].value("name", "") : std::string();
}

std::vector<std::string> JiraFake::labels(const std::string& key) const {
  auto found = issue(key);
  return found ? label_list(found->fields) : std::vector<std::string>{};
}

json JiraFake::description(const std::string& key) const {
  auto found = issue(key);
  return found && found->fields.contains("description") ? found->fields["description"] : json();
}

std::vector<std::string> JiraFake::comment_texts(const std::string& key) const {
  std::vector<std::string> out;
  for (const auto& c : comments(key)) out.push_back(flatten_adf(c.body));
  return out;
}

std::vector<JiraFakeComment> JiraFake::comments(const std::string& key) const {
  auto found = issue(key);
  return found ? found->comments : std::vector<JiraFakeComment>{};
}

void JiraFake::rate_limit_next(int count, int retry_after_seconds, const std::string& method,
                               const std::string& path_prefix) {
  server_.inject(method, path_prefix,
                 json_response(429, R"({"errorMessages":["Rate limit exceeded."],"errors":{}})",
                               {{"Retry-After", std::to_string(retry_after_seconds)}}),
                 count);
}

std::string JiraFake::flatten_adf(const json& adf) {
  if (adf.is_string()) return adf.get<std::string>();
  std::string out;
  flatten(adf, out, 0);
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

std::string JiraFake::sign(const std::string& secret, const std::string& body) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(body.data()), body.size(), digest, &length);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "sha256=";
  for (unsigned int i = 0; i < length; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 0xF]);
  }
  return out;
}

json JiraFake::user_json(const std::string& account_id) const {
  auto it = users_.find(account_id);
  json user = {{"accountId", account_id}, {"accountType", "atlassian"}, {"active", true}};
  if (it != users_.end()) {
    user["emailAddress"] = it->second.first;
    user["displayName"] = it->second.second;
  }
  return user;
}

json JiraFake::issue_json(const JiraFakeIssue& issue) const {
  return {{"id", issue.id},
          {"key", issue.key},
          {"self", base_url() + "/rest/api/3/issue/" + issue.id},
          {"fields", issue.fields}};
}

json JiraFake::comment_json(const JiraFakeComment& comment, bool with_properties) const {
  json c = {{"id", comment.id},
            {"self", base_url() + "/rest/api/3/comment/" + comment.id},
            {"author", user_json(comment.author_account_id)},
            {"body", comment.body},
            {"created", "2024-01-01T00:00:00.000+0000"}};
  if (with_properties) {
    c["properties"] = json::array();
    for (const auto& [k, v] : comment.properties) c["properties"].push_back({{"key", k}, {"value", v}});
  }
  return c;
}

std::string JiraFake::issue_created_webhook(const std::string& key, const std::string& reporter_account_id) const {
  std::lock_guard lock(mutex_);
  const auto* found = find(key);
  json issue = found ? issue_json(*found) : json{{"key", key}, {"fields", json::object()}};
  // Webhooks carry the reporter as a user object; email only when visible.
  issue["fields"]["reporter"] = user_json(reporter_account_id);
  return json{{"timestamp", 1700000000000},
              {"webhookEvent", "jira:issue_created"},
              {"issue_event_type_name", "issue_created"},
              {"user", user_json(reporter_account_id)},
              {"issue", issue}}
      .dump();
}

std::string JiraFake::issue_updated_webhook(const std::string& key, const std::string& to_status,
                                            const std::string& account_id) {
  std::lock_guard lock(mutex_);
  auto* found = find(key);
  std::string from;
  json issue = {{"key", key}, {"fields", json::object()}};
  if (found != nullptr) {
    from = found->fields["status"].value("name", "");
    found->fields["status"] = {{"name", to_status}};
    issue = issue_json(*found);
  }
  return json{{"timestamp", 1700000000000},
              {"webhookEvent", "jira:issue_updated"},
              {"issue_event_type_name", "issue_generic"},
              {"user", user_json(account_id)},
              {"issue", issue},
              {"changelog",
               {{"id", "10100"},
                {"items", json::array({{{"field", "status"},
                                        {"fieldtype", "jira"},
                                        {"fieldId", "status"},
                                        {"fromString", from},
                                        {"toString", to_status}}})}}}}
      .dump();
}

http::Response JiraFake::handle(const http::Request& request) {
  const std::string* authorization = request.header("Authorization");
  if (authorization == nullptr || *authorization != expected_authorization_) {
    return jira_error(401, {"Client must be authenticated to access this resource."});
  }
  const std::string path(request.path());
  const auto query = http::parse_query(request.query());
  constexpr std::string_view kIssue = "/rest/api/3/issue";
  try {
    if (path == kIssue && request.method == "POST") {
      json body = json::parse(request.body, nullptr, false);
      if (!body.is_object()) return jira_error(400, {"Invalid request payload. Refer to the REST API documentation."});
      return create(body);
    }
    if (path.starts_with(std::string(kIssue) + "/")) {
      const std::string rest = path.substr(kIssue.size() + 1);
      const auto slash = rest.find('/');
      return handle_issue(request, rest.substr(0, slash), slash == std::string::npos ? "" : rest.substr(slash));
    }
    if (path == "/rest/api/3/search/jql" || path == "/rest/api/3/search") {
      if (request.method == "POST") {
        json body = json::parse(request.body, nullptr, false);
        if (!body.is_object() || !body.contains("jql") || !body["jql"].is_string()) {
          return jira_error(400, {"The JQL query is required."});
        }
        return search(body["jql"], body.value("maxResults", 50));
      }
      return search(param(query, "jql"), int_param(query, "maxResults", 50));
    }
    if (path == "/rest/api/3/comment/list" && request.method == "POST") {
      json body = json::parse(request.body, nullptr, false);
      if (!body.is_object() || !body.contains("ids") || !body["ids"].is_array()) {
        return jira_error(400, {"ids is required."});
      }
      const bool expand = param(query, "expand").find("properties") != std::string::npos;
      std::lock_guard lock(mutex_);
      json values = json::array();
      for (const auto& issue : issues_) {
        for (const auto& c : issue.comments) {
          for (const auto& id : body["ids"]) {
            if ((id.is_number() && std::to_string(id.get<long long>()) == c.id) || (id.is_string() && id == c.id)) {
              values.push_back(comment_json(c, expand));
            }
          }
        }
      }
      return json_response(200, json{{"isLast", true}, {"maxResults", 1000}, {"startAt", 0},
                                     {"total", values.size()}, {"values", values}}
                                    .dump());
    }
    if (path == "/rest/api/3/user" && request.method == "GET") {
      const std::string account_id = param(query, "accountId");
      std::lock_guard lock(mutex_);
      if (users_.count(account_id) == 0) {
        return jira_error(404, {"Specified user does not exist or you do not have required permissions"});
      }
      return json_response(200, user_json(account_id).dump());
    }
  } catch (const std::exception& e) {
    return jira_error(400, {std::string("fake: ") + e.what()});
  }
  return jira_error(404, {"No route for " + request.method + " " + path});
}

http::Response JiraFake::create(const json& body) {
  if (!body.contains("fields") || !body["fields"].is_object()) return jira_error(400, {"fields is required."});
  const json& fields = body["fields"];
  json errors = json::object();
  if (!fields.contains("project") || !fields["project"].is_object() || fields["project"].value("key", "") != project_) {
    errors["project"] = "valid project is required";
  }
  std::string type;
  if (fields.contains("issuetype") && fields["issuetype"].is_object()) type = fields["issuetype"].value("name", "");
  {
    std::lock_guard lock(mutex_);
    if (std::none_of(issue_types_.begin(), issue_types_.end(), [&](const auto& t) { return t == type; })) {
      errors["issuetype"] = "Specify a valid issue type";
    }
  }
  if (!fields.contains("summary") || !fields["summary"].is_string() || fields["summary"].get<std::string>().empty()) {
    errors["summary"] = "You must specify a summary of the issue.";
  }
  if (fields.contains("labels")) {
    if (!fields["labels"].is_array()) {
      errors["labels"] = "labels must be an array";
    } else {
      for (const auto& l : fields["labels"]) {
        if (!l.is_string() || l.get<std::string>().find(' ') != std::string::npos) {
          errors["labels"] = "The label can't contain spaces.";
        }
      }
    }
  }
  if (fields.contains("description")) {
    if (std::string e = adf_error(fields["description"], 0); !e.empty()) {
      errors["description"] = "Operation value must be an Atlassian Document (" + e + ")";
    }
  }
  if (!errors.empty()) return jira_error(400, {}, errors);
  json stored = fields;
  stored.erase("project");
  stored.erase("issuetype");
  stored["issuetype"] = {{"name", type}};
  stored["reporter"] = user_json(kBotAccountId);
  const std::string key = create_issue(stored);
  auto found = issue(key);
  return json_response(201, json{{"id", found->id}, {"key", key}, {"self", base_url() + "/rest/api/3/issue/" + found->id}}.dump());
}

http::Response JiraFake::handle_issue(const http::Request& request, const std::string& key, const std::string& rest) {
  std::lock_guard lock(mutex_);
  JiraFakeIssue* issue = find(key);
  if (issue == nullptr) return jira_error(404, {"Issue does not exist or you do not have permission to see it."});
  const auto query = http::parse_query(request.query());
  json body = request.body.empty() ? json::object() : json::parse(request.body, nullptr, false);
  if (body.is_discarded()) return jira_error(400, {"Unexpected character in the request body."});

  if (rest.empty() && request.method == "GET") {
    json out = issue_json(*issue);
    const std::string wanted = param(query, "fields");
    if (!wanted.empty()) {
      json subset = json::object();
      std::string_view list = wanted;
      while (!list.empty()) {
        const auto comma = list.find(',');
        const std::string name(list.substr(0, comma));
        if (issue->fields.contains(name)) subset[name] = issue->fields[name];
        list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
      }
      out["fields"] = subset;
    }
    return json_response(200, out.dump());
  }
  if (rest.empty() && request.method == "PUT") {
    if (body.contains("update") && body["update"].contains("labels")) {
      auto labels = label_list(issue->fields);
      for (const auto& op : body["update"]["labels"]) {
        if (op.contains("add") && op["add"].is_string()) {
          const std::string l = op["add"];
          if (l.find(' ') != std::string::npos) return jira_error(400, {}, {{"labels", "The label can't contain spaces."}});
          if (std::find(labels.begin(), labels.end(), l) == labels.end()) labels.push_back(l);
        }
        if (op.contains("remove") && op["remove"].is_string()) {
          labels.erase(std::remove(labels.begin(), labels.end(), op["remove"].get<std::string>()), labels.end());
        }
      }
      issue->fields["labels"] = labels;
    }
    if (body.contains("fields") && body["fields"].is_object() && body["fields"].contains("summary")) {
      issue->fields["summary"] = body["fields"]["summary"];
    }
    if (body.contains("fields") && body["fields"].is_object() && body["fields"].contains("description")) {
      if (std::string e = adf_error(body["fields"]["description"], 0); !e.empty()) {
        return jira_error(400, {}, {{"description", e}});
      }
      issue->fields["description"] = body["fields"]["description"];
    }
    http::Response response;
    response.status = 204;
    response.content_type.clear();
    return response;
  }
  if (rest == "/comment" && request.method == "POST") {
    if (!body.contains("body")) return jira_error(400, {}, {{"comment", "Comment body can not be empty!"}});
    if (std::string e = adf_error(body["body"], 0); !e.empty()) {
      return jira_error(400, {}, {{"comment", "Comment body is not a valid Atlassian Document (" + e + ")"}});
    }
    JiraFakeComment comment;
    comment.id = std::to_string(next_comment_id_++);
    comment.author_account_id = kBotAccountId;
    comment.body = body["body"];
    if (body.contains("properties") && body["properties"].is_array()) {
      for (const auto& p : body["properties"]) {
        if (p.is_object() && p.contains("key") && p["key"].is_string()) comment.properties[p["key"]] = p.value("value", json());
      }
    }
    issue->comments.push_back(comment);
    return json_response(201, comment_json(comment, false).dump());
  }
  if (rest == "/comment" && request.method == "GET") {
    std::vector<JiraFakeComment> ordered = issue->comments;
    if (param(query, "orderBy") == "-created") std::reverse(ordered.begin(), ordered.end());
    const int start = std::max(0, int_param(query, "startAt", 0));
    const int max = std::clamp(int_param(query, "maxResults", 5000), 0, 5000);
    json list = json::array();
    for (int i = start; i < static_cast<int>(ordered.size()) && i < start + max; ++i) {
      list.push_back(comment_json(ordered[static_cast<std::size_t>(i)], false));
    }
    return json_response(200, json{{"startAt", start}, {"maxResults", max}, {"total", ordered.size()},
                                   {"comments", list}}
                                  .dump());
  }
  const std::string current = issue->fields["status"].value("name", "");
  if (rest == "/transitions" && request.method == "GET") {
    json list = json::array();
    for (const auto& t : workflow_) {
      if (t.from.empty() || t.from == current) {
        list.push_back({{"id", t.id}, {"name", t.name}, {"to", {{"name", t.to}, {"id", t.id + "0"}}}});
      }
    }
    return json_response(200, json{{"transitions", list}}.dump());
  }
  if (rest == "/transitions" && request.method == "POST") {
    const std::string id = body.contains("transition") && body["transition"].is_object()
                               ? body["transition"].value("id", "")
                               : std::string();
    for (const auto& t : workflow_) {
      if (t.id == id && (t.from.empty() || t.from == current)) {
        issue->fields["status"] = {{"name", t.to}};
        http::Response response;
        response.status = 204;
        response.content_type.clear();
        return response;
      }
    }
    return jira_error(400, {"Transition id '" + id + "' is not valid for this issue."});
  }
  return jira_error(404, {"No route for " + request.method + " issue" + rest});
}

http::Response JiraFake::search(const std::string& jql, int max_results) {
  // Clauses joined by AND, each `field = value` for project, labels, key,
  // status: enough for the queries a connector makes.
  std::vector<std::pair<std::string, std::string>> clauses;
  std::string_view rest = jql;
  while (!rest.empty()) {
    const auto and_at = rest.find(" AND ");
    const std::string_view clause = rest.substr(0, and_at);
    rest = and_at == std::string_view::npos ? std::string_view() : rest.substr(and_at + 5);
    const auto eq = clause.find('=');
    if (eq == std::string_view::npos) return jira_error(400, {"Error in the JQL Query: expected '=' in " + std::string(clause)});
    const std::string field = trim(clause.substr(0, eq));
    auto value = jql_value(clause.substr(eq + 1));
    if (!value) return jira_error(400, {"Error in the JQL Query: bad value in " + std::string(clause)});
    if (field != "project" && field != "labels" && field != "key" && field != "status") {
      return jira_error(400, {"Field '" + field + "' does not exist or you do not have permission to view it."});
    }
    clauses.emplace_back(field, *value);
  }
  if (clauses.empty()) return jira_error(400, {"The JQL query is required."});
  std::lock_guard lock(mutex_);
  json issues = json::array();
  for (const auto& issue : issues_) {
    bool match = true;
    for (const auto& [field, value] : clauses) {
      if (field == "project") match = match && iequals(issue.fields["project"].value("key", ""), value);
      if (field == "key") match = match && iequals(issue.key, value);
      if (field == "status") match = match && iequals(issue.fields["status"].value("name", ""), value);
      if (field == "labels") {
        auto labels = label_list(issue.fields);
        match = match && std::find(labels.begin(), labels.end(), value) != labels.end();
      }
    }
    if (match && static_cast<int>(issues.size()) < max_results) issues.push_back({{"id", issue.id}, {"key", issue.key}});
  }
  return json_response(200, json{{"issues", issues}, {"isLast", true}}.dump());
}

}  // namespace portcullis::fakes
