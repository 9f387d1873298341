// The Okta connector against the local Okta fake: the exact wire calls,
// idempotent no-ops, error classification and messages, Link paging, rate
// limits, OAuth 2.0 private_key_jwt with token caching and refresh, and
// concurrent use.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <thread>

#include "connectors/okta/okta.hpp"
#include "tests/fakes/okta_fake.hpp"

namespace portcullis::connectors {
namespace {

using namespace std::chrono_literals;
using Kind = Outcome::Kind;

constexpr const char* kToken = "00aBcDeFgHiJkLmNoPqRsTuVwXyZ-secret";
constexpr const char* kClientId = "0oa1b2c3d4e5f6g7h8i9";

struct KeyPair {
  std::string private_pem;
  std::string public_pem;
};

KeyPair generate_key() {
  EVP_PKEY* key = EVP_RSA_gen(2048);
  KeyPair pair;
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long length = BIO_get_mem_data(bio, &data);
  pair.private_pem.assign(data, static_cast<std::size_t>(length));
  BIO_free(bio);
  bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, key);
  length = BIO_get_mem_data(bio, &data);
  pair.public_pem.assign(data, static_cast<std::size_t>(length));
  BIO_free(bio);
  EVP_PKEY_free(key);
  return pair;
}

const KeyPair& key() {
  static const KeyPair pair = generate_key();
  return pair;
}

std::string header_of(const fakes::Received& r, const char* name) {
  const std::string* value = r.header(name);
  return value == nullptr ? std::string("<none>") : *value;
}

class OktaContract : public ::testing::Test {
 protected:
  void SetUp() override {
    fake.add_user("00u1", "alice@acme.com");
    fake.add_user("00u2", "bob@acme.com");
    fake.add_group("00g1", "figma-editors");
    fake.add_group("00g2", "figma-viewers");
  }

  std::shared_ptr<GroupProvider> with_token(std::string token = kToken) {
    OktaConfig config;
    config.name = "okta.main";
    config.url = fake.base_url();
    config.token = std::move(token);
    auto provider = make_okta_provider(std::move(config));
    EXPECT_TRUE(provider.ok()) << provider.error().message;
    return provider.ok() ? *provider : nullptr;
  }

  std::shared_ptr<GroupProvider> with_oauth(std::vector<std::string> scopes = {"okta.groups.manage",
                                                                               "okta.users.read"}) {
    OktaConfig config;
    config.name = "okta.workforce";
    config.url = fake.base_url();
    config.client_id = kClientId;
    config.private_key_pem = key().private_pem;
    config.key_id = "kid-1";
    config.scopes = std::move(scopes);
    auto provider = make_okta_provider(std::move(config));
    EXPECT_TRUE(provider.ok()) << provider.error().message;
    return provider.ok() ? *provider : nullptr;
  }

  fakes::OktaFake fake{kToken};
};

TEST_F(OktaContract, AddAndRemoveMakeTheExactWireCalls) {
  auto okta = with_token();
  const Outcome added = okta->add_member("figma-editors", "bob@acme.com", "req-1/1/0");
  ASSERT_TRUE(added.ok()) << added.message;
  EXPECT_EQ(fake.members_of("figma-editors"), std::vector<std::string>{"bob@acme.com"});

  const auto calls = fake.server().received();
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(calls[0].method, "GET");
  EXPECT_EQ(calls[0].target, "/api/v1/groups?search=profile.name%20eq%20%22figma-editors%22");
  EXPECT_EQ(calls[1].method, "GET");
  EXPECT_EQ(calls[1].target, "/api/v1/users/bob%40acme.com");
  EXPECT_EQ(calls[2].method, "PUT");
  EXPECT_EQ(calls[2].target, "/api/v1/groups/00g1/users/00u2");
  for (const auto& call : calls) EXPECT_EQ(header_of(call, "Authorization"), std::string("SSWS ") + kToken);

  fake.server().clear_received();
  const Outcome removed = okta->remove_member("figma-editors", "bob@acme.com", "req-1/2/0");
  ASSERT_TRUE(removed.ok()) << removed.message;
  EXPECT_TRUE(fake.members_of("figma-editors").empty());
  // The ids are cached: one call, no lookups.
  const auto again = fake.server().received();
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].method, "DELETE");
  EXPECT_EQ(again[0].target, "/api/v1/groups/00g1/users/00u2");
}

TEST_F(OktaContract, AddingAMemberAndRemovingANonMemberSucceedWithoutChange) {
  fake.add_member("figma-editors", "bob@acme.com");
  auto okta = with_token();
  EXPECT_TRUE(okta->add_member("figma-editors", "bob@acme.com", "k1").ok());
  EXPECT_TRUE(okta->add_member("figma-editors", "bob@acme.com", "k1").ok());  // same key replayed
  EXPECT_TRUE(okta->remove_member("figma-editors", "alice@acme.com", "k2").ok());
  EXPECT_EQ(fake.members_of("figma-editors"), std::vector<std::string>{"bob@acme.com"});
}

TEST_F(OktaContract, NoOpsReportedAsErrorsStillSucceed) {
  fake.set_report_membership_noops(true);  // 409 on duplicate add, 404 on removing a non-member
  fake.add_member("figma-editors", "bob@acme.com");
  auto okta = with_token();
  const Outcome added = okta->add_member("figma-editors", "bob@acme.com", "k1");
  EXPECT_TRUE(added.ok()) << added.message;
  const Outcome removed = okta->remove_member("figma-editors", "alice@acme.com", "k2");
  EXPECT_TRUE(removed.ok()) << removed.message;
  EXPECT_EQ(fake.members_of("figma-editors"), std::vector<std::string>{"bob@acme.com"});
}

TEST_F(OktaContract, UnknownGroupIsPermanentAndNamed) {
  auto okta = with_token();
  const Outcome outcome = okta->add_member("no-such-group", "bob@acme.com", "k");
  EXPECT_EQ(outcome.kind, Kind::permanent);
  EXPECT_EQ(outcome.message,
            "okta.main: cannot add bob@acme.com to group \"no-such-group\": no group named \"no-such-group\" in Okta");
  // The search is case-insensitive in Okta; the match is exact.
  EXPECT_EQ(okta->add_member("FIGMA-EDITORS", "bob@acme.com", "k").kind, Kind::permanent);
}

TEST_F(OktaContract, UnknownUserIsPermanentWithOktasSummaryAndCode) {
  auto okta = with_token();
  const Outcome outcome = okta->add_member("figma-editors", "carol@acme.com", "k");
  EXPECT_EQ(outcome.kind, Kind::permanent);
  EXPECT_EQ(outcome.message,
            "okta.main: cannot add carol@acme.com to group \"figma-editors\": no user with login carol@acme.com in "
            "Okta (Not found: Resource not found: carol@acme.com (User) (E0000007))");
  Outcome found;
  EXPECT_EQ(okta->find_user("carol@acme.com", found), "");
  EXPECT_EQ(found.kind, Kind::permanent);
}

TEST_F(OktaContract, ErrorsFromTheMembershipCallCarrySummaryAndCode) {
  auto okta = with_token();
  fake.server().inject("PUT", "/api/v1/groups/",
                       fakes::json_response(400, R"({"errorCode":"E0000001","errorSummary":"Api validation failed",
                         "errorLink":"E0000001","errorId":"oae1","errorCauses":[{"errorSummary":"cannot modify an APP_GROUP"}]})"));
  const Outcome outcome = okta->add_member("figma-editors", "bob@acme.com", "k");
  EXPECT_EQ(outcome.kind, Kind::permanent);
  EXPECT_EQ(outcome.message,
            "okta.main: cannot add bob@acme.com to group \"figma-editors\": Api validation failed; cannot modify an "
            "APP_GROUP (E0000001)");
}

TEST_F(OktaContract, FindUserReturnsTheOktaId) {
  auto okta = with_token();
  Outcome outcome;
  EXPECT_EQ(okta->find_user("alice@acme.com", outcome), "00u1");
  EXPECT_TRUE(outcome.ok()) << outcome.message;
}

TEST_F(OktaContract, MembersFollowLinkHeadersAcrossPages) {
  fake.set_page_size(2);
  for (int i = 3; i <= 7; ++i) {
    fake.add_user("00u" + std::to_string(i), "user" + std::to_string(i) + "@acme.com");
    fake.add_member("figma-viewers", "user" + std::to_string(i) + "@acme.com");
  }
  fake.add_member("figma-viewers", "alice@acme.com");
  auto okta = with_token();
  Outcome outcome;
  const auto members = okta->members("figma-viewers", outcome);
  ASSERT_TRUE(outcome.ok()) << outcome.message;
  EXPECT_EQ(members, (std::vector<std::string>{"alice@acme.com", "user3@acme.com", "user4@acme.com", "user5@acme.com",
                                               "user6@acme.com", "user7@acme.com"}));
  EXPECT_EQ(members, fake.members_of("figma-viewers"));
  const auto pages = fake.server().received("GET", "/api/v1/groups/00g2/users");
  ASSERT_EQ(pages.size(), 3u);
  EXPECT_EQ(pages[0].target, "/api/v1/groups/00g2/users?limit=200");
  EXPECT_EQ(pages[1].target, "/api/v1/groups/00g2/users?limit=2&after=00u3");
  EXPECT_EQ(pages[2].target, "/api/v1/groups/00g2/users?limit=2&after=00u5");
}

TEST_F(OktaContract, MembersOfAnUnknownGroupArePermanent) {
  auto okta = with_token();
  Outcome outcome;
  EXPECT_TRUE(okta->members("nope", outcome).empty());
  EXPECT_EQ(outcome.kind, Kind::permanent);
  EXPECT_NE(outcome.message.find("cannot list the members of group \"nope\""), std::string::npos);
}

TEST_F(OktaContract, RateLimitIsTransientWithRetryAfterFromTheResetHeader) {
  auto okta = with_token();
  fake.configure_rate_limit(1, 42s);
  const Outcome outcome = okta->add_member("figma-editors", "bob@acme.com", "k");
  EXPECT_EQ(outcome.kind, Kind::transient);
  ASSERT_TRUE(outcome.retry_after.has_value());
  // Reset is epoch seconds; a second may tick between the two clocks.
  EXPECT_GE(*outcome.retry_after, 40);
  EXPECT_LE(*outcome.retry_after, 42);
  EXPECT_NE(outcome.message.find("E0000047"), std::string::npos) << outcome.message;
  EXPECT_TRUE(okta->add_member("figma-editors", "bob@acme.com", "k").ok());
}

TEST_F(OktaContract, RateLimitResetInThePastStillWaitsASecondAndRetryAfterWins) {
  auto okta = with_token();
  fake.server().inject("", "/api/v1/", fakes::json_response(429, "{}", {{"X-Rate-Limit-Reset", "1000"}}));
  Outcome outcome = okta->add_member("figma-editors", "bob@acme.com", "k");
  EXPECT_EQ(outcome.kind, Kind::transient);
  EXPECT_EQ(outcome.retry_after, 1);
  fake.server().inject("", "/api/v1/",
                       fakes::json_response(429, "{}", {{"Retry-After", "7"}, {"X-Rate-Limit-Reset", "1000"}}));
  outcome = okta->add_member("figma-editors", "bob@acme.com", "k");
  EXPECT_EQ(outcome.retry_after, 7);
}

TEST_F(OktaContract, ServerErrorsAndTransportFailuresAreTransient) {
  auto okta = with_token();
  fake.server().inject("PUT", "/api/v1/groups/", fakes::json_response(503, R"({"errorCode":"E0000009",
    "errorSummary":"Internal Server Error"})"));
  const Outcome outcome = okta->add_member("figma-editors", "bob@acme.com", "k");
  EXPECT_EQ(outcome.kind, Kind::transient);
  EXPECT_NE(outcome.message.find("HTTP 503"), std::string::npos) << outcome.message;
  EXPECT_TRUE(fake.members_of("figma-editors").empty());

  std::string closed_url;
  {
    fakes::OktaFake gone;
    closed_url = gone.base_url();
  }
  OktaConfig config;
  config.name = "okta.main";
  config.url = closed_url;
  config.token = kToken;
  config.timeout = 2s;
  auto unreachable = make_okta_provider(config);
  ASSERT_TRUE(unreachable.ok());
  const Outcome down = (*unreachable)->add_member("figma-editors", "bob@acme.com", "k");
  EXPECT_EQ(down.kind, Kind::transient);
  EXPECT_EQ(down.message.find(kToken), std::string::npos);
}

TEST_F(OktaContract, BadApiTokenIsPermanentAndNeverPrinted) {
  auto okta = with_token("wrong-token-value-123");
  const Outcome outcome = okta->add_member("figma-editors", "bob@acme.com", "k");
  EXPECT_EQ(outcome.kind, Kind::permanent);
  EXPECT_NE(outcome.message.find("okta.main: cannot add bob@acme.com to group \"figma-editors\""), std::string::npos);
  EXPECT_NE(outcome.message.find("E0000011"), std::string::npos) << outcome.message;
  EXPECT_NE(outcome.message.find("API token"), std::string::npos) << outcome.message;
  EXPECT_EQ(outcome.message.find("wrong-token-value-123"), std::string::npos);
  EXPECT_EQ(outcome.message.find(kToken), std::string::npos);
}

TEST_F(OktaContract, OAuthSendsAValidAssertionAndCachesTheToken) {
  fake.register_client(kClientId, {"okta.groups.manage", "okta.users.read"}, key().public_pem);
  auto okta = with_oauth();
  ASSERT_TRUE(okta->add_member("figma-editors", "bob@acme.com", "k1").ok());
  ASSERT_TRUE(okta->add_member("figma-viewers", "alice@acme.com", "k2").ok());
  ASSERT_TRUE(okta->remove_member("figma-editors", "bob@acme.com", "k3").ok());
  Outcome outcome;
  EXPECT_EQ(okta->members("figma-viewers", outcome), std::vector<std::string>{"alice@acme.com"});
  EXPECT_TRUE(outcome.ok()) << outcome.message;

  EXPECT_EQ(fake.tokens_issued(), 1u);
  const auto token_calls = fake.server().received("POST", "/oauth2/v1/token");
  ASSERT_EQ(token_calls.size(), 1u);
  EXPECT_EQ(header_of(token_calls[0], "Content-Type"), "application/x-www-form-urlencoded");
  std::map<std::string, std::string> form;
  for (auto& [k, v] : runtime::http::parse_query(token_calls[0].body)) form[k] = v;
  EXPECT_EQ(form["grant_type"], "client_credentials");
  EXPECT_EQ(form["scope"], "okta.groups.manage okta.users.read");
  EXPECT_EQ(form["client_assertion_type"], "urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
  EXPECT_EQ(form.count("client_secret"), 0u);

  const auto claims = fake.last_assertion_claims();
  EXPECT_EQ(claims["iss"], kClientId);
  EXPECT_EQ(claims["sub"], kClientId);
  EXPECT_EQ(claims["aud"], fake.base_url() + "/oauth2/v1/token");
  EXPECT_LE(claims["exp"].get<std::int64_t>() - claims["iat"].get<std::int64_t>(), 3600);
  EXPECT_FALSE(claims["jti"].get<std::string>().empty());

  for (const auto& call : fake.server().received("", "/api/v1/")) {
    EXPECT_EQ(header_of(call, "Authorization"), "Bearer fake-okta-at-1") << call.target;
  }
}

TEST_F(OktaContract, ExpiredAccessTokenIsRefreshedOnceAndTheCallRetried) {
  fake.register_client(kClientId, {"okta.groups.manage", "okta.users.read"}, key().public_pem);
  auto okta = with_oauth();
  ASSERT_TRUE(okta->add_member("figma-editors", "bob@acme.com", "k1").ok());
  fake.expire_all_tokens();
  fake.server().clear_received();

  // Both ids are cached: the DELETE itself meets the expired token.
  const Outcome outcome = okta->remove_member("figma-editors", "bob@acme.com", "k2");
  ASSERT_TRUE(outcome.ok()) << outcome.message;
  EXPECT_EQ(fake.tokens_issued(), 2u);
  const auto deletes = fake.server().received("DELETE", "/api/v1/groups/00g1/users/00u2");
  ASSERT_EQ(deletes.size(), 2u);
  EXPECT_EQ(header_of(deletes[0], "Authorization"), "Bearer fake-okta-at-1");
  EXPECT_EQ(header_of(deletes[1], "Authorization"), "Bearer fake-okta-at-2");
  EXPECT_EQ(fake.server().received("POST", "/oauth2/v1/token").size(), 1u);
  EXPECT_TRUE(fake.members_of("figma-editors").empty());
  // The new token is cached in turn.
  EXPECT_TRUE(okta->add_member("figma-editors", "alice@acme.com", "k3").ok());
  EXPECT_EQ(fake.tokens_issued(), 2u);
}

TEST_F(OktaContract, ASecond401AfterRefreshIsPermanent) {
  fake.register_client(kClientId, {"okta.groups.manage", "okta.users.read"}, key().public_pem);
  auto okta = with_oauth();
  ASSERT_TRUE(okta->add_member("figma-editors", "bob@acme.com", "k1").ok());
  fake.server().inject("PUT", "/api/v1/groups/",
                       fakes::json_response(401, R"({"errorCode":"E0000011","errorSummary":"Invalid token provided"})"),
                       2);
  const Outcome outcome = okta->add_member("figma-editors", "alice@acme.com", "k2");
  EXPECT_EQ(outcome.kind, Kind::permanent);
  EXPECT_EQ(fake.tokens_issued(), 2u);  // refreshed once, not in a loop
  EXPECT_NE(outcome.message.find("E0000011"), std::string::npos) << outcome.message;
}

TEST_F(OktaContract, AssertionSignedWithTheWrongKeyIsPermanentWithoutSecrets) {
  const KeyPair other = generate_key();
  fake.register_client(kClientId, {"okta.groups.manage", "okta.users.read"}, other.public_pem);
  auto okta = with_oauth();
  const Outcome outcome = okta->add_member("figma-editors", "bob@acme.com", "k");
  EXPECT_EQ(outcome.kind, Kind::permanent);
  EXPECT_NE(outcome.message.find("okta.workforce: cannot add bob@acme.com to group \"figma-editors\""),
            std::string::npos);
  EXPECT_NE(outcome.message.find("invalid_client"), std::string::npos) << outcome.message;
  EXPECT_NE(outcome.message.find("signature is invalid"), std::string::npos) << outcome.message;
  EXPECT_EQ(outcome.message.find("BEGIN"), std::string::npos);
  EXPECT_EQ(outcome.message.find("eyJ"), std::string::npos);  // no JWT either
  EXPECT_TRUE(fake.members_of("figma-editors").empty());
}

TEST_F(OktaContract, ScopeNotGrantedIsPermanent) {
  fake.register_client(kClientId, {"okta.users.read"}, key().public_pem);
  auto okta = with_oauth();
  const Outcome outcome = okta->add_member("figma-editors", "bob@acme.com", "k");
  EXPECT_EQ(outcome.kind, Kind::permanent);
  EXPECT_NE(outcome.message.find("invalid_scope"), std::string::npos) << outcome.message;
  EXPECT_NE(outcome.message.find("okta.groups.manage"), std::string::npos) << outcome.message;
}

TEST_F(OktaContract, TokenWithoutTheManageScopeGetsAPermissionMessage) {
  fake.register_client(kClientId, {"okta.groups.read", "okta.users.read"}, key().public_pem);
  auto okta = with_oauth({"okta.groups.read", "okta.users.read"});
  const Outcome outcome = okta->add_member("figma-editors", "bob@acme.com", "k");
  EXPECT_EQ(outcome.kind, Kind::permanent);
  EXPECT_NE(outcome.message.find("lacks permission"), std::string::npos) << outcome.message;
  EXPECT_NE(outcome.message.find("E0000006"), std::string::npos) << outcome.message;
  // Reading still works with the read scope.
  Outcome listed;
  okta->members("figma-editors", listed);
  EXPECT_TRUE(listed.ok()) << listed.message;
}

TEST_F(OktaContract, StaleCachedGroupIdIsLookedUpAgain) {
  auto okta = with_token();
  ASSERT_TRUE(okta->add_member("figma-editors", "bob@acme.com", "k1").ok());
  fake.remove_group("00g1");
  fake.add_group("00g9", "figma-editors");
  const Outcome outcome = okta->add_member("figma-editors", "alice@acme.com", "k2");
  ASSERT_TRUE(outcome.ok()) << outcome.message;
  EXPECT_EQ(fake.members_of("figma-editors"), std::vector<std::string>{"alice@acme.com"});
  EXPECT_EQ(fake.server().received("PUT", "/api/v1/groups/00g9/").size(), 1u);
}

TEST_F(OktaContract, ConcurrentCallsShareOneTokenAndAllApply) {
  fake.register_client(kClientId, {"okta.groups.manage", "okta.users.read"}, key().public_pem);
  std::vector<std::string> expected;
  for (int i = 0; i < 24; ++i) {
    const std::string login = "p" + std::to_string(100 + i) + "@acme.com";
    fake.add_user("00p" + std::to_string(100 + i), login);
    expected.push_back(login);
  }
  std::sort(expected.begin(), expected.end());
  auto okta = with_oauth();
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      for (int i = t; i < 24; i += 6) {
        const Outcome outcome = okta->add_member("figma-editors", expected[static_cast<std::size_t>(i)], "k");
        if (!outcome.ok()) ++failures;
        Outcome listed;
        okta->members("figma-editors", listed);
        if (!listed.ok()) ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(fake.members_of("figma-editors"), expected);
  EXPECT_EQ(fake.tokens_issued(), 1u);
}

TEST(OktaConfigCheck, RefusesPlainHttpMissingCredentialsAndBadKeys) {
  OktaConfig config;
  config.name = "okta.main";
  config.url = "http://acme.okta.com";
  config.token = kToken;
  auto plain = make_okta_provider(config);
  ASSERT_FALSE(plain.ok());
  EXPECT_NE(plain.error().message.find("https"), std::string::npos);

  config.url = "https://acme.okta.com";
  config.token.clear();
  auto none = make_okta_provider(config);
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().message.find("okta.main"), std::string::npos);

  config.client_id = kClientId;
  config.private_key_pem = "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n";
  auto bad_key = make_okta_provider(config);
  ASSERT_FALSE(bad_key.ok());
  EXPECT_EQ(bad_key.error().message.find("not a key"), std::string::npos);

  config.private_key_pem = key().private_pem;
  EXPECT_TRUE(make_okta_provider(config).ok());
}

}  // namespace
}  // namespace portcullis::connectors
