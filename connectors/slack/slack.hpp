#pragma once
// Slack as the Chat (approval cards) and the Notifier (direct messages),
// over the Slack Web API with a bot token, plus the two functions the HTTP
// API needs for Slack's interactivity webhook (a click on Approve / Deny).
//
// Contract
// - Every Web API call is POST {api_url}/{method} with
//   "Authorization: Bearer <token>" and a JSON body, except the two user
//   look-ups (users.lookupByEmail, users.info), which are GET with a query,
//   as Slack requires for them.
// - Slack answers most failures with HTTP 200 and {"ok":false,"error":...}.
//   Those are failures: transient for ratelimited, internal_error,
//   fatal_error, service_unavailable, request_timeout; permanent for the
//   rest (channel_not_found, not_in_channel, invalid_auth, missing_scope,
//   ...). The message names the method and Slack's error code and says what
//   to fix (missing_scope names the scope); it never contains the token.
//   HTTP 429 is transient with retry_after from Retry-After; 5xx and
//   transport failures are transient; other HTTP errors are permanent.
// - post_card resolves approver emails to Slack users (users.lookupByEmail,
//   cached in memory), posts one message per step to `channel` with Block
//   Kit blocks (the card as a section, a context line mentioning the
//   approvers, Approve and Deny buttons) and records it in ConnectorState:
//     scope "slack.message", key request id: JSON list of
//       {"channel":"C..","ts":"..","step":N}, one per card posted;
//     scope "slack.post", key idempotency key: {"channel":..,"ts":..}.
//   A post whose key is recorded changes nothing.
// - update_card rewrites every recorded card of the request (chat.update)
//   to the new text with no buttons, so nobody can click after a decision.
//   A request with no card succeeds. Scope "slack.update" records done
//   keys; repeating an update is harmless anyway.
// - notify sends a direct message (chat.postMessage to the user id) to each
//   email that has a Slack user; emails with none are skipped, and the call
//   fails (permanent) only when nobody at all could be reached. Scope
//   "slack.notify" records the key, and "<key>/<email>" per recipient so a
//   retry after a partial failure does not message anyone twice.
// - Thread-safe: calls may come from several executor threads at once.
//   Recording a card serialises on an in-process mutex (the daemon is the
//   only writer of its state).

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "connectors/connector.hpp"
#include "connectors/http/outbound.hpp"
#include "runtime/result.hpp"

namespace portcullis::connectors {

struct SlackConfig {
  std::string api_url = "https://slack.com/api";  // tests: the fake's base URL
  std::string token;                              // bot token xoxb-...
  std::string signing_secret;  // for verify_slack_signature (kept here so the daemon has one config)
  std::string channel;         // "#access-requests" or a channel id; cards go there, mentioning the approvers
  std::chrono::milliseconds timeout{15'000};
  std::size_t max_concurrency = 4;
};

class SlackChat : public Chat, public Notifier {
 public:
  // Error (invalid) when the token or channel is empty, `state` is null or
  // api_url is not https:// (loopback http:// is accepted, for the fake).
  static runtime::Result<std::shared_ptr<SlackChat>> make(SlackConfig config, std::shared_ptr<ConnectorState> state);

  Outcome post_card(const CardPost& card, const std::string& idempotency_key) override;
  Outcome update_card(const std::string& request_id, const std::string& text,
                      const std::string& idempotency_key) override;
  Outcome notify(const std::vector<std::string>& to, const std::string& message,
                 const std::string& idempotency_key) override;

  // The email of a Slack user (users.info -> user.profile.email), to map
  // the clicking user to a directory person. Cached. permanent when the
  // user does not exist or Slack shows no email (the token lacks
  // users:read.email); the returned string is then empty.
  std::string email_of_user(const std::string& slack_user_id, Outcome& outcome);

  const SlackConfig& config() const { return config_; }

 private:
  SlackChat(SlackConfig config, std::shared_ptr<ConnectorState> state, std::shared_ptr<Outbound> outbound)
      : config_(std::move(config)), state_(std::move(state)), outbound_(std::move(outbound)) {}

  // One Web API call; `reply` is Slack's JSON answer when the outcome is ok.
  Outcome call(const std::string& method, const nlohmann::json& body, nlohmann::json& reply);
  Outcome call_get(const std::string& method, const std::string& query, nlohmann::json& reply);
  Outcome finish(const std::string& method, const Result<http::Response>& response, nlohmann::json& reply);
  // The user id for an email; empty with outcome ok when Slack has no such
  // user (users_not_found).
  std::string user_id_for(const std::string& email, Outcome& outcome);
  Outcome record_card(const std::string& request_id, const std::string& channel, const std::string& ts,
                      std::size_t step);

  SlackConfig config_;
  std::shared_ptr<ConnectorState> state_;
  std::shared_ptr<Outbound> outbound_;
  std::mutex cache_mutex_;
  std::map<std::string, std::string> user_by_email_;  // lower-case email -> user id
  std::map<std::string, std::string> email_by_user_;
  std::mutex record_mutex_;  // read-modify-write of the "slack.message" list
};

enum class SlackVerdict { ok, missing_headers, stale_timestamp, bad_signature };

// X-Slack-Signature must equal "v0=" + hex HMAC-SHA256(signing_secret,
// "v0:" + timestamp + ":" + raw_body), compared in constant time;
// X-Slack-Request-Timestamp must be within 300 s of now_unix (either
// direction). Checked in that order: an empty header (or an empty secret)
// is missing_headers; a timestamp that is not a decimal number is never
// within the window (stale_timestamp); any other mismatch, a malformed
// signature included, is bad_signature.
SlackVerdict verify_slack_signature(std::string_view signing_secret, std::string_view timestamp_header,
                                    std::string_view signature_header, std::string_view raw_body,
                                    std::int64_t now_unix);

// For logs and API error bodies: "ok", "missing_headers", ...
std::string_view slack_verdict_name(SlackVerdict verdict);

struct SlackAction {
  std::string action;        // "approve" or "deny" (from the button's action_id)
  std::string request_id;    // from the button's value
  std::size_t step = 0;      // from the button's value
  std::string user_id;       // the Slack user who clicked
  std::string delivery_id;   // unique per click, for replay detection: action_ts + user id + request id
  std::string response_url;  // may be empty
};

// Parses an interactivity POST body (application/x-www-form-urlencoded,
// field "payload" holding JSON of type "block_actions"). Error (invalid)
// with a clear message for anything else (not form-encoded, no payload,
// bad JSON, not a block_actions payload, a button that is not ours).
// Verify the signature first: this only parses.
runtime::Result<SlackAction> parse_slack_interaction(std::string_view raw_body);

}  // namespace portcullis::connectors
