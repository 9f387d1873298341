#include "runtime/webhooks.hpp"

#include <cctype>

#include <nlohmann/json.hpp>

#include "connectors/jira/jira.hpp"
#include "connectors/slack/slack.hpp"
#include "dsl/ast.hpp"
#include "runtime/logging.hpp"

namespace portcullis::runtime {
namespace ip = interpreter;
using Json = nlohmann::json;

namespace {

http::Response json_answer(int status, const Json& body) {
  http::Response response;
  response.status = status;
  // A path or a parser message may carry bytes that are not UTF-8.
  response.body = body.dump(-1, ' ', false, Json::error_handler_t::replace);
  return response;
}

http::Response error_answer(int status, std::string_view code, const std::string& message) {
  return json_answer(status, {{"error", {{"code", code}, {"message", message}}}});
}

// What Slack shows the person who clicked, only to them.
http::Response ephemeral(const std::string& text) {
  return json_answer(200, {{"response_type", "ephemeral"}, {"replace_original", false}, {"text", text}});
}

bool same_email(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

std::string header_or_empty(const http::Request& request, std::string_view name) {
  const std::string* value = request.header(name);
  return value ? *value : std::string();
}

}  // namespace

Webhooks::Webhooks(Engine& engine, const RemoteConnectors& remote, std::shared_ptr<connectors::ConnectorState> state)
    : engine_(engine), remote_(remote), state_(std::move(state)) {}

http::Response Webhooks::handle(const http::Request& request) {
  const auto path = request.path();
  if (path != "/webhooks/slack" && path != "/webhooks/jira") {
    return error_answer(404, "not_found", "no webhook at " + std::string(path) + " (/webhooks/slack, /webhooks/jira)");
  }
  if (request.method != "POST") {
    http::Response response = error_answer(405, "method_not_allowed", "webhooks take POST");
    response.headers.push_back({"Allow", "POST"});
    return response;
  }
  return path == "/webhooks/slack" ? slack(request) : jira(request);
}

std::string Webhooks::person_for(const std::string& email, const std::string& attribute, const std::string& id) const {
  // Slack and Jira keep an email as the person typed it; the directory
  // keys people by lower-case email.
  std::string lower = email;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto directory = engine_.directory();
  if (!directory) return lower;
  if (!lower.empty() && directory->find(lower) != nullptr) return lower;
  if (!email.empty() && directory->find(email) != nullptr) return email;
  if (!id.empty()) {
    if (const ip::Person* p = directory->find_by_attribute(attribute, id)) return p->email;
  }
  return {};
}

http::Response Webhooks::slack(const http::Request& request) {
  if (!remote_.slack || remote_.slack_signing_secret.empty()) {
    return error_answer(404, "not_found", "the Slack webhook is not configured (policy: chat slack { signing_secret })");
  }
  const auto verdict = connectors::verify_slack_signature(
      remote_.slack_signing_secret, header_or_empty(request, "X-Slack-Request-Timestamp"),
      header_or_empty(request, "X-Slack-Signature"), request.body, engine_.clock().now());
  switch (verdict) {
    case connectors::SlackVerdict::ok:
      break;
    case connectors::SlackVerdict::missing_headers:
      return error_answer(401, "unauthorized", "X-Slack-Request-Timestamp and X-Slack-Signature are required");
    case connectors::SlackVerdict::stale_timestamp:
      return error_answer(401, "unauthorized", "X-Slack-Request-Timestamp is more than 5 minutes away from now");
    case connectors::SlackVerdict::bad_signature:
      return error_answer(401, "unauthorized", "X-Slack-Signature does not match the body");
  }
  auto action = connectors::parse_slack_interaction(request.body);
  if (!action) return error_answer(400, "invalid", action.error().message);

  connectors::Outcome outcome;
  if (!state_->insert_if_absent("slack.delivery", action->delivery_id, action->request_id, outcome)) {
    if (!outcome.ok()) return error_answer(503, "unavailable", outcome.message);
    return error_answer(409, "replayed", "this Slack action was already applied");
  }

  const std::string email = remote_.slack->email_of_user(action->user_id, outcome);
  if (!outcome.ok() && outcome.kind == connectors::Outcome::Kind::transient) {
    return ephemeral("Slack did not say who you are (" + outcome.message + "); try again in a moment.");
  }
  const std::string person = person_for(email, "slack_user_id", action->user_id);
  if (person.empty()) {
    log_event(LogLevel::warn, "webhook", {{"source", "slack"}, {"request_id", action->request_id},
                                          {"slack_user", action->user_id}, {"outcome", "unknown person"}});
    return ephemeral("You are not in the directory, so you cannot decide on access requests.");
  }

  auto current = engine_.get(action->request_id);
  if (!current) return ephemeral("Request " + action->request_id + " is not known.");
  if (current->status == ip::Status::awaiting_approval && current->step != action->step) {
    return ephemeral("This card is for step " + std::to_string(action->step + 1) + "; request " +
                     action->request_id + " is now at step " + std::to_string(current->step + 1) + ".");
  }
  Result<CommandResult> result =
      action->action == "approve"
          ? engine_.act(action->request_id, ip::ApproveEvent{person})
          : engine_.act(action->request_id, ip::DenyEvent{person, "denied from Slack by " + person});
  if (!result) return ephemeral("Could not record your decision: " + result.error().message);
  log_event(LogLevel::info, "webhook",
            {{"source", "slack"}, {"request_id", action->request_id}, {"actor", person},
             {"action", action->action}, {"outcome", result->refusal ? "refused" : "applied"}});
  if (result->refusal) return ephemeral("Refused: " + *result->refusal);
  return ephemeral((action->action == "approve" ? "Approved " : "Denied ") + action->request_id + ": now " +
                   std::string(ip::status_name(result->state.status)) + ".");
}

http::Response Webhooks::jira(const http::Request& request) {
  if (!remote_.jira || remote_.jira_webhook_secret.empty()) {
    return error_answer(404, "not_found", "the Jira webhook is not configured (policy: tracker jira { webhook_secret })");
  }
  if (!connectors::verify_jira_signature(remote_.jira_webhook_secret, header_or_empty(request, "X-Hub-Signature"),
                                         request.body)) {
    return error_answer(401, "unauthorized", "X-Hub-Signature is missing or does not match the body");
  }
  auto event = connectors::parse_jira_webhook(request.body, *remote_.jira_config);
  if (!event) return error_answer(400, "invalid", event.error().message);

  connectors::Outcome outcome;
  const std::string delivery = header_or_empty(request, "X-Atlassian-Webhook-Identifier");
  if (!delivery.empty() && !state_->insert_if_absent("jira.delivery", delivery, event->issue_key, outcome)) {
    if (!outcome.ok()) return error_answer(503, "unavailable", outcome.message);
    return json_answer(200, {{"duplicate", true}});
  }

  using Kind = connectors::JiraWebhookEvent::Kind;
  if (event->kind == Kind::ignored) return json_answer(200, {{"ignored", event->ignored_because}});

  if (event->kind == Kind::issue_created) {
    if (!event->request_id.empty()) return json_answer(200, {{"ignored", "the issue is already a request's ticket"}});
    std::string email = event->reporter_email;
    if (email.empty() && !event->reporter_account_id.empty()) {
      email = remote_.jira->email_of_account(event->reporter_account_id, outcome);
    }
    const std::string requester = person_for(email, "jira_account_id", event->reporter_account_id);
    if (requester.empty()) {
      (void)remote_.jira->note(event->issue_key,
                               "Portcullis cannot tell who filed this issue: the reporter is not in the directory.");
      return json_answer(200, {{"ignored", "the reporter is not in the directory"}});
    }
    ip::AccessRequest access;
    access.requester = requester;
    access.app = event->app;
    access.role = event->role;
    access.justification = event->reason;
    access.ticket = event->issue_key;
    if (event->duration == "permanent") {
      access.permanent = true;
    } else if (!event->duration.empty()) {
      auto seconds = dsl::ast::parse_duration(event->duration);
      if (!seconds || *seconds <= 0) {
        (void)remote_.jira->note(event->issue_key, "Portcullis cannot read the duration \"" + event->duration +
                                                       "\": write it like 8h, 7d or 30d, or permanent.");
        return json_answer(200, {{"ignored", "the duration does not parse"}});
      }
      access.duration = *seconds;
    }
    if (access.app.empty() || access.role.empty()) {
      (void)remote_.jira->note(event->issue_key,
                               "Portcullis needs the app and the role of the request in the issue's fields.");
      return json_answer(200, {{"ignored", "the issue names no app or role"}});
    }
    // One request per issue, whatever Jira redelivers.
    auto result = engine_.submit(access, "jira\n" + event->issue_key);
    if (!result) return error_answer(503, "unavailable", result.error().message);
    // Decisions on the issue may arrive before the tracker labels it.
    (void)state_->put("jira.request", event->issue_key, result->state.id);
    log_event(LogLevel::info, "webhook", {{"source", "jira"}, {"request_id", result->state.id},
                                          {"issue", event->issue_key}, {"actor", requester}, {"action", "submit"}});
    return json_answer(result->duplicate ? 200 : 201, {{"request_id", result->state.id}});
  }

  // A status change or a JSM approval decision on a request's issue.
  if (!event->approved && !event->denied) return json_answer(200, {{"ignored", "not a decision"}});
  if (event->request_id.empty()) {
    auto known = state_->get("jira.request", event->issue_key, outcome);
    if (!outcome.ok()) return error_answer(503, "unavailable", outcome.message);
    if (!known) return json_answer(200, {{"ignored", "the issue is not a request's ticket"}});
    event->request_id = *known;
  }
  std::string email = remote_.jira->email_of_account(event->actor_account_id, outcome);
  if (!outcome.ok() && outcome.kind == connectors::Outcome::Kind::transient) {
    return error_answer(503, "unavailable", "cannot look up the Jira account: " + outcome.message);
  }
  // The daemon's own moves of the issue come back as webhooks too.
  if (!email.empty() && same_email(email, remote_.jira_config->user)) {
    return json_answer(200, {{"ignored", "the daemon's own transition"}});
  }
  const std::string person = person_for(email, "jira_account_id", event->actor_account_id);
  if (person.empty()) {
    (void)remote_.jira->note(event->issue_key, "Portcullis ignored this decision: the Jira account " +
                                                   event->actor_account_id + " is not a person in the directory.");
    return json_answer(200, {{"ignored", "the actor is not in the directory"}});
  }
  auto result = event->approved ? engine_.act(event->request_id, ip::ApproveEvent{person})
                                : engine_.act(event->request_id, ip::DenyEvent{person, "declined in Jira by " + person});
  if (!result) {
    if (result.error().code == ErrorCode::not_found) return json_answer(200, {{"ignored", "no such request"}});
    return error_answer(503, "unavailable", result.error().message);
  }
  log_event(LogLevel::info, "webhook",
            {{"source", "jira"}, {"request_id", event->request_id}, {"issue", event->issue_key}, {"actor", person},
             {"action", event->approved ? "approve" : "deny"}, {"outcome", result->refusal ? "refused" : "applied"}});
  if (result->refusal) {
    (void)remote_.jira->note(event->issue_key, "Portcullis refused the " +
                                                   std::string(event->approved ? "approval" : "decision") + " by " +
                                                   person + ": " + *result->refusal);
    return json_answer(200, {{"refused", *result->refusal}});
  }
  return json_answer(200, {{"request_id", event->request_id}, {"status", ip::status_name(result->state.status)}});
}

}  // namespace portcullis::runtime
