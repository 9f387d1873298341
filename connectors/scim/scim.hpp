#pragma once
// A SCIM 2.0 service provider (RFC 7643 / RFC 7644) as a GroupProvider.
//
// Contract
// - Every call sends `Authorization: Bearer <token>` and
//   `Accept: application/scim+json`; bodies go out as
//   `Content-Type: application/scim+json`. `url` is the SCIM base
//   ("https://scim.example.com/scim/v2"); resources live under it.
// - Groups are named by displayName (the policy's group string), users by
//   userName (their email). Both are found with a filter
//   (GET /Groups?filter=displayName eq "NAME", GET /Users?filter=userName
//   eq "EMAIL", following startIndex/count pages of the ListResponse) and
//   cached for the life of the provider. displayName must match exactly;
//   userName case-insensitively (RFC 7643 makes it caseExact=false).
// - add_member: PATCH /Groups/{id} with a PatchOp
//   {"op":"add","path":"members","value":[{"value":"USERID"}]};
//   remove_member: {"op":"remove","path":"members[value eq \"USERID\"]"}.
//   200 and 204 are success. A 409 (uniqueness) on add, and a 400
//   noTarget on remove, mean the state is already the one asked for; so
//   does a 404 on remove when the group still exists. Idempotency keys are
//   accepted and not sent.
// - members: GET /Groups/{id}?attributes=members; each member's `display`
//   is used when it is an email, else its id is mapped to a userName with
//   GET /Users/{id} (cached). Nested groups (type "Group") are skipped.
//   Sorted.
// - Outcomes: 429 transient with Retry-After; 408, 5xx and transport
//   failures transient; 401/403, other 4xx, an unknown group or user
//   permanent. Messages start with the provider name, name the group and
//   user, and carry the SCIM error's detail, status and scimType; never
//   the token.
// - All calls go through one connectors::Outbound for the base URL.
//   Thread-safe.

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "connectors/connector.hpp"
#include "runtime/result.hpp"

namespace portcullis::connectors {

struct ScimConfig {
  std::string name;   // the policy's provider name, "scim.legacy", used in messages
  std::string url;    // base, e.g. https://x/scim/v2
  std::string token;  // bearer token
  std::chrono::milliseconds timeout{15'000};
  std::size_t max_concurrency = 4;
};

// Error (invalid) when the URL is not https:// (or loopback http://) or the
// token is empty. Makes no network call.
runtime::Result<std::shared_ptr<GroupProvider>> make_scim_provider(ScimConfig config);

}  // namespace portcullis::connectors
