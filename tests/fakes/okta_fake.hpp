#pragma once
// A local Okta org: the slice of the Management API and the org
// authorization server that connectors/okta speaks, on 127.0.0.1.
//
// - /api/v1 accepts `Authorization: SSWS <api token>` or `Bearer <access
//   token>` issued by the fake's own POST /oauth2/v1/token; anything else
//   gets 401 with Okta's body (E0000011 "Invalid token provided"). An
//   access token without the scope a call needs gets 403 (E0000006).
// - GET /api/v1/groups?search=profile.name eq "X" (case-insensitive, like
//   Okta), GET /api/v1/users/{id or login}, GET /api/v1/groups/{id}/users
//   (paged with `limit` and an `after` cursor, Link rel="self"/"next" as
//   separate headers), PUT and DELETE /api/v1/groups/{gid}/users/{uid}
//   (204, also for the no-ops; 404 E0000007 for an unknown group or user).
// - The token endpoint checks the private_key_jwt grant as Okta does:
//   grant_type, client_assertion_type, the assertion's iss = sub =
//   client_id, aud = the token URL, exp in the future and at most an hour
//   after iat, a jti not seen before, the requested scopes granted, and
//   (when a public key is registered) the RS256 signature. Errors are
//   {"error","error_description"} with 400 / 401.
// - configure_rate_limit(n): the next n calls (any path) get 429 with
//   X-Rate-Limit-Limit/Remaining/Reset and E0000047.
// Thread-safe: the server calls the handler from several threads.

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/fakes/fake_server.hpp"

namespace portcullis::fakes {

class OktaFake {
 public:
  // `api_token`: the SSWS token the fake accepts.
  explicit OktaFake(std::string api_token = "okta-test-api-token");

  std::string base_url() const { return server_.base_url(); }
  FakeServer& server() { return server_; }

  // Directory. Logins are emails; ids are Okta-like ("00u1", "00g1").
  void add_user(const std::string& id, const std::string& login);
  void add_group(const std::string& id, const std::string& name);
  void add_member(const std::string& group_name, const std::string& login);  // seeds state directly
  void remove_group(const std::string& id);
  // Sorted logins of the group's members; empty for an unknown group.
  std::vector<std::string> members_of(const std::string& group_name) const;

  // The most users or groups a page holds, whatever `limit` asks (Okta's
  // maximum is 200; tests make it small to exercise paging).
  void set_page_size(std::size_t size);
  // When true, PUT of an existing member answers 409 and DELETE of a
  // non-member 404 E0000007, as some proxies in front of Okta do; the real
  // API (the default) answers 204 for both.
  void set_report_membership_noops(bool report);

  // OAuth 2.0 client credentials (private_key_jwt).
  void register_client(const std::string& client_id, std::vector<std::string> granted_scopes,
                       std::string public_key_pem = {});
  void set_token_lifetime(std::chrono::seconds lifetime);
  void expire_all_tokens();
  std::size_t tokens_issued() const;
  // The claims of the last client assertion the token endpoint accepted.
  nlohmann::json last_assertion_claims() const;

  // The next `calls` requests get 429; Reset is now + reset_in.
  void configure_rate_limit(int calls, std::chrono::seconds reset_in = std::chrono::seconds(30));

 private:
  struct Token {
    std::set<std::string> scopes;
    std::chrono::steady_clock::time_point expires;
  };

  http::Response handle(const http::Request& request);
  http::Response token_endpoint(const http::Request& request);
  http::Response api(const http::Request& request, const std::set<std::string>* scopes);
  std::optional<http::Response> authorize(const http::Request& request, std::set<std::string>& scopes,
                                          bool& all_scopes);
  std::string user_id_for(const std::string& id_or_login) const;  // empty: unknown
  nlohmann::json user_json(const std::string& id) const;

  std::string api_token_;
  mutable std::mutex mutex_;
  std::map<std::string, std::string> users_;   // id -> login
  std::map<std::string, std::string> groups_;  // id -> name
  std::map<std::string, std::set<std::string>> members_;  // group id -> user ids
  std::size_t page_size_ = 200;
  bool report_noops_ = false;

  std::string client_id_;
  std::set<std::string> granted_scopes_;
  std::string public_key_pem_;
  std::chrono::seconds token_lifetime_{3600};
  std::map<std::string, Token> tokens_;
  std::set<std::string> seen_jti_;
  std::size_t tokens_issued_ = 0;
  nlohmann::json last_claims_;

  int rate_limited_calls_ = 0;
  std::chrono::seconds rate_reset_in_{30};

  FakeServer server_;  // last: stops (joining its threads) before the state goes
};

}  // namespace portcullis::fakes
