#pragma once
// Microsoft Entra ID (Azure AD) as a GroupProvider, over Microsoft Graph
// v1.0 with the OAuth 2.0 client-credentials grant of the Microsoft
// identity platform.
//
// Contract
// - Groups are named in the policy by displayName ("aws-prod-admin") or by
//   object id (a GUID, used as is). A displayName must match exactly one
//   group; none or several is permanent. Users are named by UPN or mail
//   (UPN tried first, then a mail filter) or by object id (a GUID). Both
//   lookups are cached for the provider's lifetime.
// - add_member: POST /v1.0/groups/{id}/members/$ref; "already a member"
//   (Graph's 400 "One or more added object references already exist") is
//   success. remove_member: DELETE /v1.0/groups/{id}/members/{user}/$ref
//   (always with /$ref); a 404 is success when the group still exists
//   (checked with GET /v1.0/groups/{id}), permanent when it does not.
//   members(): every page of /members, mail (else UPN) lower-cased and
//   sorted; members that are not users (groups, devices) are skipped.
// - Token: one client-credentials token shared by all calls, refreshed
//   shortly before it expires; an API 401 drops it and retries once.
// - Outcomes: 429/503 transient with Retry-After; other 5xx and transport
//   errors transient; 403 Authorization_RequestDenied permanent, naming the
//   application permission to grant; other 4xx permanent. Messages name the
//   provider, the operation, group and user, and Graph's code, message and
//   request-id; never the client secret or a token.
// - Thread-safe; at most `max_concurrency` calls in flight per host.

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "connectors/connector.hpp"
#include "runtime/result.hpp"

namespace portcullis::connectors {

struct EntraConfig {
  std::string name;           // "entra.corp", used in messages
  std::string tenant;         // "acme.onmicrosoft.com" or a GUID
  std::string client_id;
  std::string client_secret;
  std::string graph_url = "https://graph.microsoft.com";
  std::string login_url = "https://login.microsoftonline.com";
  std::chrono::milliseconds timeout{15'000};
  std::size_t max_concurrency = 4;
};

// Error (invalid) when a setting is missing or a URL is neither https://
// nor loopback http://. Makes no network call.
runtime::Result<std::shared_ptr<GroupProvider>> make_entra_provider(EntraConfig config);

}  // namespace portcullis::connectors
