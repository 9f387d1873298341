// The SCIM 2.0 connector against the local SCIM fake: the exact wire
// calls and PatchOp bodies, idempotent no-ops (lenient and strict servers),
// SCIM error messages, ListResponse paging, member id mapping, rate limits
// and concurrent use.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <thread>

#include <nlohmann/json.hpp>

#include "connectors/scim/scim.hpp"
#include "tests/fakes/scim_fake.hpp"

namespace portcullis::connectors {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using Kind = Outcome::Kind;

constexpr const char* kToken = "scim-bearer-secret-0123456789";

std::string header_of(const fakes::Received& r, const char* name) {
  const std::string* value = r.header(name);
  return value == nullptr ? std::string("<none>") : *value;
}

class ScimContract : public ::testing::Test {
 protected:
  void SetUp() override {
    fake.add_user("u-alice", "alice@acme.com");
    fake.add_user("u-bob", "bob@acme.com");
    fake.add_group("g-editors", "figma-editors");
    fake.add_group("g-viewers", "figma-viewers");
  }

  std::shared_ptr<GroupProvider> provider(std::string token = kToken) {
    ScimConfig config;
    config.name = "scim.legacy";
    config.url = fake.base_url();
    config.token = std::move(token);
    auto made = make_scim_provider(std::move(config));
    EXPECT_TRUE(made.ok()) << made.error().message;
    return made.ok() ? *made : nullptr;
  }

  fakes::ScimFake fake{kToken};
};

TEST_F(ScimContract, AddAndRemoveMakeTheExactWireCalls) {
  auto scim = provider();
  const Outcome added = scim->add_member("figma-editors", "bob@acme.com", "req-1/1/0");
  ASSERT_TRUE(added.ok()) << added.message;
  EXPECT_EQ(fake.members_of("figma-editors"), std::vector<std::string>{"bob@acme.com"});

  const auto calls = fake.server().received();
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(calls[0].method, "GET");
  EXPECT_EQ(calls[0].target,
            "/scim/v2/Groups?filter=displayName%20eq%20%22figma-editors%22&startIndex=1&count=100"
            "&excludedAttributes=members");
  EXPECT_EQ(calls[1].method, "GET");
  EXPECT_EQ(calls[1].target, "/scim/v2/Users?filter=userName%20eq%20%22bob%40acme.com%22&startIndex=1&count=100");
  EXPECT_EQ(calls[2].method, "PATCH");
  EXPECT_EQ(calls[2].target, "/scim/v2/Groups/g-editors");
  EXPECT_EQ(header_of(calls[2], "Content-Type"), "application/scim+json");
  EXPECT_EQ(json::parse(calls[2].body), json::parse(R"({"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
      "Operations":[{"op":"add","path":"members","value":[{"value":"u-bob"}]}]})"));
  for (const auto& call : calls) {
    EXPECT_EQ(header_of(call, "Authorization"), std::string("Bearer ") + kToken);
    EXPECT_EQ(header_of(call, "Accept"), "application/scim+json");
  }

  fake.server().clear_received();
  const Outcome removed = scim->remove_member("figma-editors", "bob@acme.com", "req-1/2/0");
  ASSERT_TRUE(removed.ok()) << removed.message;
  EXPECT_TRUE(fake.members_of("figma-editors").empty());
  const auto again = fake.server().received();
  ASSERT_EQ(again.size(), 1u);  // ids cached
  EXPECT_EQ(again[0].method, "PATCH");
  EXPECT_EQ(again[0].target, "/scim/v2/Groups/g-editors");
  EXPECT_EQ(json::parse(again[0].body), json::parse(R"({"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
      "Operations":[{"op":"remove","path":"members[value eq \"u-bob\"]"}]})"));
}

TEST_F(ScimContract, PatchAnswering200WithTheResourceIsSuccess) {
  fake.set_patch_returns_resource(true);
  auto scim = provider();
  EXPECT_TRUE(scim->add_member("figma-editors", "bob@acme.com", "k").ok());
  EXPECT_TRUE(scim->remove_member("figma-editors", "bob@acme.com", "k").ok());
  EXPECT_TRUE(fake.members_of("figma-editors").empty());
}

TEST_F(ScimContract, NoOpsSucceedOnALenientServer) {
  fake.add_member("figma-editors", "bob@acme.com");
  auto scim = provider();
  EXPECT_TRUE(scim->add_member("figma-editors", "bob@acme.com", "k1").ok());
  EXPECT_TRUE(scim->remove_member("figma-editors", "alice@acme.com", "k2").ok());
  EXPECT_EQ(fake.members_of("figma-editors"), std::vector<std::string>{"bob@acme.com"});
}

TEST_F(ScimContract, UniquenessAndNoTargetMeanAlreadyDone) {
  fake.set_strict_membership(true);
  fake.add_member("figma-editors", "bob@acme.com");
  auto scim = provider();
  const Outcome added = scim->add_member("figma-editors", "bob@acme.com", "k1");
  EXPECT_TRUE(added.ok()) << added.message;
  const Outcome removed = scim->remove_member("figma-editors", "alice@acme.com", "k2");
  EXPECT_TRUE(removed.ok()) << removed.message;
  EXPECT_EQ(fake.members_of("figma-editors"), std::vector<std::string>{"bob@acme.com"});
  // Both answers really came back as errors.
  const auto patches = fake.server().received("PATCH", "/scim/v2/Groups/");
  ASSERT_EQ(patches.size(), 2u);
}

TEST_F(ScimContract, NotFoundOnRemoveOfANonMemberIsSuccessWhenTheGroupExists) {
  auto scim = provider();
  fake.server().inject("PATCH", "/scim/v2/Groups/g-editors",
                       fakes::json_response(404, R"({"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],
                         "status":"404","detail":"member not found"})"));
  const Outcome outcome = scim->remove_member("figma-editors", "alice@acme.com", "k");
  EXPECT_TRUE(outcome.ok()) << outcome.message;
}

TEST_F(ScimContract, UnknownGroupAndUserArePermanentAndNamed) {
  auto scim = provider();
  Outcome outcome = scim->add_member("nope", "bob@acme.com", "k");
  EXPECT_EQ(outcome.kind, Kind::permanent);
  EXPECT_EQ(outcome.message, "scim.legacy: cannot add bob@acme.com to group \"nope\": no group with displayName \"nope\"");
  outcome = scim->remove_member("figma-editors", "carol@acme.com", "k");
  EXPECT_EQ(outcome.kind, Kind::permanent);
  EXPECT_EQ(outcome.message,
            "scim.legacy: cannot remove carol@acme.com from group \"figma-editors\": no user with userName "
            "carol@acme.com");
  Outcome found;
  EXPECT_EQ(scim->find_user("carol@acme.com", found), "");
  EXPECT_EQ(found.kind, Kind::permanent);
}

TEST_F(ScimContract, ScimErrorsAreSurfacedWithStatusAndScimType) {
  auto scim = provider();
  fake.server().inject("PATCH", "/scim/v2/Groups/",
                       fakes::json_response(400, R"({"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],
                         "status":"400","scimType":"mutability","detail":"members is read-only for this group"})"));
  const Outcome outcome = scim->add_member("figma-editors", "bob@acme.com", "k");
  EXPECT_EQ(outcome.kind, Kind::permanent);
  EXPECT_EQ(outcome.message,
            "scim.legacy: cannot add bob@acme.com to group \"figma-editors\": members is read-only for this group "
            "(status 400, scimType mutability)");
}

TEST_F(ScimContract, FindUserMatchesUserNameCaseInsensitively) {
  auto scim = provider();
  Outcome outcome;
  EXPECT_EQ(scim->find_user("Alice@Acme.com", outcome), "u-alice");
  EXPECT_TRUE(outcome.ok()) << outcome.message;
}

TEST_F(ScimContract, LookupsWalkListResponsePages) {
  // displayName filters are case-insensitive: "Figma-Admins" and
  // "figma-admins" both match; with one resource a page the exact one is
  // on page two.
  fake.set_page_size(1);
  fake.add_group("g-a1", "Figma-Admins");
  fake.add_group("g-a2", "figma-admins");
  auto scim = provider();
  ASSERT_TRUE(scim->add_member("figma-admins", "bob@acme.com", "k").ok());
  EXPECT_EQ(fake.members_of("figma-admins"), std::vector<std::string>{"bob@acme.com"});
  EXPECT_TRUE(fake.members_of("Figma-Admins").empty());
  const auto lookups = fake.server().received("GET", "/scim/v2/Groups");
  ASSERT_EQ(lookups.size(), 2u);
  EXPECT_NE(lookups[0].target.find("startIndex=1&"), std::string::npos);
  EXPECT_NE(lookups[1].target.find("startIndex=2&"), std::string::npos);
}

TEST_F(ScimContract, MembersMapIdsToUserNames) {
  fake.add_user("u-carol", "carol@acme.com", "Carol Jones");  // display is not an email
  fake.add_user("u-dave", "dave@acme.com", "Dave");
  for (const char* who : {"alice@acme.com", "bob@acme.com", "carol@acme.com", "dave@acme.com"}) {
    fake.add_member("figma-viewers", who);
  }
  auto scim = provider();
  Outcome outcome;
  const auto members = scim->members("figma-viewers", outcome);
  ASSERT_TRUE(outcome.ok()) << outcome.message;
  EXPECT_EQ(members, fake.members_of("figma-viewers"));
  EXPECT_EQ(members.size(), 4u);
  EXPECT_EQ(fake.server().received("GET", "/scim/v2/Groups/g-viewers").size(), 1u);
  EXPECT_EQ(fake.server().received("GET", "/scim/v2/Users/u-carol").size(), 1u);
  EXPECT_EQ(fake.server().received("GET", "/scim/v2/Users/u-dave").size(), 1u);
  EXPECT_TRUE(fake.server().received("GET", "/scim/v2/Users/u-alice").empty());

  // The second listing uses the cached names.
  fake.server().clear_received();
  EXPECT_EQ(scim->members("figma-viewers", outcome), members);
  EXPECT_TRUE(fake.server().received("GET", "/scim/v2/Users/").empty());

  Outcome empty;
  EXPECT_TRUE(scim->members("figma-editors", empty).empty());
  EXPECT_TRUE(empty.ok()) << empty.message;
}

TEST_F(ScimContract, RateLimitIsTransientWithRetryAfter) {
  auto scim = provider();
  fake.configure_rate_limit(1, 17s);
  const Outcome outcome = scim->add_member("figma-editors", "bob@acme.com", "k");
  EXPECT_EQ(outcome.kind, Kind::transient);
  EXPECT_EQ(outcome.retry_after, 17);
  EXPECT_NE(outcome.message.find("status 429"), std::string::npos) << outcome.message;
  EXPECT_TRUE(scim->add_member("figma-editors", "bob@acme.com", "k").ok());
}

TEST_F(ScimContract, ServerErrorsAndTransportFailuresAreTransient) {
  auto scim = provider();
  fake.server().inject("PATCH", "/scim/v2/Groups/",
                       fakes::json_response(502, R"({"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],
                         "status":"502","detail":"upstream directory unavailable"})"));
  const Outcome outcome = scim->add_member("figma-editors", "bob@acme.com", "k");
  EXPECT_EQ(outcome.kind, Kind::transient);
  EXPECT_NE(outcome.message.find("upstream directory unavailable"), std::string::npos) << outcome.message;

  std::string closed_url;
  {
    fakes::ScimFake gone;
    closed_url = gone.base_url();
  }
  auto unreachable = make_scim_provider({"scim.legacy", closed_url, kToken, 2s, 2});
  ASSERT_TRUE(unreachable.ok());
  const Outcome down = (*unreachable)->add_member("figma-editors", "bob@acme.com", "k");
  EXPECT_EQ(down.kind, Kind::transient);
  EXPECT_EQ(down.message.find(kToken), std::string::npos);
}

TEST_F(ScimContract, BadTokenIsPermanentAndNeverPrinted) {
  auto scim = provider("wrong-scim-token-987");
  const Outcome outcome = scim->add_member("figma-editors", "bob@acme.com", "k");
  EXPECT_EQ(outcome.kind, Kind::permanent);
  EXPECT_NE(outcome.message.find("scim.legacy: cannot add bob@acme.com to group \"figma-editors\""),
            std::string::npos);
  EXPECT_NE(outcome.message.find("bearer token"), std::string::npos) << outcome.message;
  EXPECT_EQ(outcome.message.find("wrong-scim-token-987"), std::string::npos);
  EXPECT_EQ(outcome.message.find(kToken), std::string::npos);
}

TEST_F(ScimContract, ConcurrentCallsFromSeveralThreadsAllApply) {
  std::vector<std::string> expected;
  for (int i = 0; i < 24; ++i) {
    const std::string name = "p" + std::to_string(100 + i) + "@acme.com";
    fake.add_user("u-p" + std::to_string(100 + i), name);
    expected.push_back(name);
  }
  std::sort(expected.begin(), expected.end());
  auto scim = provider();
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      for (int i = t; i < 24; i += 6) {
        if (!scim->add_member("figma-editors", expected[static_cast<std::size_t>(i)], "k").ok()) ++failures;
        Outcome listed;
        scim->members("figma-editors", listed);
        if (!listed.ok()) ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(fake.members_of("figma-editors"), expected);
}

TEST(ScimConfigCheck, RefusesPlainHttpAndAMissingToken) {
  auto plain = make_scim_provider({"scim.legacy", "http://scim.example.com/v2", kToken});
  ASSERT_FALSE(plain.ok());
  EXPECT_EQ(plain.error().message.find(kToken), std::string::npos);
  auto no_token = make_scim_provider({"scim.legacy", "https://scim.example.com/v2", ""});
  ASSERT_FALSE(no_token.ok());
  EXPECT_NE(no_token.error().message.find("scim.legacy"), std::string::npos);
  EXPECT_TRUE(make_scim_provider({"scim.legacy", "https://scim.example.com/v2/", kToken}).ok());
}

}  // namespace
}  // namespace portcullis::connectors
