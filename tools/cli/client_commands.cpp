// The client verbs: talk to a running daemon over its HTTP API as the
// person the token names.
//   portcullis request APP ROLE [--duration D | --permanent] [--reason T] [--ticket K] [--wait]
//   portcullis approve|cancel|confirm ID
//   portcullis deny|revoke ID --reason TEXT
//   portcullis renew ID [--duration D]
//   portcullis triage ID (--to APP.ROLE | --deny REASON)
//   portcullis status [ID] [--status S] [--app A] [--approvals]
// The daemon decides everything; these only format its answers. Every
// verb takes --url, --token-file and --json (daemon_client.hpp).

#include <algorithm>
#include <chrono>
#include <ctime>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "dsl/ast.hpp"
#include "interpreter/request_state.hpp"
#include "runtime/http/message.hpp"
#include "tools/cli/commands.hpp"
#include "tools/cli/daemon_client.hpp"

namespace portcullis::cli {
namespace {

using nlohmann::json;
namespace ip = interpreter;

// ---- reading the daemon's JSON defensively ------------------------------------
// The daemon is a separate program (possibly another version): a missing
// or mistyped field prints as empty rather than throwing.

std::string text_of(const json& object, const char* key) {
  if (!object.is_object()) return {};
  const auto it = object.find(key);
  if (it == object.end()) return {};
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number_integer()) return std::to_string(it->get<std::int64_t>());
  if (it->is_boolean()) return it->get<bool>() ? "true" : "false";
  return {};
}

const json& member(const json& object, const char* key) {
  static const json kNull;
  if (!object.is_object()) return kNull;
  const auto it = object.find(key);
  return it == object.end() ? kNull : *it;
}

std::int64_t integer_of(const json& object, const char* key, std::int64_t fallback = 0) {
  const json& value = member(object, key);
  return value.is_number_integer() ? value.get<std::int64_t>() : fallback;
}

std::string iso_time(std::int64_t seconds) {
  const auto t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

std::string access_of(const json& view) { return text_of(view, "app") + "." + text_of(view, "role"); }

std::string join(const json& strings, std::string_view separator = ", ") {
  std::string out;
  if (!strings.is_array()) return out;
  for (const auto& s : strings) {
    if (!s.is_string()) continue;
    if (!out.empty()) out += separator;
    out += s.get<std::string>();
  }
  return out;
}

std::string status_of(const json& view) { return text_of(view, "status"); }

bool is_closed_status(const std::string& status) {
  const auto parsed = ip::status_from_name(status);
  return parsed && ip::is_closed(*parsed);
}

// ---- shared shapes of output ---------------------------------------------------

// "step 1 of 2, the requester's manager (bob.stone@acme.com); 0 of 1 approvals"
// for a request awaiting approval; other waiting states in words; empty
// when nobody is needed.
std::string waiting_for(const json& view) {
  const std::string status = status_of(view);
  const std::string id = text_of(view, "id");
  if (status == "awaiting_triage") return "IT to map it to a catalog role (portcullis triage " + id + ")";
  if (status == "awaiting_fulfilment") {
    return "someone to set the access up by hand, then `portcullis confirm " + id + "`";
  }
  if (status != "awaiting_approval") return {};
  const json& steps = member(member(view, "plan"), "steps");
  const auto index = static_cast<std::size_t>(integer_of(view, "step"));
  if (!steps.is_array() || index >= steps.size()) return "approval";
  const json& step = steps[index];
  const json& escalated = member(view, "escalated");
  const bool is_escalated = escalated.is_array() && index < escalated.size() && escalated[index].is_boolean() &&
                            escalated[index].get<bool>();
  const std::string who = text_of(step, is_escalated ? "escalate_who" : "who");
  const std::string people = join(member(step, is_escalated ? "escalate_to" : "eligible"));
  const json& approvals = member(view, "approvals");
  const std::size_t given = approvals.is_array() && index < approvals.size() && approvals[index].is_array()
                                ? approvals[index].size()
                                : 0;
  std::ostringstream out;
  out << "step " << index + 1 << " of " << steps.size() << ", " << who;
  // `who` often names the people already ("the requester's manager (bob@...)").
  if (!people.empty() && who.find(people) == std::string::npos) out << " (" << people << ")";
  if (is_escalated) out << " [escalated]";
  out << "; " << given << " of " << integer_of(step, "quorum", 1) << " approval(s)";
  return out.str();
}

void print_summary(const json& view, std::ostream& out) {
  out << "request " << text_of(view, "id") << ": " << status_of(view) << "\n";
  if (const std::string waiting = waiting_for(view); !waiting.empty()) out << "waiting for: " << waiting << "\n";
  if (const std::string expires = text_of(view, "expires"); !expires.empty()) out << "expires: " << expires << "\n";
  if (is_closed_status(status_of(view))) {
    const std::string by = text_of(view, "closed_by");
    const std::string reason = text_of(view, "closing_reason");
    if (!by.empty() || !reason.empty()) {
      out << "closed" << (by.empty() ? "" : " by " + by) << (reason.empty() ? "" : ": " + reason) << "\n";
    }
  }
}

// Pads each column to its widest cell; the last column is not padded.
void print_table(const std::vector<std::vector<std::string>>& rows, std::ostream& out) {
  std::vector<std::size_t> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()), 0);
    for (std::size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - row[i].size() + 2, ' ');
    }
    out << line << "\n";
  }
}

// ---- plumbing every verb shares ----------------------------------------------

// A client for the resolved connection, or nullptr after reporting why
// there is none (exit_code set).
std::unique_ptr<DaemonClient> open_client(std::string_view command, const ConnectionOptions& options, int& exit_code) {
  auto connection = resolve_connection(options);
  if (!connection) {
    exit_code = report_call_error(command, connection.error(), std::cerr);
    return nullptr;
  }
  return std::make_unique<DaemonClient>(std::move(*connection));
}

// Calls the daemon; a successful (2xx) answer comes back, anything else is
// reported and leaves exit_code set. With --json a failed answer's body is
// still printed: scripts read the refusal's details from it.
std::optional<Reply> call_or_report(std::string_view command, DaemonClient& client, const ConnectionOptions& options,
                                    const std::string& method, const std::string& target, int& exit_code,
                                    const json& body = {}, const std::vector<runtime::http::Header>& headers = {}) {
  auto reply = client.call(method, target, body, headers);
  if (!reply) {
    exit_code = report_call_error(command, reply.error(), std::cerr);
    return std::nullopt;
  }
  if (reply->status < 200 || reply->status > 299) {
    if (options.json) std::cout << reply->body.dump(2) << "\n";
    exit_code = report_failed_reply(command, *reply, std::cerr);
    // A refused event still tells where the request stands.
    if (reply->status == 409 && member(reply->body, "request").is_object()) {
      const json& view = reply->body["request"];
      if (!options.json) std::cout << "request " << text_of(view, "id") << " is " << status_of(view) << "\n";
    }
    return std::nullopt;
  }
  return std::move(*reply);
}

std::string request_path(const std::string& id) { return "/v1/requests/" + runtime::http::url_encode(id); }

// ---- request -------------------------------------------------------------------

struct RequestOptions {
  ConnectionOptions connection;
  std::string app;
  std::string role;
  std::string duration;
  bool permanent = false;
  std::string reason;
  std::string ticket;
  std::string idempotency_key;
  bool wait = false;
  std::string wait_timeout;  // empty: wait until the request settles
};

// How long one long poll asks the daemon to hold the call; the daemon
// caps it (30 s by default), and the HTTP time-out must exceed it.
constexpr std::chrono::milliseconds kPollTimeout{25'000};
constexpr std::chrono::milliseconds kPollHttpTimeout{40'000};

// Long-polls until the request is active, awaiting fulfilment or closed,
// or until `limit`. Returns the last answer, or nullopt after reporting.
std::optional<Reply> wait_until_settled(DaemonClient& client, const RequestOptions& options, const std::string& id,
                                        std::optional<std::chrono::seconds> limit, int& exit_code) {
  client.set_timeout(kPollHttpTimeout);
  const auto deadline = limit ? std::chrono::steady_clock::now() + *limit : std::chrono::steady_clock::time_point::max();
  std::string last_status;
  while (true) {
    auto poll = kPollTimeout;
    if (limit) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      poll = std::clamp(left, std::chrono::milliseconds(0), kPollTimeout);
    }
    auto reply = call_or_report("request", client, options.connection, "GET",
                                request_path(id) + "?wait_for=active,awaiting_fulfilment&timeout_ms=" +
                                    std::to_string(poll.count()),
                                exit_code);
    if (!reply) return std::nullopt;
    const json& view = member(reply->body, "request");
    const std::string status = status_of(view);
    if (status == "active" || status == "awaiting_fulfilment" || is_closed_status(status)) return reply;
    if (status != last_status && !options.connection.json) {
      // Progress goes to stderr so that stdout stays the final answer.
      std::cerr << "waiting: request " << id << " is " << status;
      if (const std::string waiting = waiting_for(view); !waiting.empty()) std::cerr << " (" << waiting << ")";
      std::cerr << "\n";
      last_status = status;
    }
    if (limit && std::chrono::steady_clock::now() >= deadline) return reply;
  }
}

int run_request(const RequestOptions& options) {
  int exit_code = kExitOk;
  std::optional<std::chrono::seconds> wait_limit;
  if (!options.wait_timeout.empty()) {
    const auto seconds = dsl::ast::parse_duration(options.wait_timeout);
    if (!seconds || *seconds <= 0) {
      std::cerr << "portcullis request: --wait-timeout " << options.wait_timeout
                << ": expected a duration such as 90s, 10m or 1h\n";
      return kExitUsage;
    }
    wait_limit = std::chrono::seconds(*seconds);
  }
  auto client = open_client("request", options.connection, exit_code);
  if (!client) return exit_code;

  // Only the fields given go out: the daemon applies the role's defaults
  // (duration, permanence) to what is absent.
  json body = {{"app", options.app}, {"role", options.role}};
  if (!options.duration.empty()) body["duration"] = options.duration;
  if (options.permanent) body["permanent"] = true;
  if (!options.reason.empty()) body["reason"] = options.reason;
  if (!options.ticket.empty()) body["ticket"] = options.ticket;
  std::vector<runtime::http::Header> headers;
  if (!options.idempotency_key.empty()) headers.push_back({"Idempotency-Key", options.idempotency_key});

  auto created = call_or_report("request", *client, options.connection, "POST", "/v1/requests", exit_code, body, headers);
  if (!created) return exit_code;
  const json& created_view = member(created->body, "request");
  const std::string id = text_of(created_view, "id");
  const bool duplicate = member(created->body, "duplicate").is_boolean() && created->body["duplicate"].get<bool>();

  // The creation answer has no approval card; the request's own page has.
  auto details = call_or_report("request", *client, options.connection, "GET", request_path(id), exit_code);
  if (!details) {
    if (!options.connection.json) print_summary(created_view, std::cout);
    return exit_code;
  }
  if (!options.connection.json) {
    if (duplicate) std::cout << "(already submitted with this idempotency key)\n";
    print_summary(member(details->body, "request"), std::cout);
    const std::string card = text_of(details->body, "card_text");
    std::cout << "\n" << card;
    if (!card.empty() && card.back() != '\n') std::cout << "\n";
  } else if (!options.wait) {
    // With --wait, --json prints the final answer only.
    std::cout << details->body.dump(2) << "\n";
  }
  if (!options.wait) return kExitOk;

  auto settled = wait_until_settled(*client, options, id, wait_limit, exit_code);
  if (!settled) return exit_code;
  const json& view = member(settled->body, "request");
  const std::string status = status_of(view);
  if (options.connection.json) {
    std::cout << settled->body.dump(2) << "\n";
  } else {
    std::cout << "\n";
    print_summary(view, std::cout);
  }
  if (status == "active" || status == "awaiting_fulfilment") return kExitOk;
  if (is_closed_status(status)) {
    std::cerr << "portcullis request: request " << id << " ended " << status << "\n";
  } else {
    std::cerr << "portcullis request: request " << id << " is still " << status << " after " << options.wait_timeout
              << "\n";
  }
  return kExitFindings;
}

// ---- the actions on one request --------------------------------------------------

struct ActionOptions {
  ConnectionOptions connection;
  std::string id;
  std::string reason;    // deny, revoke
  std::string duration;  // renew
  std::string to;        // triage: APP.ROLE
  std::string deny;      // triage: the reason to deny
};

int run_action(const std::string& action, const ActionOptions& options) {
  int exit_code = kExitOk;
  json body = json::object();
  if (action == "deny" || action == "revoke") body["reason"] = options.reason;
  if (action == "renew" && !options.duration.empty()) body["duration"] = options.duration;
  if (action == "triage") {
    if (!options.deny.empty()) {
      body["deny"] = options.deny;
    } else {
      const auto dot = options.to.find('.');
      if (dot == std::string::npos || dot == 0 || dot + 1 == options.to.size()) {
        std::cerr << "portcullis triage: --to " << options.to << ": expected APP.ROLE\n";
        return kExitUsage;
      }
      body["app"] = options.to.substr(0, dot);
      body["role"] = options.to.substr(dot + 1);
    }
  }
  auto client = open_client(action, options.connection, exit_code);
  if (!client) return exit_code;
  // An empty object is still sent (not an empty body): the API reads both,
  // and an explicit object is what the documentation shows.
  auto reply = call_or_report(action, *client, options.connection, "POST", request_path(options.id) + "/" + action,
                              exit_code, body);
  if (!reply) return exit_code;
  if (options.connection.json) {
    std::cout << reply->body.dump(2) << "\n";
  } else {
    print_summary(member(reply->body, "request"), std::cout);
  }
  return kExitOk;
}

// ---- status -----------------------------------------------------------------------

struct StatusOptions {
  ConnectionOptions connection;
  std::string id;
  std::string status;
  std::string app;
  bool approvals = false;
  int limit = 50;
};

void print_request_details(const json& answer, std::ostream& out) {
  const json& view = member(answer, "request");
  const json& request = member(view, "request");
  const json& plan = member(view, "plan");
  const std::string status = status_of(view);

  std::vector<std::vector<std::string>> facts;
  facts.push_back({"status:", status});
  facts.push_back({"requester:", text_of(view, "requester")});
  std::string access = access_of(view);
  if (const std::string title = text_of(plan, "app_title"); !title.empty()) access += " (" + title + ")";
  facts.push_back({"access:", access});
  facts.push_back({"outcome:", text_of(view, "outcome")});
  facts.push_back({"created:", text_of(view, "created")});
  std::string expires = text_of(view, "expires");
  if (expires.empty()) {
    expires = (status == "active" || status == "awaiting_fulfilment") ? "never (permanent)" : "-";
  }
  facts.push_back({"expires:", expires});
  if (const std::string reason = text_of(request, "justification"); !reason.empty()) facts.push_back({"reason:", reason});
  if (const std::string ticket = text_of(request, "ticket"); !ticket.empty()) facts.push_back({"ticket:", ticket});
  if (const std::string waiting = waiting_for(view); !waiting.empty()) facts.push_back({"waiting for:", waiting});
  if (is_closed_status(status)) {
    std::string closed = text_of(view, "closed_by");
    if (const std::string reason = text_of(view, "closing_reason"); !reason.empty()) {
      closed += (closed.empty() ? "" : ": ") + reason;
    }
    if (!closed.empty()) facts.push_back({"closed by:", closed});
  }
  out << "request " << text_of(view, "id") << "\n";
  for (auto& row : facts) row.insert(row.begin(), "");
  print_table(facts, out);

  const json& steps = member(plan, "steps");
  const json& approvals = member(view, "approvals");
  out << "approval steps:\n";
  if (!steps.is_array() || steps.empty()) {
    out << "  none (" << text_of(view, "outcome") << ")\n";
  } else {
    const auto current = static_cast<std::size_t>(integer_of(view, "step"));
    for (std::size_t i = 0; i < steps.size(); ++i) {
      std::string done;
      if (approvals.is_array() && i < approvals.size() && approvals[i].is_array()) {
        for (const auto& approval : approvals[i]) {
          if (!done.empty()) done += ", ";
          done += text_of(approval, "by") + " at " + iso_time(integer_of(approval, "at"));
        }
      }
      std::string state;
      if (!done.empty()) state = "approved by " + done;
      if (status == "awaiting_approval" && i == current) state += (state.empty() ? "" : "; ") + std::string("waiting");
      if (state.empty()) state = i > current || status == "awaiting_approval" ? "not reached" : "-";
      const std::string who = text_of(steps[i], "who");
      const std::string people = join(member(steps[i], "eligible"));
      out << "  " << i + 1 << " of " << steps.size() << "  " << who;
      if (!people.empty() && who.find(people) == std::string::npos) out << " (" << people << ")";
      out << ": " << state << "\n";
    }
  }

  const json& memberships = member(view, "memberships");
  if (memberships.is_array() && !memberships.empty()) {
    out << "memberships:\n";
    for (const auto& m : memberships) {
      const json& group = member(m, "group");
      // Spelled as the policy writes it: sandbox.okta group "figma-editors".
      out << "  " << text_of(group, "provider") << " group \"" << text_of(group, "group") << "\": " << text_of(m, "state");
      if (const std::string detail = text_of(m, "detail"); !detail.empty()) out << " (" << detail << ")";
      out << "\n";
    }
  }

  const json& evidence = member(answer, "evidence");
  if (evidence.is_array() && !evidence.empty()) {
    out << "evidence:\n";
    std::vector<std::vector<std::string>> rows;
    for (const auto& entry : evidence) {
      rows.push_back({"", text_of(entry, "time"), "#" + text_of(entry, "seq"), text_of(entry, "kind"),
                      text_of(entry, "actor"), text_of(entry, "text")});
    }
    print_table(rows, out);
  }
}

// Follows the `next` cursor until `limit` rows or the last page.
std::optional<json> list_requests(DaemonClient& client, const StatusOptions& options, int& exit_code) {
  std::string query;
  const auto add = [&](const std::string& key, const std::string& value) {
    query += (query.empty() ? "?" : "&") + key + "=" + runtime::http::url_encode(value);
  };
  if (!options.status.empty()) add("status", options.status);
  if (!options.app.empty()) add("app", options.app);
  const std::string base = options.approvals ? "/v1/approvals" : "/v1/requests";
  json rows = json::array();
  json next = nullptr;
  std::string after;
  do {
    const std::size_t wanted = static_cast<std::size_t>(options.limit) - rows.size();
    std::string target = base + query + (query.empty() ? "?" : "&") + "limit=" + std::to_string(std::min<std::size_t>(wanted, 1000));
    if (!after.empty()) target += "&after=" + runtime::http::url_encode(after);
    auto reply = call_or_report("status", client, options.connection, "GET", target, exit_code);
    if (!reply) return std::nullopt;
    for (const auto& row : member(reply->body, "requests")) {
      if (rows.size() < static_cast<std::size_t>(options.limit)) rows.push_back(row);
    }
    next = member(reply->body, "next");
    after = next.is_string() ? next.get<std::string>() : std::string{};
  } while (!after.empty() && rows.size() < static_cast<std::size_t>(options.limit));
  return json{{"requests", rows}, {"next", next}};
}

int run_status(const StatusOptions& options) {
  int exit_code = kExitOk;
  if (!options.status.empty() && !ip::status_from_name(options.status)) {
    std::cerr << "portcullis status: --status " << options.status
              << ": not a state (awaiting_approval, active, denied, ...)\n";
    return kExitUsage;
  }
  auto client = open_client("status", options.connection, exit_code);
  if (!client) return exit_code;

  if (!options.id.empty()) {
    auto reply = call_or_report("status", *client, options.connection, "GET", request_path(options.id), exit_code);
    if (!reply) return exit_code;
    if (options.connection.json) {
      std::cout << reply->body.dump(2) << "\n";
    } else {
      print_request_details(reply->body, std::cout);
    }
    return kExitOk;
  }

  auto listed = list_requests(*client, options, exit_code);
  if (!listed) return exit_code;
  if (options.connection.json) {
    std::cout << listed->dump(2) << "\n";
    return kExitOk;
  }
  const json& requests = (*listed)["requests"];
  if (requests.empty()) {
    std::cout << (options.approvals ? "nothing awaits your decision\n" : "no requests\n");
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows;
  if (options.approvals) {
    rows.push_back({"ID", "REQUESTER", "ACCESS", "CREATED", "WAITING FOR"});
    for (const auto& view : requests) {
      rows.push_back({text_of(view, "id"), text_of(view, "requester"), access_of(view), text_of(view, "created"),
                      waiting_for(view)});
    }
  } else {
    rows.push_back({"ID", "STATUS", "ACCESS", "CREATED", "EXPIRES"});
    for (const auto& view : requests) {
      std::string expires = text_of(view, "expires");
      if (expires.empty()) expires = status_of(view) == "active" ? "never" : "-";
      rows.push_back({text_of(view, "id"), status_of(view), access_of(view), text_of(view, "created"), expires});
    }
  }
  print_table(rows, std::cout);
  if (member(*listed, "next").is_string()) {
    std::cout << "(more than " << options.limit << "; raise --limit to see them)\n";
  }
  return kExitOk;
}

// ---- registration -------------------------------------------------------------------

CLI::App* add_action(CLI::App& app, const std::string& action, const std::string& summary, const std::string& details,
                     int& exit_code, std::shared_ptr<ActionOptions> options) {
  auto* command = app.add_subcommand(action, summary);
  command->description(summary + ".\n" + details);
  command->add_option("ID", options->id, "The request id")->required();
  add_connection_options(*command, options->connection);
  command->callback([action, options, &exit_code] { exit_code = run_action(action, *options); });
  return command;
}

CLI::Validator not_empty(const std::string& what) {
  return CLI::Validator(
      [what](const std::string& value) { return value.empty() ? what + " must not be empty" : std::string(); }, "TEXT");
}

}  // namespace

void add_client_commands(CLI::App& app, int& exit_code) {
  // request
  auto request_options = std::make_shared<RequestOptions>();
  auto* request = app.add_subcommand("request", "Ask a running daemon for access to an app role");
  request->description(
      "Ask the daemon for APP ROLE as the token's principal. Prints the request id, its status, the approval card\n"
      "and who must approve. --wait then long-polls until the access is active (or awaiting manual fulfilment) or\n"
      "the request closes; with --wait, exit status 1 also means it was denied, failed or timed out.");
  request->add_option("APP", request_options->app, "The app, as in the catalog")->required();
  request->add_option("ROLE", request_options->role, "The role within the app")->required();
  auto* duration = request->add_option("--duration", request_options->duration, "How long, e.g. 8h, 7d");
  auto* permanent = request->add_flag("--permanent", request_options->permanent, "Ask for access that does not expire");
  duration->excludes(permanent);
  request->add_option("--reason", request_options->reason, "Why you need it (the approver reads this)");
  request->add_option("--ticket", request_options->ticket, "A ticket key, e.g. OPS-1234");
  request->add_option("--idempotency-key", request_options->idempotency_key,
                      "Retrying with the same key returns the first request instead of a new one");
  auto* wait = request->add_flag("--wait", request_options->wait, "Wait until the access is active or the request closes");
  request->add_option("--wait-timeout", request_options->wait_timeout, "Give up waiting after this long, e.g. 10m")
      ->needs(wait);
  add_connection_options(*request, request_options->connection);
  request->callback([request_options, &exit_code] { exit_code = run_request(*request_options); });

  // approve, deny, cancel, revoke, renew, confirm, triage
  add_action(app, "approve", "Approve a request awaiting your decision",
             "The daemon records the approval as the token's principal; it refuses (exit 1) when you may not decide.",
             exit_code, std::make_shared<ActionOptions>());
  {
    auto options = std::make_shared<ActionOptions>();
    auto* deny = add_action(app, "deny", "Deny a request awaiting your decision",
                            "The reason is recorded in the evidence and shown to the requester.", exit_code, options);
    deny->add_option("--reason", options->reason, "Why (recorded as evidence)")->required()->check(not_empty("--reason"));
  }
  add_action(app, "cancel", "Withdraw your own request before it is decided", "", exit_code,
             std::make_shared<ActionOptions>());
  {
    auto options = std::make_shared<ActionOptions>();
    auto* revoke = add_action(app, "revoke", "Take away access a request granted",
                              "The group memberships are removed; the reason is recorded in the evidence.", exit_code,
                              options);
    revoke->add_option("--reason", options->reason, "Why (recorded as evidence)")->required()->check(not_empty("--reason"));
  }
  {
    auto options = std::make_shared<ActionOptions>();
    auto* renew = add_action(app, "renew", "Ask to extend active access before it expires",
                             "The renewal goes through the same approval steps as the request did.", exit_code,
                             options);
    renew->add_option("--duration", options->duration, "How much longer, e.g. 8h (default: the role's duration)");
  }
  add_action(app, "confirm", "Confirm that a manual role has been set up by hand",
             "For requests awaiting fulfilment: the person who did the work confirms it.", exit_code,
             std::make_shared<ActionOptions>());
  {
    auto options = std::make_shared<ActionOptions>();
    auto* triage = add_action(app, "triage", "Map a request for something not in the catalog to a role, or deny it",
                              "Give exactly one of --to APP.ROLE and --deny REASON.", exit_code, options);
    // A group, so that "exactly one" counts only these two and not --url or --json.
    auto* decision = triage->add_option_group("decision", "Exactly one of");
    decision->add_option("--to", options->to, "The catalog role it means, APP.ROLE");
    decision->add_option("--deny", options->deny, "Deny it with this reason")->check(not_empty("--deny"));
    decision->require_option(1);
  }

  // status
  auto status_options = std::make_shared<StatusOptions>();
  auto* status = app.add_subcommand("status", "Show one request, list your requests, or list your pending decisions");
  status->description(
      "With ID: the request's status, requester, access, expiry, approval steps, group memberships and evidence\n"
      "timeline. Without: your requests (filter with --status and --app). With --approvals: the requests waiting\n"
      "for your decision.");
  auto* id = status->add_option("ID", status_options->id, "A request id");
  auto* state = status->add_option("--status", status_options->status, "Only requests in this state, e.g. active");
  auto* app_filter = status->add_option("--app", status_options->app, "Only requests for this app");
  auto* approvals = status->add_flag("--approvals", status_options->approvals, "List what awaits your decision");
  auto* limit = status->add_option("--limit", status_options->limit, "List at most this many (default 50)")
                    ->check(CLI::Range(1, 100'000));
  id->excludes(approvals);
  id->excludes(state);
  id->excludes(app_filter);
  id->excludes(limit);
  approvals->excludes(state);
  add_connection_options(*status, status_options->connection);
  status->callback([status_options, &exit_code] { exit_code = run_status(*status_options); });
}

}  // namespace portcullis::cli
