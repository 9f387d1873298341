#pragma once
// A local fake of the Slack Web API methods Portcullis uses
// (chat.postMessage, chat.update, users.lookupByEmail, users.info), and a
// builder for signed interactivity requests (a click on a card's button),
// for the Slack contract tests and the daemon's end-to-end test.
//
// Behaves like Slack where the connector depends on it:
// - Every method checks "Authorization: Bearer <token>": none is
//   {"ok":false,"error":"not_authed"}, a wrong one "invalid_auth", both
//   with HTTP 200, as Slack does.
// - Arguments come from a JSON body (Content-Type application/json), a
//   form body, or the query string (GET).
// - chat.postMessage takes a channel by id ("C0001"), by name ("#general"
//   or "general") or a user id (a direct message, answered with a "D..."
//   channel id); unknown: channel_not_found; a channel the bot is not in:
//   not_in_channel. Answers {"ok":true,"channel":id,"ts":"..."}.
// - chat.update needs the channel id and an existing ts
//   (message_not_found otherwise); it replaces text and blocks (no blocks
//   given: the message has none left).
// - users.lookupByEmail (case-insensitive; users_not_found) and users.info
//   (user_not_found; profile.email only while emails are visible).
// - fail_next / rate_limit_next answer the next calls of a method with an
//   injected {"ok":false,...} or an HTTP 429 with Retry-After.
//
// Thread-safe; serves on 127.0.0.1 and stops with the object.

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/fakes/fake_server.hpp"

namespace portcullis::fakes {

struct SlackMessage {
  std::string channel;  // channel id ("C...", or "D..." for a direct message)
  std::string ts;
  std::string text;
  nlohmann::json blocks = nlohmann::json::array();
  int updates = 0;  // chat.update calls that changed it

  // The buttons of its actions blocks, in order.
  std::vector<nlohmann::json> buttons() const;
  bool has_buttons() const { return !buttons().empty(); }
  // The button with that action_id, or nullopt.
  std::optional<nlohmann::json> button(const std::string& action_id) const;
  // The text of every section and context block, joined by newlines.
  std::string block_text() const;
};

// One click on a button, as Slack describes it in a block_actions payload.
struct SlackClick {
  std::string user_id = "U0CLICKER";
  std::string action_id = "approve";
  std::string value;  // the button's value
  std::string action_ts = "1700000000.000001";
  std::string channel_id;
  std::string message_ts;
  std::string response_url;  // empty: none
  std::string trigger_id = "trigger.1";
};

// An interactivity POST as Slack sends it.
struct SignedInteraction {
  std::string body;       // payload=<url-encoded JSON>
  std::string timestamp;  // X-Slack-Request-Timestamp
  std::string signature;  // X-Slack-Signature: v0=<hex>
  // Content-Type, X-Slack-Request-Timestamp and X-Slack-Signature.
  std::vector<http::Header> headers() const;
};

class SlackFake {
 public:
  explicit SlackFake(std::string token = "xoxb-fake-token");

  // What goes in SlackConfig::api_url.
  std::string base_url() const { return server_.base_url(); }
  FakeServer& server() { return server_; }
  const std::string& token() const { return token_; }

  void add_channel(const std::string& id, const std::string& name, bool bot_is_member = true);
  void add_user(const std::string& id, const std::string& email, const std::string& name = {});
  // Off: users.info leaves profile.email out, as Slack does for a token
  // without users:read.email.
  void set_emails_visible(bool visible);

  // Every message posted (direct messages included), in order, as it is now.
  std::vector<SlackMessage> messages() const;
  // Those in one channel, by id or name ("#general", "general").
  std::vector<SlackMessage> messages_in(const std::string& channel) const;
  std::optional<SlackMessage> message(const std::string& channel_id, const std::string& ts) const;
  // Calls received for a method ("chat.postMessage"), failed ones included.
  std::vector<Received> calls(const std::string& method) const;

  // The next `count` calls of `method` answer HTTP 200 {"ok":false,"error":error}
  // plus `extra` fields (missing_scope's "needed", for instance).
  void fail_next(const std::string& method, const std::string& error, int count = 1,
                 const nlohmann::json& extra = nlohmann::json::object());
  // The next `count` calls of `method` answer HTTP 429 with Retry-After.
  void rate_limit_next(const std::string& method, int retry_after_seconds, int count = 1);

  // A click on one of a posted message's buttons: value, channel and
  // message ts copied from it. The response_url points at this fake.
  SlackClick click(const SlackMessage& message, const std::string& action_id, const std::string& user_id) const;
  // The payload JSON of a block_actions interaction for the click.
  static nlohmann::json interaction_payload(const SlackClick& click);
  // The form body and the headers Slack would send, signed with the
  // signing secret at that Unix time.
  static SignedInteraction signed_interaction(const SlackClick& click, const std::string& signing_secret,
                                              std::int64_t timestamp);
  // "v0=" + hex HMAC-SHA256(secret, "v0:" + timestamp + ":" + body).
  static std::string sign(const std::string& signing_secret, const std::string& timestamp, const std::string& body);

  // Bodies POSTed to response URLs handed out by click().
  std::vector<std::string> responses() const;

 private:
  http::Response handle(const http::Request& request);
  http::Response post_message(const nlohmann::json& args);
  http::Response update(const nlohmann::json& args);
  http::Response lookup_by_email(const nlohmann::json& args);
  http::Response user_info(const nlohmann::json& args);
  // Channel id for a channel argument; empty when unknown. Sets `member`.
  std::string resolve_channel(const std::string& channel, bool& member) const;
  nlohmann::json user_json(std::size_t index) const;

  struct Channel {
    std::string id;
    std::string name;
    bool member = true;
  };
  struct User {
    std::string id;
    std::string email;
    std::string name;
  };

  std::string token_;
  mutable std::mutex mutex_;
  std::vector<Channel> channels_;
  std::vector<User> users_;
  std::vector<SlackMessage> messages_;
  std::vector<std::string> responses_;
  bool emails_visible_ = true;
  std::int64_t next_ts_ = 1;
  FakeServer server_;  // last: stops before the state it serves goes away
};

}  // namespace portcullis::fakes
