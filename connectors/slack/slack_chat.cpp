// SlackChat: approval cards and direct messages over the Slack Web API.
#include <algorithm>
#include <cctype>
#include <set>

#include "connectors/slack/block_kit.hpp"
#include "connectors/slack/slack.hpp"

namespace portcullis::connectors {
namespace {

constexpr std::string_view kMessageScope = "slack.message";
constexpr std::string_view kPostScope = "slack.post";
constexpr std::string_view kUpdateScope = "slack.update";
constexpr std::string_view kNotifyScope = "slack.notify";

std::string dump(const nlohmann::json& json) {
  // Card text comes from policy files and directory data: replace invalid
  // UTF-8 rather than let dump() throw.
  return json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string string_field(const nlohmann::json& object, std::string_view name) {
  if (!object.is_object()) return {};
  const auto it = object.find(name);
  if (it == object.end() || !it->is_string()) return {};
  return it->get<std::string>();
}

bool is_transient_error(std::string_view error) {
  static constexpr std::string_view kTransient[] = {"ratelimited",         "rate_limited",    "internal_error",
                                                    "fatal_error",         "service_unavailable", "request_timeout",
                                                    "team_added_to_org"};
  return std::find(std::begin(kTransient), std::end(kTransient), error) != std::end(kTransient);
}

// The scope a method needs, for missing_scope answers that do not say.
std::string_view scope_for(std::string_view method) {
  if (method == "users.lookupByEmail") return "users:read.email";
  if (method == "users.info") return "users:read";
  if (method == "conversations.open") return "im:write";
  return "chat:write";
}

// What the operator should do about a Slack error code. Never mentions the
// token's value.
std::string hint_for(std::string_view method, std::string_view error, const nlohmann::json& reply) {
  if (error == "missing_scope") {
    std::string needed = string_field(reply, "needed");
    if (needed.empty()) needed = std::string(scope_for(method));
    return "the bot token lacks the " + needed + " scope; add it to the Slack app and reinstall it";
  }
  if (error == "invalid_auth" || error == "not_authed" || error == "token_revoked" || error == "token_expired" ||
      error == "account_inactive") {
    return "Slack refused the bot token; check the token of the policy's chat slack block";
  }
  if (error == "channel_not_found") return "no such channel, or a private channel the bot is not in";
  if (error == "not_in_channel") return "the bot is not a member of the channel; invite it with /invite";
  if (error == "is_archived") return "the channel is archived";
  if (error == "users_not_found" || error == "user_not_found") return "no Slack user matches";
  if (error == "message_not_found") return "the message was deleted";
  if (error == "invalid_blocks") return "Slack rejected the card's blocks";
  return {};
}

}  // namespace

runtime::Result<std::shared_ptr<SlackChat>> SlackChat::make(SlackConfig config, std::shared_ptr<ConnectorState> state) {
  using runtime::ErrorCode;
  if (config.token.empty()) return runtime::make_error(ErrorCode::invalid, "slack: the bot token is empty");
  if (config.channel.empty()) return runtime::make_error(ErrorCode::invalid, "slack: no channel for approval cards");
  if (!state) return runtime::make_error(ErrorCode::invalid, "slack: no connector state");
  auto outbound = Outbound::make(OutboundOptions{config.api_url, config.timeout, config.max_concurrency});
  if (!outbound) return runtime::make_error(ErrorCode::invalid, "slack api_url: " + outbound.error().message);
  return std::shared_ptr<SlackChat>(new SlackChat(std::move(config), std::move(state), std::move(*outbound)));
}

Outcome SlackChat::call(const std::string& method, const nlohmann::json& body, nlohmann::json& reply) {
  const std::vector<http::Header> headers = {{"Authorization", "Bearer " + config_.token},
                                             {"Content-Type", "application/json; charset=utf-8"}};
  return finish(method, outbound_->send("POST", "/" + method, dump(body), headers), reply);
}

Outcome SlackChat::call_get(const std::string& method, const std::string& query, nlohmann::json& reply) {
  const std::vector<http::Header> headers = {{"Authorization", "Bearer " + config_.token}};
  return finish(method, outbound_->send("GET", "/" + method + "?" + query, {}, headers), reply);
}

Outcome SlackChat::finish(const std::string& method, const Result<http::Response>& response, nlohmann::json& reply) {
  const std::string where = "slack " + method + ": ";
  // Outbound's message names the URL, never a header: safe to pass on.
  if (!response) return Outcome::transient_failure(where + response.error().message);
  const http::Response& r = *response;
  if (r.status == 429) {
    return Outcome::transient_failure(where + "rate limited (HTTP 429)", retry_after_seconds(r));
  }
  if (r.status >= 500) return Outcome::transient_failure(where + "HTTP " + std::to_string(r.status));
  if (r.status != 200) {
    // 401/403 do not come from Slack itself but from proxies; still never
    // worth retrying.
    return Outcome::permanent_failure(where + "HTTP " + std::to_string(r.status));
  }
  reply = nlohmann::json::parse(r.body, nullptr, /*allow_exceptions=*/false);
  if (!reply.is_object()) {
    // A 200 that is not Slack's JSON is a proxy or captive portal page:
    // likely to pass.
    return Outcome::transient_failure(where + "the answer is not JSON");
  }
  const auto ok = reply.find("ok");
  if (ok != reply.end() && ok->is_boolean() && ok->get<bool>()) return Outcome::success();
  std::string error = string_field(reply, "error");
  if (error.empty()) error = "unknown_error";
  std::string message = where + error;
  if (const std::string hint = hint_for(method, error, reply); !hint.empty()) message += " (" + hint + ")";
  if (is_transient_error(error)) return Outcome::transient_failure(message, retry_after_seconds(r));
  return Outcome::permanent_failure(message);
}

std::string SlackChat::user_id_for(const std::string& email, Outcome& outcome) {
  const std::string key = lower(email);
  {
    std::lock_guard lock(cache_mutex_);
    if (auto it = user_by_email_.find(key); it != user_by_email_.end()) {
      outcome = Outcome::success();
      return it->second;
    }
  }
  nlohmann::json reply;
  outcome = call_get("users.lookupByEmail", "email=" + http::url_encode(email), reply);
  if (!outcome.ok()) {
    // Nobody with that email is an answer, not a failure; it is not cached
    // because the person may join Slack later.
    if (outcome.kind == Outcome::Kind::permanent && string_field(reply, "error") == "users_not_found") {
      outcome = Outcome::success();
    }
    return {};
  }
  const nlohmann::json& user = reply.contains("user") ? reply["user"] : reply;
  const std::string id = string_field(user, "id");
  if (id.empty()) {
    outcome = Outcome::transient_failure("slack users.lookupByEmail: the answer has no user id");
    return {};
  }
  // The profile's spelling, so email_of_user answers the same whichever
  // call filled the cache.
  std::string profile_email = user.contains("profile") ? string_field(user["profile"], "email") : std::string{};
  if (profile_email.empty()) profile_email = email;
  std::lock_guard lock(cache_mutex_);
  user_by_email_[key] = id;
  email_by_user_.emplace(id, profile_email);
  return id;
}

std::string SlackChat::email_of_user(const std::string& slack_user_id, Outcome& outcome) {
  {
    std::lock_guard lock(cache_mutex_);
    if (auto it = email_by_user_.find(slack_user_id); it != email_by_user_.end()) {
      outcome = Outcome::success();
      return it->second;
    }
  }
  if (slack_user_id.empty()) {
    outcome = Outcome::permanent_failure("slack users.info: no user id");
    return {};
  }
  nlohmann::json reply;
  outcome = call_get("users.info", "user=" + http::url_encode(slack_user_id), reply);
  if (!outcome.ok()) return {};
  const nlohmann::json& user = reply.contains("user") ? reply["user"] : reply;
  const std::string email = user.contains("profile") ? string_field(user["profile"], "email") : std::string{};
  if (email.empty()) {
    // Slack leaves the field out, rather than failing, without the scope.
    outcome = Outcome::permanent_failure("slack users.info: user " + slack_user_id +
                                         " has no email visible to the bot (the token needs users:read.email)");
    return {};
  }
  std::lock_guard lock(cache_mutex_);
  email_by_user_[slack_user_id] = email;
  user_by_email_.emplace(lower(email), slack_user_id);
  return email;
}

Outcome SlackChat::record_card(const std::string& request_id, const std::string& channel, const std::string& ts,
                               std::size_t step) {
  std::lock_guard lock(record_mutex_);
  Outcome outcome;
  const auto stored = state_->get(std::string(kMessageScope), request_id, outcome);
  if (!outcome.ok()) return outcome;
  nlohmann::json list = nlohmann::json::array();
  if (stored) {
    list = nlohmann::json::parse(*stored, nullptr, false);
    if (!list.is_array()) return Outcome::permanent_failure("slack: the stored cards of " + request_id + " do not decode");
  }
  for (const auto& entry : list) {
    if (string_field(entry, "channel") == channel && string_field(entry, "ts") == ts) return Outcome::success();
  }
  list.push_back({{"channel", channel}, {"ts", ts}, {"step", step}});
  return state_->put(std::string(kMessageScope), request_id, dump(list));
}

Outcome SlackChat::post_card(const CardPost& card, const std::string& idempotency_key) {
  Outcome outcome;
  if (state_->get(std::string(kPostScope), idempotency_key, outcome)) return Outcome::success();
  if (!outcome.ok()) return outcome;

  std::vector<std::string> mentions;
  std::set<std::string> seen;
  for (const auto& email : card.approvers) {
    if (!seen.insert(lower(email)).second) continue;
    const std::string id = user_id_for(email, outcome);
    if (!outcome.ok()) return outcome;
    mentions.push_back(id.empty() ? slack::escape_mrkdwn(email) : "<@" + id + ">");
  }

  const nlohmann::json body = {{"channel", config_.channel},
                               {"text", slack::fallback_text(card.text)},
                               {"blocks", slack::approval_card_blocks(card.text, card.step, card.request_id, mentions)},
                               {"unfurl_links", false},
                               {"unfurl_media", false}};
  nlohmann::json reply;
  outcome = call("chat.postMessage", body, reply);
  if (!outcome.ok()) return outcome;
  const std::string channel = string_field(reply, "channel");
  const std::string ts = string_field(reply, "ts");
  if (channel.empty() || ts.empty()) {
    // Posted, but we cannot find it again to update it. Retrying would
    // post a second card; better to say so once.
    return Outcome::permanent_failure("slack chat.postMessage: the answer has no channel or ts");
  }
  // Recording can fail after the post; the retry then posts a second card,
  // which is visible and harmless, where a lost card would not be.
  outcome = record_card(card.request_id, channel, ts, card.step);
  if (!outcome.ok()) return outcome;
  return state_->put(std::string(kPostScope), idempotency_key, dump({{"channel", channel}, {"ts", ts}}));
}

Outcome SlackChat::update_card(const std::string& request_id, const std::string& text,
                               const std::string& idempotency_key) {
  Outcome outcome;
  if (state_->get(std::string(kUpdateScope), idempotency_key, outcome)) return Outcome::success();
  if (!outcome.ok()) return outcome;
  const auto stored = state_->get(std::string(kMessageScope), request_id, outcome);
  if (!outcome.ok()) return outcome;
  if (stored) {
    const auto list = nlohmann::json::parse(*stored, nullptr, false);
    if (!list.is_array()) return Outcome::permanent_failure("slack: the stored cards of " + request_id + " do not decode");
    for (const auto& entry : list) {
      const nlohmann::json body = {{"channel", string_field(entry, "channel")},
                                   {"ts", string_field(entry, "ts")},
                                   {"text", slack::fallback_text(text)},
                                   {"blocks", slack::decided_card_blocks(text)}};
      nlohmann::json reply;
      outcome = call("chat.update", body, reply);
      // Someone deleted the card: nobody can click it either.
      if (!outcome.ok() && string_field(reply, "error") != "message_not_found") return outcome;
    }
  }
  return state_->put(std::string(kUpdateScope), idempotency_key, "done");
}

Outcome SlackChat::notify(const std::vector<std::string>& to, const std::string& message,
                          const std::string& idempotency_key) {
  Outcome outcome;
  if (state_->get(std::string(kNotifyScope), idempotency_key, outcome)) return Outcome::success();
  if (!outcome.ok()) return outcome;

  std::vector<std::string> unknown;
  std::size_t reached = 0;
  std::set<std::string> seen;
  for (const auto& email : to) {
    if (!seen.insert(lower(email)).second) continue;
    const std::string recipient_key = idempotency_key + "/" + lower(email);
    if (state_->get(std::string(kNotifyScope), recipient_key, outcome)) {
      ++reached;
      continue;
    }
    if (!outcome.ok()) return outcome;
    const std::string id = user_id_for(email, outcome);
    if (!outcome.ok()) return outcome;
    if (id.empty()) {
      unknown.push_back(email);
      continue;
    }
    // A user id as the channel is a direct message from the bot; Slack
    // opens the conversation itself.
    const nlohmann::json body = {{"channel", id},
                                 {"text", slack::fallback_text(message)},
                                 {"unfurl_links", false},
                                 {"unfurl_media", false}};
    nlohmann::json reply;
    outcome = call("chat.postMessage", body, reply);
    if (!outcome.ok()) return outcome;
    outcome = state_->put(std::string(kNotifyScope), recipient_key, "sent");
    if (!outcome.ok()) return outcome;
    ++reached;
  }
  if (reached == 0 && !unknown.empty()) {
    std::string names;
    for (const auto& email : unknown) names += (names.empty() ? "" : ", ") + email;
    return Outcome::permanent_failure("slack: no Slack user for any recipient (" + names + ")");
  }
  return state_->put(std::string(kNotifyScope), idempotency_key, "sent");
}

}  // namespace portcullis::connectors
