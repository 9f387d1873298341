#pragma once
// Who may call the daemon: API tokens mapped to principals.
//
// The principals file (its path is given at start) is JSON:
//   {"principals": [
//     {"name": "alice@acme.com", "token_sha256": "<64 hex digits>"},
//     {"name": "it-admin@acme.com", "token_sha256": "...", "admin": true}
//   ]}
// Only the SHA-256 of each token is stored; `portcullis token new` makes a
// token and its line. A principal acts only as itself: every event it
// sends is recorded as done by its name. `admin` principals may also read
// every request, reload the policy and read metrics; they still cannot
// approve as anyone else.

#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/result.hpp"

namespace portcullis::runtime {

struct Principal {
  std::string name;  // an email, or an integration's name
  bool admin = false;
};

class Principals {
 public:
  // Errors (invalid) name the file and the entry at fault: a missing name,
  // a token hash that is not 64 hex digits, a hash used twice.
  static Result<Principals> from_json(const nlohmann::json& json, const std::string& origin);
  static Result<Principals> load(const std::string& path);

  void add(Principal principal, const std::string& token_sha256);
  // The principal a bearer token belongs to, or nullptr.
  const Principal* authenticate(const std::string& token) const;
  std::size_t size() const { return by_hash_.size(); }

 private:
  std::unordered_map<std::string, Principal> by_hash_;  // lower-case hex SHA-256 -> principal
};

// A new random token (URL-safe, 256 bits from the OS) and its hash.
struct NewToken {
  std::string token;
  std::string sha256;
};
NewToken make_token();
std::string token_hash(const std::string& token);

}  // namespace portcullis::runtime
