// SlackChat against the local Slack fake: the wire format of approval
// cards and direct messages, what is recorded for later updates,
// idempotency, the mapping of Slack's errors, and the interactivity
// webhook's signature check and payload parsing.
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <thread>

#include "connectors/auth/crypto.hpp"
#include "connectors/memory_state.hpp"
#include "connectors/slack/block_kit.hpp"
#include "connectors/slack/slack.hpp"
#include "tests/fakes/slack_fake.hpp"

namespace portcullis::connectors {
namespace {

using fakes::SlackFake;
using fakes::SlackMessage;
using nlohmann::json;

constexpr char kToken[] = "xoxb-1234-secret-token";
constexpr char kSecret[] = "8f742231b10e8888abcd99yyyzzz85a5";
constexpr std::int64_t kNow = 1'700'000'000;

class SlackContract : public ::testing::Test {
 protected:
  SlackContract() : fake_(kToken) {
    fake_.add_channel("C0REQ", "access-requests");
    fake_.add_channel("C0PRIV", "private-room", /*bot_is_member=*/false);
    fake_.add_user("U0ALICE", "alice@acme.com", "alice");
    fake_.add_user("U0BOB", "Bob@Acme.com", "bob");
    state_ = std::make_shared<MemoryConnectorState>();
    chat_ = make_chat(kToken);
  }

  std::shared_ptr<SlackChat> make_chat(const std::string& token, const std::string& channel = "#access-requests") {
    SlackConfig config;
    config.api_url = fake_.base_url();
    config.token = token;
    config.signing_secret = kSecret;
    config.channel = channel;
    config.timeout = std::chrono::milliseconds(5'000);
    auto made = SlackChat::make(config, state_);
    EXPECT_TRUE(made.ok()) << (made.ok() ? "" : made.error().message);
    return made.ok() ? *made : nullptr;
  }

  static CardPost card(const std::string& request, std::size_t step, std::vector<std::string> approvers) {
    return CardPost{request, step, std::move(approvers), "alice@acme.com asks for Figma editor\n- reason: design <review> & QA"};
  }

  std::vector<json> stored_cards(const std::string& request) {
    Outcome outcome;
    auto value = state_->get("slack.message", request, outcome);
    EXPECT_TRUE(outcome.ok());
    if (!value) return {};
    auto list = json::parse(*value);
    return {list.begin(), list.end()};
  }

  SlackFake fake_;
  std::shared_ptr<MemoryConnectorState> state_;
  std::shared_ptr<SlackChat> chat_;
};

TEST_F(SlackContract, PostCardSendsBlockKitWithButtonsAndMentions) {
  const Outcome outcome = chat_->post_card(card("req-1", 2, {"alice@acme.com", "bob@acme.com", "carol@acme.com"}), "req-1/1/0");
  ASSERT_TRUE(outcome.ok()) << outcome.message;

  const auto calls = fake_.calls("chat.postMessage");
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].method, "POST");
  ASSERT_NE(calls[0].header("Authorization"), nullptr);
  EXPECT_EQ(*calls[0].header("Authorization"), std::string("Bearer ") + kToken);
  ASSERT_NE(calls[0].header("Content-Type"), nullptr);
  EXPECT_EQ(*calls[0].header("Content-Type"), "application/json; charset=utf-8");
  const json body = json::parse(calls[0].body);
  EXPECT_EQ(body["channel"], "#access-requests");
  EXPECT_EQ(body["text"], "alice@acme.com asks for Figma editor\n- reason: design &lt;review&gt; &amp; QA");

  const json& blocks = body["blocks"];
  ASSERT_EQ(blocks.size(), 3u);
  EXPECT_EQ(blocks[0]["type"], "section");
  EXPECT_EQ(blocks[0]["text"]["type"], "mrkdwn");
  EXPECT_EQ(blocks[0]["text"]["text"], "alice@acme.com asks for Figma editor\n- reason: design &lt;review&gt; &amp; QA");
  EXPECT_EQ(blocks[1]["type"], "context");
  EXPECT_EQ(blocks[1]["elements"][0]["text"], "Approvers: <@U0ALICE>, <@U0BOB>, carol@acme.com");
  EXPECT_EQ(blocks[2]["type"], "actions");
  const json& buttons = blocks[2]["elements"];
  ASSERT_EQ(buttons.size(), 2u);
  EXPECT_EQ(buttons[0]["type"], "button");
  EXPECT_EQ(buttons[0]["action_id"], "approve");
  EXPECT_EQ(buttons[0]["style"], "primary");
  EXPECT_EQ(buttons[1]["action_id"], "deny");
  EXPECT_EQ(buttons[1]["style"], "danger");
  for (const auto& b : buttons) {
    EXPECT_EQ(json::parse(b["value"].get<std::string>()), (json{{"request", "req-1"}, {"step", 2}}));
  }

  // Approvers were looked up by email, with GET and the token.
  const auto lookups = fake_.calls("users.lookupByEmail");
  ASSERT_EQ(lookups.size(), 3u);
  EXPECT_EQ(lookups[0].method, "GET");
  EXPECT_EQ(lookups[0].target, "/users.lookupByEmail?email=alice%40acme.com");
  EXPECT_EQ(*lookups[0].header("Authorization"), std::string("Bearer ") + kToken);

  // The fake stored it in the channel, with both buttons.
  const auto messages = fake_.messages_in("#access-requests");
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_TRUE(messages[0].button("approve").has_value());
  EXPECT_TRUE(messages[0].button("deny").has_value());
}

TEST_F(SlackContract, PostCardRecordsChannelIdAndTs) {
  ASSERT_TRUE(chat_->post_card(card("req-1", 0, {"alice@acme.com"}), "k0").ok());
  ASSERT_TRUE(chat_->post_card(card("req-1", 1, {"bob@acme.com"}), "k1").ok());
  const auto messages = fake_.messages();
  ASSERT_EQ(messages.size(), 2u);
  const auto cards = stored_cards("req-1");
  ASSERT_EQ(cards.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(cards[i]["channel"], "C0REQ");  // the id, which chat.update needs, not the name
    EXPECT_EQ(cards[i]["ts"], messages[i].ts);
    EXPECT_EQ(cards[i]["step"], i);
  }
  Outcome outcome;
  EXPECT_TRUE(state_->get("slack.post", "k0", outcome).has_value());
}

TEST_F(SlackContract, PostCardWithTheSameKeyPostsOnce) {
  ASSERT_TRUE(chat_->post_card(card("req-1", 0, {"alice@acme.com"}), "req-1/1/0").ok());
  ASSERT_TRUE(chat_->post_card(card("req-1", 0, {"alice@acme.com"}), "req-1/1/0").ok());
  EXPECT_EQ(fake_.messages().size(), 1u);
  EXPECT_EQ(fake_.calls("chat.postMessage").size(), 1u);
  EXPECT_EQ(stored_cards("req-1").size(), 1u);
}

TEST_F(SlackContract, ApproverLookupsAreCached) {
  ASSERT_TRUE(chat_->post_card(card("req-1", 0, {"alice@acme.com", "ALICE@acme.com"}), "k0").ok());
  ASSERT_TRUE(chat_->post_card(card("req-2", 0, {"alice@acme.com"}), "k1").ok());
  EXPECT_EQ(fake_.calls("users.lookupByEmail").size(), 1u);
}

TEST_F(SlackContract, PostCardEscapesApproverEmailsAndSurvivesLongText) {
  CardPost long_card{"req-1", 0, {"<evil>@acme.com"}, std::string(5000, 'x') + "\xC3\xA9"};
  const Outcome outcome = chat_->post_card(long_card, "k0");
  ASSERT_TRUE(outcome.ok()) << outcome.message;  // the fake refuses sections over 3000 characters
  const auto messages = fake_.messages();
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_NE(messages[0].block_text().find("Approver: &lt;evil&gt;@acme.com"), std::string::npos);
}

TEST_F(SlackContract, ConcurrentStepsAreAllRecorded) {
  std::vector<std::thread> threads;
  for (std::size_t step = 0; step < 8; ++step) {
    threads.emplace_back([this, step] {
      const Outcome outcome = chat_->post_card(card("req-1", step, {"alice@acme.com"}), "k" + std::to_string(step));
      EXPECT_TRUE(outcome.ok()) << outcome.message;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(fake_.messages().size(), 8u);
  EXPECT_EQ(stored_cards("req-1").size(), 8u);
  ASSERT_TRUE(chat_->update_card("req-1", "Expired", "u").ok());
  for (const auto& m : fake_.messages()) EXPECT_FALSE(m.has_buttons());
}

TEST_F(SlackContract, LookupFailureStopsThePost) {
  fake_.fail_next("users.lookupByEmail", "internal_error");
  const Outcome outcome = chat_->post_card(card("req-1", 0, {"alice@acme.com"}), "k");
  EXPECT_EQ(outcome.kind, Outcome::Kind::transient);
  EXPECT_NE(outcome.message.find("users.lookupByEmail"), std::string::npos);
  EXPECT_TRUE(fake_.messages().empty());
}

TEST_F(SlackContract, UpdateCardReplacesEveryCardAndRemovesButtons) {
  ASSERT_TRUE(chat_->post_card(card("req-1", 0, {"alice@acme.com"}), "k0").ok());
  ASSERT_TRUE(chat_->post_card(card("req-1", 1, {"bob@acme.com"}), "k1").ok());
  ASSERT_TRUE(chat_->post_card(card("req-2", 0, {"bob@acme.com"}), "k2").ok());

  const Outcome outcome = chat_->update_card("req-1", "Approved by bob@acme.com", "req-1/3/0");
  ASSERT_TRUE(outcome.ok()) << outcome.message;
  const auto messages = fake_.messages();
  ASSERT_EQ(messages.size(), 3u);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(messages[i].text, "Approved by bob@acme.com");
    EXPECT_EQ(messages[i].block_text(), "Approved by bob@acme.com");
    EXPECT_FALSE(messages[i].has_buttons());
    EXPECT_EQ(messages[i].updates, 1);
  }
  EXPECT_TRUE(messages[2].has_buttons());  // another request's card is untouched
  const auto updates = fake_.calls("chat.update");
  ASSERT_EQ(updates.size(), 2u);
  EXPECT_EQ(*updates[0].header("Content-Type"), "application/json; charset=utf-8");
  EXPECT_EQ(json::parse(updates[0].body)["channel"], "C0REQ");

  // Same key again: nothing more is sent.
  ASSERT_TRUE(chat_->update_card("req-1", "Approved by bob@acme.com", "req-1/3/0").ok());
  EXPECT_EQ(fake_.calls("chat.update").size(), 2u);
}

TEST_F(SlackContract, UpdateCardWithoutCardsSucceeds) {
  const Outcome outcome = chat_->update_card("req-none", "Denied", "k");
  EXPECT_TRUE(outcome.ok()) << outcome.message;
  EXPECT_TRUE(fake_.calls("chat.update").empty());
}

TEST_F(SlackContract, UpdateCardRetriesAfterATransientFailure) {
  ASSERT_TRUE(chat_->post_card(card("req-1", 0, {"alice@acme.com"}), "k0").ok());
  fake_.fail_next("chat.update", "internal_error");
  const Outcome first = chat_->update_card("req-1", "Denied", "u");
  EXPECT_EQ(first.kind, Outcome::Kind::transient);
  EXPECT_TRUE(fake_.messages()[0].has_buttons());
  ASSERT_TRUE(chat_->update_card("req-1", "Denied", "u").ok());
  EXPECT_FALSE(fake_.messages()[0].has_buttons());
}

TEST_F(SlackContract, SlackErrorsAreMappedAndNamed) {
  struct Case {
    std::string error;
    Outcome::Kind kind;
  };
  const std::vector<Case> cases = {
      {"channel_not_found", Outcome::Kind::permanent}, {"not_in_channel", Outcome::Kind::permanent},
      {"invalid_auth", Outcome::Kind::permanent},      {"account_inactive", Outcome::Kind::permanent},
      {"is_archived", Outcome::Kind::permanent},       {"ratelimited", Outcome::Kind::transient},
      {"internal_error", Outcome::Kind::transient},    {"fatal_error", Outcome::Kind::transient},
      {"service_unavailable", Outcome::Kind::transient}, {"request_timeout", Outcome::Kind::transient},
  };
  for (const auto& c : cases) {
    fake_.fail_next("chat.postMessage", c.error);
    const Outcome outcome = chat_->post_card(card("req-1", 0, {}), "k-" + c.error);
    EXPECT_EQ(outcome.kind, c.kind) << c.error;
    EXPECT_NE(outcome.message.find(c.error), std::string::npos) << outcome.message;
    EXPECT_NE(outcome.message.find("chat.postMessage"), std::string::npos) << outcome.message;
  }
  EXPECT_TRUE(fake_.messages().empty());
  EXPECT_TRUE(stored_cards("req-1").empty());
  // After a transient failure the retry posts the card.
  EXPECT_TRUE(chat_->post_card(card("req-1", 0, {}), "k-internal_error").ok());
  EXPECT_EQ(fake_.messages().size(), 1u);
}

TEST_F(SlackContract, RealChannelErrorsFromTheFake) {
  auto unknown = make_chat(kToken, "#nowhere");
  const Outcome missing = unknown->post_card(card("req-1", 0, {}), "k");
  EXPECT_EQ(missing.kind, Outcome::Kind::permanent);
  EXPECT_NE(missing.message.find("channel_not_found"), std::string::npos);
  auto outside = make_chat(kToken, "#private-room");
  const Outcome not_member = outside->post_card(card("req-1", 0, {}), "k");
  EXPECT_EQ(not_member.kind, Outcome::Kind::permanent);
  EXPECT_NE(not_member.message.find("not_in_channel"), std::string::npos);
  EXPECT_NE(not_member.message.find("/invite"), std::string::npos);
}

TEST_F(SlackContract, MissingScopeNamesTheScope) {
  fake_.fail_next("chat.postMessage", "missing_scope", 1, {{"needed", "chat:write"}, {"provided", "users:read"}});
  const Outcome post = chat_->post_card(card("req-1", 0, {}), "k");
  EXPECT_EQ(post.kind, Outcome::Kind::permanent);
  EXPECT_NE(post.message.find("missing_scope"), std::string::npos);
  EXPECT_NE(post.message.find("chat:write"), std::string::npos) << post.message;

  // Without "needed" in the answer, the scope the method needs.
  fake_.fail_next("users.lookupByEmail", "missing_scope");
  const Outcome lookup = chat_->post_card(card("req-1", 0, {"alice@acme.com"}), "k");
  EXPECT_EQ(lookup.kind, Outcome::Kind::permanent);
  EXPECT_NE(lookup.message.find("users:read.email"), std::string::npos) << lookup.message;
}

TEST_F(SlackContract, Http429IsTransientWithRetryAfter) {
  fake_.rate_limit_next("chat.postMessage", 7);
  const Outcome outcome = chat_->post_card(card("req-1", 0, {}), "k");
  EXPECT_EQ(outcome.kind, Outcome::Kind::transient);
  ASSERT_TRUE(outcome.retry_after.has_value());
  EXPECT_EQ(*outcome.retry_after, 7);
  EXPECT_TRUE(chat_->post_card(card("req-1", 0, {}), "k").ok());
}

TEST_F(SlackContract, ServerErrorsAndTransportFailuresAreTransient) {
  fake_.server().inject("", "/chat.postMessage", fakes::json_response(503, "{}"));
  EXPECT_EQ(chat_->post_card(card("req-1", 0, {}), "k").kind, Outcome::Kind::transient);

  std::string gone_url;
  {
    SlackFake gone(kToken);
    gone_url = gone.base_url();
  }
  SlackConfig config;
  config.api_url = gone_url;
  config.token = kToken;
  config.channel = "#access-requests";
  config.timeout = std::chrono::milliseconds(2'000);
  auto chat = SlackChat::make(config, state_);
  ASSERT_TRUE(chat.ok());
  const Outcome outcome = (*chat)->post_card(card("req-1", 0, {}), "k2");
  EXPECT_EQ(outcome.kind, Outcome::Kind::transient);
  EXPECT_EQ(outcome.message.find(kToken), std::string::npos);
}

TEST_F(SlackContract, InvalidTokenIsPermanentAndNeverQuoted) {
  auto wrong = make_chat("xoxb-wrong-token-value");
  const Outcome outcome = wrong->post_card(card("req-1", 0, {"alice@acme.com"}), "k");
  EXPECT_EQ(outcome.kind, Outcome::Kind::permanent);
  EXPECT_NE(outcome.message.find("invalid_auth"), std::string::npos) << outcome.message;
  EXPECT_EQ(outcome.message.find("xoxb-wrong-token-value"), std::string::npos) << outcome.message;
  EXPECT_TRUE(fake_.messages().empty());

  const Outcome notify = wrong->notify({"alice@acme.com"}, "hello", "n");
  EXPECT_EQ(notify.kind, Outcome::Kind::permanent);
  EXPECT_EQ(notify.message.find("xoxb-wrong-token-value"), std::string::npos);
}

TEST_F(SlackContract, EmailOfUserReadsTheProfileAndCaches) {
  Outcome outcome;
  EXPECT_EQ(chat_->email_of_user("U0BOB", outcome), "Bob@Acme.com");
  ASSERT_TRUE(outcome.ok()) << outcome.message;
  EXPECT_EQ(chat_->email_of_user("U0BOB", outcome), "Bob@Acme.com");
  EXPECT_TRUE(outcome.ok());
  const auto calls = fake_.calls("users.info");
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].target, "/users.info?user=U0BOB");

  EXPECT_EQ(chat_->email_of_user("U0NOBODY", outcome), "");
  EXPECT_EQ(outcome.kind, Outcome::Kind::permanent);
  EXPECT_NE(outcome.message.find("user_not_found"), std::string::npos);

  fake_.set_emails_visible(false);
  EXPECT_EQ(chat_->email_of_user("U0ALICE", outcome), "");
  EXPECT_EQ(outcome.kind, Outcome::Kind::permanent);
  EXPECT_NE(outcome.message.find("users:read.email"), std::string::npos);

  fake_.rate_limit_next("users.info", 3);
  chat_->email_of_user("U0X", outcome);
  EXPECT_EQ(outcome.kind, Outcome::Kind::transient);
  EXPECT_EQ(outcome.retry_after, 3);
}

TEST_F(SlackContract, NotifySendsDirectMessages) {
  const Outcome outcome = chat_->notify({"alice@acme.com", "bob@acme.com", "carol@acme.com"},
                                        "Your access to Figma <editor> was granted", "req-1/4/0");
  ASSERT_TRUE(outcome.ok()) << outcome.message;
  const auto calls = fake_.calls("chat.postMessage");
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(json::parse(calls[0].body)["channel"], "U0ALICE");
  EXPECT_EQ(json::parse(calls[1].body)["channel"], "U0BOB");
  const auto messages = fake_.messages();
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[0].channel, "DU0ALICE");
  EXPECT_EQ(messages[0].text, "Your access to Figma &lt;editor&gt; was granted");
  EXPECT_FALSE(messages[0].has_buttons());

  // Same key: nothing more.
  ASSERT_TRUE(chat_->notify({"alice@acme.com", "bob@acme.com"}, "again", "req-1/4/0").ok());
  EXPECT_EQ(fake_.messages().size(), 2u);
}

TEST_F(SlackContract, NotifyFailsOnlyWhenNobodyIsReachable) {
  const Outcome outcome = chat_->notify({"carol@acme.com", "dave@acme.com"}, "hi", "k");
  EXPECT_EQ(outcome.kind, Outcome::Kind::permanent);
  EXPECT_NE(outcome.message.find("carol@acme.com"), std::string::npos);
  EXPECT_NE(outcome.message.find("dave@acme.com"), std::string::npos);
  EXPECT_TRUE(chat_->notify({}, "hi", "k-empty").ok());
}

TEST_F(SlackContract, NotifyRetryDoesNotMessageAnyoneTwice) {
  Outcome outcome;
  chat_->email_of_user("U0ALICE", outcome);  // alice's id is cached now, bob's is not
  ASSERT_TRUE(outcome.ok());
  fake_.fail_next("users.lookupByEmail", "internal_error");
  const Outcome first = chat_->notify({"alice@acme.com", "bob@acme.com"}, "hi", "k");
  EXPECT_EQ(first.kind, Outcome::Kind::transient);
  EXPECT_EQ(fake_.messages().size(), 1u);
  ASSERT_TRUE(chat_->notify({"alice@acme.com", "bob@acme.com"}, "hi", "k").ok());
  const auto messages = fake_.messages();
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[0].channel, "DU0ALICE");
  EXPECT_EQ(messages[1].channel, "DU0BOB");
}

TEST(SlackChatMake, RefusesIncompleteOrUnsafeConfig) {
  auto state = std::make_shared<MemoryConnectorState>();
  SlackConfig config;
  config.token = "xoxb-1";
  config.channel = "#c";
  EXPECT_TRUE(SlackChat::make(config, state).ok());  // the default https://slack.com/api
  EXPECT_FALSE(SlackChat::make(config, nullptr).ok());
  SlackConfig no_token = config;
  no_token.token.clear();
  EXPECT_FALSE(SlackChat::make(no_token, state).ok());
  SlackConfig no_channel = config;
  no_channel.channel.clear();
  EXPECT_FALSE(SlackChat::make(no_channel, state).ok());
  SlackConfig clear_text = config;
  clear_text.api_url = "http://slack.example.com/api";
  auto refused = SlackChat::make(clear_text, state);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, runtime::ErrorCode::invalid);
}

// --- the interactivity webhook ----------------------------------------------

TEST(SlackSignature, MatchesSlacksDocumentedExample) {
  const std::string body =
      "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar"
      "&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com"
      "%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121."
      "803a0bc887a14d10d2c447fce8b6703c";
  EXPECT_EQ(verify_slack_signature(kSecret, "1531420618",
                                   "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503", body,
                                   1531420618 + 10),
            SlackVerdict::ok);
}

TEST(SlackSignature, AcceptsTheFakesSignedClick) {
  fakes::SlackClick click;
  click.value = slack::button_value("req-1", 0);
  const auto signed_click = SlackFake::signed_interaction(click, kSecret, kNow);
  EXPECT_EQ(signed_click.signature, "v0=" + hmac_sha256_hex(kSecret, "v0:" + std::to_string(kNow) + ":" + signed_click.body));
  EXPECT_EQ(verify_slack_signature(kSecret, signed_click.timestamp, signed_click.signature, signed_click.body, kNow),
            SlackVerdict::ok);
  ASSERT_EQ(signed_click.headers().size(), 3u);
  EXPECT_EQ(signed_click.headers()[0].value, "application/x-www-form-urlencoded");
}

TEST(SlackSignature, RefusesWrongSecretAndTamperedBody) {
  const std::string body = "payload=%7B%7D";
  const std::string ts = std::to_string(kNow);
  const std::string good = SlackFake::sign(kSecret, ts, body);
  EXPECT_EQ(verify_slack_signature("another-secret", ts, good, body, kNow), SlackVerdict::bad_signature);
  EXPECT_EQ(verify_slack_signature(kSecret, ts, good, body + "x", kNow), SlackVerdict::bad_signature);
  // The timestamp is signed too: moving it breaks the signature.
  EXPECT_EQ(verify_slack_signature(kSecret, std::to_string(kNow + 1), good, body, kNow), SlackVerdict::bad_signature);
}

TEST(SlackSignature, RefusesTimestampsBeyondFiveMinutes) {
  const std::string body = "payload=%7B%7D";
  for (std::int64_t offset : {-300, 0, 300}) {
    const std::string ts = std::to_string(kNow + offset);
    EXPECT_EQ(verify_slack_signature(kSecret, ts, SlackFake::sign(kSecret, ts, body), body, kNow), SlackVerdict::ok)
        << offset;
  }
  for (std::int64_t offset : {-301, 301, -86400}) {
    const std::string ts = std::to_string(kNow + offset);
    EXPECT_EQ(verify_slack_signature(kSecret, ts, SlackFake::sign(kSecret, ts, body), body, kNow),
              SlackVerdict::stale_timestamp)
        << offset;
  }
  EXPECT_EQ(verify_slack_signature(kSecret, "9223372036854775807", "v0=00", body, kNow), SlackVerdict::stale_timestamp);
  EXPECT_EQ(verify_slack_signature(kSecret, "-9223372036854775807", "v0=00", body, kNow), SlackVerdict::stale_timestamp);
  EXPECT_EQ(verify_slack_signature(kSecret, "soon", "v0=00", body, kNow), SlackVerdict::stale_timestamp);
  EXPECT_EQ(verify_slack_signature(kSecret, "1700000000.5", "v0=00", body, kNow), SlackVerdict::stale_timestamp);
}

TEST(SlackSignature, RefusesMissingHeadersAndMalformedSignatures) {
  const std::string body = "payload=%7B%7D";
  const std::string ts = std::to_string(kNow);
  const std::string good = SlackFake::sign(kSecret, ts, body);
  EXPECT_EQ(verify_slack_signature(kSecret, "", good, body, kNow), SlackVerdict::missing_headers);
  EXPECT_EQ(verify_slack_signature(kSecret, ts, "", body, kNow), SlackVerdict::missing_headers);
  EXPECT_EQ(verify_slack_signature("", ts, good, body, kNow), SlackVerdict::missing_headers);
  std::string upper = good;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (const std::string& bad : {std::string("garbage"), "v1=" + good.substr(3), good.substr(3), good + "00",
                                 good.substr(0, good.size() - 1), std::string("v0="), upper}) {
    EXPECT_EQ(verify_slack_signature(kSecret, ts, bad, body, kNow), SlackVerdict::bad_signature) << bad;
  }
  EXPECT_EQ(slack_verdict_name(SlackVerdict::stale_timestamp), "stale_timestamp");
}

std::string form(const json& payload) { return "payload=" + runtime::http::url_encode(payload.dump()); }

TEST(SlackInteraction, ParsesAnApproveClick) {
  fakes::SlackClick click;
  click.user_id = "U0BOB";
  click.action_id = "approve";
  click.value = slack::button_value("req-42", 3);
  click.action_ts = "1700000123.456789";
  click.response_url = "https://hooks.slack.com/actions/T/1/x";
  const auto action = parse_slack_interaction(SlackFake::signed_interaction(click, kSecret, kNow).body);
  ASSERT_TRUE(action.ok()) << action.error().message;
  EXPECT_EQ(action->action, "approve");
  EXPECT_EQ(action->request_id, "req-42");
  EXPECT_EQ(action->step, 3u);
  EXPECT_EQ(action->user_id, "U0BOB");
  EXPECT_EQ(action->delivery_id, "1700000123.456789:U0BOB:req-42");
  EXPECT_EQ(action->response_url, "https://hooks.slack.com/actions/T/1/x");
}

TEST(SlackInteraction, ParsesADenyClickAndTheShortValueForm) {
  fakes::SlackClick click;
  click.action_id = "deny";
  click.value = "req-7:1";
  const auto action = parse_slack_interaction(form(SlackFake::interaction_payload(click)));
  ASSERT_TRUE(action.ok()) << action.error().message;
  EXPECT_EQ(action->action, "deny");
  EXPECT_EQ(action->request_id, "req-7");
  EXPECT_EQ(action->step, 1u);
  EXPECT_EQ(action->response_url, "");
}

TEST(SlackInteraction, RefusesWhatIsNotOurs) {
  fakes::SlackClick click;
  click.value = slack::button_value("req-1", 0);
  const json good = SlackFake::interaction_payload(click);

  const auto expect_invalid = [](std::string_view body, std::string_view words) {
    const auto parsed = parse_slack_interaction(body);
    ASSERT_FALSE(parsed.ok()) << body;
    EXPECT_EQ(parsed.error().code, runtime::ErrorCode::invalid);
    EXPECT_NE(parsed.error().message.find(words), std::string::npos) << parsed.error().message;
  };
  json view = good;
  view["type"] = "view_submission";
  expect_invalid(form(view), "not block_actions");
  expect_invalid(good.dump(), "form");  // JSON, not form-encoded
  expect_invalid("", "empty");
  expect_invalid("text=hello&user_id=U1", "no payload");
  expect_invalid("payload=%7Bnot%20json", "not valid JSON");
  expect_invalid("payload=%5B1%2C2%5D", "not a JSON object");
  json foreign = good;
  foreign["actions"][0]["action_id"] = "open_modal";
  expect_invalid(form(foreign), "not a Portcullis button");
  json foreign_value = good;
  foreign_value["actions"][0]["value"] = "something else";
  expect_invalid(form(foreign_value), "value");
  json no_actions = good;
  no_actions["actions"] = json::array();
  expect_invalid(form(no_actions), "no actions");
  json no_user = good;
  no_user.erase("user");
  expect_invalid(form(no_user), "no user");
  json wrong_types = good;
  wrong_types["actions"][0]["value"] = 12;
  wrong_types["user"] = "U1";
  expect_invalid(form(wrong_types), "value");
}

// The flow the daemon runs: a posted card, a click on it, the signed
// request verified and parsed, and the clicking user mapped to an email.
TEST_F(SlackContract, ClickOnAPostedCardRoundTrips) {
  ASSERT_TRUE(chat_->post_card(card("req-9", 1, {"bob@acme.com"}), "k").ok());
  const SlackMessage message = fake_.messages_in("C0REQ").at(0);
  const auto click = fake_.click(message, "approve", "U0BOB");
  const auto request = SlackFake::signed_interaction(click, kSecret, kNow);
  ASSERT_EQ(verify_slack_signature(chat_->config().signing_secret, request.timestamp, request.signature, request.body,
                                   kNow + 30),
            SlackVerdict::ok);
  const auto action = parse_slack_interaction(request.body);
  ASSERT_TRUE(action.ok()) << action.error().message;
  EXPECT_EQ(action->request_id, "req-9");
  EXPECT_EQ(action->step, 1u);
  EXPECT_EQ(action->action, "approve");
  Outcome outcome;
  EXPECT_EQ(chat_->email_of_user(action->user_id, outcome), "Bob@Acme.com");  // the profile's spelling, though looked up as bob@
  EXPECT_TRUE(outcome.ok());
  EXPECT_EQ(action->response_url.rfind(fake_.base_url(), 0), 0u);
}

TEST(SlackBlockKit, TruncationKeepsUtf8Whole) {
  const std::string text = "ab\xC3\xA9" "cd";  // "abécd", é is two bytes
  EXPECT_EQ(slack::truncate_utf8(text, 100), text);
  EXPECT_EQ(slack::truncate_utf8(text, 6), text);
  EXPECT_EQ(slack::truncate_utf8(text, 5), "ab\xE2\x80\xA6");  // never half of é
  EXPECT_EQ(slack::escape_mrkdwn("<@U1> & <!channel>"), "&lt;@U1&gt; &amp; &lt;!channel&gt;");
  EXPECT_FALSE(slack::parse_button_value("{\"request\":\"r\",\"step\":-1}").has_value());
  EXPECT_FALSE(slack::parse_button_value(":3").has_value());
  EXPECT_FALSE(slack::parse_button_value("r:x").has_value());
}

}  // namespace
}  // namespace portcullis::connectors
