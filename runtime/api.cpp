#include "runtime/api.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <sstream>

#include "dsl/ast.hpp"
#include "dsl/diagnostic_formats.hpp"
#include "interpreter/approval_card.hpp"
#include "runtime/audit_export.hpp"
#include "runtime/codec.hpp"
#include "runtime/logging.hpp"

namespace portcullis::runtime {

namespace ip = interpreter;

namespace {

http::Response json_response(int status, const Json& body) {
  http::Response response;
  response.status = status;
  // Messages echo what the caller sent (an id, a query value, a JSON
  // parser's "last read"); bytes that are not UTF-8 become U+FFFD instead
  // of making dump() throw and the answer a 500.
  response.body = body.dump(-1, ' ', false, Json::error_handler_t::replace);
  response.body += '\n';
  return response;
}

http::Response error_response(int status, std::string_view code, const std::string& message,
                              const std::string& field = {}) {
  Json error = {{"code", code}, {"message", message}};
  if (!field.empty()) error["field"] = field;
  return json_response(status, {{"error", error}});
}

http::Response from_error(const Error& error) {
  switch (error.code) {
    case ErrorCode::not_found: return error_response(404, "not_found", error.message);
    case ErrorCode::invalid: return error_response(400, "invalid", error.message);
    case ErrorCode::conflict: return error_response(409, "conflict", error.message);
    case ErrorCode::closed: return error_response(503, "unavailable", "the daemon is shutting down");
    case ErrorCode::io: return error_response(503, "unavailable", "the store is unavailable: " + error.message);
    case ErrorCode::corrupt: return error_response(500, "corrupt", error.message);
  }
  return error_response(500, "internal", error.message);
}

Json request_view(const ip::RequestState& state) {
  Json view = codec::encode_state(state);
  view["requester"] = state.request.requester;
  view["app"] = state.request.app;
  view["role"] = state.request.role;
  view["outcome"] = codec::outcome_key(state.plan.outcome);
  view["created"] = iso8601_utc(state.created_at);
  if (state.expires_at) view["expires"] = iso8601_utc(*state.expires_at);
  return view;
}

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (start <= path.size()) {
    const std::size_t end = path.find('/', start);
    const std::string_view part = path.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    if (!part.empty()) parts.emplace_back(part);
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return parts;
}

// A JSON object body with only the allowed fields.
Result<Json> parse_body(const std::string& body, std::initializer_list<std::string_view> allowed) {
  if (body.empty()) return Json::object();
  auto json = codec::parse(body);
  if (!json) return make_error(ErrorCode::invalid, "body: " + json.error().message);
  if (!json->is_object()) return make_error(ErrorCode::invalid, "body: expected a JSON object");
  for (const auto& [key, value] : json->items()) {
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      std::string list;
      for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      return make_error(ErrorCode::invalid, "body." + key + ": unknown field (" +
                                                (list.empty() ? "this call takes no fields" : "expected: " + list) + ")");
    }
  }
  return json;
}

// An optional string field; invalid when present with another type.
Result<std::optional<std::string>> string_field(const Json& body, const std::string& name, bool required = false) {
  if (!body.contains(name)) {
    if (required) return make_error(ErrorCode::invalid, "body." + name + ": required");
    return std::optional<std::string>{};
  }
  if (!body[name].is_string()) return make_error(ErrorCode::invalid, "body." + name + ": expected a string");
  return std::optional<std::string>{body[name].get<std::string>()};
}

http::Response invalid(const Error& error) {
  // "body.reason: required" -> field "reason"
  std::string field;
  if (error.message.rfind("body.", 0) == 0) field = error.message.substr(5, error.message.find(':') - 5);
  return error_response(400, "invalid", error.message, field);
}

std::optional<std::int64_t> parse_int(std::string_view text) {
  std::int64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
  return value;
}

// The `limit` query parameter: 1 to 1000; `limit` is left as it is when
// the parameter is absent. An error response when malformed.
std::optional<http::Response> parse_limit(const std::optional<std::string>& text, std::size_t& limit) {
  if (!text) return std::nullopt;
  auto n = parse_int(*text);
  if (!n || *n < 1 || *n > 1000) return error_response(400, "invalid", "limit: expected 1 to 1000", "limit");
  limit = static_cast<std::size_t>(*n);
  return std::nullopt;
}

bool may_read(const ip::RequestState& state, const Principal& who, const ip::Policy& policy,
              const ip::Directory* directory) {
  if (who.admin || state.request.requester == who.name) return true;
  for (const auto& step : state.plan.steps) {
    if (std::find(step.eligible.begin(), step.eligible.end(), who.name) != step.eligible.end()) return true;
    if (std::find(step.escalate_to.begin(), step.escalate_to.end(), who.name) != step.escalate_to.end()) return true;
  }
  const auto administrators = ip::request_administrators(policy, state.request, directory);
  return std::find(administrators.begin(), administrators.end(), who.name) != administrators.end();
}

bool may_decide_now(const ip::RequestState& state, const std::string& who) {
  // Triage is a step of the plan too (the `unknown` bucket's route).
  const bool deciding = state.status == ip::Status::awaiting_approval || state.status == ip::Status::awaiting_triage;
  if (!deciding || state.step >= state.plan.steps.size()) return false;
  if (who == state.request.requester) return false;
  const auto& step = state.plan.steps[state.step];
  // After an escalation the original approvers may still decide.
  const bool escalated = state.step < state.escalated.size() && state.escalated[state.step];
  const auto holds = [&](const std::vector<std::string>& people) {
    return std::find(people.begin(), people.end(), who) != people.end();
  };
  return holds(step.eligible) || (escalated && holds(step.escalate_to));
}

}  // namespace

struct Api::Call {
  const http::Request& request;
  const Principal* principal = nullptr;
  std::vector<std::string> parts;
  std::vector<std::pair<std::string, std::string>> query;

  std::optional<std::string> param(std::string_view name) const {
    for (const auto& [key, value] : query) {
      if (key == name) return value;
    }
    return std::nullopt;
  }
};

Api::Api(Engine& engine, Principals principals, ApiOptions options)
    : engine_(engine), principals_(std::move(principals)), options_(std::move(options)) {}

http::Response Api::handle(const http::Request& request) {
  ++counters_.http_requests;
  const auto started = std::chrono::steady_clock::now();
  Call call{request, nullptr, split_path(request.path()), http::parse_query(request.query())};
  http::Response response;
  if (request.method == "GET" && call.parts.size() == 1 && call.parts[0] == "healthz") {
    response = json_response(200, {{"status", "ok"}});
  } else if (!call.parts.empty() && call.parts[0] == "webhooks") {
    response = options_.webhooks ? options_.webhooks(request)
                                 : error_response(404, "not_found", "no webhooks are configured");
  } else {
    const std::string* authorization = request.header("Authorization");
    std::string token;
    if (authorization && authorization->size() > 7 && http::header_equals(authorization->substr(0, 7), "Bearer ")) {
      token = authorization->substr(7);
    }
    call.principal = principals_.authenticate(token);
    if (!call.principal) {
      response = error_response(401, "unauthorized",
                                authorization ? "the bearer token is not known" : "an Authorization: Bearer token is required");
      response.headers.push_back({"WWW-Authenticate", "Bearer"});
    } else {
      response = route(call);
    }
  }
  if (response.status >= 500) ++counters_.http_errors;
  const auto ms = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started);
  log_event(response.status >= 500 ? LogLevel::warn : LogLevel::debug, "http",
            {{"method", request.method},
             {"path", std::string(request.path())},
             {"status", std::to_string(response.status)},
             {"principal", call.principal ? call.principal->name : ""},
             {"us", std::to_string(ms.count())}});
  return response;
}

http::Response Api::route(Call& call) {
  const auto& method = call.request.method;
  const auto& parts = call.parts;
  const Principal& me = *call.principal;
  auto is = [&](std::string_view m, std::initializer_list<std::string_view> path) {
    if (method != m || parts.size() != path.size()) return false;
    std::size_t i = 0;
    for (auto p : path) {
      if (p != "*" && parts[i] != p) return false;
      ++i;
    }
    return true;
  };

  if (is("GET", {"v1", "whoami"})) return json_response(200, {{"name", me.name}, {"admin", me.admin}});

  if (is("GET", {"metrics"})) {
    if (!me.admin) return error_response(403, "forbidden", "metrics are for admin principals");
    http::Response response;
    response.content_type = "text/plain; version=0.0.4";
    std::ostringstream out;
    auto stats = engine_.store().stats();
    if (!stats) return from_error(stats.error());
    out << "# HELP portcullis_requests Requests by state.\n# TYPE portcullis_requests gauge\n";
    for (int i = 0; i <= static_cast<int>(ip::Status::failed); ++i) {
      const auto status = static_cast<ip::Status>(i);
      std::int64_t count = 0;
      for (const auto& [s, n] : stats->requests_by_status) {
        if (s == status) count = n;
      }
      out << "portcullis_requests{state=\"" << ip::status_name(status) << "\"} " << count << "\n";
    }
    out << "# HELP portcullis_outbox_pending Effects waiting to run (the executor's queue depth).\n"
           "# TYPE portcullis_outbox_pending gauge\nportcullis_outbox_pending "
        << stats->outbox_pending << "\n";
    out << "# HELP portcullis_outbox_dead Effects given up after the retry budget.\n"
           "# TYPE portcullis_outbox_dead gauge\nportcullis_outbox_dead "
        << stats->outbox_dead << "\n";
    if (stats->next_expiry) {
      out << "# HELP portcullis_next_expiry_seconds Seconds until the next grant expires.\n"
             "# TYPE portcullis_next_expiry_seconds gauge\nportcullis_next_expiry_seconds "
          << (*stats->next_expiry - engine_.clock().now()) << "\n";
    }
    const ExecutorStats executor = engine_.executor_stats();
    out << "# HELP portcullis_effects_total Effects run to success.\n# TYPE portcullis_effects_total counter\n";
    for (std::size_t k = 0; k < kEffectKinds.size(); ++k) {
      out << "portcullis_effects_total{kind=\"" << kEffectKinds[k] << "\"} " << executor.kinds[k].succeeded << "\n";
    }
    out << "# HELP portcullis_effect_retries_total Transient effect failures scheduled for retry.\n"
           "# TYPE portcullis_effect_retries_total counter\n";
    for (std::size_t k = 0; k < kEffectKinds.size(); ++k) {
      out << "portcullis_effect_retries_total{kind=\"" << kEffectKinds[k] << "\"} " << executor.kinds[k].retried
          << "\n";
    }
    out << "# HELP portcullis_effect_gave_up_total Effects given up (permanent failure or retry budget spent).\n"
           "# TYPE portcullis_effect_gave_up_total counter\n";
    for (std::size_t k = 0; k < kEffectKinds.size(); ++k) {
      out << "portcullis_effect_gave_up_total{kind=\"" << kEffectKinds[k] << "\"} " << executor.kinds[k].gave_up
          << "\n";
    }
    out << "# HELP portcullis_effect_duration_seconds Time one connector call took.\n"
           "# TYPE portcullis_effect_duration_seconds histogram\n";
    for (std::size_t k = 0; k < kEffectKinds.size(); ++k) {
      const auto& kind = executor.kinds[k];
      std::uint64_t cumulative = 0;
      for (std::size_t b = 0; b < kLatencyBuckets.size(); ++b) {
        cumulative += kind.latency_buckets[b];
        out << "portcullis_effect_duration_seconds_bucket{kind=\"" << kEffectKinds[k] << "\",le=\""
            << kLatencyBuckets[b] << "\"} " << cumulative << "\n";
      }
      cumulative += kind.latency_buckets.back();
      out << "portcullis_effect_duration_seconds_bucket{kind=\"" << kEffectKinds[k] << "\",le=\"+Inf\"} "
          << cumulative << "\n";
      out << "portcullis_effect_duration_seconds_sum{kind=\"" << kEffectKinds[k] << "\"} " << kind.latency_sum_seconds
          << "\n";
      out << "portcullis_effect_duration_seconds_count{kind=\"" << kEffectKinds[k] << "\"} " << cumulative << "\n";
    }
    out << "# HELP portcullis_effects_in_flight Effects being run now.\n# TYPE portcullis_effects_in_flight gauge\n"
        << "portcullis_effects_in_flight " << executor.in_flight << "\n";
    out << "# HELP portcullis_http_requests_total HTTP requests answered.\n"
           "# TYPE portcullis_http_requests_total counter\nportcullis_http_requests_total "
        << counters_.http_requests.load() << "\n";
    out << "# HELP portcullis_policy_reloads_total Policy reloads, by result.\n"
           "# TYPE portcullis_policy_reloads_total counter\n"
        << "portcullis_policy_reloads_total{result=\"ok\"} " << counters_.policy_reloads.load() << "\n"
        << "portcullis_policy_reloads_total{result=\"refused\"} " << counters_.policy_reload_failures.load() << "\n";
    response.body = out.str();
    return response;
  }

  if (is("POST", {"v1", "requests"})) {
    auto body = parse_body(call.request.body,
                           {"requester", "app", "role", "duration", "permanent", "reason", "ticket"});
    if (!body) return invalid(body.error());
    ip::AccessRequest request;
    auto requester = string_field(*body, "requester");
    auto app = string_field(*body, "app", true);
    auto role = string_field(*body, "role", true);
    auto duration = string_field(*body, "duration");
    auto reason = string_field(*body, "reason");
    auto ticket = string_field(*body, "ticket");
    for (const auto* field : {&requester, &app, &role, &duration, &reason, &ticket}) {
      if (!*field) return invalid(field->error());
    }
    if (requester->has_value() && **requester != me.name) {
      return error_response(403, "forbidden",
                            me.name + " cannot ask for access on behalf of " + **requester +
                                ": a principal acts only as itself",
                            "requester");
    }
    request.requester = me.name;
    request.app = **app;
    request.role = **role;
    if (request.app.empty()) return error_response(400, "invalid", "body.app: must not be empty", "app");
    if (request.role.empty()) return error_response(400, "invalid", "body.role: must not be empty", "role");
    if (duration->has_value()) {
      auto seconds = dsl::ast::parse_duration(**duration);
      if (!seconds || *seconds <= 0) {
        return error_response(400, "invalid",
                              "body.duration: \"" + **duration + "\" is not a duration like \"30m\", \"8h\" or \"7d\"",
                              "duration");
      }
      request.duration = *seconds;
    }
    if (body->contains("permanent")) {
      if (!(*body)["permanent"].is_boolean()) {
        return error_response(400, "invalid", "body.permanent: expected true or false", "permanent");
      }
      request.permanent = (*body)["permanent"].get<bool>();
      if (request.permanent && request.duration) {
        return error_response(400, "invalid", "body.permanent: cannot ask for a duration and permanent access",
                              "permanent");
      }
    }
    if (reason->has_value()) request.justification = **reason;
    if (ticket->has_value()) request.ticket = **ticket;
    std::optional<std::string> key;
    if (const std::string* k = call.request.header("Idempotency-Key")) {
      if (k->empty() || k->size() > 200) {
        return error_response(400, "invalid", "Idempotency-Key: expected 1 to 200 characters", "Idempotency-Key");
      }
      // Keys are per principal: two people cannot collide on (or probe) each other's keys.
      key = me.name + "\n" + *k;
    }
    const ip::AccessRequest asked = request;
    auto result = engine_.submit(std::move(request), std::move(key));
    if (!result) return from_error(result.error());
    Json out = {{"request", request_view(result->state)}};
    if (result->duplicate) {
      const ip::AccessRequest& first = result->state.request;
      if (first.app != asked.app || first.role != asked.role || first.duration != asked.duration ||
          first.permanent != asked.permanent || first.justification != asked.justification ||
          first.ticket != asked.ticket) {
        return error_response(422, "idempotency_key_reused",
                              "Idempotency-Key was used for a different request (" + result->state.id +
                                  "); use a new key for a new request",
                              "Idempotency-Key");
      }
      out["duplicate"] = true;
      return json_response(200, out);
    }
    http::Response response = json_response(201, out);
    response.headers.push_back({"Location", "/v1/requests/" + result->state.id});
    return response;
  }

  if (is("GET", {"v1", "approvals"})) {
    // Everything waiting for the caller's decision: approval steps they are
    // eligible for (or escalated to), and requests outside the catalog they
    // may triage. Oldest first, at most `limit`; no cursor (a person's
    // queue is short, and it moves as they decide).
    std::size_t limit = 100;
    if (auto bad = parse_limit(call.param("limit"), limit)) return *bad;
    std::vector<ip::RequestState> waiting;
    for (const ip::Status status : {ip::Status::awaiting_approval, ip::Status::awaiting_triage}) {
      RequestFilter filter;
      filter.status = status;
      filter.limit = 1000;
      for (;;) {
        auto page = engine_.store().list(filter);
        if (!page) return from_error(page.error());
        for (auto& state : page->requests) {
          if (may_decide_now(state, me.name)) waiting.push_back(std::move(state));
        }
        if (!page->next) break;
        filter.after = page->next;
      }
    }
    std::sort(waiting.begin(), waiting.end(),
              [](const ip::RequestState& a, const ip::RequestState& b) { return a.id < b.id; });
    if (waiting.size() > limit) waiting.resize(limit);
    Json list = Json::array();
    for (const auto& state : waiting) list.push_back(request_view(state));
    return json_response(200, {{"requests", list}, {"next", nullptr}});
  }

  if (is("GET", {"v1", "requests"})) {
    RequestFilter filter;
    if (auto status = call.param("status")) {
      filter.status = ip::status_from_name(*status);
      if (!filter.status) return error_response(400, "invalid", "status: unknown state \"" + *status + "\"", "status");
    }
    if (auto requester = call.param("requester")) filter.requester = *requester;
    if (auto app = call.param("app")) filter.app = *app;
    if (auto after = call.param("after")) filter.after = *after;
    if (auto bad = parse_limit(call.param("limit"), filter.limit)) return *bad;
    if (!me.admin) {
      if (filter.requester && *filter.requester != me.name) {
        return error_response(403, "forbidden", "only admin principals list other people's requests", "requester");
      }
      filter.requester = me.name;
    }
    auto page = engine_.store().list(filter);
    if (!page) return from_error(page.error());
    Json list = Json::array();
    for (const auto& state : page->requests) list.push_back(request_view(state));
    Json out = {{"requests", list}, {"next", page->next ? Json(*page->next) : Json(nullptr)}};
    return json_response(200, out);
  }

  if (is("GET", {"v1", "requests", "*"})) {
    const std::string& id = parts[2];
    Result<ip::RequestState> state = engine_.get(id);
    if (!state) return from_error(state.error());
    const auto policy = engine_.policy();
    const auto directory = engine_.directory();
    if (!may_read(*state, me, *policy, directory.get())) {
      return error_response(404, "not_found", "no request " + id);  // do not confirm it exists
    }
    if (auto wait = call.param("wait_for")) {
      std::set<ip::Status> statuses;
      std::string_view rest = *wait;
      while (!rest.empty()) {
        const auto comma = rest.find(',');
        const std::string name(rest.substr(0, comma));
        auto status = ip::status_from_name(name);
        if (!status) return error_response(400, "invalid", "wait_for: unknown state \"" + name + "\"", "wait_for");
        statuses.insert(*status);
        rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
      }
      std::chrono::milliseconds timeout = std::chrono::milliseconds(10'000);
      if (auto t = call.param("timeout_ms")) {
        auto n = parse_int(*t);
        if (!n || *n < 0) return error_response(400, "invalid", "timeout_ms: expected a number of milliseconds", "timeout_ms");
        timeout = std::min(std::chrono::milliseconds(*n), options_.max_wait);
      }
      state = engine_.wait_for(id, statuses, timeout);
      if (!state) return from_error(state.error());
    }
    Json out = {{"request", request_view(*state)}};
    const auto card = ip::make_card(state->request, state->plan, directory.get());
    out["card"] = ip::card_to_json(card);
    out["card_text"] = ip::render_card_text(card);
    out["reasons"] = ip::reasons_to_json(state->plan);
    if (call.param("wait_for")) return json_response(200, out);  // the long-poll answer stays small
    auto audit = engine_.store().audit_of(id);
    if (!audit) return from_error(audit.error());
    Json evidence = Json::array();
    for (const auto& entry : *audit) {
      evidence.push_back({{"seq", entry.seq},
                          {"at", entry.at},
                          {"time", iso8601_utc(entry.at)},
                          {"kind", entry.kind},
                          {"actor", entry.actor},
                          {"text", entry.text},
                          {"hash", entry.hash}});
    }
    out["evidence"] = evidence;
    auto events = engine_.store().events_of(id);
    if (!events) return from_error(events.error());
    out["events"] = *events;
    return json_response(200, out);
  }

  if (method == "POST" && parts.size() == 4 && parts[0] == "v1" && parts[1] == "requests") {
    const std::string& id = parts[2];
    const std::string& action = parts[3];
    {
      // Someone who may not even read the request learns nothing from
      // acting on it (not whether it exists), and leaves no trace in it.
      auto state = engine_.get(id);
      if (!state) return from_error(state.error());
      const auto directory = engine_.directory();
      if (!may_read(*state, me, *engine_.policy(), directory.get())) {
        return error_response(404, "not_found", "no request " + id);
      }
    }
    Result<CommandResult> result = make_error(ErrorCode::invalid, "");
    if (action == "approve" || action == "cancel" || action == "confirm") {
      auto body = parse_body(call.request.body, {});
      if (!body) return invalid(body.error());
      if (action == "approve") result = engine_.act(id, ip::ApproveEvent{me.name});
      else if (action == "cancel") result = engine_.act(id, ip::CancelEvent{me.name});
      else result = engine_.act(id, ip::FulfilmentEvent{me.name});
    } else if (action == "deny" || action == "revoke") {
      auto body = parse_body(call.request.body, {"reason"});
      if (!body) return invalid(body.error());
      auto reason = string_field(*body, "reason", true);
      if (!reason) return invalid(reason.error());
      if ((**reason).empty()) return error_response(400, "invalid", "body.reason: must not be empty", "reason");
      if (action == "deny") result = engine_.act(id, ip::DenyEvent{me.name, **reason});
      else result = engine_.act(id, ip::RevokeEvent{me.name, **reason});
    } else if (action == "renew") {
      auto body = parse_body(call.request.body, {"duration"});
      if (!body) return invalid(body.error());
      auto duration = string_field(*body, "duration");
      if (!duration) return invalid(duration.error());
      ip::RenewEvent renew{me.name, std::nullopt};
      if (duration->has_value()) {
        auto seconds = dsl::ast::parse_duration(**duration);
        if (!seconds || *seconds <= 0) {
          return error_response(400, "invalid", "body.duration: \"" + **duration + "\" is not a duration", "duration");
        }
        renew.duration = *seconds;
      }
      result = engine_.act(id, renew);
    } else if (action == "triage") {
      auto body = parse_body(call.request.body, {"app", "role", "deny"});
      if (!body) return invalid(body.error());
      auto deny = string_field(*body, "deny");
      if (!deny) return invalid(deny.error());
      if (deny->has_value()) {
        if ((**deny).empty()) return error_response(400, "invalid", "body.deny: the reason must not be empty", "deny");
        if (body->contains("app") || body->contains("role")) {
          return error_response(400, "invalid", "body: give either app and role, or deny", "deny");
        }
        result = engine_.act(id, ip::DenyEvent{me.name, **deny});
      } else {
        auto app = string_field(*body, "app", true);
        if (!app) return invalid(app.error());
        auto role = string_field(*body, "role", true);
        if (!role) return invalid(role.error());
        result = engine_.triage(id, me.name, **app, **role);
      }
    } else {
      return error_response(404, "not_found",
                            "no action \"" + action + "\" (approve, deny, cancel, revoke, renew, confirm, triage)");
    }
    if (!result) return from_error(result.error());
    Json out = {{"request", request_view(result->state)}};
    if (result->refusal) {
      out["error"] = {{"code", "refused"}, {"message", *result->refusal}};
      return json_response(409, out);
    }
    return json_response(200, out);
  }

  if (is("GET", {"v1", "grants"})) {
    GrantFilter filter;
    if (auto requester = call.param("requester")) filter.requester = *requester;
    if (!me.admin) {
      if (filter.requester && *filter.requester != me.name) {
        return error_response(403, "forbidden", "only admin principals list other people's grants", "requester");
      }
      filter.requester = me.name;
    }
    if (auto after = call.param("after")) filter.after = *after;
    if (auto bad = parse_limit(call.param("limit"), filter.limit)) return *bad;
    auto page = engine_.store().active_grants(filter);
    if (!page) {
      if (page.error().code == ErrorCode::invalid) return error_response(400, "invalid", page.error().message, "after");
      return from_error(page.error());
    }
    Json list = Json::array();
    for (const auto& grant : page->grants) {
      Json g = {{"request_id", grant.request_id}, {"requester", grant.requester}, {"app", grant.app},
                {"role", grant.role}};
      if (grant.expires_at) {
        g["expires_at"] = *grant.expires_at;
        g["expires"] = iso8601_utc(*grant.expires_at);
      } else {
        g["expires_at"] = nullptr;
      }
      list.push_back(std::move(g));
    }
    return json_response(200, {{"grants", list}, {"next", page->next ? Json(*page->next) : Json(nullptr)}});
  }

  if (is("GET", {"v1", "catalog"})) {
    const auto policy = engine_.policy();
    Json apps = Json::array();
    for (const auto& [name, app] : policy->apps()) {
      Json roles = Json::array();
      for (const auto& role : app.roles) {
        Json r = {{"name", role.name}, {"bucket", role.settings.bucket}};
        if (role.description) r["description"] = *role.description;
        if (role.manual) r["manual"] = true;
        if (role.settings.duration.default_duration) {
          r["default_duration"] = dsl::ast::format_duration(*role.settings.duration.default_duration);
        }
        if (role.settings.duration.maximum) {
          r["max_duration"] = dsl::ast::format_duration(*role.settings.duration.maximum);
        }
        r["permanent_allowed"] = role.settings.duration.permanent_allowed && !role.settings.expiry_required;
        r["requires_justification"] = role.settings.require_justification;
        r["requires_ticket"] = role.settings.require_ticket;
        roles.push_back(std::move(r));
      }
      apps.push_back({{"name", name}, {"title", app.title}, {"roles", roles}});
    }
    return json_response(200, {{"apps", apps}});
  }

  if (is("POST", {"v1", "policy", "reload"})) {
    if (!me.admin) return error_response(403, "forbidden", "only admin principals reload the policy");
    std::lock_guard lock(reload_mutex_);
    auto compiled = ip::load_policy(options_.policy_path, dsl::read_file_from_disk);
    compiled.diagnostics.sort_and_dedupe();
    if (!compiled.policy) {
      ++counters_.policy_reload_failures;
      Json out = {{"error",
                   {{"code", "policy_invalid"},
                    {"message", options_.policy_path + " has " + std::to_string(compiled.diagnostics.error_count()) +
                                    " error(s); the previous policy keeps serving"}}},
                  {"diagnostics", dsl::diagnostics_to_json({options_.policy_path}, compiled.diagnostics)}};
      log_event(LogLevel::warn, "policy reload refused", {{"path", options_.policy_path}});
      return json_response(422, out);
    }
    const std::size_t apps = compiled.policy->apps().size();
    if (auto replaced = engine_.replace_policy(compiled.policy); !replaced) {
      ++counters_.policy_reload_failures;
      return error_response(422, "policy_invalid", replaced.error().message + "; the previous policy keeps serving");
    }
    ++counters_.policy_reloads;
    log_event(LogLevel::info, "policy reloaded", {{"path", options_.policy_path}, {"apps", std::to_string(apps)}});
    return json_response(200, {{"policy", {{"path", options_.policy_path}, {"apps", apps}}}});
  }

  if (is("GET", {"v1", "audit", "head"})) {
    if (!me.admin) return error_response(403, "forbidden", "only admin principals read the audit head");
    auto head = engine_.store().audit_head();
    if (!head) return from_error(head.error());
    return json_response(200, {{"seq", head->seq}, {"hash", head->hash},
                               {"head", std::to_string(head->seq) + ":" + head->hash}});
  }

  // A known path asked with another method: say which methods it takes.
  struct Known {
    std::vector<std::string_view> path;
    std::string_view allow;
  };
  static const std::vector<Known> known = {
      {{"metrics"}, "GET"},           {{"v1", "whoami"}, "GET"},        {{"v1", "requests"}, "GET, POST"},
      {{"v1", "approvals"}, "GET"},   {{"v1", "requests", "*"}, "GET"}, {{"v1", "requests", "*", "*"}, "POST"},
      {{"v1", "grants"}, "GET"},      {{"v1", "catalog"}, "GET"},       {{"v1", "policy", "reload"}, "POST"},
      {{"v1", "audit", "head"}, "GET"}};
  for (const auto& k : known) {
    if (k.path.size() != parts.size()) continue;
    bool match = true;
    for (std::size_t i = 0; i < parts.size(); ++i) match = match && (k.path[i] == "*" || k.path[i] == parts[i]);
    if (!match) continue;
    http::Response response = error_response(405, "method_not_allowed",
                                             method + " is not allowed on " + std::string(call.request.path()) +
                                                 " (allowed: " + std::string(k.allow) + ")");
    response.headers.push_back({"Allow", std::string(k.allow)});
    return response;
  }
  return error_response(404, "not_found", method + " " + std::string(call.request.path()) + " is not an endpoint");
}

}  // namespace portcullis::runtime
