#include "tests/fakes/slack_fake.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cctype>
#include <cstdio>

namespace portcullis::fakes {
namespace {

std::string dump(const nlohmann::json& json) {
  return json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

http::Response slack_ok(nlohmann::json body) {
  body["ok"] = true;
  return json_response(200, dump(body));
}

http::Response slack_error(const std::string& error, nlohmann::json extra = nlohmann::json::object()) {
  extra["ok"] = false;
  extra["error"] = error;
  return json_response(200, dump(extra));
}

std::string arg(const nlohmann::json& args, const std::string& name) {
  const auto it = args.find(name);
  if (it == args.end()) return {};
  if (it->is_string()) return it->get<std::string>();
  return dump(*it);
}

// Arguments from the query, then the body (JSON or form), as Slack merges them.
nlohmann::json arguments(const http::Request& request) {
  nlohmann::json args = nlohmann::json::object();
  for (const auto& [k, v] : http::parse_query(request.query())) args[k] = v;
  if (request.body.empty()) return args;
  const std::string* type = request.header("Content-Type");
  if (type != nullptr && lower(*type).starts_with("application/json")) {
    const auto body = nlohmann::json::parse(request.body, nullptr, false);
    if (!body.is_object()) return nullptr;
    for (const auto& [k, v] : body.items()) args[k] = v;
  } else {
    for (const auto& [k, v] : http::parse_query(request.body)) {
      // Form-encoded blocks arrive as a JSON string.
      if (k == "blocks") {
        args[k] = nlohmann::json::parse(v, nullptr, false);
      } else {
        args[k] = v;
      }
    }
  }
  return args;
}

// The checks Slack makes on blocks that matter to the connector: known
// block types, section text within 3000 characters, buttons with an
// action_id and text.
bool valid_blocks(const nlohmann::json& blocks) {
  if (!blocks.is_array() || blocks.size() > 50) return false;
  for (const auto& block : blocks) {
    if (!block.is_object() || !block.contains("type")) return false;
    const std::string type = arg(block, "type");
    if (type == "section") {
      if (!block.contains("text") || !block["text"].is_object()) return false;
      if (arg(block["text"], "text").size() > 3000) return false;
    } else if (type == "context" || type == "actions") {
      if (!block.contains("elements") || !block["elements"].is_array()) return false;
      for (const auto& element : block["elements"]) {
        if (type == "actions" && (arg(element, "action_id").empty() || !element.contains("text"))) return false;
      }
    } else if (type != "divider" && type != "header") {
      return false;
    }
  }
  return true;
}

}  // namespace

std::vector<nlohmann::json> SlackMessage::buttons() const {
  std::vector<nlohmann::json> out;
  if (!blocks.is_array()) return out;
  for (const auto& block : blocks) {
    if (!block.is_object() || arg(block, "type") != "actions" || !block.contains("elements")) continue;
    for (const auto& element : block["elements"]) {
      if (element.is_object() && arg(element, "type") == "button") out.push_back(element);
    }
  }
  return out;
}

std::optional<nlohmann::json> SlackMessage::button(const std::string& action_id) const {
  for (const auto& b : buttons()) {
    if (arg(b, "action_id") == action_id) return b;
  }
  return std::nullopt;
}

std::string SlackMessage::block_text() const {
  std::string out;
  if (!blocks.is_array()) return out;
  const auto add = [&](const std::string& line) { out += (out.empty() ? "" : "\n") + line; };
  for (const auto& block : blocks) {
    if (!block.is_object()) continue;
    if (block.contains("text") && block["text"].is_object()) add(arg(block["text"], "text"));
    if (arg(block, "type") == "context" && block.contains("elements")) {
      for (const auto& element : block["elements"]) add(arg(element, "text"));
    }
  }
  return out;
}

std::vector<http::Header> SignedInteraction::headers() const {
  return {{"Content-Type", "application/x-www-form-urlencoded"},
          {"X-Slack-Request-Timestamp", timestamp},
          {"X-Slack-Signature", signature}};
}

SlackFake::SlackFake(std::string token)
    : token_(std::move(token)), server_([this](const http::Request& r) { return handle(r); }) {}

void SlackFake::add_channel(const std::string& id, const std::string& name, bool bot_is_member) {
  std::lock_guard lock(mutex_);
  channels_.push_back(Channel{id, name, bot_is_member});
}

void SlackFake::add_user(const std::string& id, const std::string& email, const std::string& name) {
  std::lock_guard lock(mutex_);
  users_.push_back(User{id, email, name.empty() ? email.substr(0, email.find('@')) : name});
}

void SlackFake::set_emails_visible(bool visible) {
  std::lock_guard lock(mutex_);
  emails_visible_ = visible;
}

std::vector<SlackMessage> SlackFake::messages() const {
  std::lock_guard lock(mutex_);
  return messages_;
}

std::vector<SlackMessage> SlackFake::messages_in(const std::string& channel) const {
  std::lock_guard lock(mutex_);
  bool member = false;
  const std::string id = resolve_channel(channel, member);
  std::vector<SlackMessage> out;
  for (const auto& m : messages_) {
    if (m.channel == id) out.push_back(m);
  }
  return out;
}

std::optional<SlackMessage> SlackFake::message(const std::string& channel_id, const std::string& ts) const {
  std::lock_guard lock(mutex_);
  for (const auto& m : messages_) {
    if (m.channel == channel_id && m.ts == ts) return m;
  }
  return std::nullopt;
}

std::vector<Received> SlackFake::calls(const std::string& method) const {
  std::vector<Received> out;
  for (auto& r : server_.received()) {
    if (r.path() == "/" + method) out.push_back(std::move(r));
  }
  return out;
}

void SlackFake::fail_next(const std::string& method, const std::string& error, int count, const nlohmann::json& extra) {
  server_.inject("", "/" + method, slack_error(error, extra), count);
}

void SlackFake::rate_limit_next(const std::string& method, int retry_after_seconds, int count) {
  server_.inject("", "/" + method,
                 json_response(429, R"({"ok":false,"error":"ratelimited"})",
                               {{"Retry-After", std::to_string(retry_after_seconds)}}),
                 count);
}

std::vector<std::string> SlackFake::responses() const {
  std::lock_guard lock(mutex_);
  return responses_;
}

std::string SlackFake::resolve_channel(const std::string& channel, bool& member) const {
  member = true;
  std::string name = channel;
  if (name.starts_with("#")) name.erase(0, 1);
  for (const auto& c : channels_) {
    if (c.id == channel || c.name == name) {
      member = c.member;
      return c.id;
    }
  }
  for (const auto& u : users_) {
    if (u.id == channel) return "D" + u.id;
  }
  if (channel.starts_with("D")) {
    for (const auto& u : users_) {
      if ("D" + u.id == channel) return channel;
    }
  }
  return {};
}

nlohmann::json SlackFake::user_json(std::size_t index) const {
  const User& u = users_[index];
  nlohmann::json profile = {{"real_name", u.name}, {"display_name", u.name}};
  if (emails_visible_) profile["email"] = u.email;
  return {{"id", u.id}, {"name", u.name}, {"deleted", false}, {"profile", profile}};
}

http::Response SlackFake::handle(const http::Request& request) {
  const std::string path(request.path());
  if (path.starts_with("/response/")) {
    std::lock_guard lock(mutex_);
    responses_.push_back(request.body);
    return json_response(200, R"({"ok":true})");
  }
  const std::string* auth = request.header("Authorization");
  if (auth == nullptr || auth->empty()) return slack_error("not_authed");
  if (*auth != "Bearer " + token_) return slack_error("invalid_auth");
  const nlohmann::json args = arguments(request);
  if (!args.is_object()) return slack_error("invalid_json");

  std::lock_guard lock(mutex_);
  if (path == "/chat.postMessage" && request.method == "POST") return post_message(args);
  if (path == "/chat.update" && request.method == "POST") return update(args);
  if (path == "/users.lookupByEmail") return lookup_by_email(args);
  if (path == "/users.info") return user_info(args);
  return json_response(404, R"({"ok":false,"error":"unknown_method"})");
}

http::Response SlackFake::post_message(const nlohmann::json& args) {
  const std::string channel = arg(args, "channel");
  if (channel.empty()) return slack_error("channel_not_found");
  bool member = true;
  const std::string id = resolve_channel(channel, member);
  if (id.empty()) return slack_error("channel_not_found");
  if (!member) return slack_error("not_in_channel");
  SlackMessage message;
  message.channel = id;
  message.text = arg(args, "text");
  if (args.contains("blocks")) {
    if (!valid_blocks(args["blocks"])) return slack_error("invalid_blocks");
    message.blocks = args["blocks"];
  }
  if (message.text.empty() && message.blocks.empty()) return slack_error("no_text");
  char ts[32];
  std::snprintf(ts, sizeof ts, "1700000000.%06lld", static_cast<long long>(next_ts_++));
  message.ts = ts;
  messages_.push_back(message);
  return slack_ok({{"channel", id}, {"ts", message.ts}, {"message", {{"text", message.text}, {"ts", message.ts}}}});
}

http::Response SlackFake::update(const nlohmann::json& args) {
  const std::string channel = arg(args, "channel");
  const std::string ts = arg(args, "ts");
  // chat.update wants the channel id, not a name.
  const bool known = std::any_of(channels_.begin(), channels_.end(), [&](const Channel& c) { return c.id == channel; }) ||
                     std::any_of(users_.begin(), users_.end(), [&](const User& u) { return "D" + u.id == channel; });
  if (!known) return slack_error("channel_not_found");
  for (auto& m : messages_) {
    if (m.channel != channel || m.ts != ts) continue;
    nlohmann::json blocks = args.contains("blocks") ? args["blocks"] : nlohmann::json::array();
    if (!valid_blocks(blocks)) return slack_error("invalid_blocks");
    m.text = arg(args, "text");
    m.blocks = std::move(blocks);
    ++m.updates;
    return slack_ok({{"channel", channel}, {"ts", ts}, {"text", m.text}});
  }
  return slack_error("message_not_found");
}

http::Response SlackFake::lookup_by_email(const nlohmann::json& args) {
  const std::string email = lower(arg(args, "email"));
  for (std::size_t i = 0; i < users_.size(); ++i) {
    if (lower(users_[i].email) == email) {
      // lookupByEmail always shows the email: the caller already knows it.
      nlohmann::json user = user_json(i);
      user["profile"]["email"] = users_[i].email;
      return slack_ok({{"user", user}});
    }
  }
  return slack_error("users_not_found");
}

http::Response SlackFake::user_info(const nlohmann::json& args) {
  const std::string id = arg(args, "user");
  for (std::size_t i = 0; i < users_.size(); ++i) {
    if (users_[i].id == id) return slack_ok({{"user", user_json(i)}});
  }
  return slack_error("user_not_found");
}

SlackClick SlackFake::click(const SlackMessage& message, const std::string& action_id, const std::string& user_id) const {
  SlackClick click;
  click.user_id = user_id;
  click.action_id = action_id;
  if (auto b = message.button(action_id)) click.value = arg(*b, "value");
  click.channel_id = message.channel;
  click.message_ts = message.ts;
  click.action_ts = message.ts + "1";
  click.response_url = base_url() + "/response/" + message.channel + "/" + message.ts;
  return click;
}

nlohmann::json SlackFake::interaction_payload(const SlackClick& click) {
  nlohmann::json payload = {
      {"type", "block_actions"},
      {"api_app_id", "A0PORTCULLIS"},
      {"token", "legacy-verification-token"},
      {"trigger_id", click.trigger_id},
      {"team", {{"id", "T0TEAM"}, {"domain", "acme"}}},
      {"user", {{"id", click.user_id}, {"username", "clicker"}, {"team_id", "T0TEAM"}}},
      {"container",
       {{"type", "message"}, {"message_ts", click.message_ts}, {"channel_id", click.channel_id}, {"is_ephemeral", false}}},
      {"channel", {{"id", click.channel_id}}},
      {"message", {{"type", "message"}, {"ts", click.message_ts}}},
      {"actions",
       nlohmann::json::array({{{"type", "button"},
                               {"action_id", click.action_id},
                               {"block_id", "portcullis_decision"},
                               {"value", click.value},
                               {"action_ts", click.action_ts}}})}};
  if (!click.response_url.empty()) payload["response_url"] = click.response_url;
  return payload;
}

std::string SlackFake::sign(const std::string& signing_secret, const std::string& timestamp, const std::string& body) {
  const std::string base = "v0:" + timestamp + ":" + body;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), signing_secret.data(), static_cast<int>(signing_secret.size()),
       reinterpret_cast<const unsigned char*>(base.data()), base.size(), mac, &length);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "v0=";
  for (unsigned int i = 0; i < length; ++i) {
    out.push_back(kHex[mac[i] >> 4]);
    out.push_back(kHex[mac[i] & 0x0F]);
  }
  return out;
}

SignedInteraction SlackFake::signed_interaction(const SlackClick& click, const std::string& signing_secret,
                                                std::int64_t timestamp) {
  SignedInteraction out;
  out.body = "payload=" + http::url_encode(dump(interaction_payload(click)));
  out.timestamp = std::to_string(timestamp);
  out.signature = sign(signing_secret, out.timestamp, out.body);
  return out;
}

}  // namespace portcullis::fakes
