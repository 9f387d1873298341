#pragma once
// Okta as a GroupProvider, over the Okta Management API (/api/v1).
//
// Contract
// - Authentication: an API token (`Authorization: SSWS <token>`), or an
//   OAuth 2.0 service app with private_key_jwt: the connector signs an
//   RS256 client assertion (iss = sub = client_id, aud = the token URL,
//   5-minute lifetime, unique jti), trades it at POST {url}/oauth2/v1/token
//   for an access token, and sends `Authorization: Bearer <token>`. The
//   access token is cached until shortly before it expires and shared by
//   every thread (one token request at a time); a 401 on an API call drops
//   it and retries that call once with a fresh one.
// - Groups are named by profile.name (the policy's group string) and users
//   by login (their email); both are resolved to Okta ids once and cached
//   for the life of the provider. A cached id that Okta no longer knows
//   (404 on a membership call) is looked up again once.
// - add_member: PUT /api/v1/groups/{gid}/users/{uid}; remove_member:
//   DELETE on the same path. Adding a member or removing a non-member
//   succeeds (Okta answers 204; a 409 on add or a 404 for the membership on
//   remove, when both group and user exist, are taken as "already done").
//   Idempotency keys are accepted and not sent: the calls are idempotent.
// - members: GET /api/v1/groups/{gid}/users?limit=200, following the
//   `Link: <...>; rel="next"` headers (only their path and query, always
//   against the configured org URL); profile.login (else profile.email),
//   sorted.
// - Outcomes: 429 is transient, retry_after from Retry-After or else
//   X-Rate-Limit-Reset minus now (at least 1 s); 408, 5xx and transport
//   failures are transient; 401/403 and every other 4xx, an unknown group
//   or an unknown user are permanent. Messages start with the provider
//   name and name the group and the user, with Okta's errorSummary and
//   errorCode; they never contain the token, the key or the assertion.
// - Every call goes through one connectors::Outbound for the org URL
//   (bounded by max_concurrency). Thread-safe.

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "connectors/connector.hpp"
#include "runtime/result.hpp"

namespace portcullis::connectors {

struct OktaConfig {
  std::string name;             // the policy's provider name, "okta.main", used in messages
  std::string url;              // "https://acme.okta.com" (tests: the fake's http://127.0.0.1:PORT)
  std::string token;            // API token (SSWS); empty when OAuth is used
  std::string client_id;        // OAuth 2.0 client credentials with private_key_jwt
  std::string private_key_pem;  // RSA key for the client assertion
  std::string key_id;           // optional kid
  std::vector<std::string> scopes = {"okta.groups.manage", "okta.users.read"};
  std::chrono::milliseconds timeout{15'000};
  std::size_t max_concurrency = 4;
};

// Error (invalid) when the URL is not https:// (or loopback http://), when
// neither a token nor client_id + private_key_pem is given, or when the
// private key is not a PEM RSA key. Makes no network call.
runtime::Result<std::shared_ptr<GroupProvider>> make_okta_provider(OktaConfig config);

}  // namespace portcullis::connectors
