#pragma once
// A local Microsoft Graph v1.0 (groups, users, group members by $ref) and
// the Microsoft identity platform's client-credentials token endpoint, on
// one FakeServer, for the Entra ID connector's contract tests.
//
// - Token: POST /{tenant}/oauth2/v2.0/token (form) checks grant_type,
//   tenant, client_id, client_secret and scope and answers {token_type,
//   expires_in, access_token} or {error, error_description} with Entra's
//   AADSTS codes. Tokens live `token_lifetime`; expire_tokens() ends them.
// - Graph: every /v1.0 call needs a live bearer token (else 401
//   InvalidAuthenticationToken). Paths, status codes and error bodies
//   ({"error":{"code","message","innerError"}}) follow Graph: 204 for
//   $ref writes, 400 "added object references already exist" for a
//   duplicate add, 404 Request_ResourceNotFound for unknown objects and
//   non-members, nextLink paging with `page_size` members per page.
// - rate_limit() answers the next Graph calls with 429 or 503 and
//   Retry-After; server().inject() gives any other failure.
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

struct GraphFakeOptions {
  std::string tenant = "acme.onmicrosoft.com";
  std::string client_id = "11111111-2222-3333-4444-555555555555";
  std::string client_secret = "fake-entra-client-secret";
  std::chrono::seconds token_lifetime{3599};
  std::size_t page_size = 100;
};

class GraphFake {
 public:
  explicit GraphFake(GraphFakeOptions options = {});

  // Serves both Graph (graph_url) and the token endpoint (login_url).
  std::string base_url() const { return server_->base_url(); }
  FakeServer& server() { return *server_; }
  const GraphFakeOptions& options() const { return options_; }

  // Each returns the new object's id (a GUID). `mail` empty: none.
  std::string add_user(const std::string& upn, const std::string& mail = {});
  std::string add_group(const std::string& display_name);
  void add_member(const std::string& group_id, const std::string& user_id);
  // The members' user ids, sorted.
  std::set<std::string> member_ids(const std::string& group_id) const;
  bool has_member(const std::string& group_id, const std::string& user_id) const;

  void set_page_size(std::size_t size);
  // Every token issued so far is rejected (401, "token is expired").
  void expire_tokens();
  std::size_t tokens_issued() const;
  // The next `count` Graph calls answer `status` (429 or 503) with
  // Retry-After: `retry_after` seconds.
  void rate_limit(int count, int status = 429, int retry_after = 7);

  // A Graph error body: {"error":{"code","message","innerError":{...}}}.
  static std::string error_body(const std::string& code, const std::string& message);

 private:
  struct User {
    std::string id, upn, mail;
  };
  struct Group {
    std::string id, name;
    std::set<std::string> members;
  };

  http::Response handle(const http::Request& request);
  http::Response token(const http::Request& request);
  http::Response graph(const http::Request& request, const std::vector<std::string>& segments);
  const User* user_by_key(const std::string& key) const;  // id or UPN
  std::string new_id();

  GraphFakeOptions options_;
  mutable std::mutex mutex_;
  std::map<std::string, User> users_;    // by id
  std::map<std::string, Group> groups_;  // by id
  std::map<std::string, std::chrono::steady_clock::time_point> tokens_;  // token -> expiry
  std::size_t issued_ = 0;
  std::size_t next_id_ = 1;
  std::unique_ptr<FakeServer> server_;  // last: stops before the state goes
};

}  // namespace portcullis::fakes
