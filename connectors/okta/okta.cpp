#include "connectors/okta/okta.hpp"

#include <openssl/rand.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <map>
#include <mutex>
#include <optional>
#include <utility>

#include <nlohmann/json.hpp>

#include "connectors/auth/crypto.hpp"
#include "connectors/http/membership_provider.hpp"
#include "connectors/http/outbound.hpp"

namespace portcullis::connectors {
namespace {

using json = nlohmann::json;
using SteadyClock = std::chrono::steady_clock;

constexpr std::string_view kAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
// Okta's own maximum for the users of a group page.
constexpr int kPageLimit = 200;
// Bounds every paging loop: 10,000 pages of 200 is two million members,
// far beyond any group a policy grants; a server that keeps answering
// "next" past that is broken, not big.
constexpr int kMaxPages = 10'000;

std::string json_string(const json& object, const char* key) {
  if (!object.is_object()) return {};
  auto it = object.find(key);
  if (it == object.end() || !it->is_string()) return {};
  return it->get<std::string>();
}

// A string literal inside an Okta search expression (SCIM filter syntax).
std::string filter_literal(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

std::string random_jti() {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1) {
    // Uniqueness, not secrecy, is what jti needs; fall back to a counter
    // mixed with the clock.
    static std::atomic<std::uint64_t> counter{0};
    return std::to_string(std::chrono::system_clock::now().time_since_epoch().count()) + "-" +
           std::to_string(++counter);
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (const unsigned char b : bytes) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0xF]);
  }
  return out;
}

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::optional<std::int64_t> parse_int(std::string_view text) {
  std::int64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
  return value;
}

// Seconds until Okta accepts calls again: Retry-After when sent, else the
// reset time of the rate-limit window (epoch seconds) minus now.
std::optional<std::int64_t> okta_retry_after(const http::Response& response) {
  if (auto seconds = retry_after_seconds(response)) return std::max<std::int64_t>(*seconds, 1);
  const std::string* reset = find_header(response, "X-Rate-Limit-Reset");
  if (reset == nullptr) return std::nullopt;
  auto at = parse_int(*reset);
  if (!at) return std::nullopt;
  return std::max<std::int64_t>(*at - unix_now(), 1);
}

// The URL of the rel="next" link. Okta sends one Link header per relation
// (self, next); several relations in one header, comma-separated, are
// accepted too.
std::optional<std::string> next_link(const http::Response& response) {
  for (const auto& header : response.headers) {
    if (!http::header_equals(header.name, "Link")) continue;
    std::string_view rest = header.value;
    while (!rest.empty()) {
      const auto open = rest.find('<');
      if (open == std::string_view::npos) break;
      const auto close = rest.find('>', open);
      if (close == std::string_view::npos) break;
      const std::string_view url = rest.substr(open + 1, close - open - 1);
      const auto next_open = rest.find('<', close);
      const std::string_view params = rest.substr(close + 1, next_open == std::string_view::npos
                                                                 ? std::string_view::npos
                                                                 : next_open - close - 1);
      if (params.find("rel=\"next\"") != std::string_view::npos || params.find("rel=next") != std::string_view::npos) {
        return std::string(url);
      }
      rest = next_open == std::string_view::npos ? std::string_view{} : rest.substr(next_open);
    }
  }
  return std::nullopt;
}

// "https://acme.okta.com/api/v1/x?y" -> "/api/v1/x?y". Only the path and
// query of a link are followed, always against the configured org: a
// tampered Link header cannot send the token to another host.
std::string path_and_query(std::string_view url) {
  const auto scheme = url.find("://");
  if (scheme == std::string_view::npos) return url.starts_with('/') ? std::string(url) : std::string{};
  const auto slash = url.find('/', scheme + 3);
  if (slash == std::string_view::npos) return "/";
  return std::string(url.substr(slash));
}

class OktaProvider final : public MembershipProvider {
 public:
  OktaProvider(OktaConfig config, std::shared_ptr<Outbound> outbound)
      : MembershipProvider(config.name), config_(std::move(config)), outbound_(std::move(outbound)) {
    token_url_ = config_.url + "/oauth2/v1/token";
    const auto scheme = config_.url.find("://");
    const auto slash = config_.url.find('/', scheme + 3);
    if (slash != std::string::npos) base_path_ = config_.url.substr(slash);
  }

 private:
  struct Reply {
    Outcome outcome;  // not ok: no response (transport failure, no token)
    http::Response response;
  };

  bool oauth() const { return config_.token.empty(); }

  // Belt and braces: no secret may reach a message, whatever the server
  // chose to echo.
  std::string redact(std::string message) const {
    for (const std::string* secret : {&config_.token, &config_.private_key_pem}) {
      if (secret->empty()) continue;
      for (auto at = message.find(*secret); at != std::string::npos; at = message.find(*secret, at)) {
        message.replace(at, secret->size(), "[redacted]");
      }
    }
    return message;
  }

  // Okta's error body as "summary; cause; cause (E0000007)".
  static std::string describe(const http::Response& response) {
    const json body = json::parse(response.body, nullptr, false);
    std::string summary = json_string(body, "errorSummary");
    const std::string code = json_string(body, "errorCode");
    if (body.is_object() && body.contains("errorCauses") && body["errorCauses"].is_array()) {
      for (const auto& cause : body["errorCauses"]) {
        const std::string text = json_string(cause, "errorSummary");
        if (!text.empty() && text != summary) summary += "; " + text;
      }
    }
    if (summary.empty()) {
      // OAuth errors ({error, error_description}) or a proxy's page.
      summary = json_string(body, "error");
      const std::string description = json_string(body, "error_description");
      if (!description.empty()) summary += (summary.empty() ? "" : ": ") + description;
    }
    std::string out = summary.empty() ? "HTTP " + std::to_string(response.status) : summary;
    if (!code.empty()) out += " (" + code + ")";
    return out;
  }

  Outcome failure(const http::Response& response, const std::string& what) const {
    const int status = response.status;
    std::string detail = describe(response);
    if (status == 401) {
      detail = oauth() ? "Okta rejected the OAuth access token (HTTP 401: " + detail +
                             "); check that the service app is active and its client_id"
                       : "Okta rejected the API token (HTTP 401: " + detail +
                             "); the token is invalid, expired or revoked";
    } else if (status == 403) {
      detail = "the " + std::string(oauth() ? "service app" : "API token") +
               " lacks permission for this call (HTTP 403: " + detail + "); it needs " +
               (oauth() ? "the scopes okta.groups.manage and okta.users.read granted and "
                        : "") +
               "an admin role that may manage this group (Group Membership Admin or higher)";
    } else if (status == 429) {
      detail = "rate limited by Okta (HTTP 429: " + detail + ")";
    } else if (status >= 500 || status == 408) {
      detail = "Okta answered HTTP " + std::to_string(status) + ": " + detail;
    }
    std::string message = redact(prefix(what) + detail);
    if (status == 429) return Outcome::transient_failure(std::move(message), okta_retry_after(response));
    if (status >= 500 || status == 408) return Outcome::transient_failure(std::move(message));
    return Outcome::permanent_failure(std::move(message));
  }

  // The cached access token, or a fresh one. One fetch at a time: callers
  // that arrive during a fetch wait for it and share its token.
  Outcome access_token(std::string& token, const std::string& what) {
    std::lock_guard lock(token_mutex_);
    if (!access_token_.empty() && SteadyClock::now() < token_refresh_at_) {
      token = access_token_;
      return Outcome::success();
    }
    access_token_.clear();
    const std::string context = what + ": cannot get an OAuth access token";
    const std::int64_t now = unix_now();
    const json claims = {{"iss", config_.client_id}, {"sub", config_.client_id}, {"aud", token_url_},
                         {"iat", now},               {"exp", now + 300},         {"jti", random_jti()}};
    auto assertion = sign_jwt_rs256(claims, config_.private_key_pem, config_.key_id);
    if (!assertion) return Outcome::permanent_failure(prefix(context) + assertion.error().message);
    std::string scope;
    for (const auto& s : config_.scopes) scope += (scope.empty() ? "" : " ") + s;
    const std::string body = "grant_type=client_credentials&scope=" + http::url_encode(scope) +
                             "&client_assertion_type=" + http::url_encode(kAssertionType) +
                             "&client_assertion=" + http::url_encode(*assertion);
    const SteadyClock::time_point sent = SteadyClock::now();
    auto response = outbound_->send("POST", "/oauth2/v1/token", body,
                                    {{"Content-Type", "application/x-www-form-urlencoded"},
                                     {"Accept", "application/json"}});
    if (!response) return Outcome::transient_failure(prefix(context) + response.error().message);
    if (response->status != 200) {
      if (response->status == 400 || response->status == 401) {
        return Outcome::permanent_failure(
            redact(prefix(context) + "Okta refused the client credentials (HTTP " + std::to_string(response->status) +
                   ": " + describe(*response) + "); check client_id, the public key registered for the app" +
                   (config_.key_id.empty() ? "" : " and key_id") + ", and that the scopes are granted"));
      }
      return failure(*response, context);
    }
    const json answer = json::parse(response->body, nullptr, false);
    std::string value = json_string(answer, "access_token");
    const std::string type = json_string(answer, "token_type");
    if (value.empty()) return Outcome::transient_failure(prefix(context) + "the token response has no access_token");
    if (!http::header_equals(type, "Bearer")) {
      return Outcome::permanent_failure(prefix(context) + "Okta issued a \"" + type +
                                        "\" token; turn off DPoP for the service app (Bearer tokens only)");
    }
    std::int64_t lifetime = 3600;
    if (answer.contains("expires_in") && answer["expires_in"].is_number_integer()) {
      lifetime = answer["expires_in"].get<std::int64_t>();
    }
    // Refresh a little early so a token never expires in flight; the
    // margin shrinks with very short lifetimes so the token is still used.
    const std::int64_t margin = std::min<std::int64_t>(60, lifetime / 4);
    token_refresh_at_ = sent + std::chrono::seconds(std::max<std::int64_t>(lifetime - margin, 0));
    access_token_ = std::move(value);
    token = access_token_;
    return Outcome::success();
  }

  // Forgets the token if it is still the one that was rejected (another
  // thread may have replaced it already).
  void drop_token(const std::string& rejected) {
    std::lock_guard lock(token_mutex_);
    if (access_token_ == rejected) access_token_.clear();
  }

  Reply call(const std::string& method, const std::string& target, const std::string& what) {
    for (int attempt = 0;; ++attempt) {
      std::string token;
      std::string authorization;
      if (oauth()) {
        Outcome got = access_token(token, what);
        if (!got.ok()) return {std::move(got), {}};
        authorization = "Bearer " + token;
      } else {
        authorization = "SSWS " + config_.token;
      }
      auto response = outbound_->send(method, target, {}, {{"Authorization", authorization}, {"Accept", "application/json"}});
      if (!response) return {Outcome::transient_failure(prefix(what) + response.error().message), {}};
      // An expired or revoked access token: fetch a new one and try once
      // more. A second 401 is the app's problem, not the token's age.
      if (response->status == 401 && oauth() && attempt == 0) {
        drop_token(token);
        continue;
      }
      return {Outcome::success(), std::move(*response)};
    }
  }

  Outcome resolve_group(const std::string& name, const std::string& what, bool fresh, std::string& id) {
    if (!fresh) {
      std::lock_guard lock(mutex_);
      if (auto it = group_ids_.find(name); it != group_ids_.end()) {
        id = it->second;
        return Outcome::success();
      }
    }
    std::string target = "/api/v1/groups?search=" + http::url_encode("profile.name eq " + filter_literal(name));
    for (int page = 0; page < kMaxPages; ++page) {
      Reply reply = call("GET", target, what);
      if (!reply.outcome.ok()) return reply.outcome;
      if (reply.response.status != 200) return failure(reply.response, what);
      const json groups = json::parse(reply.response.body, nullptr, false);
      if (!groups.is_array()) return Outcome::transient_failure(prefix(what) + "the group search answer is not a list");
      for (const auto& group : groups) {
        // The search is case-insensitive; the policy's name is exact.
        if (group.is_object() && group.contains("profile") && json_string(group["profile"], "name") == name) {
          id = json_string(group, "id");
          if (id.empty()) continue;
          std::lock_guard lock(mutex_);
          group_ids_[name] = id;
          return Outcome::success();
        }
      }
      auto next = next_link(reply.response);
      if (!next) break;
      target = relative(*next);
      if (target.empty()) break;
    }
    return Outcome::permanent_failure(prefix(what) + "no group named \"" + name + "\" in Okta");
  }

  Outcome resolve_user(const std::string& login, const std::string& what, bool fresh, std::string& id) {
    if (!fresh) {
      std::lock_guard lock(mutex_);
      if (auto it = user_ids_.find(login); it != user_ids_.end()) {
        id = it->second;
        return Outcome::success();
      }
    }
    Reply reply = call("GET", "/api/v1/users/" + http::url_encode(login), what);
    if (!reply.outcome.ok()) return reply.outcome;
    if (reply.response.status == 404) {
      return Outcome::permanent_failure(prefix(what) + "no user with login " + login + " in Okta (" +
                                        describe(reply.response) + ")");
    }
    if (reply.response.status != 200) return failure(reply.response, what);
    const json user = json::parse(reply.response.body, nullptr, false);
    id = json_string(user, "id");
    if (id.empty()) return Outcome::transient_failure(prefix(what) + "the user answer has no id");
    std::lock_guard lock(mutex_);
    user_ids_[login] = id;
    return Outcome::success();
  }

  void forget(const std::string& group, const std::string& user) {
    std::lock_guard lock(mutex_);
    group_ids_.erase(group);
    if (!user.empty()) user_ids_.erase(user);
  }

  std::string relative(const std::string& link) const {
    std::string target = path_and_query(link);
    if (!base_path_.empty() && target.starts_with(base_path_)) target = target.substr(base_path_.size());
    return target;
  }

  Outcome lookup_user(const std::string& email, const std::string& what, std::string& id) override {
    return resolve_user(email, what, false, id);
  }

  Outcome change(bool add, const std::string& group, const std::string& user, const std::string& what) override {
    std::string group_id;
    std::string user_id;
    Outcome found = resolve_group(group, what, false, group_id);
    if (!found.ok()) return found;
    found = resolve_user(user, what, false, user_id);
    if (!found.ok()) return found;
    for (int attempt = 0;; ++attempt) {
      const std::string target = "/api/v1/groups/" + http::url_encode(group_id) + "/users/" + http::url_encode(user_id);
      Reply reply = call(add ? "PUT" : "DELETE", target, what);
      if (!reply.outcome.ok()) return reply.outcome;
      const int status = reply.response.status;
      if (status >= 200 && status < 300) return Outcome::success();
      // Okta answers 204 for both no-ops; a server that reports them
      // instead still means the state is the one asked for.
      if (add && status == 409) return Outcome::success();
      if (status != 404 || attempt > 0) return failure(reply.response, what);
      // 404: a cached id went stale (group or user deleted and recreated),
      // or, on remove, the membership itself is absent. Look both up again.
      forget(group, user);
      std::string fresh_group;
      std::string fresh_user;
      found = resolve_group(group, what, true, fresh_group);
      if (!found.ok()) return found;
      found = resolve_user(user, what, true, fresh_user);
      if (!found.ok()) return found;
      if (fresh_group == group_id && fresh_user == user_id) {
        if (!add) return Outcome::success();
        return failure(reply.response, what);
      }
      group_id = std::move(fresh_group);
      user_id = std::move(fresh_user);
    }
  }

  Outcome list_members(const std::string& group, const std::string& what, std::vector<std::string>& out) override {
    std::string group_id;
    Outcome found = resolve_group(group, what, false, group_id);
    if (!found.ok()) return found;
    std::string target = "/api/v1/groups/" + http::url_encode(group_id) + "/users?limit=" + std::to_string(kPageLimit);
    bool retried = false;
    for (int page = 0; page < kMaxPages; ++page) {
      Reply reply = call("GET", target, what);
      if (!reply.outcome.ok()) return reply.outcome;
      if (reply.response.status == 404 && page == 0 && !retried) {
        // The cached id may be stale; look the group up once more.
        retried = true;
        forget(group, {});
        found = resolve_group(group, what, true, group_id);
        if (!found.ok()) return found;
        target = "/api/v1/groups/" + http::url_encode(group_id) + "/users?limit=" + std::to_string(kPageLimit);
        --page;
        continue;
      }
      if (reply.response.status != 200) return failure(reply.response, what);
      const json users = json::parse(reply.response.body, nullptr, false);
      if (!users.is_array()) return Outcome::transient_failure(prefix(what) + "the member list is not a list");
      for (const auto& user : users) {
        if (!user.is_object() || !user.contains("profile")) continue;
        std::string login = json_string(user["profile"], "login");
        if (login.empty()) login = json_string(user["profile"], "email");
        if (!login.empty()) out.push_back(std::move(login));
      }
      auto next = next_link(reply.response);
      if (!next) {
        std::sort(out.begin(), out.end());
        out.erase(std::unique(out.begin(), out.end()), out.end());
        return Outcome::success();
      }
      target = relative(*next);
      if (target.empty()) return Outcome::transient_failure(prefix(what) + "Okta sent an unusable next link");
    }
    return Outcome::transient_failure(prefix(what) + "more than " + std::to_string(kMaxPages) + " pages of members");
  }

  const OktaConfig config_;
  const std::shared_ptr<Outbound> outbound_;
  std::string token_url_;
  std::string base_path_;  // the configured URL's path, usually empty

  std::mutex mutex_;  // guards the two id caches
  std::map<std::string, std::string> group_ids_;
  std::map<std::string, std::string> user_ids_;

  std::mutex token_mutex_;  // guards the access token; held during a fetch
  std::string access_token_;
  SteadyClock::time_point token_refresh_at_{};
};

bool has_control_characters(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7F; });
}

}  // namespace

runtime::Result<std::shared_ptr<GroupProvider>> make_okta_provider(OktaConfig config) {
  using runtime::ErrorCode;
  using runtime::make_error;
  if (config.name.empty()) config.name = "okta";
  while (!config.url.empty() && config.url.back() == '/') config.url.pop_back();
  if (config.token.empty() && (config.client_id.empty() || config.private_key_pem.empty())) {
    return make_error(ErrorCode::invalid,
                      config.name + ": needs either an API token or an OAuth client_id and private key");
  }
  if (has_control_characters(config.token) || has_control_characters(config.client_id) ||
      has_control_characters(config.key_id)) {
    // A newline in a header value would split the request.
    return make_error(ErrorCode::invalid, config.name + ": the token, client_id or key_id contains a control character");
  }
  if (config.token.empty()) {
    if (config.scopes.empty()) return make_error(ErrorCode::invalid, config.name + ": OAuth needs at least one scope");
    // Fail at start-up, not on the first grant, when the key is unusable.
    auto probe = sign_jwt_rs256({{"probe", true}}, config.private_key_pem, config.key_id);
    if (!probe) return make_error(ErrorCode::invalid, config.name + ": " + probe.error().message);
  }
  auto outbound = Outbound::make({config.url, config.timeout, config.max_concurrency});
  if (!outbound) return make_error(ErrorCode::invalid, config.name + ": " + outbound.error().message);
  return std::shared_ptr<GroupProvider>(std::make_shared<OktaProvider>(std::move(config), std::move(*outbound)));
}

}  // namespace portcullis::connectors
