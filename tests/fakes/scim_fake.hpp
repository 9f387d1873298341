#pragma once
// A local SCIM 2.0 service provider (RFC 7643 / 7644), the slice that
// connectors/scim speaks, served under "/scim/v2" on 127.0.0.1.
//
// - Every call needs `Authorization: Bearer <token>`; otherwise 401 with
//   the SCIM error body (urn:ietf:params:scim:api:messages:2.0:Error).
// - GET /Users and /Groups with `filter=ATTR eq "VALUE"` (userName,
//   displayName, id; case-insensitive as RFC 7643 says for those
//   attributes), paged with startIndex/count into a ListResponse whose
//   pages hold at most page_size resources; `excludedAttributes=members`
//   honoured. GET /Users/{id}, GET /Groups/{id} (members with value,
//   display, $ref, type).
// - PATCH /Groups/{id} with a PatchOp: add path "members" with
//   value [{"value": id}], remove path `members[value eq "id"]`. 204 by
//   default (200 with the group when set_patch_returns_resource). An
//   unknown user on add is 400 invalidValue; in strict mode a duplicate
//   add is 409 uniqueness and removing a non-member 400 noTarget (the
//   default is lenient: 204 for both, as many servers do).
// - configure_rate_limit(n): the next n calls get 429 with Retry-After.
// Thread-safe.

#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/fakes/fake_server.hpp"

namespace portcullis::fakes {

class ScimFake {
 public:
  explicit ScimFake(std::string token = "scim-test-token");

  // The SCIM base: "http://127.0.0.1:PORT/scim/v2".
  std::string base_url() const { return server_.base_url() + "/scim/v2"; }
  FakeServer& server() { return server_; }

  // `display` is what a group's members[].display shows for this user
  // (default: the userName; give a person's name to make the connector
  // look the userName up).
  void add_user(const std::string& id, const std::string& user_name, const std::string& display = {});
  void add_group(const std::string& id, const std::string& display_name);
  void add_member(const std::string& group_name, const std::string& user_name);  // seeds state directly
  // Sorted userNames of the group's members; empty for an unknown group.
  std::vector<std::string> members_of(const std::string& group_name) const;

  void set_page_size(std::size_t size);
  void set_strict_membership(bool strict);
  void set_patch_returns_resource(bool value);
  void configure_rate_limit(int calls, std::chrono::seconds retry_after = std::chrono::seconds(30));

 private:
  struct User {
    std::string user_name;
    std::string display;
  };

  http::Response handle(const http::Request& request);
  http::Response list(const http::Request& request, bool groups);
  http::Response patch(const std::string& group_id, const http::Request& request);
  nlohmann::json user_json(const std::string& id) const;
  nlohmann::json group_json(const std::string& id, bool with_members) const;

  std::string token_;
  mutable std::mutex mutex_;
  std::map<std::string, User> users_;          // id -> user
  std::map<std::string, std::string> groups_;  // id -> displayName
  std::map<std::string, std::set<std::string>> members_;
  std::size_t page_size_ = 100;
  bool strict_ = false;
  bool patch_returns_resource_ = false;
  int rate_limited_calls_ = 0;
  std::chrono::seconds retry_after_{30};

  FakeServer server_;  // last: stops before the state goes
};

}  // namespace portcullis::fakes
