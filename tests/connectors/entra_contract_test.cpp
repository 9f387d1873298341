// The Entra ID connector against the local Microsoft Graph fake: the exact
// wire calls, idempotent adds and removes, paging, throttling, token
// caching and refresh, and messages that say what went wrong without
// leaking the secret.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include <nlohmann/json.hpp>

#include "connectors/entra/entra.hpp"
#include "tests/fakes/graph_fake.hpp"

namespace portcullis::connectors {
namespace {

using fakes::GraphFake;
using json = nlohmann::json;

struct Harness {
  GraphFake fake;
  std::shared_ptr<GroupProvider> provider;
  std::string group_id, ann_id, bob_id;

  explicit Harness(EntraConfig config = {}) {
    group_id = fake.add_group("aws-prod-admin");
    ann_id = fake.add_user("ann.lee@acme.com", "ann.lee@acme.com");
    bob_id = fake.add_user("bob_acme.com#EXT#@acme.onmicrosoft.com", "bob@acme.com");
    config.name = "entra.corp";
    if (config.tenant.empty()) config.tenant = fake.options().tenant;
    if (config.client_id.empty()) config.client_id = fake.options().client_id;
    if (config.client_secret.empty()) config.client_secret = fake.options().client_secret;
    config.graph_url = fake.base_url();
    config.login_url = fake.base_url();
    auto made = make_entra_provider(config);
    if (!made) throw std::runtime_error(made.error().message);
    provider = *made;
  }
  std::vector<fakes::Received> graph_calls() {
    std::vector<fakes::Received> out;
    for (auto& r : fake.server().received()) {
      if (r.path().starts_with("/v1.0/")) out.push_back(r);
    }
    return out;
  }
};

const std::string kKey = "req-1/1/0";

TEST(EntraContract, AddMemberMakesTheDocumentedCalls) {
  Harness h;
  const Outcome outcome = h.provider->add_member("aws-prod-admin", "ann.lee@acme.com", kKey);
  ASSERT_TRUE(outcome.ok()) << outcome.message;
  EXPECT_TRUE(h.fake.has_member(h.group_id, h.ann_id));

  const auto all = h.fake.server().received();
  ASSERT_EQ(all.size(), 4u);
  // 1. client-credentials token
  EXPECT_EQ(all[0].method, "POST");
  EXPECT_EQ(all[0].target, "/acme.onmicrosoft.com/oauth2/v2.0/token");
  ASSERT_NE(all[0].header("Content-Type"), nullptr);
  EXPECT_EQ(*all[0].header("Content-Type"), "application/x-www-form-urlencoded");
  std::map<std::string, std::string> form;
  for (auto& [k, v] : runtime::http::parse_query(all[0].body)) form[k] = v;
  EXPECT_EQ(form["grant_type"], "client_credentials");
  EXPECT_EQ(form["scope"], "https://graph.microsoft.com/.default");
  EXPECT_EQ(form["client_id"], h.fake.options().client_id);
  EXPECT_EQ(form["client_secret"], h.fake.options().client_secret);
  // 2. the group by displayName
  EXPECT_EQ(all[1].method, "GET");
  EXPECT_EQ(all[1].target, "/v1.0/groups?$filter=displayName%20eq%20%27aws-prod-admin%27&$select=id,displayName");
  // 3. the user by UPN
  EXPECT_EQ(all[2].method, "GET");
  EXPECT_EQ(all[2].target, "/v1.0/users/ann.lee%40acme.com?$select=id");
  // 4. the membership, by $ref
  EXPECT_EQ(all[3].method, "POST");
  EXPECT_EQ(all[3].target, "/v1.0/groups/" + h.group_id + "/members/$ref");
  EXPECT_EQ(json::parse(all[3].body),
            json({{"@odata.id", "https://graph.microsoft.com/v1.0/directoryObjects/" + h.ann_id}}));
  for (std::size_t i = 1; i < all.size(); ++i) {
    ASSERT_NE(all[i].header("Authorization"), nullptr);
    EXPECT_EQ(*all[i].header("Authorization"), "Bearer fake-graph-token-1");
  }

  // Lookups are cached: a second add is one call.
  h.fake.server().clear_received();
  ASSERT_TRUE(h.provider->add_member("aws-prod-admin", "bob@acme.com", kKey).ok());
  const auto second = h.fake.server().received();
  // bob's UPN differs from his mail: UPN lookup 404, then the mail filter.
  ASSERT_EQ(second.size(), 3u);
  EXPECT_EQ(second[0].target, "/v1.0/users/bob%40acme.com?$select=id");
  EXPECT_EQ(second[1].target, "/v1.0/users?$filter=mail%20eq%20%27bob%40acme.com%27&$select=id");
  EXPECT_EQ(second[2].target, "/v1.0/groups/" + h.group_id + "/members/$ref");
  EXPECT_TRUE(h.fake.has_member(h.group_id, h.bob_id));
}

TEST(EntraContract, AddingAnExistingMemberSucceeds) {
  Harness h;
  h.fake.add_member(h.group_id, h.ann_id);
  const Outcome outcome = h.provider->add_member("aws-prod-admin", "ann.lee@acme.com", kKey);
  EXPECT_TRUE(outcome.ok()) << outcome.message;
  EXPECT_EQ(h.fake.server().received("POST", "/v1.0/groups/").size(), 1u);
  EXPECT_EQ(h.fake.member_ids(h.group_id).size(), 1u);
}

TEST(EntraContract, RemoveUsesRefAndANonMemberIsSuccess) {
  Harness h;
  h.fake.add_member(h.group_id, h.ann_id);
  ASSERT_TRUE(h.provider->remove_member("aws-prod-admin", "ann.lee@acme.com", kKey).ok());
  EXPECT_FALSE(h.fake.has_member(h.group_id, h.ann_id));
  const auto deletes = h.fake.server().received("DELETE", "/");
  ASSERT_EQ(deletes.size(), 1u);
  EXPECT_EQ(deletes[0].target, "/v1.0/groups/" + h.group_id + "/members/" + h.ann_id + "/$ref");

  // Again: Graph says 404, the group still exists, so nothing to remove.
  h.fake.server().clear_received();
  const Outcome again = h.provider->remove_member("aws-prod-admin", "ann.lee@acme.com", kKey);
  EXPECT_TRUE(again.ok()) << again.message;
  const auto calls = h.graph_calls();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].method, "DELETE");
  EXPECT_EQ(calls[1].method, "GET");
  EXPECT_EQ(calls[1].target, "/v1.0/groups/" + h.group_id + "?$select=id");
}

TEST(EntraContract, RemovingAnAccountTheTenantDoesNotKnowSucceeds) {
  Harness h;
  const Outcome outcome = h.provider->remove_member("aws-prod-admin", "gone@acme.com", kKey);
  EXPECT_TRUE(outcome.ok()) << outcome.message;
  EXPECT_TRUE(h.fake.server().received("DELETE", "/").empty());
}

TEST(EntraContract, AnUnknownGroupIsPermanent) {
  Harness h;
  const Outcome by_name = h.provider->add_member("no-such-group", "ann.lee@acme.com", kKey);
  EXPECT_EQ(by_name.kind, Outcome::Kind::permanent);
  EXPECT_NE(by_name.message.find("entra.corp"), std::string::npos) << by_name.message;
  EXPECT_NE(by_name.message.find("no group named \"no-such-group\""), std::string::npos) << by_name.message;
  EXPECT_NE(by_name.message.find("ann.lee@acme.com"), std::string::npos) << by_name.message;

  // By object id, a remove answered 404 is told apart by looking at the group.
  const std::string missing = "0000dead-0000-4000-8000-000000000000";
  const Outcome by_id = h.provider->remove_member(missing, "ann.lee@acme.com", kKey);
  EXPECT_EQ(by_id.kind, Outcome::Kind::permanent) << by_id.message;
  EXPECT_NE(by_id.message.find("the group does not exist"), std::string::npos) << by_id.message;
  EXPECT_NE(by_id.message.find("Request_ResourceNotFound"), std::string::npos) << by_id.message;

  Outcome listed;
  EXPECT_TRUE(h.provider->members(missing, listed).empty());
  EXPECT_EQ(listed.kind, Outcome::Kind::permanent);
}

TEST(EntraContract, AnUnknownUserIsPermanent) {
  Harness h;
  const Outcome outcome = h.provider->add_member("aws-prod-admin", "nobody@acme.com", kKey);
  EXPECT_EQ(outcome.kind, Outcome::Kind::permanent);
  EXPECT_NE(outcome.message.find("entra.corp: add \"nobody@acme.com\" to group \"aws-prod-admin\""),
            std::string::npos)
      << outcome.message;
  EXPECT_NE(outcome.message.find("no user with the UPN or mail"), std::string::npos) << outcome.message;
  Outcome found;
  EXPECT_EQ(h.provider->find_user("nobody@acme.com", found), "");
  EXPECT_EQ(found.kind, Outcome::Kind::permanent);
  EXPECT_EQ(h.provider->find_user("ann.lee@acme.com", found), h.ann_id);
  EXPECT_TRUE(found.ok());
}

TEST(EntraContract, GroupNamesAreQuotedForOData) {
  Harness h;
  const std::string id = h.fake.add_group("O'Brien's team");
  ASSERT_TRUE(h.provider->add_member("O'Brien's team", "ann.lee@acme.com", kKey).ok());
  EXPECT_TRUE(h.fake.has_member(id, h.ann_id));
  EXPECT_EQ(h.fake.server().received("GET", "/v1.0/groups")[0].target,
            "/v1.0/groups?$filter=displayName%20eq%20%27O%27%27Brien%27%27s%20team%27&$select=id,displayName");
}

TEST(EntraContract, MembersFollowNextLinkAndAreSorted) {
  Harness h;
  h.fake.set_page_size(2);
  h.fake.add_member(h.group_id, h.ann_id);
  h.fake.add_member(h.group_id, h.bob_id);
  const std::string no_mail = h.fake.add_user("Carol@acme.com");
  h.fake.add_member(h.group_id, no_mail);
  h.fake.add_member(h.group_id, h.fake.add_user("dan@acme.com", "Dan@Acme.com"));
  h.fake.add_member(h.group_id, h.fake.add_user("eve@acme.com", "eve@acme.com"));
  Outcome outcome;
  const auto members = h.provider->members(h.group_id, outcome);
  ASSERT_TRUE(outcome.ok()) << outcome.message;
  EXPECT_EQ(members,
            (std::vector<std::string>{"ann.lee@acme.com", "bob@acme.com", "carol@acme.com", "dan@acme.com",
                                      "eve@acme.com"}));
  const auto pages = h.fake.server().received("GET", "/v1.0/groups/" + h.group_id + "/members");
  ASSERT_EQ(pages.size(), 3u);
  EXPECT_EQ(pages[0].target, "/v1.0/groups/" + h.group_id + "/members?$select=id,mail,userPrincipalName");
  EXPECT_EQ(pages[1].target,
            "/v1.0/groups/" + h.group_id + "/members?$select=id,mail,userPrincipalName&$skiptoken=2");
  EXPECT_EQ(pages[2].target,
            "/v1.0/groups/" + h.group_id + "/members?$select=id,mail,userPrincipalName&$skiptoken=4");
}

TEST(EntraContract, ThrottlingIsTransientWithRetryAfter) {
  Harness h;
  ASSERT_TRUE(h.provider->add_member("aws-prod-admin", "ann.lee@acme.com", kKey).ok());  // warm the caches
  h.fake.rate_limit(1, 429, 7);
  Outcome outcome = h.provider->remove_member("aws-prod-admin", "ann.lee@acme.com", kKey);
  EXPECT_EQ(outcome.kind, Outcome::Kind::transient);
  EXPECT_EQ(outcome.retry_after, 7);
  EXPECT_NE(outcome.message.find("TooManyRequests"), std::string::npos) << outcome.message;

  h.fake.rate_limit(1, 503, 30);
  outcome = h.provider->add_member("aws-prod-admin", "ann.lee@acme.com", kKey);
  EXPECT_EQ(outcome.kind, Outcome::Kind::transient);
  EXPECT_EQ(outcome.retry_after, 30);

  h.fake.server().inject("", "/v1.0/", fakes::json_response(500, GraphFake::error_body("InternalServerError", "x")));
  outcome = h.provider->add_member("aws-prod-admin", "ann.lee@acme.com", kKey);
  EXPECT_EQ(outcome.kind, Outcome::Kind::transient);
  EXPECT_FALSE(outcome.retry_after.has_value());

  EXPECT_TRUE(h.provider->add_member("aws-prod-admin", "ann.lee@acme.com", kKey).ok());
}

TEST(EntraContract, MissingPermissionIsPermanentAndNamed) {
  Harness h;
  h.fake.server().inject(
      "POST", "/v1.0/groups/",
      fakes::json_response(403, GraphFake::error_body("Authorization_RequestDenied",
                                                      "Insufficient privileges to complete the operation.")));
  const Outcome outcome = h.provider->add_member("aws-prod-admin", "ann.lee@acme.com", kKey);
  EXPECT_EQ(outcome.kind, Outcome::Kind::permanent);
  EXPECT_NE(outcome.message.find("Insufficient privileges"), std::string::npos) << outcome.message;
  EXPECT_NE(outcome.message.find("GroupMember.ReadWrite.All"), std::string::npos) << outcome.message;
  EXPECT_NE(outcome.message.find("fake-request-id"), std::string::npos) << outcome.message;

  h.fake.server().inject(
      "GET", "/v1.0/users/",
      fakes::json_response(403, GraphFake::error_body("Authorization_RequestDenied", "Insufficient privileges.")));
  Outcome found;
  h.provider->find_user("bob@acme.com", found);
  EXPECT_EQ(found.kind, Outcome::Kind::permanent);
  EXPECT_NE(found.message.find("User.Read.All"), std::string::npos) << found.message;
}

TEST(EntraContract, OneTokenServesManyCallsAndAnExpiredOneIsRefreshedOnce) {
  Harness h;
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(h.provider->add_member("aws-prod-admin", "ann.lee@acme.com", kKey).ok());
  EXPECT_EQ(h.fake.tokens_issued(), 1u);

  h.fake.expire_tokens();
  h.fake.server().clear_received();
  const Outcome outcome = h.provider->remove_member("aws-prod-admin", "ann.lee@acme.com", kKey);
  ASSERT_TRUE(outcome.ok()) << outcome.message;
  EXPECT_EQ(h.fake.tokens_issued(), 2u);
  const auto calls = h.fake.server().received();
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(calls[0].method, "DELETE");
  EXPECT_EQ(*calls[0].header("Authorization"), "Bearer fake-graph-token-1");
  EXPECT_EQ(calls[1].path(), "/acme.onmicrosoft.com/oauth2/v2.0/token");
  EXPECT_EQ(calls[2].method, "DELETE");
  EXPECT_EQ(*calls[2].header("Authorization"), "Bearer fake-graph-token-2");

  // A 401 that persists is retried once only, then permanent.
  h.fake.server().inject("", "/v1.0/",
                         fakes::json_response(401, GraphFake::error_body("InvalidAuthenticationToken", "nope")), 2);
  h.fake.server().clear_received();
  const Outcome refused = h.provider->add_member("aws-prod-admin", "ann.lee@acme.com", kKey);
  EXPECT_EQ(refused.kind, Outcome::Kind::permanent);
  EXPECT_EQ(h.fake.server().received("POST", "/v1.0/").size(), 2u);
  EXPECT_EQ(h.fake.tokens_issued(), 3u);
}

TEST(EntraContract, ATokenIsRenewedShortlyBeforeItExpires) {
  fakes::GraphFakeOptions options;
  options.token_lifetime = std::chrono::seconds(2);  // renewed after 1 s (half its life when that is short)
  GraphFake fake(options);
  const std::string id = fake.add_user("x@acme.com");
  EntraConfig config{"entra.corp", options.tenant, options.client_id, options.client_secret, fake.base_url(),
                     fake.base_url()};
  auto provider = make_entra_provider(config);
  ASSERT_TRUE(provider.ok());
  Outcome outcome;
  EXPECT_EQ((*provider)->find_user("x@acme.com", outcome), id);
  ASSERT_TRUE(outcome.ok()) << outcome.message;
  std::this_thread::sleep_for(std::chrono::milliseconds(1'200));
  fake.server().clear_received();
  EXPECT_EQ((*provider)->find_user("y@acme.com", outcome), "");
  EXPECT_EQ(fake.tokens_issued(), 2u);
  // Renewed before the call, not after a 401.
  const auto calls = fake.server().received();
  ASSERT_FALSE(calls.empty());
  EXPECT_EQ(calls[0].path(), "/acme.onmicrosoft.com/oauth2/v2.0/token");
  for (std::size_t i = 1; i < calls.size(); ++i) EXPECT_EQ(*calls[i].header("Authorization"), "Bearer fake-graph-token-2");
}

TEST(EntraContract, TokenErrorsAreSurfacedWithoutTheSecret) {
  EntraConfig config;
  config.client_secret = "wrong-secret-value";
  Harness h(config);
  const Outcome outcome = h.provider->add_member("aws-prod-admin", "ann.lee@acme.com", kKey);
  EXPECT_EQ(outcome.kind, Outcome::Kind::permanent);
  EXPECT_NE(outcome.message.find("invalid_client"), std::string::npos) << outcome.message;
  EXPECT_NE(outcome.message.find("AADSTS7000215"), std::string::npos) << outcome.message;
  EXPECT_EQ(outcome.message.find("wrong-secret-value"), std::string::npos) << outcome.message;
  EXPECT_EQ(outcome.message.find("Trace ID"), std::string::npos) << outcome.message;
  EXPECT_TRUE(h.graph_calls().empty());

  Harness good;
  good.fake.server().inject("POST", "/acme", fakes::json_response(503, "{}", {{"Retry-After", "3"}}));
  const Outcome busy = good.provider->add_member("aws-prod-admin", "ann.lee@acme.com", kKey);
  EXPECT_EQ(busy.kind, Outcome::Kind::transient);
  EXPECT_EQ(busy.retry_after, 3);
}

TEST(EntraContract, TransportFailuresAreTransient) {
  std::string url;
  {
    GraphFake gone;
    url = gone.base_url();
  }
  EntraConfig config{"entra.corp", "acme.onmicrosoft.com", "id", "secret", url, url};
  config.timeout = std::chrono::milliseconds(2'000);
  auto provider = make_entra_provider(config);
  ASSERT_TRUE(provider.ok());
  const Outcome outcome = (*provider)->add_member("g", "ann@acme.com", kKey);
  EXPECT_EQ(outcome.kind, Outcome::Kind::transient) << outcome.message;
  EXPECT_EQ(outcome.message.find("secret"), std::string::npos) << outcome.message;
}

TEST(EntraContract, ConfigurationIsChecked) {
  EntraConfig config{"entra.corp", "acme.onmicrosoft.com", "id", "s3cret", "http://graph.example.com",
                     "https://login.microsoftonline.com"};
  auto made = make_entra_provider(config);
  ASSERT_FALSE(made.ok());
  EXPECT_EQ(made.error().code, runtime::ErrorCode::invalid);
  EXPECT_NE(made.error().message.find("graph_url"), std::string::npos);
  config.graph_url = "https://graph.microsoft.com";
  config.client_secret.clear();
  EXPECT_FALSE(make_entra_provider(config).ok());
  config.client_secret = "s3cret";
  EXPECT_TRUE(make_entra_provider(config).ok());
}

TEST(EntraContract, ConcurrentCallsShareOneTokenAndAllLand) {
  Harness h;
  std::vector<std::string> ids;
  for (int i = 0; i < 16; ++i) ids.push_back(h.fake.add_user("user" + std::to_string(i) + "@acme.com"));
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = t; i < 16; i += 8) {
        if (!h.provider->add_member("aws-prod-admin", "user" + std::to_string(i) + "@acme.com", kKey).ok()) ++failures;
      }
      Outcome outcome;
      h.provider->members("aws-prod-admin", outcome);
      if (!outcome.ok()) ++failures;
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(h.fake.tokens_issued(), 1u);
  EXPECT_EQ(h.fake.member_ids(h.group_id).size(), 16u);
}

}  // namespace
}  // namespace portcullis::connectors
