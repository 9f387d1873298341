#include "tests/fakes/okta_fake.hpp"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <algorithm>
#include <atomic>
#include <charconv>

namespace portcullis::fakes {
namespace {

using json = nlohmann::json;

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::vector<std::string> segments(std::string_view path) {
  std::vector<std::string> out;
  while (!path.empty()) {
    if (path.front() == '/') {
      path.remove_prefix(1);
      continue;
    }
    const auto slash = path.find('/');
    out.push_back(percent_decode(path.substr(0, slash)));
    path = slash == std::string_view::npos ? std::string_view{} : path.substr(slash);
  }
  return out;
}

std::optional<std::string> base64url_decode(std::string_view text) {
  std::string out;
  std::uint32_t buffer = 0;
  int bits = 0;
  for (const char c : text) {
    int v = -1;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    else if (c >= '0' && c <= '9') v = c - '0' + 52;
    else if (c == '-') v = 62;
    else if (c == '_') v = 63;
    else return std::nullopt;
    buffer = (buffer << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xFF));
    }
  }
  return out;
}

bool verify_rs256(std::string_view jwt, const std::string& public_key_pem) {
  const auto last = jwt.rfind('.');
  if (last == std::string_view::npos) return false;
  auto signature = base64url_decode(jwt.substr(last + 1));
  if (!signature) return false;
  BIO* bio = BIO_new_mem_buf(public_key_pem.data(), static_cast<int>(public_key_pem.size()));
  if (bio == nullptr) return false;
  EVP_PKEY* key = PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (key == nullptr) return false;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const std::string_view input = jwt.substr(0, last);
  const bool ok = ctx != nullptr && EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
                  EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(signature->data()), signature->size(),
                                   reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(key);
  return ok;
}

http::Response okta_error(int status, const std::string& code, const std::string& summary,
                          std::vector<http::Header> headers = {}) {
  static std::atomic<int> counter{0};
  const json body = {{"errorCode", code},
                     {"errorSummary", summary},
                     {"errorLink", code},
                     {"errorId", "oae" + std::to_string(++counter)},
                     {"errorCauses", json::array()}};
  return json_response(status, body.dump(), std::move(headers));
}

http::Response oauth_error(int status, const std::string& error, const std::string& description) {
  return json_response(status, json{{"error", error}, {"error_description", description}}.dump());
}

http::Response no_content() {
  http::Response response;
  response.status = 204;
  response.content_type.clear();
  return response;
}

// One page of `ids` (sorted) after the cursor `after`.
std::vector<std::string> page_of(const std::vector<std::string>& ids, const std::string& after, std::size_t limit,
                                 bool& more) {
  auto it = after.empty() ? ids.begin() : std::upper_bound(ids.begin(), ids.end(), after);
  std::vector<std::string> out;
  while (it != ids.end() && out.size() < limit) out.push_back(*it++);
  more = it != ids.end();
  return out;
}

std::size_t parse_limit(const std::string& text, std::size_t fallback) {
  std::size_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size() || value == 0) return fallback;
  return value;
}

}  // namespace

OktaFake::OktaFake(std::string api_token)
    : api_token_(std::move(api_token)), server_([this](const http::Request& r) { return handle(r); }) {}

void OktaFake::add_user(const std::string& id, const std::string& login) {
  std::lock_guard lock(mutex_);
  users_[id] = login;
}

void OktaFake::add_group(const std::string& id, const std::string& name) {
  std::lock_guard lock(mutex_);
  groups_[id] = name;
  members_[id];
}

void OktaFake::remove_group(const std::string& id) {
  std::lock_guard lock(mutex_);
  groups_.erase(id);
  members_.erase(id);
}

void OktaFake::add_member(const std::string& group_name, const std::string& login) {
  std::lock_guard lock(mutex_);
  const std::string user = user_id_for(login);
  for (const auto& [id, name] : groups_) {
    if (name == group_name && !user.empty()) members_[id].insert(user);
  }
}

std::vector<std::string> OktaFake::members_of(const std::string& group_name) const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> out;
  for (const auto& [id, name] : groups_) {
    if (name != group_name) continue;
    for (const auto& user : members_.at(id)) out.push_back(users_.at(user));
  }
  std::sort(out.begin(), out.end());
  return out;
}

void OktaFake::set_page_size(std::size_t size) {
  std::lock_guard lock(mutex_);
  page_size_ = std::max<std::size_t>(size, 1);
}

void OktaFake::set_report_membership_noops(bool report) {
  std::lock_guard lock(mutex_);
  report_noops_ = report;
}

void OktaFake::register_client(const std::string& client_id, std::vector<std::string> granted_scopes,
                               std::string public_key_pem) {
  std::lock_guard lock(mutex_);
  client_id_ = client_id;
  granted_scopes_ = {granted_scopes.begin(), granted_scopes.end()};
  public_key_pem_ = std::move(public_key_pem);
}

void OktaFake::set_token_lifetime(std::chrono::seconds lifetime) {
  std::lock_guard lock(mutex_);
  token_lifetime_ = lifetime;
}

void OktaFake::expire_all_tokens() {
  std::lock_guard lock(mutex_);
  tokens_.clear();
}

std::size_t OktaFake::tokens_issued() const {
  std::lock_guard lock(mutex_);
  return tokens_issued_;
}

json OktaFake::last_assertion_claims() const {
  std::lock_guard lock(mutex_);
  return last_claims_;
}

void OktaFake::configure_rate_limit(int calls, std::chrono::seconds reset_in) {
  std::lock_guard lock(mutex_);
  rate_limited_calls_ = calls;
  rate_reset_in_ = reset_in;
}

std::string OktaFake::user_id_for(const std::string& id_or_login) const {
  if (users_.count(id_or_login) != 0) return id_or_login;
  const std::string wanted = lower(id_or_login);
  for (const auto& [id, login] : users_) {
    if (lower(login) == wanted) return id;
  }
  return {};
}

json OktaFake::user_json(const std::string& id) const {
  const std::string& login = users_.at(id);
  return {{"id", id},
          {"status", "ACTIVE"},
          {"profile", {{"login", login}, {"email", login}, {"firstName", login.substr(0, login.find('@'))}}},
          {"_links", {{"self", {{"href", server_.base_url() + "/api/v1/users/" + id}}}}}};
}

http::Response OktaFake::handle(const http::Request& request) {
  std::lock_guard lock(mutex_);
  if (rate_limited_calls_ > 0) {
    --rate_limited_calls_;
    return okta_error(429, "E0000047", "API call exceeded rate limit due to too many requests.",
                      {{"X-Rate-Limit-Limit", "600"},
                       {"X-Rate-Limit-Remaining", "0"},
                       {"X-Rate-Limit-Reset", std::to_string(unix_now() + rate_reset_in_.count())}});
  }
  const std::string path(request.path());
  if (path == "/oauth2/v1/token") {
    if (request.method != "POST") return oauth_error(405, "invalid_request", "The token endpoint takes POST.");
    return token_endpoint(request);
  }
  if (!path.starts_with("/api/v1/")) return okta_error(404, "E0000007", "Not found: Resource not found: " + path);
  std::set<std::string> scopes;
  bool all_scopes = false;
  if (auto refused = authorize(request, scopes, all_scopes)) return *refused;
  return api(request, all_scopes ? nullptr : &scopes);
}

std::optional<http::Response> OktaFake::authorize(const http::Request& request, std::set<std::string>& scopes,
                                                  bool& all_scopes) {
  const std::string* header = request.header("Authorization");
  const auto invalid = [] { return okta_error(401, "E0000011", "Invalid token provided"); };
  if (header == nullptr) return invalid();
  if (header->starts_with("SSWS ")) {
    if (header->substr(5) != api_token_) return invalid();
    all_scopes = true;
    return std::nullopt;
  }
  if (header->starts_with("Bearer ")) {
    auto it = tokens_.find(header->substr(7));
    if (it == tokens_.end() || it->second.expires <= std::chrono::steady_clock::now()) return invalid();
    scopes = it->second.scopes;
    return std::nullopt;
  }
  return invalid();
}

http::Response OktaFake::api(const http::Request& request, const std::set<std::string>* scopes) {
  const auto parts = segments(request.path());  // "api", "v1", ...
  const auto has = [&](std::initializer_list<const char*> any) {
    if (scopes == nullptr) return true;
    for (const char* s : any) {
      if (scopes->count(s) != 0) return true;
    }
    return false;
  };
  const auto forbidden = [] {
    return okta_error(403, "E0000006", "You do not have permission to perform the requested action");
  };
  const std::string& method = request.method;
  const std::string base = server_.base_url();

  // GET /api/v1/groups?search=profile.name eq "X"
  if (parts.size() == 3 && parts[2] == "groups" && method == "GET") {
    if (!has({"okta.groups.read", "okta.groups.manage"})) return forbidden();
    const std::string search = query_value(request, "search");
    const std::string head = "profile.name eq \"";
    if (!search.starts_with(head) || !search.ends_with("\"") || search.size() < head.size() + 1) {
      return okta_error(400, "E0000031", "Invalid search criteria.");
    }
    std::string name;
    const std::string_view literal = std::string_view(search).substr(head.size(), search.size() - head.size() - 1);
    for (std::size_t i = 0; i < literal.size(); ++i) {
      if (literal[i] == '\\' && i + 1 < literal.size()) ++i;
      name.push_back(literal[i]);
    }
    std::vector<std::string> ids;
    for (const auto& [id, group_name] : groups_) {
      if (lower(group_name) == lower(name)) ids.push_back(id);
    }
    bool more = false;
    const std::size_t limit = std::min(parse_limit(query_value(request, "limit"), page_size_), page_size_);
    const auto page = page_of(ids, query_value(request, "after"), limit, more);
    json out = json::array();
    for (const auto& id : page) {
      out.push_back({{"id", id}, {"type", "OKTA_GROUP"}, {"profile", {{"name", groups_.at(id)}, {"description", ""}}}});
    }
    std::vector<http::Header> headers;
    const std::string self = base + "/api/v1/groups?search=" + http::url_encode(search);
    headers.push_back({"Link", "<" + self + ">; rel=\"self\""});
    if (more) {
      headers.push_back({"Link", "<" + self + "&limit=" + std::to_string(limit) + "&after=" + page.back() +
                                     ">; rel=\"next\""});
    }
    return json_response(200, out.dump(), std::move(headers));
  }

  // GET /api/v1/users/{id or login}
  if (parts.size() == 4 && parts[2] == "users" && method == "GET") {
    if (!has({"okta.users.read", "okta.users.manage"})) return forbidden();
    const std::string id = user_id_for(parts[3]);
    if (id.empty()) return okta_error(404, "E0000007", "Not found: Resource not found: " + parts[3] + " (User)");
    return json_response(200, user_json(id).dump());
  }

  if (parts.size() >= 5 && parts[2] == "groups" && parts[4] == "users") {
    const std::string& group_id = parts[3];
    const bool group_known = groups_.count(group_id) != 0;

    // GET /api/v1/groups/{gid}/users?limit=&after=
    if (parts.size() == 5 && method == "GET") {
      if (!has({"okta.groups.read", "okta.groups.manage"})) return forbidden();
      if (!group_known) {
        return okta_error(404, "E0000007", "Not found: Resource not found: " + group_id + " (UserGroup)");
      }
      const auto& set = members_.at(group_id);
      const std::vector<std::string> ids(set.begin(), set.end());
      const std::size_t limit = std::min(parse_limit(query_value(request, "limit"), page_size_), page_size_);
      bool more = false;
      const auto page = page_of(ids, query_value(request, "after"), limit, more);
      json out = json::array();
      for (const auto& id : page) out.push_back(user_json(id));
      const std::string self = base + "/api/v1/groups/" + group_id + "/users?limit=" + std::to_string(limit);
      std::vector<http::Header> headers = {{"Link", "<" + self + ">; rel=\"self\""}};
      if (more) headers.push_back({"Link", "<" + self + "&after=" + page.back() + ">; rel=\"next\""});
      return json_response(200, out.dump(), std::move(headers));
    }

    // PUT / DELETE /api/v1/groups/{gid}/users/{uid}
    if (parts.size() == 6 && (method == "PUT" || method == "DELETE")) {
      if (!has({"okta.groups.manage"})) return forbidden();
      if (!group_known) {
        return okta_error(404, "E0000007", "Not found: Resource not found: " + group_id + " (UserGroup)");
      }
      const std::string& user_id = parts[5];
      if (users_.count(user_id) == 0) {
        return okta_error(404, "E0000007", "Not found: Resource not found: " + user_id + " (User)");
      }
      auto& set = members_[group_id];
      if (method == "PUT") {
        if (!set.insert(user_id).second && report_noops_) {
          return okta_error(409, "E0000001", "Api validation failed: the user is already a member of the group");
        }
      } else if (set.erase(user_id) == 0 && report_noops_) {
        return okta_error(404, "E0000007", "Not found: Resource not found: " + user_id + " (GroupMembership)");
      }
      return no_content();
    }
  }
  return okta_error(404, "E0000022", "The endpoint does not support the provided HTTP method");
}

http::Response OktaFake::token_endpoint(const http::Request& request) {
  const std::string* content_type = request.header("Content-Type");
  if (content_type == nullptr || !content_type->starts_with("application/x-www-form-urlencoded")) {
    return oauth_error(400, "invalid_request", "The request must be form-encoded.");
  }
  std::map<std::string, std::string> form;
  for (auto& [k, v] : http::parse_query(request.body)) form.emplace(k, v);
  if (form["grant_type"] != "client_credentials") {
    return oauth_error(400, "unsupported_grant_type", "The authorization grant type is not supported.");
  }
  if (form["client_assertion_type"] != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer") {
    return oauth_error(401, "invalid_client", "The client_assertion_type is invalid.");
  }
  const std::string& assertion = form["client_assertion"];
  const auto first = assertion.find('.');
  const auto second = first == std::string::npos ? std::string::npos : assertion.find('.', first + 1);
  if (second == std::string::npos) return oauth_error(401, "invalid_client", "The client_assertion is malformed.");
  const auto header_text = base64url_decode(std::string_view(assertion).substr(0, first));
  const auto claims_text = base64url_decode(std::string_view(assertion).substr(first + 1, second - first - 1));
  const json header = header_text ? json::parse(*header_text, nullptr, false) : json();
  const json claims = claims_text ? json::parse(*claims_text, nullptr, false) : json();
  if (!header.is_object() || !claims.is_object()) {
    return oauth_error(401, "invalid_client", "The client_assertion is malformed.");
  }
  if (header.value("alg", "") != "RS256") return oauth_error(401, "invalid_client", "The client_assertion must be RS256.");
  const auto str = [&](const char* key) {
    return claims.contains(key) && claims[key].is_string() ? claims[key].get<std::string>() : std::string();
  };
  if (client_id_.empty() || str("iss") != client_id_ || str("sub") != client_id_) {
    return oauth_error(401, "invalid_client", "The client_assertion iss and sub must be the client_id.");
  }
  if (str("aud") != server_.base_url() + "/oauth2/v1/token") {
    return oauth_error(401, "invalid_client",
                       "The audience claim for client_assertion must be the endpoint invoked for the request.");
  }
  if (!claims.contains("exp") || !claims["exp"].is_number_integer() || !claims.contains("iat") ||
      !claims["iat"].is_number_integer()) {
    return oauth_error(401, "invalid_client", "The client_assertion must have iat and exp.");
  }
  const auto exp = claims["exp"].get<std::int64_t>();
  const auto iat = claims["iat"].get<std::int64_t>();
  if (exp <= unix_now()) return oauth_error(401, "invalid_client", "The client_assertion token is expired.");
  if (exp - iat > 3600) {
    return oauth_error(401, "invalid_client", "The client_assertion token has an expiration too far into the future.");
  }
  const std::string jti = str("jti");
  if (jti.empty() || !seen_jti_.insert(jti).second) {
    return oauth_error(401, "invalid_client", "The client_assertion token has already been used (jti).");
  }
  if (!public_key_pem_.empty() && !verify_rs256(assertion, public_key_pem_)) {
    return oauth_error(401, "invalid_client", "The client_assertion signature is invalid.");
  }
  std::set<std::string> scopes;
  std::string rejected;
  std::string_view scope = form["scope"];
  while (!scope.empty()) {
    const auto space = scope.find(' ');
    const std::string one(scope.substr(0, space));
    scope = space == std::string_view::npos ? std::string_view{} : scope.substr(space + 1);
    if (one.empty()) continue;
    if (granted_scopes_.count(one) == 0) rejected += (rejected.empty() ? "" : ", ") + one;
    scopes.insert(one);
  }
  if (scopes.empty()) return oauth_error(400, "invalid_scope", "The authorization server requires a scope.");
  if (!rejected.empty()) {
    return oauth_error(400, "invalid_scope", "The following scopes are not allowed: " + rejected);
  }
  last_claims_ = claims;
  const std::string token = "fake-okta-at-" + std::to_string(++tokens_issued_);
  tokens_[token] = Token{scopes, std::chrono::steady_clock::now() + token_lifetime_};
  std::string scope_list;
  for (const auto& s : scopes) scope_list += (scope_list.empty() ? "" : " ") + s;
  return json_response(200, json{{"token_type", "Bearer"},
                                 {"expires_in", token_lifetime_.count()},
                                 {"access_token", token},
                                 {"scope", scope_list}}
                                .dump());
}

}  // namespace portcullis::fakes
