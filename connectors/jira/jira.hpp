#pragma once
// The Jira Cloud / Jira Service Management tracker: the issue that carries
// a request's evidence, its comments and workflow transitions (REST API
// v3), plus the verification and parsing of the webhooks Jira sends back
// (an issue filed in Jira, a status change, a JSM approval).
//
// Contract
// - Every call goes through one connectors::Outbound (HTTPS, bounded
//   concurrency) with "Authorization: Basic base64(user:token)". Nothing
//   throws; failures are Outcomes:
//     429 and 503 -> transient, with the Retry-After seconds when sent;
//     other 5xx, no response (refused, time-out) -> transient;
//     401 / 403 -> permanent (token invalid or revoked, or a permission is
//       missing); 404 -> permanent (no such issue, or the account cannot
//       see it); other 4xx -> permanent.
//   Messages name the operation and the issue and carry Jira's
//   "errorMessages" and "errors" entries; never the token or the
//   Authorization header.
// - Idempotency (see connector.hpp) rests on ConnectorState:
//     "jira.issue"   request id -> issue key;
//     "jira.comment" idempotency key -> comment id ("pending" while the
//                    POST is in flight, so a retry after a crash looks for
//                    the comment by its "portcullis" property first).
//   An issue the daemon opens carries the labels "portcullis" and
//   "portcullis-<request id>", so a lost record is found again by JQL.
// - Thread-safe: calls may run on several executor threads at once; calls
//   for the same request id are serialized inside the tracker.

#include <array>
#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "connectors/connector.hpp"
#include "connectors/http/outbound.hpp"
#include "runtime/result.hpp"

namespace portcullis::connectors {

struct JiraConfig {
  std::string url;               // "https://acme.atlassian.net" (tests: the fake)
  std::string project;           // "ACC"
  std::string issue_type = "Access request";
  std::string approved_status;   // status name meaning "approved" ("Approved")
  std::string denied_status;     // "Declined"; may be empty
  std::string user;              // account email for basic auth
  std::string token;             // API token (basic auth user:token)
  std::string webhook_secret;    // may be empty: webhooks then refused
  // Request state (approved, active, denied, expired, revoked, cancelled,
  // failed, ...) -> the Jira status to move the issue to. Empty map:
  // approved -> approved_status, denied -> denied_status, and
  // active/expired/revoked/cancelled/failed -> "Done".
  std::map<std::string, std::string> transitions;
  // Fields an issue filed in Jira carries the request in (custom field ids
  // like "customfield_10050", or names of plain fields such as "summary").
  std::string app_field = "customfield_app", role_field = "customfield_role",
              duration_field = "customfield_duration";
  std::chrono::milliseconds timeout{15'000};
  std::size_t max_concurrency = 4;
};

class JiraTracker : public Tracker {
 public:
  // Error (invalid) when the URL is not https:// (or loopback http://), or
  // project, user, token or state is missing. No call is made.
  static runtime::Result<std::shared_ptr<JiraTracker>> make(JiraConfig config, std::shared_ptr<ConnectorState> state);

  // existing_key: adds the label "portcullis-<request id>" to that issue
  // (PUT /rest/api/3/issue/{key}) and returns it. Otherwise the issue
  // recorded for the request id, else the one a JQL search finds by label,
  // else a new one (POST /rest/api/3/issue, description in ADF).
  Outcome ticket_for(const TicketSpec& spec, std::string& key) override;
  // POST /rest/api/3/issue/{key}/comment (ADF body, property "portcullis"
  // = {"idempotency_key": ...}). An empty idempotency key posts
  // unconditionally.
  Outcome comment(const std::string& ticket_key, const std::string& text, const std::string& idempotency_key) override;
  // `status` is the request state name, mapped through JiraConfig's
  // transitions (case-insensitive); a name that is itself one of the mapped
  // Jira statuses is taken as is. No mapping: success, nothing done. An
  // issue already in the target status: success. No transition to it:
  // permanent, naming the available ones.
  Outcome transition(const std::string& ticket_key, const std::string& status,
                     const std::string& idempotency_key) override;
  // The email of a Jira account (GET /rest/api/3/user?accountId=...), to
  // map a Jira actor to a directory person. permanent when the account is
  // unknown or its email is hidden by its profile visibility.
  std::string email_of_account(const std::string& account_id, Outcome& outcome);
  // Posts a plain comment outside any request (e.g. "transition refused:
  // X is not an eligible approver"); not deduplicated.
  Outcome note(const std::string& ticket_key, const std::string& text);

  // The Jira status a request state maps to; empty when none.
  std::string status_for(const std::string& request_state) const;

 private:
  struct Reply {
    Outcome outcome;
    int status = 0;
    nlohmann::json body;  // null when the body is empty or not JSON
  };
  JiraTracker(JiraConfig config, std::shared_ptr<Outbound> outbound, std::shared_ptr<ConnectorState> state);
  Reply call(const std::string& method, const std::string& target, const nlohmann::json* body,
             const std::string& what);
  Outcome post_comment(const std::string& ticket_key, const std::string& text, const std::string& idempotency_key,
                       std::string& comment_id);
  Outcome find_comment_by_property(const std::string& ticket_key, const std::string& idempotency_key,
                                   std::string& comment_id);
  Outcome search_by_label(const std::string& label, std::string& key);
  std::mutex& lock_for(const std::string& request_id);

  JiraConfig config_;
  std::shared_ptr<Outbound> outbound_;
  std::shared_ptr<ConnectorState> state_;
  std::string authorization_;  // "Basic ...": never in a message
  std::array<std::mutex, 16> request_locks_;
};

// X-Hub-Signature: "sha256=<hex HMAC-SHA256(secret, raw body)>", compared in
// constant time. False for an empty secret, a missing "sha256=" prefix or a
// digest that is not 64 hex digits.
bool verify_jira_signature(std::string_view secret, std::string_view header_value, std::string_view raw_body);

struct JiraWebhookEvent {
  enum class Kind { ignored, issue_created, status_changed, approval_decided };
  Kind kind = Kind::ignored;
  std::string issue_key;
  // When the issue is one the daemon opened or adopted (label
  // "portcullis-<id>"), else empty.
  std::string request_id;
  std::string actor_account_id;  // who transitioned / decided ("user.accountId")
  std::string to_status;         // status_changed: the new status name
  bool approved = false;  // approval_decided approve, or status_changed to approved_status
  bool denied = false;    // status_changed to denied_status, or a JSM decline
  // issue_created: the request the issue carries. Fields the issue lacks
  // stay empty; the daemon decides what is missing.
  std::string reporter_account_id, reporter_email, app, role, duration,
      reason /* the description as plain text, or the summary */;
  std::string ignored_because;  // Kind::ignored: why
};

// Parses a Jira webhook body:
// - "jira:issue_created" in config.project with config.issue_type ->
//   issue_created (an issue already labelled "portcullis-<id>" is one the
//   daemon opened itself: ignored);
// - "jira:issue_updated" whose changelog has a "status" item ->
//   status_changed (issues of another type are ignored unless labelled);
// - an event whose name contains "approval" (a JSM automation rule's web
//   request, see docs/connectors.md) with a decision "approve(d)" or
//   "decline(d)" -> approval_decided.
// Anything else (another project, another event, not a status change, a
// pending approval) -> ignored with the reason. Error (invalid) for
// malformed JSON or a body without webhookEvent / issue key / fields.
runtime::Result<JiraWebhookEvent> parse_jira_webhook(std::string_view raw_body, const JiraConfig& config);

// Plain text -> Atlassian Document Format (doc version 1): each non-empty
// line a paragraph, consecutive lines starting with "- " one bulletList.
// Text nodes are never empty.
nlohmann::json text_to_adf(std::string_view text);
// ADF -> plain text: blocks on their own lines, list items as "- ...".
// Depth-bounded; a plain string is returned as is.
std::string adf_to_text(const nlohmann::json& adf);

}  // namespace portcullis::connectors
