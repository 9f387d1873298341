#include "tests/fakes/google_fake.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <memory>
#include <optional>

#include <nlohmann/json.hpp>

namespace portcullis::fakes {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

std::vector<std::string> segments_of(std::string_view path) {
  std::vector<std::string> out;
  std::size_t start = 1;
  while (start <= path.size()) {
    const auto end = std::min(path.find('/', start), path.size());
    out.push_back(percent_decode(path.substr(start, end - start)));
    start = end + 1;
  }
  return out;
}

std::optional<std::string> base64url_decode(std::string_view text) {
  std::string b64(text);
  for (char& c : b64) {
    if (c == '-') c = '+';
    else if (c == '_') c = '/';
    else if (c == '+' || c == '/' || c == '=') return std::nullopt;
  }
  std::size_t padding = 0;
  while (b64.size() % 4 != 0) {
    b64 += '=';
    ++padding;
  }
  if (padding == 3) return std::nullopt;
  std::string out(b64.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(b64.data()), static_cast<int>(b64.size()));
  if (n < 0) return std::nullopt;
  out.resize(static_cast<std::size_t>(n) - padding);
  return out;
}

bool verify_rs256(const std::string& public_key_pem, std::string_view input, const std::string& signature) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(public_key_pem.data(), static_cast<int>(public_key_pem.size())),
                                                &BIO_free);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr),
                                                          &EVP_PKEY_free);
  if (!key) return false;
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  if (EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()) != 1) return false;
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                          reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
}

http::Response api_error(int code, const std::string& reason, const std::string& message) {
  return json_response(code, GoogleFake::error_body(code, reason, message));
}

http::Response token_error(int status, const std::string& error, const std::string& description) {
  return json_response(status, json{{"error", error}, {"error_description", description}}.dump());
}

http::Response no_content() {
  http::Response response;
  response.status = 204;
  response.content_type.clear();
  return response;
}

}  // namespace

GoogleFake::GoogleFake(GoogleFakeOptions options) : options_(std::move(options)) {
  server_ = std::make_unique<FakeServer>([this](const http::Request& r) { return handle(r); });
}

std::string GoogleFake::error_body(int code, const std::string& reason, const std::string& message) {
  const std::string status = code == 404   ? "NOT_FOUND"
                             : code == 401 ? "UNAUTHENTICATED"
                             : code == 403 ? "PERMISSION_DENIED"
                             : code == 409 ? "ALREADY_EXISTS"
                             : code == 429 ? "RESOURCE_EXHAUSTED"
                                           : "INVALID_ARGUMENT";
  return json{{"error",
               {{"code", code},
                {"message", message},
                {"errors", json::array({{{"message", message}, {"domain", "global"}, {"reason", reason}}})},
                {"status", status}}}}
      .dump();
}

std::string GoogleFake::add_user(const std::string& email) {
  std::lock_guard lock(mutex_);
  const std::string id = "1000000000000000000" + std::to_string(next_id_++);
  users_[lower(email)] = id;
  return id;
}

std::string GoogleFake::add_group(const std::string& email) {
  std::lock_guard lock(mutex_);
  char id[16];
  std::snprintf(id, sizeof id, "03fake%09zu", next_id_++);
  groups_[lower(email)] = Group{id, email, {}};
  return id;
}

void GoogleFake::add_member(const std::string& group_email, const std::string& user_email) {
  std::lock_guard lock(mutex_);
  groups_.at(lower(group_email)).members.insert(lower(user_email));
}

std::set<std::string> GoogleFake::members(const std::string& group_email) const {
  std::lock_guard lock(mutex_);
  return groups_.at(lower(group_email)).members;
}

void GoogleFake::set_page_size(std::size_t size) {
  std::lock_guard lock(mutex_);
  options_.page_size = std::max<std::size_t>(1, size);
}

void GoogleFake::set_delegated_scopes(std::set<std::string> scopes) {
  std::lock_guard lock(mutex_);
  options_.delegated_scopes = std::move(scopes);
}

void GoogleFake::expire_tokens() {
  std::lock_guard lock(mutex_);
  for (auto& [value, token] : tokens_) token.expiry = Clock::now() - std::chrono::seconds(1);
}

std::size_t GoogleFake::tokens_issued() const {
  std::lock_guard lock(mutex_);
  return issued_;
}

std::string GoogleFake::last_assertion_claims() const {
  std::lock_guard lock(mutex_);
  return last_claims_;
}

void GoogleFake::rate_limit(int count, int status, int retry_after) {
  std::vector<http::Header> headers;
  if (retry_after > 0) headers.push_back({"Retry-After", std::to_string(retry_after)});
  const std::string body = status == 429 ? error_body(429, "rateLimitExceeded", "Too Many Requests")
                                         : error_body(403, "rateLimitExceeded", "Rate Limit Exceeded");
  server_->inject("", "/admin/", json_response(status, body, std::move(headers)), count);
}

GoogleFake::Group* GoogleFake::group_by_key(const std::string& key) {
  if (const auto it = groups_.find(lower(key)); it != groups_.end()) return &it->second;
  for (auto& [email, group] : groups_) {
    if (group.id == key) return &group;
  }
  return nullptr;
}

http::Response GoogleFake::handle(const http::Request& request) {
  if (request.path() == "/token") {
    if (request.method != "POST") return token_error(405, "invalid_request", "POST required");
    return token(request);
  }
  const auto segments = segments_of(request.path());
  if (segments.size() < 4 || segments[0] != "admin" || segments[1] != "directory" || segments[2] != "v1") {
    return api_error(404, "notFound", "Not Found");
  }
  const std::string* authorization = request.header("Authorization");
  std::lock_guard lock(mutex_);
  const auto token = authorization != nullptr && authorization->starts_with("Bearer ")
                         ? tokens_.find(authorization->substr(7))
                         : tokens_.end();
  if (token == tokens_.end() || Clock::now() >= token->second.expiry) {
    return api_error(401, "authError",
                     "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or "
                     "other valid authentication credential.");
  }
  return api(request, segments, token->second);
}

http::Response GoogleFake::token(const http::Request& request) {
  const std::string* content_type = request.header("Content-Type");
  if (content_type == nullptr || !content_type->starts_with("application/x-www-form-urlencoded")) {
    return token_error(400, "invalid_request", "Invalid Content-Type");
  }
  std::map<std::string, std::string> form;
  for (auto& [k, v] : http::parse_query(request.body)) form[k] = v;
  if (form["grant_type"] != "urn:ietf:params:oauth:grant-type:jwt-bearer") {
    return token_error(400, "unsupported_grant_type", "Invalid grant_type: " + form["grant_type"]);
  }
  const std::string& jwt = form["assertion"];
  const auto first = jwt.find('.');
  const auto second = first == std::string::npos ? std::string::npos : jwt.find('.', first + 1);
  if (second == std::string::npos) return token_error(400, "invalid_grant", "Invalid JWT: not a compact JWS");
  const auto header_text = base64url_decode(std::string_view(jwt).substr(0, first));
  const auto claims_text = base64url_decode(std::string_view(jwt).substr(first + 1, second - first - 1));
  const auto signature = base64url_decode(std::string_view(jwt).substr(second + 1));
  if (!header_text || !claims_text || !signature) return token_error(400, "invalid_grant", "Invalid JWT encoding");
  const json header = json::parse(*header_text, nullptr, false);
  const json claims = json::parse(*claims_text, nullptr, false);
  if (!header.is_object() || !claims.is_object() || header.value("alg", "") != "RS256") {
    return token_error(400, "invalid_grant", "Invalid JWT header or claims");
  }
  if (!verify_rs256(options_.public_key_pem, std::string_view(jwt).substr(0, second), *signature)) {
    return token_error(400, "invalid_grant", "Invalid JWT Signature.");
  }
  if (claims.value("iss", "") != options_.client_email) {
    return token_error(401, "invalid_client", "The OAuth client was not found.");
  }
  if (lower(claims.value("sub", "")) != lower(options_.admin_email)) {
    return token_error(400, "invalid_grant", "Invalid email or User ID");
  }
  if (claims.value("aud", "") != token_url()) {
    return token_error(400, "invalid_grant", "Invalid JWT: Failed audience check.");
  }
  const auto now =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  const std::int64_t iat = claims.value("iat", std::int64_t{0});
  const std::int64_t exp = claims.value("exp", std::int64_t{0});
  if (exp <= now || iat > now + 60 || exp - iat > 3600 || exp <= iat) {
    return token_error(400, "invalid_grant",
                       "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. "
                       "Check your iat and exp values in the JWT claim.");
  }
  std::set<std::string> scopes;
  const std::string scope = claims.value("scope", "");
  for (std::size_t start = 0; start < scope.size();) {
    const auto end = std::min(scope.find(' ', start), scope.size());
    if (end > start) scopes.insert(scope.substr(start, end - start));
    start = end + 1;
  }
  std::lock_guard lock(mutex_);
  if (scopes.empty() || !std::includes(options_.delegated_scopes.begin(), options_.delegated_scopes.end(),
                                       scopes.begin(), scopes.end())) {
    return token_error(401, "unauthorized_client",
                       "Client is unauthorized to retrieve access tokens using this method, or client not authorized "
                       "for any of the scopes requested.");
  }
  last_claims_ = claims.dump();
  const std::string value = "fake-google-token-" + std::to_string(++issued_);
  tokens_[value] = Token{Clock::now() + options_.token_lifetime, scopes};
  return json_response(
      200,
      json{{"access_token", value}, {"expires_in", options_.token_lifetime.count()}, {"token_type", "Bearer"}}.dump());
}

http::Response GoogleFake::api(const http::Request& request, const std::vector<std::string>& s, const Token& token) {
  auto allowed = [&](std::initializer_list<const char*> any_of) {
    return std::any_of(any_of.begin(), any_of.end(), [&](const char* scope) { return token.scopes.contains(scope); });
  };
  const auto insufficient = [] {
    return api_error(403, "insufficientPermissions", "Request had insufficient authentication scopes.");
  };
  const std::string& method = request.method;
  if (s[3] == "users" && s.size() == 5 && method == "GET") {
    if (!allowed({kGoogleUserReadScope})) return insufficient();
    const auto it = users_.find(lower(s[4]));
    if (it == users_.end()) return api_error(404, "notFound", "Resource Not Found: userKey");
    return json_response(200, json{{"kind", "admin#directory#user"}, {"id", it->second}, {"primaryEmail", it->first}}.dump());
  }
  if (s[3] != "groups" || s.size() < 5) return api_error(404, "notFound", "Not Found");
  Group* group = group_by_key(s[4]);
  if (s.size() == 5 && method == "GET") {
    if (!allowed({kGoogleGroupReadScope})) return insufficient();
    if (group == nullptr) return api_error(404, "notFound", "Resource Not Found: groupKey");
    return json_response(200, json{{"kind", "admin#directory#group"}, {"id", group->id}, {"email", group->email}}.dump());
  }
  if (s.size() < 6 || s[5] != "members") return api_error(404, "notFound", "Not Found");
  if (s.size() == 6 && method == "GET") {
    if (!allowed({kGoogleMemberScope, kGoogleGroupReadScope})) return insufficient();
    if (group == nullptr) return api_error(404, "notFound", "Resource Not Found: groupKey");
    const std::size_t max_results =
        std::clamp<std::size_t>(static_cast<std::size_t>(std::atoll(query_value(request, "maxResults").c_str())), 1, 200);
    const std::size_t page = std::min(options_.page_size, query_value(request, "maxResults").empty() ? 200 : max_results);
    const std::size_t skip = static_cast<std::size_t>(std::atoll(query_value(request, "pageToken").c_str()));
    const std::vector<std::string> emails(group->members.begin(), group->members.end());
    json body{{"kind", "admin#directory#members"}, {"etag", "\"fake\""}};
    json list = json::array();
    for (std::size_t i = skip; i < emails.size() && i < skip + page; ++i) {
      const auto user = users_.find(emails[i]);
      list.push_back({{"kind", "admin#directory#member"},
                      {"email", emails[i]},
                      {"role", "MEMBER"},
                      {"type", "USER"},
                      {"status", "ACTIVE"},
                      {"id", user == users_.end() ? std::string() : user->second}});
    }
    if (!list.empty()) body["members"] = list;  // the API leaves it out for an empty group
    if (skip + page < emails.size()) body["nextPageToken"] = std::to_string(skip + page);
    return json_response(200, body.dump());
  }
  if (s.size() == 6 && method == "POST") {
    if (!allowed({kGoogleMemberScope})) return insufficient();
    if (group == nullptr) return api_error(404, "notFound", "Resource Not Found: groupKey");
    const json body = json::parse(request.body, nullptr, false);
    const std::string email = body.is_object() ? lower(body.value("email", "")) : std::string();
    if (email.empty()) return api_error(400, "required", "Missing required field: memberKey");
    if (!users_.contains(email)) return api_error(404, "notFound", "Resource Not Found: memberKey");
    if (!group->members.insert(email).second) return api_error(409, "duplicate", "Member already exists.");
    return json_response(200, json{{"kind", "admin#directory#member"},
                                   {"email", email},
                                   {"role", body.value("role", "MEMBER")},
                                   {"type", "USER"},
                                   {"status", "ACTIVE"},
                                   {"id", users_.at(email)}}
                                  .dump());
  }
  if (s.size() == 7 && method == "DELETE") {
    if (!allowed({kGoogleMemberScope})) return insufficient();
    if (group == nullptr) return api_error(404, "notFound", "Resource Not Found: groupKey");
    if (group->members.erase(lower(s[6])) == 0) return api_error(404, "notFound", "Resource Not Found: memberKey");
    return no_content();
  }
  return api_error(404, "notFound", "Not Found");
}

}  // namespace portcullis::fakes
