// Jira webhooks: signature check and the few events the daemon acts on.
#include <cctype>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/auth/crypto.hpp"
#include "connectors/jira/jira.hpp"

namespace portcullis::connectors {
namespace {

using nlohmann::json;
using Kind = JiraWebhookEvent::Kind;

constexpr std::string_view kLabelPrefix = "portcullis-";

bool iequals(std::string_view a, std::string_view b) { return http::header_equals(a, b); }

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

const json* member(const json& object, std::string_view name) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(name);
  return it == object.end() ? nullptr : &*it;
}

std::string string_at(const json& object, std::string_view name) {
  const json* value = member(object, name);
  return value != nullptr && value->is_string() ? value->get<std::string>() : std::string();
}

// A field value as text: strings as they are, select lists by their value,
// users by their email, ADF flattened, arrays joined.
std::string field_text(const json& value, int depth = 0) {
  if (depth > 4) return {};
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number() || value.is_boolean()) return value.dump();
  if (value.is_array()) {
    std::string out;
    for (const auto& v : value) {
      std::string part = field_text(v, depth + 1);
      if (!part.empty()) out += (out.empty() ? "" : ", ") + part;
    }
    return out;
  }
  if (value.is_object()) {
    if (string_at(value, "type") == "doc") return adf_to_text(value);
    for (const char* name : {"value", "emailAddress", "name", "displayName", "key"}) {
      if (const json* v = member(value, name); v != nullptr && (v->is_string() || v->is_number())) {
        return field_text(*v, depth + 1);
      }
    }
  }
  return {};
}

// Jira sends labels as an array; an automation rule's smart value renders
// them as one string ("a, b" or "a b").
std::vector<std::string> labels_of(const json& fields) {
  std::vector<std::string> labels;
  const json* value = member(fields, "labels");
  if (value == nullptr) return labels;
  if (value->is_array()) {
    for (const auto& l : *value) {
      if (l.is_string()) labels.push_back(l.get<std::string>());
    }
  } else if (value->is_string()) {
    std::string current;
    for (char c : value->get<std::string>() + " ") {
      if (c == ',' || c == ' ' || c == '[' || c == ']') {
        if (!current.empty()) labels.push_back(current);
        current.clear();
      } else {
        current += c;
      }
    }
  }
  return labels;
}

std::string request_id_of(const json& fields) {
  for (const auto& label : labels_of(fields)) {
    if (label.size() > kLabelPrefix.size() && label.starts_with(kLabelPrefix)) return label.substr(kLabelPrefix.size());
  }
  return {};
}

runtime::Error invalid(std::string message) {
  return runtime::make_error(runtime::ErrorCode::invalid, "jira webhook: " + std::move(message));
}

JiraWebhookEvent ignored(JiraWebhookEvent event, std::string why) {
  event.kind = Kind::ignored;
  event.approved = event.denied = false;
  event.ignored_because = std::move(why);
  return event;
}

}  // namespace

bool verify_jira_signature(std::string_view secret, std::string_view header_value, std::string_view raw_body) {
  constexpr std::string_view kPrefix = "sha256=";
  if (secret.empty()) return false;
  if (header_value.size() != kPrefix.size() + 64 || !iequals(header_value.substr(0, kPrefix.size()), kPrefix)) {
    return false;
  }
  std::string given = lower(header_value.substr(kPrefix.size()));
  for (char c : given) {
    if (std::isxdigit(static_cast<unsigned char>(c)) == 0) return false;
  }
  return constant_time_equals(given, hmac_sha256_hex(secret, raw_body));
}

namespace {

runtime::Result<JiraWebhookEvent> parse_body(std::string_view raw_body, const JiraConfig& config) {
  const json body = json::parse(raw_body, nullptr, false);
  if (body.is_discarded()) return invalid("the body is not JSON");
  if (!body.is_object()) return invalid("the body is not a JSON object");
  const std::string name = string_at(body, "webhookEvent");
  if (name.empty()) return invalid("no \"webhookEvent\"");

  JiraWebhookEvent event;
  const bool approval = lower(name).find("approval") != std::string::npos;
  if (name != "jira:issue_created" && name != "jira:issue_updated" && !approval) {
    return ignored(std::move(event), "event " + name + " is not one Portcullis handles");
  }

  const json* issue = member(body, "issue");
  if (issue != nullptr && !issue->is_object()) return invalid(name + ": \"issue\" is not an object");
  event.issue_key = issue != nullptr ? string_at(*issue, "key") : std::string();
  if (event.issue_key.empty()) event.issue_key = string_at(body, "issueKey");
  if (event.issue_key.empty()) return invalid(name + ": no issue key (\"issue.key\")");
  static const json kNoFields = json::object();
  const json* fields = issue != nullptr ? member(*issue, "fields") : nullptr;
  if (fields != nullptr && !fields->is_object()) return invalid(name + ": \"issue.fields\" is not an object");
  if (fields == nullptr && !approval) return invalid(name + ": issue " + event.issue_key + " has no \"fields\"");
  if (fields == nullptr) fields = &kNoFields;

  event.request_id = request_id_of(*fields);
  if (event.request_id.empty()) event.request_id = request_id_of(body);  // a flat automation body
  if (const json* user = member(body, "user")) event.actor_account_id = string_at(*user, "accountId");

  const json* project = member(*fields, "project");
  const std::string project_key = project != nullptr ? string_at(*project, "key") : std::string();
  if (project_key.empty() && !approval) return invalid(name + ": issue " + event.issue_key + " has no project key");
  if (!project_key.empty() && !iequals(project_key, config.project)) {
    return ignored(std::move(event), "issue " + event.issue_key + " is in project " + project_key + ", not " +
                                         config.project);
  }
  const json* type = member(*fields, "issuetype");
  const std::string type_name = type != nullptr ? string_at(*type, "name") : std::string();
  const bool our_type = type_name.empty() || iequals(type_name, config.issue_type);

  if (approval) {
    const json* block = member(body, "approval");
    std::string decision;
    for (const json* source : {block, &body}) {
      if (source == nullptr) continue;
      for (const char* key : {"finalDecision", "decision", "approverDecision"}) {
        if (decision.empty()) decision = lower(string_at(*source, key));
      }
    }
    if (event.actor_account_id.empty() && block != nullptr) {
      if (const json* approver = member(*block, "approver")) event.actor_account_id = string_at(*approver, "accountId");
    }
    if (event.actor_account_id.empty()) event.actor_account_id = string_at(body, "accountId");
    if (decision == "pending") return ignored(std::move(event), "the approval on " + event.issue_key + " is pending");
    if (decision == "approve" || decision == "approved") {
      event.approved = true;
    } else if (decision == "decline" || decision == "declined" || decision == "deny" || decision == "denied") {
      event.denied = true;
    } else {
      return invalid(name + ": issue " + event.issue_key + ": no approval decision (\"approval.finalDecision\" " +
                     "approve/approved or decline/declined)" + (decision.empty() ? "" : ", got \"" + decision + "\""));
    }
    event.kind = Kind::approval_decided;
    return event;
  }

  if (name == "jira:issue_created") {
    if (!event.request_id.empty()) {
      return ignored(std::move(event), "issue " + event.issue_key + " was opened by Portcullis");
    }
    if (!our_type) {
      return ignored(std::move(event), "issue " + event.issue_key + " is a " + type_name + ", not a " +
                                           config.issue_type);
    }
    event.kind = Kind::issue_created;
    if (const json* reporter = member(*fields, "reporter")) {
      event.reporter_account_id = string_at(*reporter, "accountId");
      event.reporter_email = string_at(*reporter, "emailAddress");
    }
    auto field = [&](const std::string& id) {
      const json* value = id.empty() ? nullptr : member(*fields, id);
      return value != nullptr ? field_text(*value) : std::string();
    };
    event.app = field(config.app_field);
    event.role = field(config.role_field);
    event.duration = field(config.duration_field);
    event.reason = field("description");
    if (event.reason.empty()) event.reason = field("summary");
    return event;
  }

  // jira:issue_updated
  const json* changelog = member(body, "changelog");
  const json* items = changelog != nullptr ? member(*changelog, "items") : nullptr;
  if (items == nullptr || !items->is_array()) {
    return ignored(std::move(event), "issue " + event.issue_key + " changed, but not its status");
  }
  const json* status_item = nullptr;
  for (const auto& item : *items) {
    if (string_at(item, "field") == "status" || string_at(item, "fieldId") == "status") status_item = &item;
  }
  if (status_item == nullptr) {
    return ignored(std::move(event), "issue " + event.issue_key + " changed, but not its status");
  }
  if (event.request_id.empty() && !our_type) {
    return ignored(std::move(event), "issue " + event.issue_key + " is a " + type_name + ", not a " +
                                         config.issue_type);
  }
  event.to_status = string_at(*status_item, "toString");
  if (event.to_status.empty()) return invalid(name + ": issue " + event.issue_key + ": status change without \"toString\"");
  event.kind = Kind::status_changed;
  event.approved = !config.approved_status.empty() && iequals(event.to_status, config.approved_status);
  event.denied = !config.denied_status.empty() && iequals(event.to_status, config.denied_status);
  return event;
}

}  // namespace

runtime::Result<JiraWebhookEvent> parse_jira_webhook(std::string_view raw_body, const JiraConfig& config) {
  // The parser does not throw; the catch keeps a surprise (allocation) from
  // crossing into the HTTP handler.
  try {
    return parse_body(raw_body, config);
  } catch (const std::exception& e) {
    return invalid(e.what());
  }
}

}  // namespace portcullis::connectors
