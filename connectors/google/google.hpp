#pragma once
// Google Workspace as a GroupProvider, over the Admin SDK Directory API
// with a service account's domain-wide delegation (an RS256-signed JWT
// exchanged for an access token, acting as `admin_email`).
//
// Contract
// - Groups are named by email ("gcp-admins@acme.com"), by a bare name
//   ("gcp-admins", which becomes "gcp-admins@" + domain) or by the group's
//   id (15 characters of [0-9a-z] starting with "0", as the API returns
//   them). Users are named by email.
// - add_member: POST .../groups/{groupKey}/members {"email","role":"MEMBER"};
//   409 "Member already exists." is success. remove_member: DELETE
//   .../groups/{groupKey}/members/{memberKey}; 404 "Resource Not Found:
//   memberKey" is success, 404 for the group is permanent (an unclear 404 is
//   settled with GET .../groups/{groupKey}). members(): every page
//   (maxResults=200), emails lower-cased and sorted. find_user: GET
//   .../users/{userKey} -> the user's id.
// - Tokens: the group operations use one token with the scopes
//   admin.directory.group.member and admin.directory.group.readonly;
//   find_user uses a second with admin.directory.user.readonly, fetched only
//   when find_user is called, so a tenant that delegated only the group
//   scopes still grants and revokes. Tokens are cached until shortly before
//   they expire; an API 401 drops the token and retries once.
// - Outcomes: 429, and 403 with reason rateLimitExceeded,
//   userRateLimitExceeded or quotaExceeded, are transient (retry_after from
//   Retry-After when sent, else empty so the executor's backoff applies);
//   5xx and transport errors transient; other 403 permanent, naming the
//   delegation and scope to grant; other 4xx permanent. Messages name the
//   provider, the operation, group and user; never the key or a token.
// - Thread-safe; at most `max_concurrency` calls in flight per host.

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "connectors/connector.hpp"
#include "runtime/result.hpp"

namespace portcullis::connectors {

struct GoogleConfig {
  std::string name;                  // "google.workspace"
  std::string domain;                // "acme.com"
  std::string customer;              // optional, "my_customer" when empty
  std::string service_account_json;  // the key file's contents: {"client_email","private_key","private_key_id","token_uri",...}
  std::string admin_email;           // the admin the service account acts as (JWT "sub")
  std::string api_url = "https://admin.googleapis.com";
  std::string token_url;  // empty: the key file's token_uri, else https://oauth2.googleapis.com/token
  std::chrono::milliseconds timeout{15'000};
  std::size_t max_concurrency = 4;
};

// Error (invalid) when the key file does not parse, lacks client_email or
// private_key, or its key is not an RSA private key (the message never
// contains the key); when domain or admin_email is empty; or when a URL is
// neither https:// nor loopback http://. Makes no network call.
runtime::Result<std::shared_ptr<GroupProvider>> make_google_provider(GoogleConfig config);

}  // namespace portcullis::connectors
