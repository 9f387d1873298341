// Slack's interactivity webhook: request signing and block_actions payloads.
#include <algorithm>
#include <charconv>
#include <cstdint>

#include "connectors/auth/crypto.hpp"
#include "connectors/slack/block_kit.hpp"
#include "connectors/slack/slack.hpp"

namespace portcullis::connectors {
namespace {

// Slack's documented replay window.
constexpr std::int64_t kMaxSkewSeconds = 300;

runtime::Error invalid(std::string message) {
  return runtime::make_error(runtime::ErrorCode::invalid, "slack interaction: " + std::move(message));
}

const nlohmann::json* member(const nlohmann::json& object, std::string_view name) {
  if (!object.is_object()) return nullptr;
  const auto it = object.find(name);
  return it == object.end() ? nullptr : &*it;
}

std::string string_member(const nlohmann::json& object, std::string_view name) {
  const nlohmann::json* value = member(object, name);
  return value != nullptr && value->is_string() ? value->get<std::string>() : std::string{};
}

}  // namespace

SlackVerdict verify_slack_signature(std::string_view signing_secret, std::string_view timestamp_header,
                                    std::string_view signature_header, std::string_view raw_body,
                                    std::int64_t now_unix) {
  // An empty secret would make every signature computable by anyone.
  if (signing_secret.empty() || timestamp_header.empty() || signature_header.empty()) {
    return SlackVerdict::missing_headers;
  }
  std::int64_t timestamp = 0;
  auto [ptr, ec] = std::from_chars(timestamp_header.data(), timestamp_header.data() + timestamp_header.size(), timestamp);
  if (ec != std::errc() || ptr != timestamp_header.data() + timestamp_header.size()) {
    return SlackVerdict::stale_timestamp;
  }
  // The distance in unsigned arithmetic: exact for any two int64 values,
  // where a signed subtraction of an extreme timestamp would overflow.
  const auto high = static_cast<std::uint64_t>(std::max(timestamp, now_unix));
  const auto low = static_cast<std::uint64_t>(std::min(timestamp, now_unix));
  if (high - low > static_cast<std::uint64_t>(kMaxSkewSeconds)) return SlackVerdict::stale_timestamp;

  std::string base = "v0:";
  base.append(timestamp_header);
  base += ':';
  base.append(raw_body);
  const std::string expected = "v0=" + hmac_sha256_hex(signing_secret, base);
  return constant_time_equals(expected, signature_header) ? SlackVerdict::ok : SlackVerdict::bad_signature;
}

std::string_view slack_verdict_name(SlackVerdict verdict) {
  switch (verdict) {
    case SlackVerdict::ok: return "ok";
    case SlackVerdict::missing_headers: return "missing_headers";
    case SlackVerdict::stale_timestamp: return "stale_timestamp";
    case SlackVerdict::bad_signature: return "bad_signature";
  }
  return "bad_signature";
}

runtime::Result<SlackAction> parse_slack_interaction(std::string_view raw_body) {
  if (raw_body.empty()) return invalid("empty body");
  if (raw_body.front() == '{' || raw_body.front() == '[') {
    return invalid("the body is JSON; Slack sends application/x-www-form-urlencoded with a payload field");
  }
  std::string payload_text;
  bool found = false;
  for (auto& [key, value] : http::parse_query(raw_body)) {
    if (key == "payload") {
      payload_text = std::move(value);
      found = true;
      break;
    }
  }
  if (!found) return invalid("the form has no payload field");
  const auto payload = nlohmann::json::parse(payload_text, nullptr, /*allow_exceptions=*/false);
  if (payload.is_discarded()) return invalid("the payload is not valid JSON");
  if (!payload.is_object()) return invalid("the payload is not a JSON object");
  const std::string type = string_member(payload, "type");
  if (type != "block_actions") {
    return invalid("payload type \"" + type + "\" is not block_actions");
  }
  const nlohmann::json* actions = member(payload, "actions");
  if (actions == nullptr || !actions->is_array() || actions->empty()) return invalid("the payload has no actions");
  const nlohmann::json& action = actions->front();

  SlackAction out;
  out.action = string_member(action, "action_id");
  if (out.action != slack::kApproveAction && out.action != slack::kDenyAction) {
    return invalid("action_id \"" + out.action + "\" is not a Portcullis button");
  }
  const auto value = slack::parse_button_value(string_member(action, "value"));
  if (!value) return invalid("the button's value does not name a request and step");
  out.request_id = value->request_id;
  out.step = value->step;

  const nlohmann::json* user = member(payload, "user");
  out.user_id = user != nullptr ? string_member(*user, "id") : std::string{};
  if (out.user_id.empty()) return invalid("the payload names no user");

  std::string action_ts = string_member(action, "action_ts");
  if (action_ts.empty()) {
    // Older payloads carry the trigger id only; it is unique per click too.
    action_ts = string_member(payload, "trigger_id");
  }
  if (action_ts.empty()) return invalid("the action has no action_ts");
  out.delivery_id = action_ts + ":" + out.user_id + ":" + out.request_id;
  out.response_url = string_member(payload, "response_url");
  return out;
}

}  // namespace portcullis::connectors
