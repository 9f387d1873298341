// The Google Workspace connector against the local Directory API fake: the
// exact wire calls, the signed JWT grant, idempotent adds and removes,
// paging, rate limits, token caching and refresh, and key files that never
// leak into messages.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <atomic>
#include <thread>

#include <nlohmann/json.hpp>

#include "connectors/auth/crypto.hpp"
#include "connectors/google/google.hpp"
#include "tests/fakes/google_fake.hpp"

namespace portcullis::connectors {
namespace {

using fakes::GoogleFake;
using json = nlohmann::json;

struct KeyPair {
  std::string private_pem, public_pem;
};

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  const long length = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<std::size_t>(length));
  BIO_free(bio);
  return out;
}

KeyPair generate_key_pair() {
  EVP_PKEY* key = EVP_RSA_gen(2048);
  BIO* priv = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(priv, key, nullptr, nullptr, 0, nullptr, nullptr);
  BIO* pub = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(pub, key);
  KeyPair pair{bio_text(priv), bio_text(pub)};
  EVP_PKEY_free(key);
  return pair;
}

const KeyPair& test_keys() {
  static const KeyPair keys = generate_key_pair();
  return keys;
}

std::string key_file(const std::string& private_pem, const std::string& token_uri = "https://oauth2.googleapis.com/token") {
  return json{{"type", "service_account"},
              {"project_id", "acme-iam"},
              {"private_key_id", "kid-0123"},
              {"private_key", private_pem},
              {"client_email", "portcullis@acme-iam.iam.gserviceaccount.com"},
              {"client_id", "109876543210"},
              {"token_uri", token_uri}}
      .dump();
}

fakes::GoogleFakeOptions fake_options() {
  fakes::GoogleFakeOptions options;
  options.public_key_pem = test_keys().public_pem;
  return options;
}

GoogleConfig config_for(const GoogleFake& fake) {
  GoogleConfig config;
  config.name = "google.workspace";
  config.domain = "acme.com";
  config.service_account_json = key_file(test_keys().private_pem);
  config.admin_email = "admin@acme.com";
  config.api_url = fake.base_url();
  config.token_url = fake.token_url();
  return config;
}

struct Harness {
  GoogleFake fake{fake_options()};
  std::shared_ptr<GroupProvider> provider;
  std::string group_id, ann_id;

  Harness() : Harness([](GoogleConfig&) {}) {}
  template <class Tweak>
  explicit Harness(Tweak tweak) {
    group_id = fake.add_group("gcp-admins@acme.com");
    ann_id = fake.add_user("ann.lee@acme.com");
    fake.add_user("bob@acme.com");
    GoogleConfig config = config_for(fake);
    tweak(config);
    auto made = make_google_provider(config);
    if (!made) throw std::runtime_error(made.error().message);
    provider = *made;
  }
  std::vector<fakes::Received> api_calls() { return fake.server().received("", "/admin/"); }
};

const std::string kKey = "req-1/1/0";
const std::string kGroupPath = "/admin/directory/v1/groups/gcp-admins%40acme.com";

TEST(GoogleContract, AddMemberMakesTheDocumentedCalls) {
  Harness h;
  const Outcome outcome = h.provider->add_member("gcp-admins@acme.com", "ann.lee@acme.com", kKey);
  ASSERT_TRUE(outcome.ok()) << outcome.message;
  EXPECT_EQ(h.fake.members("gcp-admins@acme.com"), std::set<std::string>{"ann.lee@acme.com"});

  const auto all = h.fake.server().received();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].method, "POST");
  EXPECT_EQ(all[0].target, "/token");
  EXPECT_EQ(*all[0].header("Content-Type"), "application/x-www-form-urlencoded");
  std::map<std::string, std::string> form;
  for (auto& [k, v] : runtime::http::parse_query(all[0].body)) form[k] = v;
  EXPECT_EQ(form["grant_type"], "urn:ietf:params:oauth:grant-type:jwt-bearer");
  const std::string& jwt = form["assertion"];
  EXPECT_EQ(jwt.substr(0, jwt.find('.')), base64url_encode(R"({"alg":"RS256","kid":"kid-0123","typ":"JWT"})"));

  const json claims = json::parse(h.fake.last_assertion_claims());
  EXPECT_EQ(claims["iss"], "portcullis@acme-iam.iam.gserviceaccount.com");
  EXPECT_EQ(claims["sub"], "admin@acme.com");
  EXPECT_EQ(claims["aud"], h.fake.token_url());
  EXPECT_EQ(claims["scope"],
            "https://www.googleapis.com/auth/admin.directory.group.member "
            "https://www.googleapis.com/auth/admin.directory.group.readonly");
  EXPECT_EQ(claims["exp"].get<std::int64_t>() - claims["iat"].get<std::int64_t>(), 3600);

  EXPECT_EQ(all[1].method, "POST");
  EXPECT_EQ(all[1].target, kGroupPath + "/members");
  EXPECT_EQ(json::parse(all[1].body), json({{"email", "ann.lee@acme.com"}, {"role", "MEMBER"}}));
  EXPECT_EQ(*all[1].header("Authorization"), "Bearer fake-google-token-1");
}

TEST(GoogleContract, GroupKeysAreEmailsBareNamesOrIds) {
  Harness h;
  ASSERT_TRUE(h.provider->add_member("gcp-admins", "ann.lee@acme.com", kKey).ok());
  ASSERT_TRUE(h.provider->remove_member(h.group_id, "ann.lee@acme.com", kKey).ok());
  const auto calls = h.api_calls();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].target, kGroupPath + "/members");
  EXPECT_EQ(calls[1].method, "DELETE");
  EXPECT_EQ(calls[1].target, "/admin/directory/v1/groups/" + h.group_id + "/members/ann.lee%40acme.com");
  EXPECT_TRUE(h.fake.members("gcp-admins@acme.com").empty());
}

TEST(GoogleContract, AddingAnExistingMemberSucceeds) {
  Harness h;
  h.fake.add_member("gcp-admins@acme.com", "ann.lee@acme.com");
  const Outcome outcome = h.provider->add_member("gcp-admins@acme.com", "ann.lee@acme.com", kKey);
  EXPECT_TRUE(outcome.ok()) << outcome.message;
  EXPECT_EQ(h.api_calls().size(), 1u);
}

TEST(GoogleContract, RemovingANonMemberSucceedsOnceTheGroupIsConfirmed) {
  Harness h;
  h.fake.add_member("gcp-admins@acme.com", "ann.lee@acme.com");
  ASSERT_TRUE(h.provider->remove_member("gcp-admins@acme.com", "ann.lee@acme.com", kKey).ok());
  EXPECT_TRUE(h.fake.members("gcp-admins@acme.com").empty());
  h.fake.server().clear_received();

  const Outcome again = h.provider->remove_member("gcp-admins@acme.com", "ann.lee@acme.com", kKey);
  EXPECT_TRUE(again.ok()) << again.message;
  const auto calls = h.api_calls();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].method, "DELETE");
  EXPECT_EQ(calls[0].target, kGroupPath + "/members/ann.lee%40acme.com");
  EXPECT_EQ(calls[1].method, "GET");
  EXPECT_EQ(calls[1].target, kGroupPath + "?fields=id");
}

TEST(GoogleContract, AnUnknownGroupIsPermanent) {
  Harness h;
  const Outcome add = h.provider->add_member("nope", "ann.lee@acme.com", kKey);
  EXPECT_EQ(add.kind, Outcome::Kind::permanent);
  EXPECT_NE(add.message.find("google.workspace: add \"ann.lee@acme.com\" to group \"nope\""), std::string::npos)
      << add.message;
  EXPECT_NE(add.message.find("no group \"nope@acme.com\""), std::string::npos) << add.message;

  const Outcome remove = h.provider->remove_member("nope@acme.com", "ann.lee@acme.com", kKey);
  EXPECT_EQ(remove.kind, Outcome::Kind::permanent);
  EXPECT_NE(remove.message.find("Resource Not Found: groupKey"), std::string::npos) << remove.message;

  // A 404 that does not say which key is settled by looking at the group.
  h.fake.server().inject("DELETE", "/admin/",
                         fakes::json_response(404, GoogleFake::error_body(404, "notFound", "Not Found")));
  const Outcome unclear = h.provider->remove_member("gone@acme.com", "ann.lee@acme.com", kKey);
  EXPECT_EQ(unclear.kind, Outcome::Kind::permanent) << unclear.message;

  Outcome listed;
  EXPECT_TRUE(h.provider->members("nope", listed).empty());
  EXPECT_EQ(listed.kind, Outcome::Kind::permanent);
}

TEST(GoogleContract, AnUnknownUserIsPermanent) {
  Harness h;
  const Outcome add = h.provider->add_member("gcp-admins", "nobody@acme.com", kKey);
  EXPECT_EQ(add.kind, Outcome::Kind::permanent);
  EXPECT_NE(add.message.find("no user \"nobody@acme.com\""), std::string::npos) << add.message;

  Outcome found;
  EXPECT_EQ(h.provider->find_user("nobody@acme.com", found), "");
  EXPECT_EQ(found.kind, Outcome::Kind::permanent);
  EXPECT_EQ(h.provider->find_user("ann.lee@acme.com", found), h.ann_id);
  EXPECT_TRUE(found.ok()) << found.message;
  const auto gets = h.fake.server().received("GET", "/admin/directory/v1/users/");
  ASSERT_EQ(gets.size(), 2u);
  EXPECT_EQ(gets[1].target, "/admin/directory/v1/users/ann.lee%40acme.com");
  // find_user asks for its own token, with the user read scope only.
  EXPECT_EQ(json::parse(h.fake.last_assertion_claims())["scope"],
            "https://www.googleapis.com/auth/admin.directory.user.readonly");
}

TEST(GoogleContract, FindUserWithoutTheUserScopeFailsAloneAndSaysWhy) {
  Harness h;
  h.fake.set_delegated_scopes({fakes::kGoogleMemberScope, fakes::kGoogleGroupReadScope});
  Outcome found;
  EXPECT_EQ(h.provider->find_user("ann.lee@acme.com", found), "");
  EXPECT_EQ(found.kind, Outcome::Kind::permanent);
  EXPECT_NE(found.message.find("unauthorized_client"), std::string::npos) << found.message;
  EXPECT_NE(found.message.find("Domain-wide delegation"), std::string::npos) << found.message;
  EXPECT_NE(found.message.find("admin.directory.user.readonly"), std::string::npos) << found.message;
  EXPECT_NE(found.message.find("109876543210"), std::string::npos) << found.message;
  EXPECT_TRUE(h.provider->add_member("gcp-admins", "ann.lee@acme.com", kKey).ok());
}

TEST(GoogleContract, MembersFollowNextPageTokenAndAreSorted) {
  Harness h;
  h.fake.set_page_size(2);
  for (const char* email : {"eve@acme.com", "Dan@acme.com", "carol@acme.com", "bob@acme.com", "ann.lee@acme.com"}) {
    h.fake.add_user(email);
    h.fake.add_member("gcp-admins@acme.com", email);
  }
  Outcome outcome;
  const auto members = h.provider->members("gcp-admins", outcome);
  ASSERT_TRUE(outcome.ok()) << outcome.message;
  EXPECT_EQ(members, (std::vector<std::string>{"ann.lee@acme.com", "bob@acme.com", "carol@acme.com", "dan@acme.com",
                                               "eve@acme.com"}));
  const auto pages = h.api_calls();
  ASSERT_EQ(pages.size(), 3u);
  EXPECT_EQ(pages[0].target, kGroupPath + "/members?maxResults=200");
  EXPECT_EQ(pages[1].target, kGroupPath + "/members?maxResults=200&pageToken=2");
  EXPECT_EQ(pages[2].target, kGroupPath + "/members?maxResults=200&pageToken=4");

  h.fake.add_group("empty@acme.com");
  EXPECT_TRUE(h.provider->members("empty", outcome).empty());
  EXPECT_TRUE(outcome.ok()) << outcome.message;
}

TEST(GoogleContract, RateLimitsAreTransient) {
  Harness h;
  h.fake.rate_limit(1, 403);
  Outcome outcome = h.provider->add_member("gcp-admins", "ann.lee@acme.com", kKey);
  EXPECT_EQ(outcome.kind, Outcome::Kind::transient) << outcome.message;
  EXPECT_FALSE(outcome.retry_after.has_value());  // the executor's backoff applies
  EXPECT_NE(outcome.message.find("rateLimitExceeded"), std::string::npos) << outcome.message;

  h.fake.rate_limit(1, 429, 12);
  outcome = h.provider->remove_member("gcp-admins", "ann.lee@acme.com", kKey);
  EXPECT_EQ(outcome.kind, Outcome::Kind::transient);
  EXPECT_EQ(outcome.retry_after, 12);

  h.fake.server().inject("", "/admin/",
                         fakes::json_response(403, GoogleFake::error_body(403, "userRateLimitExceeded", "slow down"),
                                              {{"Retry-After", "5"}}));
  outcome = h.provider->add_member("gcp-admins", "ann.lee@acme.com", kKey);
  EXPECT_EQ(outcome.kind, Outcome::Kind::transient);
  EXPECT_EQ(outcome.retry_after, 5);

  h.fake.server().inject("", "/admin/", fakes::json_response(503, GoogleFake::error_body(503, "backendError", "x")));
  outcome = h.provider->add_member("gcp-admins", "ann.lee@acme.com", kKey);
  EXPECT_EQ(outcome.kind, Outcome::Kind::transient);

  EXPECT_TRUE(h.provider->add_member("gcp-admins", "ann.lee@acme.com", kKey).ok());
}

TEST(GoogleContract, OtherForbiddenAnswersArePermanentAndNameTheDelegation) {
  Harness h;
  h.fake.server().inject("POST", "/admin/",
                         fakes::json_response(403, GoogleFake::error_body(403, "forbidden",
                                                                          "Not Authorized to access this resource/api")));
  const Outcome outcome = h.provider->add_member("gcp-admins", "ann.lee@acme.com", kKey);
  EXPECT_EQ(outcome.kind, Outcome::Kind::permanent);
  EXPECT_NE(outcome.message.find("Not Authorized to access this resource/api"), std::string::npos) << outcome.message;
  EXPECT_NE(outcome.message.find("domain-wide delegation with the scope "
                                 "https://www.googleapis.com/auth/admin.directory.group.member"),
            std::string::npos)
      << outcome.message;
  EXPECT_NE(outcome.message.find("admin@acme.com"), std::string::npos) << outcome.message;
}

TEST(GoogleContract, OneTokenServesManyCallsAndAnExpiredOneIsRefreshedOnce) {
  Harness h;
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(h.provider->add_member("gcp-admins", "ann.lee@acme.com", kKey).ok());
  Outcome outcome;
  h.provider->members("gcp-admins", outcome);
  EXPECT_EQ(h.fake.tokens_issued(), 1u);

  h.fake.expire_tokens();
  h.fake.server().clear_received();
  ASSERT_TRUE(h.provider->remove_member("gcp-admins", "ann.lee@acme.com", kKey).ok());
  EXPECT_EQ(h.fake.tokens_issued(), 2u);
  const auto calls = h.fake.server().received();
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(*calls[0].header("Authorization"), "Bearer fake-google-token-1");
  EXPECT_EQ(calls[1].target, "/token");
  EXPECT_EQ(*calls[2].header("Authorization"), "Bearer fake-google-token-2");

  h.fake.server().inject("", "/admin/",
                         fakes::json_response(401, GoogleFake::error_body(401, "authError", "Invalid Credentials")), 2);
  h.fake.server().clear_received();
  const Outcome refused = h.provider->add_member("gcp-admins", "ann.lee@acme.com", kKey);
  EXPECT_EQ(refused.kind, Outcome::Kind::permanent);
  EXPECT_EQ(h.api_calls().size(), 2u);
}

TEST(GoogleContract, TheKeyFilesTokenUriIsUsedWhenNoTokenUrlIsSet) {
  Harness h;
  GoogleConfig config = config_for(h.fake);
  config.token_url.clear();
  config.service_account_json = key_file(test_keys().private_pem, h.fake.token_url());
  auto provider = make_google_provider(config);
  ASSERT_TRUE(provider.ok()) << provider.error().message;
  EXPECT_TRUE((*provider)->add_member("gcp-admins", "ann.lee@acme.com", kKey).ok());
  EXPECT_EQ(h.fake.server().received("POST", "/token").size(), 1u);
  EXPECT_EQ(json::parse(h.fake.last_assertion_claims())["aud"], h.fake.token_url());
}

TEST(GoogleContract, ABadKeyFileIsInvalidAndNeverQuoted) {
  GoogleFake fake(fake_options());
  GoogleConfig config = config_for(fake);
  const std::string secretish = "-----BEGIN PRIVATE KEY-----\nTOPSECRETMATERIAL\n-----END PRIVATE KEY-----\n";

  config.service_account_json = "{\"private_key\": \"" + std::string("TOPSECRETMATERIAL") + "\", oops";
  auto made = make_google_provider(config);
  ASSERT_FALSE(made.ok());
  EXPECT_EQ(made.error().code, runtime::ErrorCode::invalid);
  EXPECT_EQ(made.error().message.find("TOPSECRET"), std::string::npos) << made.error().message;

  config.service_account_json = key_file(secretish);
  made = make_google_provider(config);
  ASSERT_FALSE(made.ok());
  EXPECT_NE(made.error().message.find("not a usable RSA private key"), std::string::npos) << made.error().message;
  EXPECT_EQ(made.error().message.find("TOPSECRET"), std::string::npos) << made.error().message;

  config.service_account_json = json{{"private_key", test_keys().private_pem}}.dump();
  made = make_google_provider(config);
  ASSERT_FALSE(made.ok());
  EXPECT_NE(made.error().message.find("client_email"), std::string::npos) << made.error().message;
  EXPECT_EQ(made.error().message.find("PRIVATE KEY"), std::string::npos);

  config = config_for(fake);
  config.api_url = "http://admin.example.com";
  EXPECT_FALSE(make_google_provider(config).ok());
}

TEST(GoogleContract, AKeyGoogleDoesNotKnowIsRefusedAtTheTokenEndpoint) {
  Harness h([](GoogleConfig& config) { config.service_account_json = key_file(generate_key_pair().private_pem); });
  const Outcome outcome = h.provider->add_member("gcp-admins", "ann.lee@acme.com", kKey);
  EXPECT_EQ(outcome.kind, Outcome::Kind::permanent);
  EXPECT_NE(outcome.message.find("invalid_grant: Invalid JWT Signature."), std::string::npos) << outcome.message;
  EXPECT_EQ(outcome.message.find("PRIVATE KEY"), std::string::npos);
  EXPECT_TRUE(h.api_calls().empty());
}

TEST(GoogleContract, TransportFailuresAreTransient) {
  std::string url;
  {
    GoogleFake gone(fake_options());
    url = gone.base_url();
  }
  GoogleConfig config;
  config.name = "google.workspace";
  config.domain = "acme.com";
  config.admin_email = "admin@acme.com";
  config.service_account_json = key_file(test_keys().private_pem, url + "/token");
  config.api_url = url;
  config.timeout = std::chrono::milliseconds(2'000);
  auto provider = make_google_provider(config);
  ASSERT_TRUE(provider.ok()) << provider.error().message;
  const Outcome outcome = (*provider)->add_member("g", "ann@acme.com", kKey);
  EXPECT_EQ(outcome.kind, Outcome::Kind::transient) << outcome.message;
}

TEST(GoogleContract, ConcurrentCallsShareOneTokenAndAllLand) {
  Harness h;
  for (int i = 0; i < 16; ++i) h.fake.add_user("user" + std::to_string(i) + "@acme.com");
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = t; i < 16; i += 8) {
        if (!h.provider->add_member("gcp-admins", "user" + std::to_string(i) + "@acme.com", kKey).ok()) ++failures;
      }
      Outcome outcome;
      h.provider->members("gcp-admins", outcome);
      if (!outcome.ok()) ++failures;
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(h.fake.tokens_issued(), 1u);
  EXPECT_EQ(h.fake.members("gcp-admins@acme.com").size(), 16u);
}

}  // namespace
}  // namespace portcullis::connectors
