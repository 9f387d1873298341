#pragma once
// The cryptography the remote connectors need, on OpenSSL: HMAC-SHA256 for
// webhook signatures (Slack, Jira) and RS256 JSON Web Tokens for the
// OAuth 2.0 grants that sign with a private key (Okta private_key_jwt, a
// Google service account).
//
// Keys are passed in and never kept, copied into messages or logged.

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "runtime/result.hpp"

namespace portcullis::connectors {

// Lower-case hex of HMAC-SHA256(key, message).
std::string hmac_sha256_hex(std::string_view key, std::string_view message);

// Compares in time that depends on the lengths only, never on where the
// first difference is: for comparing signatures.
bool constant_time_equals(std::string_view a, std::string_view b);

// RFC 4648 section 5, without padding.
std::string base64url_encode(std::string_view bytes);

// A compact JWS: base64url(header).base64url(claims).base64url(signature),
// header {"alg":"RS256","typ":"JWT"} plus "kid" when key_id is not empty.
// `private_key_pem` is a PEM RSA private key (PKCS#1 or PKCS#8). Error
// (invalid) when the key does not parse or is not RSA; the message never
// contains the key.
runtime::Result<std::string> sign_jwt_rs256(const nlohmann::json& claims, std::string_view private_key_pem,
                                            std::string_view key_id = {});

}  // namespace portcullis::connectors
