// JiraTracker over Jira Cloud REST v3.
#include <algorithm>
#include <cctype>
#include <charconv>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "connectors/jira/jira.hpp"

namespace portcullis::connectors {
namespace {

using nlohmann::json;

constexpr std::string_view kIssueScope = "jira.issue";
constexpr std::string_view kCommentScope = "jira.comment";
constexpr std::string_view kPending = "pending";
constexpr std::string_view kPropertyKey = "portcullis";

std::string base64_encode(std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const auto n = (static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16) |
                   (static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8) |
                   static_cast<unsigned char>(bytes[i + 2]);
    for (int shift : {18, 12, 6, 0}) out.push_back(kAlphabet[(n >> shift) & 63]);
  }
  const std::size_t rest = bytes.size() - i;
  if (rest > 0) {
    std::uint32_t n = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16;
    if (rest == 2) n |= static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8;
    out.push_back(kAlphabet[(n >> 18) & 63]);
    out.push_back(kAlphabet[(n >> 12) & 63]);
    out.push_back(rest == 2 ? kAlphabet[(n >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool iequals(std::string_view a, std::string_view b) { return http::header_equals(a, b); }

// Invalid UTF-8 in a description must not make dump() throw.
std::string dump(const json& value) { return value.dump(-1, ' ', false, json::error_handler_t::replace); }

std::string in_quotes(std::string_view s) { return "\"" + std::string(s) + "\""; }

// A JQL string literal: backslash and double quote escaped.
std::string jql_string(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string issue_path(std::string_view key) { return "/rest/api/3/issue/" + http::url_encode(key); }

// "errorMessages" and "errors" of a Jira error body, joined; the raw body
// (shortened) when it is not Jira's JSON.
std::string jira_messages(int status, const json& body, const std::string& raw) {
  std::vector<std::string> parts;
  if (body.is_object()) {
    if (body.contains("errorMessages") && body["errorMessages"].is_array()) {
      for (const auto& m : body["errorMessages"]) {
        if (m.is_string() && !m.get<std::string>().empty()) parts.push_back(m.get<std::string>());
      }
    }
    if (body.contains("errors") && body["errors"].is_object()) {
      for (const auto& [field, m] : body["errors"].items()) {
        parts.push_back(field + ": " + (m.is_string() ? m.get<std::string>() : dump(m)));
      }
    }
    if (parts.empty() && body.contains("message") && body["message"].is_string()) {
      parts.push_back(body["message"].get<std::string>());
    }
  }
  if (parts.empty() && !raw.empty() && !body.is_object()) parts.push_back(raw.substr(0, 200));
  std::string out = "HTTP " + std::to_string(status);
  for (std::size_t i = 0; i < parts.size(); ++i) out += (i == 0 ? ": " : "; ") + parts[i];
  return out;
}

// Request ids go into labels, which may not contain spaces.
bool valid_label_part(std::string_view id) {
  return !id.empty() && std::none_of(id.begin(), id.end(), [](char c) {
    return std::isspace(static_cast<unsigned char>(c)) != 0 || std::iscntrl(static_cast<unsigned char>(c)) != 0;
  });
}

std::string string_at(const json& object, std::string_view name) {
  if (!object.is_object()) return {};
  auto it = object.find(name);
  if (it == object.end() || !it->is_string()) return {};
  return it->get<std::string>();
}

}  // namespace

runtime::Result<std::shared_ptr<JiraTracker>> JiraTracker::make(JiraConfig config,
                                                                 std::shared_ptr<ConnectorState> state) {
  auto invalid = [](std::string message) { return runtime::make_error(runtime::ErrorCode::invalid, std::move(message)); };
  if (config.project.empty()) return invalid("tracker jira: `project` is required");
  if (config.user.empty()) return invalid("tracker jira: `user` (the account email) is required");
  if (config.token.empty()) return invalid("tracker jira: `token` (an API token) is required");
  if (config.issue_type.empty()) return invalid("tracker jira: `issue_type` must not be empty");
  if (!state) return invalid("tracker jira: no connector state");
  while (!config.url.empty() && config.url.back() == '/') config.url.pop_back();
  auto outbound = Outbound::make({config.url, config.timeout, config.max_concurrency});
  if (!outbound) return invalid("tracker jira: " + outbound.error().message);
  std::map<std::string, std::string> transitions;
  for (auto& [state_name, status] : config.transitions) transitions[lower(state_name)] = status;
  config.transitions = std::move(transitions);
  return std::shared_ptr<JiraTracker>(new JiraTracker(std::move(config), std::move(*outbound), std::move(state)));
}

JiraTracker::JiraTracker(JiraConfig config, std::shared_ptr<Outbound> outbound, std::shared_ptr<ConnectorState> state)
    : config_(std::move(config)), outbound_(std::move(outbound)), state_(std::move(state)) {
  authorization_ = "Basic " + base64_encode(config_.user + ":" + config_.token);
}

std::mutex& JiraTracker::lock_for(const std::string& request_id) {
  return request_locks_[std::hash<std::string>{}(request_id) % request_locks_.size()];
}

JiraTracker::Reply JiraTracker::call(const std::string& method, const std::string& target, const json* body,
                                     const std::string& what) {
  Reply reply;
  const std::vector<http::Header> headers = {{"Authorization", authorization_},
                                             {"Accept", "application/json"},
                                             {"Content-Type", "application/json"}};
  auto response = outbound_->send(method, target, body == nullptr ? std::string() : dump(*body), headers);
  if (!response) {
    reply.outcome = Outcome::transient_failure("jira: " + what + ": " + response.error().message);
    return reply;
  }
  reply.status = response->status;
  if (!response->body.empty()) {
    reply.body = json::parse(response->body, nullptr, false);
    if (reply.body.is_discarded()) reply.body = nullptr;
  }
  const int status = response->status;
  if (status >= 200 && status < 300) return reply;

  std::string detail = jira_messages(status, reply.body, response->body);
  // Jira never echoes credentials, but a proxy error page might: the token
  // must not reach a log through a message.
  for (const std::string* secret : {&config_.token, &authorization_}) {
    for (std::size_t at; !secret->empty() && (at = detail.find(*secret)) != std::string::npos;) {
      detail.replace(at, secret->size(), "[redacted]");
    }
  }
  std::string message = "jira: " + what + ": " + detail;
  if (status == 429 || status == 503) {
    reply.outcome = Outcome::transient_failure(std::move(message), retry_after_seconds(*response));
  } else if (status >= 500) {
    reply.outcome = Outcome::transient_failure(std::move(message));
  } else if (status == 401) {
    reply.outcome = Outcome::permanent_failure(message + " (Jira refused the credentials of " + config_.user +
                                               ": the API token is invalid, revoked or not this user's)");
  } else if (status == 403) {
    reply.outcome = Outcome::permanent_failure(message + " (the account " + config_.user +
                                               " lacks a Jira permission for this)");
  } else if (status == 404) {
    reply.outcome = Outcome::permanent_failure(message + " (it does not exist, or " + config_.user +
                                               " cannot browse it)");
  } else {
    reply.outcome = Outcome::permanent_failure(std::move(message));
  }
  return reply;
}

std::string JiraTracker::status_for(const std::string& request_state) const {
  const std::string state_name = lower(request_state);
  if (!config_.transitions.empty()) {
    auto it = config_.transitions.find(state_name);
    if (it != config_.transitions.end()) return it->second;
    // The caller may already speak in Jira statuses ("Approved").
    for (const auto& [ignored, status] : config_.transitions) {
      if (iequals(status, request_state)) return status;
    }
    return {};
  }
  if (state_name == "approved") return config_.approved_status;
  if (state_name == "denied") return config_.denied_status;
  if (state_name == "active" || state_name == "expired" || state_name == "revoked" || state_name == "cancelled" ||
      state_name == "failed") {
    return "Done";
  }
  for (const std::string* status : {&config_.approved_status, &config_.denied_status}) {
    if (!status->empty() && iequals(*status, request_state)) return *status;
  }
  if (iequals(request_state, "Done")) return "Done";
  return {};
}

Outcome JiraTracker::search_by_label(const std::string& label, std::string& key) {
  const json body = {{"jql", "project = " + jql_string(config_.project) + " AND labels = " + jql_string(label)},
                     {"fields", json::array({"key"})},
                     {"maxResults", 2}};
  auto reply = call("POST", "/rest/api/3/search/jql", &body, "searching " + config_.project + " for label " + label);
  if (!reply.outcome.ok()) return reply.outcome;
  if (reply.body.is_object() && reply.body.contains("issues") && reply.body["issues"].is_array()) {
    for (const auto& issue : reply.body["issues"]) {
      const std::string found = string_at(issue, "key");
      if (!found.empty()) {
        key = found;
        return Outcome::success();
      }
    }
    return Outcome::success();
  }
  return Outcome::transient_failure("jira: searching " + config_.project + " for label " + label +
                                    ": the answer has no \"issues\" list");
}

Outcome JiraTracker::ticket_for(const TicketSpec& spec, std::string& key) {
  try {
    if (!valid_label_part(spec.request_id)) {
      return Outcome::permanent_failure("jira: request id " + in_quotes(spec.request_id) +
                                        " cannot be a Jira label (empty or contains spaces)");
    }
    const std::string label = "portcullis-" + spec.request_id;
    std::lock_guard guard(lock_for(spec.request_id));

    if (!spec.existing_key.empty()) {
      json body = {{"update", {{"labels", json::array({{{"add", label}}})}}}};
      // The adopted issue becomes the request's record: its description is
      // the approval card (which repeats the requester's reason).
      if (!spec.description.empty()) body["fields"] = {{"description", text_to_adf(spec.description)}};
      auto reply = call("PUT", issue_path(spec.existing_key), &body,
                        "labelling issue " + spec.existing_key + " for request " + spec.request_id);
      if (!reply.outcome.ok()) return reply.outcome;
      (void)state_->put(std::string(kIssueScope), spec.request_id, spec.existing_key);
      key = spec.existing_key;
      return Outcome::success();
    }

    Outcome read;
    if (auto recorded = state_->get(std::string(kIssueScope), spec.request_id, read)) {
      key = *recorded;
      return Outcome::success();
    }
    if (!read.ok()) return read;

    // A crash between creating the issue and recording it leaves the issue
    // behind: find it by its label rather than open a second one.
    std::string found;
    if (Outcome searched = search_by_label(label, found); !searched.ok()) return searched;
    if (!found.empty()) {
      (void)state_->put(std::string(kIssueScope), spec.request_id, found);
      key = found;
      return Outcome::success();
    }

    json fields = {{"project", {{"key", config_.project}}},
                   {"issuetype", {{"name", config_.issue_type}}},
                   {"summary", spec.summary.empty() ? "Access request " + spec.request_id : spec.summary},
                   {"labels", json::array({"portcullis", label})}};
    if (!spec.description.empty()) fields["description"] = text_to_adf(spec.description);
    const json body = {{"fields", std::move(fields)}};
    auto reply = call("POST", "/rest/api/3/issue", &body,
                      "creating an issue in " + config_.project + " for request " + spec.request_id);
    if (!reply.outcome.ok()) return reply.outcome;
    const std::string created = string_at(reply.body, "key");
    if (created.empty()) {
      return Outcome::transient_failure("jira: creating an issue for request " + spec.request_id +
                                        ": the answer has no issue key");
    }
    // Not recording is survivable: the next call finds the issue by label.
    (void)state_->put(std::string(kIssueScope), spec.request_id, created);
    key = created;
    return Outcome::success();
  } catch (const std::exception& e) {
    return Outcome::permanent_failure(std::string("jira: ticket_for: ") + e.what());
  }
}

Outcome JiraTracker::post_comment(const std::string& ticket_key, const std::string& text,
                                  const std::string& idempotency_key, std::string& comment_id) {
  if (text.empty()) return Outcome::permanent_failure("jira: commenting on " + ticket_key + ": empty comment");
  json body = {{"body", text_to_adf(text)}};
  if (!idempotency_key.empty()) {
    body["properties"] = json::array({{{"key", kPropertyKey}, {"value", {{"idempotency_key", idempotency_key}}}}});
  }
  auto reply = call("POST", issue_path(ticket_key) + "/comment", &body, "commenting on " + ticket_key);
  if (!reply.outcome.ok()) return reply.outcome;
  comment_id = string_at(reply.body, "id");
  return Outcome::success();
}

Outcome JiraTracker::find_comment_by_property(const std::string& ticket_key, const std::string& idempotency_key,
                                              std::string& comment_id) {
  // The issue's comment list cannot expand properties; the bulk comment
  // endpoint can. A pending comment is a recent one: the newest 100 do.
  auto listed = call("GET", issue_path(ticket_key) + "/comment?orderBy=-created&maxResults=100", nullptr,
                     "listing comments of " + ticket_key);
  if (!listed.outcome.ok()) return listed.outcome;
  json ids = json::array();
  if (listed.body.is_object() && listed.body.contains("comments") && listed.body["comments"].is_array()) {
    for (const auto& c : listed.body["comments"]) {
      const std::string id = string_at(c, "id");
      long long number = 0;
      auto [end, ec] = std::from_chars(id.data(), id.data() + id.size(), number);
      if (ec == std::errc() && end == id.data() + id.size() && !id.empty()) ids.push_back(number);
    }
  }
  if (ids.empty()) return Outcome::success();
  const json body = {{"ids", std::move(ids)}};
  auto reply = call("POST", "/rest/api/3/comment/list?expand=properties", &body,
                    "reading comment properties of " + ticket_key);
  if (!reply.outcome.ok()) return reply.outcome;
  if (!reply.body.is_object() || !reply.body.contains("values") || !reply.body["values"].is_array()) {
    return Outcome::success();
  }
  for (const auto& c : reply.body["values"]) {
    if (!c.is_object() || !c.contains("properties") || !c["properties"].is_array()) continue;
    for (const auto& p : c["properties"]) {
      if (string_at(p, "key") == kPropertyKey && p.contains("value") &&
          string_at(p["value"], "idempotency_key") == idempotency_key) {
        comment_id = string_at(c, "id");
        return Outcome::success();
      }
    }
  }
  return Outcome::success();
}

Outcome JiraTracker::comment(const std::string& ticket_key, const std::string& text,
                             const std::string& idempotency_key) {
  try {
    std::string comment_id;
    if (idempotency_key.empty()) return post_comment(ticket_key, text, {}, comment_id);
    const std::string scope(kCommentScope);
    std::lock_guard guard(lock_for(idempotency_key));
    Outcome read;
    auto recorded = state_->get(scope, idempotency_key, read);
    if (!read.ok()) return read;
    if (recorded && *recorded != kPending) return Outcome::success();
    if (recorded) {
      // A previous attempt may have posted before it could record: look.
      if (Outcome looked = find_comment_by_property(ticket_key, idempotency_key, comment_id); !looked.ok()) {
        return looked;
      }
      if (!comment_id.empty()) {
        (void)state_->put(scope, idempotency_key, comment_id);
        return Outcome::success();
      }
    } else if (Outcome marked = state_->put(scope, idempotency_key, std::string(kPending)); !marked.ok()) {
      return marked;
    }
    if (Outcome posted = post_comment(ticket_key, text, idempotency_key, comment_id); !posted.ok()) return posted;
    (void)state_->put(scope, idempotency_key, comment_id.empty() ? std::string("posted") : comment_id);
    return Outcome::success();
  } catch (const std::exception& e) {
    return Outcome::permanent_failure(std::string("jira: comment: ") + e.what());
  }
}

Outcome JiraTracker::note(const std::string& ticket_key, const std::string& text) {
  try {
    std::string comment_id;
    return post_comment(ticket_key, text, {}, comment_id);
  } catch (const std::exception& e) {
    return Outcome::permanent_failure(std::string("jira: note: ") + e.what());
  }
}

Outcome JiraTracker::transition(const std::string& ticket_key, const std::string& status,
                                const std::string& /*idempotency_key: the target status makes it idempotent*/) {
  try {
    const std::string target = status_for(status);
    if (target.empty()) return Outcome::success();

    auto current_status = [&](std::string& name) {
      auto reply = call("GET", issue_path(ticket_key) + "?fields=status", nullptr, "reading the status of " + ticket_key);
      if (reply.outcome.ok() && reply.body.is_object() && reply.body.contains("fields")) {
        const auto& fields = reply.body["fields"];
        if (fields.is_object() && fields.contains("status")) name = string_at(fields["status"], "name");
      }
      return reply.outcome;
    };
    std::string current;
    if (Outcome read = current_status(current); !read.ok()) return read;
    if (iequals(current, target)) return Outcome::success();

    auto listed = call("GET", issue_path(ticket_key) + "/transitions", nullptr, "listing transitions of " + ticket_key);
    if (!listed.outcome.ok()) return listed.outcome;
    std::string id;
    std::vector<std::string> available;
    if (listed.body.is_object() && listed.body.contains("transitions") && listed.body["transitions"].is_array()) {
      // A transition whose destination is the status wins over one that
      // merely shares its name.
      std::string by_name;
      for (const auto& t : listed.body["transitions"]) {
        const std::string name = string_at(t, "name");
        const std::string to = t.is_object() && t.contains("to") ? string_at(t["to"], "name") : std::string();
        available.push_back(in_quotes(name) + (to.empty() || to == name ? "" : " (to " + in_quotes(to) + ")"));
        if (id.empty() && iequals(to, target)) id = string_at(t, "id");
        if (by_name.empty() && iequals(name, target)) by_name = string_at(t, "id");
      }
      if (id.empty()) id = by_name;
    }
    if (id.empty()) {
      std::string list;
      for (const auto& a : available) list += (list.empty() ? "" : ", ") + a;
      return Outcome::permanent_failure("jira: issue " + ticket_key + " has no transition to " + in_quotes(target) +
                                        " from " + in_quotes(current) + "; available: " + (list.empty() ? "none" : list));
    }
    const json body = {{"transition", {{"id", id}}}};
    auto moved = call("POST", issue_path(ticket_key) + "/transitions", &body,
                      "moving " + ticket_key + " to " + in_quotes(target));
    if (moved.outcome.ok()) return moved.outcome;
    // Someone may have moved it there meanwhile: then the goal is met.
    if (moved.status == 400 || moved.status == 409) {
      std::string now;
      if (current_status(now).ok() && iequals(now, target)) return Outcome::success();
    }
    return moved.outcome;
  } catch (const std::exception& e) {
    return Outcome::permanent_failure(std::string("jira: transition: ") + e.what());
  }
}

std::string JiraTracker::email_of_account(const std::string& account_id, Outcome& outcome) {
  try {
    if (account_id.empty()) {
      outcome = Outcome::permanent_failure("jira: no account id");
      return {};
    }
    auto reply = call("GET", "/rest/api/3/user?accountId=" + http::url_encode(account_id), nullptr,
                      "reading account " + account_id);
    outcome = reply.outcome;
    if (!outcome.ok()) return {};
    const std::string email = string_at(reply.body, "emailAddress");
    if (email.empty()) {
      outcome = Outcome::permanent_failure("jira: account " + account_id +
                                           " has no visible email address (its profile visibility hides it, or it "
                                           "is not a person's account)");
    }
    return email;
  } catch (const std::exception& e) {
    outcome = Outcome::permanent_failure(std::string("jira: email_of_account: ") + e.what());
    return {};
  }
}

}  // namespace portcullis::connectors
