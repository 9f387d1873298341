#include "runtime/codec.hpp"

#include <gtest/gtest.h>

#include "runtime_test_support.hpp"

namespace portcullis::runtime {
namespace {

namespace ip = portcullis::interpreter;
using namespace portcullis::runtime::testing;

template <class T, class Encode, class Decode>
void expect_round_trip(const T& value, Encode encode, Decode decode) {
  const codec::Json first = encode(value);
  auto decoded = decode(first);
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  const codec::Json second = encode(*decoded);
  EXPECT_EQ(first.dump(), second.dump());
  // And through text, as the store keeps it.
  auto parsed = codec::parse(first.dump());
  ASSERT_TRUE(parsed.ok());
  auto again = decode(*parsed);
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(encode(*again).dump(), first.dump());
}

TEST(Codec, AccessRequestRoundTrips) {
  expect_round_trip(sample_request(), codec::encode_request, codec::decode_request);
  ip::AccessRequest permanent = sample_request();
  permanent.duration.reset();
  permanent.permanent = true;
  expect_round_trip(permanent, codec::encode_request, codec::decode_request);
}

TEST(Codec, PlanRoundTripsWithEveryOutcome) {
  for (auto outcome : {ip::Outcome::approval, ip::Outcome::auto_approved, ip::Outcome::denied, ip::Outcome::rejected,
                       ip::Outcome::triage}) {
    ip::Plan plan = sample_plan();
    plan.outcome = outcome;
    expect_round_trip(plan, codec::encode_plan, codec::decode_plan);
  }
  expect_round_trip(ip::Plan{}, codec::encode_plan, codec::decode_plan);
}

TEST(Codec, ApproverRoundTripsForEveryKind) {
  for (auto kind : {ip::Approver::Kind::automatic, ip::Approver::Kind::manager, ip::Approver::Kind::app_owner,
                    ip::Approver::Kind::person, ip::Approver::Kind::group, ip::Approver::Kind::people,
                    ip::Approver::Kind::pool, ip::Approver::Kind::deny}) {
    ip::Approver a = sample_plan().steps[1].source;
    a.kind = kind;
    a.name = "x";
    expect_round_trip(a, codec::encode_approver, codec::decode_approver);
  }
}

TEST(Codec, DecodedSpanKeepsLocationAndText) {
  const ip::Plan plan = sample_plan();
  auto decoded = codec::decode_plan(codec::encode_plan(plan));
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  ASSERT_EQ(decoded->reasons.size(), 2u);
  EXPECT_EQ(decoded->reasons[0].text, "role editor");
  EXPECT_EQ(decoded->reasons[0].span.location(), plan.reasons[0].span.location());
  EXPECT_EQ(decoded->reasons[0].span.location(), "policies/acme.policy:2:3");
  EXPECT_EQ(decoded->reasons[0].span.text(), "role editor");
  EXPECT_FALSE(decoded->reasons[1].span.valid());
  EXPECT_EQ(decoded->steps[1].source.people[1].span.text(), "\"b@acme.com\"");
}

TEST(Codec, RequestStateRoundTripsEveryFieldAndStatus) {
  for (int i = 0; i <= static_cast<int>(ip::Status::failed); ++i) {
    ip::RequestState s = sample_state();
    s.status = static_cast<ip::Status>(i);
    s.version = 18446744073709551615ull;  // the whole uint64 range survives
    expect_round_trip(s, codec::encode_state, codec::decode_state);
  }
  ip::RequestState bare;
  bare.id = "r";
  expect_round_trip(bare, codec::encode_state, codec::decode_state);
  for (int i = 0; i <= static_cast<int>(ip::Membership::State::remove_failed); ++i) {
    ip::RequestState s = sample_state();
    s.memberships[0].state = static_cast<ip::Membership::State>(i);
    expect_round_trip(s, codec::encode_state, codec::decode_state);
  }
}

TEST(Codec, EveryEventRoundTrips) {
  const std::vector<ip::Event> events = {
      ip::ApproveEvent{"dana@acme.com"},
      ip::DenyEvent{"dana@acme.com", "not needed"},
      ip::CancelEvent{"sam@acme.com"},
      ip::RevokeEvent{"it@acme.com", "left the team"},
      ip::TimerEvent{ip::TimerKind::remind, 1},
      ip::TimerEvent{ip::TimerKind::escalate, 0},
      ip::TimerEvent{ip::TimerKind::expire, 0},
      ip::ProvisionResultEvent{sample_group(), false, false, "okta: 500"},
      ip::FulfilmentEvent{"it@acme.com"},
      ip::RenewEvent{"sam@acme.com", 7200},
      ip::RenewEvent{"sam@acme.com", std::nullopt},
      ip::TriageEvent{"it@acme.com", sample_request(), sample_plan()},
  };
  ASSERT_EQ(std::variant_size_v<ip::Event>, 9u);
  std::set<std::size_t> seen;
  for (const auto& e : events) {
    seen.insert(e.index());
    expect_round_trip(e, codec::encode_event, codec::decode_event);
  }
  EXPECT_EQ(seen.size(), std::variant_size_v<ip::Event>);
}

TEST(Codec, EveryEffectRoundTrips) {
  const std::vector<ip::Effect> effects = {
      ip::PostCardEffect{1, {"a@acme.com", "b@acme.com"}},
      ip::UpdateCardEffect{"approved by dana"},
      ip::EvidenceEffect{"added to figma-editors"},
      ip::AddMembershipEffect{sample_group(), "sam@acme.com"},
      ip::RemoveMembershipEffect{sample_group(), "sam@acme.com"},
      ip::ScheduleTimerEffect{ip::TimerKind::expire, 0, 1700003600},
      ip::CancelTimerEffect{ip::TimerKind::remind},
      ip::NotifyEffect{{"sam@acme.com"}, "your access expires in 1h"},
      ip::TicketStatusEffect{"approved"},
  };
  std::set<std::size_t> seen;
  for (const auto& e : effects) {
    seen.insert(e.index());
    expect_round_trip(e, codec::encode_effect, codec::decode_effect);
  }
  EXPECT_EQ(seen.size(), std::variant_size_v<ip::Effect>);
}

// ---- bad input: an error naming the field, never an exception --------------

std::string decode_state_error(const codec::Json& json) {
  auto r = codec::decode_state(json);
  EXPECT_FALSE(r.ok());
  return r.ok() ? "" : r.error().message;
}

TEST(Codec, BadFieldsAreNamedByPath) {
  codec::Json j = codec::encode_state(sample_state());
  {
    codec::Json bad = j;
    bad["plan"]["steps"][1]["quorum"] = "two";
    EXPECT_EQ(decode_state_error(bad), "state.plan.steps[1].quorum: expected an integer");
  }
  {
    codec::Json bad = j;
    bad.erase("version");
    EXPECT_EQ(decode_state_error(bad), "state.version: missing");
  }
  {
    codec::Json bad = j;
    bad["status"] = "half-approved";
    EXPECT_EQ(decode_state_error(bad), "state.status: unknown status \"half-approved\"");
  }
  {
    codec::Json bad = j;
    bad["memberships"][0]["group"]["span"]["line"] = -3;
    EXPECT_EQ(decode_state_error(bad), "state.memberships[0].group.span.line: expected a non-negative integer");
  }
  {
    codec::Json bad = j;
    bad["approvals"][0][0] = 7;
    EXPECT_EQ(decode_state_error(bad), "state.approvals[0][0]: expected an object");
  }
  {
    codec::Json bad = j;
    bad["plan"]["outcome"] = "maybe";
    EXPECT_EQ(decode_state_error(bad), "state.plan.outcome: unknown value \"maybe\"");
  }
  {
    codec::Json bad = j;
    bad["step"] = 1.5;
    EXPECT_EQ(decode_state_error(bad), "state.step: expected an integer");
  }
  EXPECT_EQ(decode_state_error(codec::Json::array()), "state: expected an object");
  EXPECT_EQ(decode_state_error(nullptr), "state: expected an object");

  auto event = codec::decode_event(codec::Json{{"type", "explode"}});
  ASSERT_FALSE(event.ok());
  EXPECT_EQ(event.error().message, "event.type: unknown event type \"explode\"");
  EXPECT_EQ(event.error().code, ErrorCode::invalid);
  auto effect = codec::decode_effect(codec::Json{{"type", "add_membership"}, {"user", "x"}});
  ASSERT_FALSE(effect.ok());
  EXPECT_EQ(effect.error().message, "effect.group: missing");
  auto timer = codec::decode_event(codec::Json{{"type", "timer"}, {"kind", "nap"}, {"step", 0}});
  ASSERT_FALSE(timer.ok());
  EXPECT_EQ(timer.error().message, "event.kind: unknown value \"nap\"");
}

TEST(Codec, BadJsonTextIsAnErrorValue) {
  auto r = codec::parse("{\"id\": ");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("invalid JSON at byte"), std::string::npos) << r.error().message;
  EXPECT_TRUE(codec::parse("{}").ok());
}

TEST(Codec, EveryTruncationOfAValidDocumentIsRejectedCleanly) {
  const std::string text = codec::encode_state(sample_state()).dump();
  for (std::size_t n = 0; n < text.size(); n += 7) {
    auto parsed = codec::parse(text.substr(0, n));
    if (parsed.ok()) {
      EXPECT_FALSE(codec::decode_state(*parsed).ok());
    }
  }
}

}  // namespace
}  // namespace portcullis::runtime
