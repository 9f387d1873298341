#pragma once
// A local Admin SDK Directory API (groups, group members, users) and
// Google's OAuth 2.0 token endpoint for service accounts (JWT bearer
// grant), on one FakeServer, for the Google Workspace connector's contract
// tests.
//
// - Token: POST /token (form grant_type=urn:ietf:params:oauth:grant-type:
//   jwt-bearer, assertion=JWT). The JWT must be RS256 and verify against
//   `public_key_pem`; iss must be `client_email`, sub an admin
//   (`admin_email`), aud base_url() + "/token", exp in the future and at
//   most an hour after iat; every requested scope must be delegated
//   (`delegated_scopes`), else 401 unauthorized_client as Google answers.
//   The token remembers its scopes; an API call outside them gets 403
//   insufficientPermissions.
// - API: every call needs a live bearer token (else 401 authError). Paths,
//   status codes and error bodies ({"error":{"code","message","errors":
//   [{"reason","message","domain"}]}}) follow the Directory API: 409
//   duplicate "Member already exists.", 404 notFound "Resource Not Found:
//   groupKey" / "memberKey" / "userKey", nextPageToken paging with
//   `page_size` (capped by maxResults).
// - rate_limit() answers the next API calls with 403 rateLimitExceeded or
//   429; server().inject() gives any other failure.
// - Thread-safe; stops with the object.

#include <chrono>
#include <cstddef>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "tests/fakes/fake_server.hpp"

namespace portcullis::fakes {

inline constexpr const char* kGoogleMemberScope = "https://www.googleapis.com/auth/admin.directory.group.member";
inline constexpr const char* kGoogleGroupReadScope = "https://www.googleapis.com/auth/admin.directory.group.readonly";
inline constexpr const char* kGoogleUserReadScope = "https://www.googleapis.com/auth/admin.directory.user.readonly";

struct GoogleFakeOptions {
  std::string public_key_pem;  // the service account key's public half (PEM SubjectPublicKeyInfo)
  std::string client_email = "portcullis@acme-iam.iam.gserviceaccount.com";
  std::string admin_email = "admin@acme.com";
  std::set<std::string> delegated_scopes{kGoogleMemberScope, kGoogleGroupReadScope, kGoogleUserReadScope};
  std::chrono::seconds token_lifetime{3599};
  std::size_t page_size = 200;
};

class GoogleFake {
 public:
  explicit GoogleFake(GoogleFakeOptions options);

  std::string base_url() const { return server_->base_url(); }
  std::string token_url() const { return base_url() + "/token"; }
  FakeServer& server() { return *server_; }
  const GoogleFakeOptions& options() const { return options_; }

  // Each returns the new object's id.
  std::string add_user(const std::string& email);
  std::string add_group(const std::string& email);
  void add_member(const std::string& group_email, const std::string& user_email);
  // Member emails, sorted.
  std::set<std::string> members(const std::string& group_email) const;

  void set_page_size(std::size_t size);
  void set_delegated_scopes(std::set<std::string> scopes);
  // Every token issued so far is rejected (401).
  void expire_tokens();
  std::size_t tokens_issued() const;
  // The claims of the last assertion the token endpoint accepted.
  std::string last_assertion_claims() const;
  // The next `count` API calls answer 403 rateLimitExceeded (status 403)
  // or 429 RESOURCE_EXHAUSTED (status 429); Retry-After only when
  // retry_after > 0.
  void rate_limit(int count, int status = 403, int retry_after = 0);

  // A Directory API error body.
  static std::string error_body(int code, const std::string& reason, const std::string& message);

 private:
  struct Group {
    std::string id, email;
    std::set<std::string> members;  // lower-case emails
  };
  struct Token {
    std::chrono::steady_clock::time_point expiry;
    std::set<std::string> scopes;
  };

  http::Response handle(const http::Request& request);
  http::Response token(const http::Request& request);
  http::Response api(const http::Request& request, const std::vector<std::string>& segments, const Token& token);
  Group* group_by_key(const std::string& key);

  GoogleFakeOptions options_;
  mutable std::mutex mutex_;
  std::map<std::string, std::string> users_;  // lower-case email -> id
  std::map<std::string, Group> groups_;       // lower-case email -> group
  std::map<std::string, Token> tokens_;
  std::string last_claims_;
  std::size_t issued_ = 0;
  std::size_t next_id_ = 1;
  std::unique_ptr<FakeServer> server_;  // last: stops before the state goes
};

}  // namespace portcullis::fakes
