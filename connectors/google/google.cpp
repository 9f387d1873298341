#include "connectors/google/google.hpp"

#include <algorithm>
#include <cctype>
#include <mutex>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "connectors/auth/crypto.hpp"
#include "connectors/http/outbound.hpp"

namespace portcullis::connectors {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr std::string_view kDefaultTokenUrl = "https://oauth2.googleapis.com/token";
constexpr std::string_view kMemberScope = "https://www.googleapis.com/auth/admin.directory.group.member";
constexpr std::string_view kGroupReadScope = "https://www.googleapis.com/auth/admin.directory.group.readonly";
constexpr std::string_view kUserReadScope = "https://www.googleapis.com/auth/admin.directory.user.readonly";
constexpr std::string_view kJwtBearer = "urn:ietf:params:oauth:grant-type:jwt-bearer";
constexpr std::string_view kGroups = "/admin/directory/v1/groups/";
constexpr std::int64_t kAssertionLifetime = 3600;  // the most Google accepts
constexpr std::size_t kMaxPages = 10'000;          // 2 million members; bounded by construction
constexpr std::size_t kMaxDetail = 400;

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string in_quotes(std::string_view s) { return "\"" + std::string(s) + "\""; }

std::string shorten(std::string s) {
  if (const auto eol = s.find_first_of("\r\n"); eol != std::string::npos) s.resize(eol);
  if (s.size() > kMaxDetail) s = s.substr(0, kMaxDetail) + "...";
  return s;
}

std::string string_field(const json& j, const char* key) {
  if (!j.is_object()) return {};
  const auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

json parse_json(const std::string& body) { return json::parse(body, nullptr, false); }

// The ids the Directory API gives groups: "03cqmetx3bj1dk9".
bool is_group_id(std::string_view s) {
  if (s.size() != 15 || s.front() != '0') return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c)) != 0 || (c >= 'a' && c <= 'z');
  });
}

struct GoogleError {
  std::string message;
  std::string reason;  // errors[0].reason: notFound, duplicate, rateLimitExceeded, ...
};

GoogleError google_error(const http::Response& response) {
  GoogleError e;
  const json body = parse_json(response.body);
  if (!body.is_object()) return e;
  const auto error = body.find("error");
  if (error == body.end() || !error->is_object()) return e;
  e.message = string_field(*error, "message");
  const auto errors = error->find("errors");
  if (errors != error->end() && errors->is_array() && !errors->empty()) {
    e.reason = string_field((*errors)[0], "reason");
    if (e.message.empty()) e.message = string_field((*errors)[0], "message");
  }
  if (e.reason.empty()) e.reason = string_field(*error, "status");  // RESOURCE_EXHAUSTED, ...
  return e;
}

std::string describe(const http::Response& response) {
  const GoogleError e = google_error(response);
  std::string out = "Directory API answered " + std::to_string(response.status);
  if (!e.reason.empty()) out += " " + e.reason;
  if (!e.message.empty()) out += ": " + shorten(e.message);
  return out;
}

bool is_rate_limit(const GoogleError& e) {
  return e.reason == "rateLimitExceeded" || e.reason == "userRateLimitExceeded" || e.reason == "quotaExceeded" ||
         e.reason == "RESOURCE_EXHAUSTED";
}

struct ServiceAccount {
  std::string client_email;
  std::string client_id;  // shown in the delegation hint; not secret
  std::string private_key;
  std::string private_key_id;
  std::string token_uri;
};

// A scope set and the token Google issued for it.
struct TokenSlot {
  explicit TokenSlot(std::string s) : scope(std::move(s)) {}
  const std::string scope;  // space-separated
  std::mutex mutex;         // held while a token is fetched
  std::string token;
  Clock::time_point refresh_at;
};

class GoogleProvider final : public GroupProvider {
 public:
  GoogleProvider(GoogleConfig config, ServiceAccount account, std::string token_url, std::string token_path,
                 std::shared_ptr<Outbound> api, std::shared_ptr<Outbound> oauth)
      : config_(std::move(config)),
        account_(std::move(account)),
        token_url_(std::move(token_url)),
        token_path_(std::move(token_path)),
        api_(std::move(api)),
        oauth_(std::move(oauth)) {}

  Outcome add_member(const std::string& group, const std::string& user, const std::string&) override {
    const std::string what = config_.name + ": add " + in_quotes(user) + " to group " + in_quotes(group);
    const std::string key = group_key(group);
    const std::string body = json{{"email", user}, {"role", "MEMBER"}}.dump();
    Outcome failure;
    auto response = call(groups_token_, "POST", std::string(kGroups) + http::url_encode(key) + "/members", body,
                         what, failure);
    if (!response) return failure;
    if (response->status == 200 || response->status == 201) return Outcome::success();
    const GoogleError e = google_error(*response);
    if (response->status == 409 &&
        (e.reason == "duplicate" || e.message.find("already exists") != std::string::npos)) {
      return Outcome::success();  // already a member
    }
    if (response->status == 404) {
      if (e.message.find("groupKey") != std::string::npos) return no_group(what, key, *response);
      if (e.message.find("memberKey") != std::string::npos) {
        return Outcome::permanent_failure(what + ": no user " + in_quotes(user) + " in the directory (" +
                                          describe(*response) + ")");
      }
      return Outcome::permanent_failure(what + ": " + describe(*response));
    }
    return classify(*response, what, kMemberScope);
  }

  Outcome remove_member(const std::string& group, const std::string& user, const std::string&) override {
    const std::string what = config_.name + ": remove " + in_quotes(user) + " from group " + in_quotes(group);
    const std::string key = group_key(group);
    Outcome failure;
    auto response = call(groups_token_, "DELETE",
                         std::string(kGroups) + http::url_encode(key) + "/members/" + http::url_encode(user), {},
                         what, failure);
    if (!response) return failure;
    if (response->status == 204 || response->status == 200) return Outcome::success();
    if (response->status == 404) {
      if (google_error(*response).message.find("groupKey") != std::string::npos) return no_group(what, key, *response);
      // "Resource Not Found: memberKey": not a member, the state a removal
      // wants, provided the group itself exists. Asking costs one call on
      // this rare path and never mistakes a missing group for success.
      return confirm_group(key, what);
    }
    return classify(*response, what, kMemberScope);
  }

  std::vector<std::string> members(const std::string& group, Outcome& outcome) override {
    const std::string what = config_.name + ": list the members of group " + in_quotes(group);
    const std::string key = group_key(group);
    const std::string first = std::string(kGroups) + http::url_encode(key) + "/members?maxResults=200";
    outcome = Outcome::success();
    std::vector<std::string> out;
    std::string target = first;
    for (std::size_t page = 0;; ++page) {
      if (page == kMaxPages) {
        outcome = Outcome::permanent_failure(what + ": more than " + std::to_string(kMaxPages) + " pages");
        return {};
      }
      Outcome failure;
      auto response = call(groups_token_, "GET", target, {}, what, failure);
      if (!response) {
        outcome = failure;
        return {};
      }
      if (response->status == 404) {
        outcome = no_group(what, key, *response);
        return {};
      }
      if (response->status != 200) {
        outcome = classify(*response, what, kMemberScope);
        return {};
      }
      const json body = parse_json(response->body);
      if (!body.is_object()) {
        outcome = Outcome::transient_failure(what + ": the Directory API answered 200 without JSON");
        return {};
      }
      // An empty group has no "members" at all.
      if (const auto list = body.find("members"); list != body.end() && list->is_array()) {
        for (const auto& member : *list) {
          std::string email = string_field(member, "email");  // a CUSTOMER member (the whole domain) has none
          if (!email.empty()) out.push_back(lower(std::move(email)));
        }
      }
      const std::string next = string_field(body, "nextPageToken");
      if (next.empty()) break;
      target = first + "&pageToken=" + http::url_encode(next);
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
  }

  std::string find_user(const std::string& email, Outcome& outcome) override {
    const std::string what = config_.name + ": find user " + in_quotes(email);
    Outcome failure;
    auto response = call(users_token_, "GET", "/admin/directory/v1/users/" + http::url_encode(email), {}, what,
                         failure);
    if (!response) {
      outcome = failure;
      return {};
    }
    if (response->status == 404) {
      outcome = Outcome::permanent_failure(what + ": no user " + in_quotes(email) + " in the directory (" +
                                           describe(*response) + ")");
      return {};
    }
    if (response->status != 200) {
      outcome = classify(*response, what, kUserReadScope);
      return {};
    }
    std::string id = string_field(parse_json(response->body), "id");
    if (id.empty()) {
      outcome = Outcome::transient_failure(what + ": the Directory API answered a user without an id");
      return {};
    }
    outcome = Outcome::success();
    return id;
  }

 private:
  std::string group_key(const std::string& group) const {
    if (group.find('@') != std::string::npos || is_group_id(group)) return group;
    return group + "@" + config_.domain;
  }

  Outcome token(TokenSlot& slot, std::string& out) {
    std::lock_guard lock(slot.mutex);
    if (!slot.token.empty() && Clock::now() < slot.refresh_at) {
      out = slot.token;
      return Outcome::success();
    }
    slot.token.clear();
    const auto now =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    const json claims{{"iss", account_.client_email}, {"sub", config_.admin_email}, {"scope", slot.scope},
                      {"aud", token_url_},            {"iat", now},                 {"exp", now + kAssertionLifetime}};
    auto assertion = sign_jwt_rs256(claims, account_.private_key, account_.private_key_id);
    const std::string what = "token request for " + in_quotes(account_.client_email) + " acting as " +
                             in_quotes(config_.admin_email);
    if (!assertion) return Outcome::permanent_failure(what + ": " + assertion.error().message);
    const std::string form =
        "grant_type=" + http::url_encode(kJwtBearer) + "&assertion=" + http::url_encode(*assertion);
    auto response = oauth_->send("POST", token_path_, form,
                                 {{"Content-Type", "application/x-www-form-urlencoded"}, {"Accept", "application/json"}});
    if (!response) return Outcome::transient_failure(what + " failed: " + response.error().message);
    const json body = parse_json(response->body);
    if (response->status != 200) {
      std::string detail = "Google's token endpoint answered " + std::to_string(response->status);
      const std::string error = string_field(body, "error");
      if (!error.empty()) detail += " " + error;
      if (const std::string description = string_field(body, "error_description"); !description.empty()) {
        detail += ": " + shorten(description);
      }
      if (response->status == 429 || response->status >= 500) {
        return Outcome::transient_failure(what + ": " + detail, retry_after_seconds(*response));
      }
      if (error == "unauthorized_client") {
        detail += "; in the Admin console (Security > API controls > Domain-wide delegation) authorize client ID " +
                  (account_.client_id.empty() ? std::string("of the service account") : account_.client_id) +
                  " for the scopes " + slot.scope;
      }
      return Outcome::permanent_failure(what + ": " + detail);
    }
    const std::string access_token = string_field(body, "access_token");
    if (access_token.empty()) return Outcome::transient_failure(what + ": the answer carried no access_token");
    std::int64_t expires_in = 3599;
    if (const auto e = body.find("expires_in"); e != body.end() && e->is_number_integer()) {
      expires_in = e->get<std::int64_t>();
    }
    // Renew a little early so a call never starts with a token that expires
    // on the way.
    const std::int64_t margin = std::min<std::int64_t>(300, expires_in / 2);
    slot.token = access_token;
    slot.refresh_at = Clock::now() + std::chrono::seconds(expires_in - margin);
    out = slot.token;
    return Outcome::success();
  }

  void drop_token(TokenSlot& slot, const std::string& used) {
    std::lock_guard lock(slot.mutex);
    if (slot.token == used) slot.token.clear();  // another thread may have renewed it already
  }

  // One API call with the slot's token; a 401 drops the token and retries
  // once. nullopt (with `failure`) when no response came or no token could
  // be had; else the response, whatever its status.
  std::optional<http::Response> call(TokenSlot& slot, const std::string& method, const std::string& target,
                                     const std::string& body, const std::string& what, Outcome& failure) {
    for (int attempt = 0;; ++attempt) {
      std::string bearer;
      if (Outcome o = token(slot, bearer); !o.ok()) {
        failure = Outcome{o.kind, what + ": " + o.message, o.retry_after};
        return std::nullopt;
      }
      auto response = api_->send(method, target, body,
                                 {{"Authorization", "Bearer " + bearer}, {"Accept", "application/json"}});
      if (!response) {
        failure = Outcome::transient_failure(what + ": " + response.error().message);
        return std::nullopt;
      }
      if (response->status == 401 && attempt == 0) {
        drop_token(slot, bearer);
        continue;
      }
      return std::move(*response);
    }
  }

  Outcome classify(const http::Response& response, const std::string& what, std::string_view scope) {
    const std::string detail = what + ": " + describe(response);
    const int status = response.status;
    const GoogleError e = google_error(response);
    // No Retry-After: retry_after stays empty and the executor's backoff
    // applies, as Google asks (exponential backoff).
    if (status == 429 || (status == 403 && is_rate_limit(e))) {
      return Outcome::transient_failure(detail, retry_after_seconds(response));
    }
    if (status >= 500 || status == 408) return Outcome::transient_failure(detail, retry_after_seconds(response));
    if (status == 401) return Outcome::permanent_failure(detail + "; Google refused a freshly issued token");
    if (status == 403) {
      return Outcome::permanent_failure(
          detail + "; authorize the service account's client ID" +
          (account_.client_id.empty() ? std::string() : " " + account_.client_id) +
          " for domain-wide delegation with the scope " + std::string(scope) + ", and make sure " +
          in_quotes(config_.admin_email) + " is an administrator who may manage groups");
    }
    return Outcome::permanent_failure(detail);
  }

  Outcome no_group(const std::string& what, const std::string& key, const http::Response& response) {
    return Outcome::permanent_failure(what + ": no group " + in_quotes(key) + " in the directory (" +
                                      describe(response) + ")");
  }

  // Success when the group exists, permanent when it does not.
  Outcome confirm_group(const std::string& key, const std::string& what) {
    Outcome failure;
    auto response =
        call(groups_token_, "GET", std::string(kGroups) + http::url_encode(key) + "?fields=id", {}, what, failure);
    if (!response) return failure;
    if (response->status == 200) return Outcome::success();
    if (response->status == 404) return no_group(what, key, *response);
    return classify(*response, what, kGroupReadScope);
  }

  GoogleConfig config_;
  ServiceAccount account_;
  std::string token_url_;   // the JWT's audience
  std::string token_path_;  // its path, sent to oauth_
  std::shared_ptr<Outbound> api_;
  std::shared_ptr<Outbound> oauth_;
  TokenSlot groups_token_{std::string(kMemberScope) + " " + std::string(kGroupReadScope)};
  TokenSlot users_token_{std::string(kUserReadScope)};
};

}  // namespace

runtime::Result<std::shared_ptr<GroupProvider>> make_google_provider(GoogleConfig config) {
  auto invalid = [&](const std::string& why) {
    return runtime::make_error(runtime::ErrorCode::invalid, "google provider " + in_quotes(config.name) + ": " + why);
  };
  if (config.domain.empty()) return invalid("the setting domain is empty");
  if (config.admin_email.empty()) return invalid("the setting admin_email is empty");
  if (config.customer.empty()) config.customer = "my_customer";

  // Parse errors are reported without nlohmann's text, which quotes the
  // input (the key) around the error.
  const json key = parse_json(config.service_account_json);
  if (!key.is_object()) return invalid("the service account key file is not a JSON object");
  ServiceAccount account;
  account.client_email = string_field(key, "client_email");
  account.client_id = string_field(key, "client_id");
  account.private_key = string_field(key, "private_key");
  account.private_key_id = string_field(key, "private_key_id");
  account.token_uri = string_field(key, "token_uri");
  if (const std::string type = string_field(key, "type"); !type.empty() && type != "service_account") {
    return invalid("the key file is of type " + in_quotes(type) + ", not a service account key");
  }
  if (account.client_email.empty()) return invalid("the service account key file has no client_email");
  if (account.private_key.empty()) return invalid("the service account key file has no private_key");
  if (auto probe = sign_jwt_rs256(json{{"probe", 1}}, account.private_key); !probe) {
    return invalid("the private_key in the service account key file is not a usable RSA private key");
  }

  std::string token_url = !config.token_url.empty()   ? config.token_url
                          : !account.token_uri.empty() ? account.token_uri
                                                       : std::string(kDefaultTokenUrl);
  // "https://oauth2.googleapis.com/token" -> host part and path.
  const auto scheme = token_url.find("://");
  const auto slash = scheme == std::string::npos ? std::string::npos : token_url.find('/', scheme + 3);
  const std::string token_base = slash == std::string::npos ? token_url : token_url.substr(0, slash);
  const std::string token_path = slash == std::string::npos ? "/" : token_url.substr(slash);

  while (!config.api_url.empty() && config.api_url.back() == '/') config.api_url.pop_back();
  auto api = Outbound::make({config.api_url, config.timeout, config.max_concurrency});
  if (!api) return invalid("api_url: " + api.error().message);
  auto oauth = Outbound::make({token_base, config.timeout, config.max_concurrency});
  if (!oauth) return invalid("token URL: " + oauth.error().message);
  return std::shared_ptr<GroupProvider>(std::make_shared<GoogleProvider>(
      std::move(config), std::move(account), std::move(token_url), token_path, std::move(*api), std::move(*oauth)));
}

}  // namespace portcullis::connectors
