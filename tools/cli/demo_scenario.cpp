#include "tools/cli/demo_scenario.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <memory>

#include <nlohmann/json.hpp>

#include "runtime/http/client.hpp"

namespace portcullis::cli::demo {
namespace {

using Json = nlohmann::json;
namespace http = runtime::http;
using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::steady_clock;

// The cast, all from examples/acme/directory.json.
const std::string kAnn = "ann.lee@acme.com";                // full-time engineer
const std::string kCarl = "carl.diaz@acme.com";             // contractor, reports to Bob
const std::string kBob = "bob.stone@acme.com";              // engineering manager (eng-managers)
const std::string kPat = "pat.kim@acme.com";                // platform lead
const std::string kYuki = "yuki.tanaka@acme.com";           // security on call
const std::string kMark = "mark.jensen@acme.com";           // full-time marketer
const std::string kTom = "tom.nash@acme.com";               // IT support (it-ops: triage)
const std::string kOscar = "oscar.lindqvist@acme.com";      // accounts payable
const std::string kRachel = "rachel.cohen@acme.com";        // controller, owns NetSuite
const std::string kOwen = "owen.price@acme.com";            // head of IT: the admin principal

// aws_staging.admin allows any duration up to 7 days (`at_most 7d`), so the
// demo asks for a grant short enough to watch it expire.
const std::string kShortGrant = "20s";
constexpr seconds kShortGrantSeconds{20};

// Long-poll slices stay below the API's 30 s cap and the client's time-out.
constexpr milliseconds kPollSlice{20'000};
constexpr seconds kStepBudget{30};  // how long any one transition may take

// Statuses after which nothing moves (interpreter::is_closed).
bool is_final(const std::string& status) {
  return status == "expired" || status == "revoked" || status == "denied" || status == "cancelled" ||
         status == "failed";
}

std::string string_at(const Json& json, const std::string& key) {
  if (!json.is_object()) return {};
  auto it = json.find(key);
  if (it == json.end() || !it->is_string()) return {};
  return it->get<std::string>();
}

// The object under `key`, or an empty object: answers are read defensively,
// since a daemon under test may answer anything.
Json object_at(const Json& json, const std::string& key) {
  if (!json.is_object()) return Json::object();
  auto it = json.find(key);
  return it != json.end() && it->is_object() ? *it : Json::object();
}

std::string number_at(const Json& json, const std::string& key) {
  if (!json.is_object()) return "?";
  auto it = json.find(key);
  return it != json.end() && it->is_number() ? it->dump() : "?";
}

bool contains(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

std::string join(const std::vector<std::string>& items, const std::string& separator) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : separator) + item;
  return out;
}

// The answer to one API call.
struct Answer {
  int status = 0;  // 0: no HTTP answer at all (see transport_error)
  Json body;       // null when the body is not JSON
  std::string transport_error;

  const Json& view() const {
    static const Json none;
    return body.is_object() && body.contains("request") ? body["request"] : none;
  }
  std::string state() const { return string_at(view(), "status"); }
  std::string outcome() const { return string_at(view(), "outcome"); }
  std::string id() const { return string_at(view(), "id"); }
  // What to quote when the answer was not the one expected.
  std::string describe() const {
    if (status == 0) return "no answer: " + transport_error;
    std::string text = "HTTP " + std::to_string(status);
    if (body.is_object() && body.contains("error")) text += " " + string_at(body["error"], "message");
    else if (!state().empty()) text += ", status " + state();
    return text;
  }
};

// The current approval step of a request view, or null.
Json current_step(const Json& view) {
  const Json plan = object_at(view, "plan");
  if (!plan.contains("steps") || !plan["steps"].is_array() || !view.contains("step") ||
      !view["step"].is_number_unsigned()) {
    return Json::object();
  }
  const auto k = view["step"].get<std::size_t>();
  return k < plan["steps"].size() ? plan["steps"][k] : Json::object();
}

std::vector<std::string> eligible_of(const Json& step) {
  std::vector<std::string> people;
  if (!step.is_object() || !step.contains("eligible") || !step["eligible"].is_array()) return people;
  for (const auto& person : step["eligible"]) {
    if (person.is_string()) people.push_back(person.get<std::string>());
  }
  return people;
}

Json steps_of(const Json& view) {
  const Json plan = object_at(view, "plan");
  return plan.contains("steps") && plan["steps"].is_array() ? plan["steps"] : Json::array();
}

class Script {
 public:
  Script(const ScriptSettings& settings, std::ostream& out, ScriptReport& report)
      : settings_(settings), out_(out), report_(report) {}

  void run() {
    scenario("1. auto-approved viewer", [this] { return auto_approved_viewer(); });
    scenario("2. manager-approved editor", [this] { return manager_approved_editor(); });
    scenario("3. two-step privileged grant that expires", [this] { return privileged_with_expiry(); });
    scenario("4. unknown app through IT triage", [this] { return unknown_app_triaged(); });
    scenario("5. separation of duties", [this] { return separation_of_duties(); });
    scenario("6. self-approval attempt", [this] { return self_approval_refused(); });
  }

 private:
  // ---- scenarios ------------------------------------------------------------

  // Ann, a full-time engineer, asks for Figma viewer: routine, automatic.
  std::string auto_approved_viewer() {
    const Answer asked = submit(kAnn, "figma", "viewer", Json::object());
    if (!expect_code(asked, 201, "POST /v1/requests figma.viewer")) return asked.describe();
    const std::string id = remember(asked, kAnn + " figma.viewer");
    say(kAnn + " asks for figma.viewer: the policy says " + asked.outcome() + " (status " + asked.state() + ")");
    if (!expect(asked.outcome() == "auto_approved", "outcome auto_approved", "outcome " + asked.outcome())) {
      return asked.state();
    }
    const Answer done = wait_until(kAnn, id, {"active"}, kStepBudget);
    if (!expect_state(done, "active")) return done.state();
    say("status: active");
    show_groups(done, kAnn, true);
    return "active";
  }

  // Carl is a contractor: the same routine bucket sends Figma editor to
  // his manager, Bob, who approves it with his own token.
  std::string manager_approved_editor() {
    const Answer asked = submit(kCarl, "figma", "editor", Json::object());
    if (!expect_code(asked, 201, "POST /v1/requests figma.editor")) return asked.describe();
    const std::string id = remember(asked, kCarl + " figma.editor");
    say(kCarl + " (contractor) asks for figma.editor: status " + asked.state());
    if (!expect_state(asked, "awaiting_approval")) return asked.state();
    const Json step = current_step(asked.view());
    say("waiting for " + string_at(step, "who") + " (" + string_at(step, "why") + ")");
    if (!expect(contains(eligible_of(step), kBob), kBob + " eligible to approve",
                "eligible: " + join(eligible_of(step), ", "))) {
      return asked.state();
    }
    const Answer approved = act(kBob, id, "approve", Json::object());
    if (!expect_code(approved, 200, kBob + " approves")) return approved.describe();
    say(kBob + " (Carl's manager) approves: status " + approved.state());
    const Answer done = wait_until(kCarl, id, {"active"}, kStepBudget);
    if (!expect_state(done, "active")) return done.state();
    say("status: active");
    show_groups(done, kCarl, true);
    return "active";
  }

  // AWS staging admin is privileged: a platform lead, then security, and
  // the grant always ends. Ann asks for 20 seconds and the demo waits for
  // the expiry to take her out of the group again.
  std::string privileged_with_expiry() {
    const Answer asked = submit(kAnn, "aws_staging", "admin",
                                {{"duration", kShortGrant}, {"reason", "rebuild the staging VPC after the network change"}});
    if (!expect_code(asked, 201, "POST /v1/requests aws_staging.admin")) return asked.describe();
    const std::string id = remember(asked, kAnn + " aws_staging.admin");
    say(kAnn + " asks for aws_staging.admin for " + kShortGrant + ": status " + asked.state());
    if (!expect_state(asked, "awaiting_approval")) return asked.state();
    const Json steps = steps_of(asked.view());
    if (!expect(steps.size() == 2, "a route of 2 steps", std::to_string(steps.size()) + " step(s)")) {
      return asked.state();
    }
    say("route: step 1 " + string_at(steps[0], "who") + ", then step 2 " + string_at(steps[1], "who"));

    const Answer first = act(kPat, id, "approve", Json::object());
    if (!expect_code(first, 200, kPat + " approves step 1")) return first.describe();
    say(kPat + " (platform lead) approves step 1: status " + first.state());
    if (!expect_state(first, "awaiting_approval")) return first.state();

    const Answer second = act(kYuki, id, "approve", Json::object());
    if (!expect_code(second, 200, kYuki + " approves step 2")) return second.describe();
    say(kYuki + " (security on call) approves step 2: status " + second.state());
    const Answer active = wait_until(kAnn, id, {"active"}, kStepBudget);
    if (!expect_state(active, "active")) return active.state();
    say("status: active until " + string_at(active.view(), "expires"));
    show_groups(active, kAnn, true);

    // The grant's clock runs time_scale times faster than the wall clock.
    const auto grant_wall = seconds(static_cast<std::int64_t>(
        std::ceil(static_cast<double>(kShortGrantSeconds.count()) / settings_.time_scale)));
    say("waiting for the expiry (about " + std::to_string(grant_wall.count()) + " s)...");
    const Answer expired = wait_until(kAnn, id, {"expired"}, grant_wall + kStepBudget);
    if (!expect_state(expired, "expired")) return expired.state();
    say("status: expired");
    show_groups(expired, kAnn, false);
    return "expired";
  }

  // Canva is not in Acme's catalog: IT triage maps the request to Figma
  // editor (the design tool Acme licenses), and it carries on from there.
  std::string unknown_app_triaged() {
    const Answer asked = submit(kMark, "canva", "pro", {{"reason", "social media assets"}});
    if (!expect_code(asked, 201, "POST /v1/requests canva.pro")) return asked.describe();
    const std::string id = remember(asked, kMark + " canva.pro");
    say(kMark + " asks for canva.pro (not in the catalog): status " + asked.state());
    if (!expect_state(asked, "awaiting_triage")) return asked.state();
    const Answer triaged = act(kTom, id, "triage", {{"app", "figma"}, {"role", "editor"}});
    if (!expect_code(triaged, 200, kTom + " triages to figma.editor")) return triaged.describe();
    say(kTom + " (IT triage) maps it to figma.editor: status " + triaged.state());
    const Answer done = wait_until(kMark, id, {"active"}, kStepBudget);
    if (!expect_state(done, "active")) return done.state();
    say("status: active, as " + string_at(done.view(), "app") + "." + string_at(done.view(), "role"));
    show_groups(done, kMark, true);
    return "active";
  }

  // Oscar first gets NetSuite payment creator (controller, then security);
  // asking for payment approver as well is then refused by the "payments"
  // conflict: nobody may both create and approve payments.
  std::string separation_of_duties() {
    const Answer asked = submit(kOscar, "netsuite", "payment_creator", {{"reason", "joining the accounts payable rota"}});
    if (!expect_code(asked, 201, "POST /v1/requests netsuite.payment_creator")) return asked.describe();
    const std::string id = remember(asked, kOscar + " netsuite.payment_creator");
    say(kOscar + " asks for netsuite.payment_creator: status " + asked.state());
    if (!expect_state(asked, "awaiting_approval")) return asked.state();
    const Answer owner = act(kRachel, id, "approve", Json::object());
    if (!expect_code(owner, 200, kRachel + " approves step 1")) return owner.describe();
    say(kRachel + " (controller, NetSuite owner) approves step 1: status " + owner.state());
    const Answer security = act(kYuki, id, "approve", Json::object());
    if (!expect_code(security, 200, kYuki + " approves step 2")) return security.describe();
    say(kYuki + " (security on call) approves step 2: status " + security.state());
    const Answer held = wait_until(kOscar, id, {"active"}, kStepBudget);
    if (!expect_state(held, "active")) return "payment_creator " + held.state();
    say("status: active");
    show_groups(held, kOscar, true);

    const Answer conflicting = submit(kOscar, "netsuite", "payment_approver", {{"reason", "month-end backlog"}});
    if (!expect_code(conflicting, 201, "POST /v1/requests netsuite.payment_approver")) return conflicting.describe();
    const std::string conflict_id = remember(conflicting, kOscar + " netsuite.payment_approver");
    const Answer decided = wait_until(kOscar, conflict_id, {"denied"}, kStepBudget);
    const std::string denial = string_at(object_at(decided.view(), "plan"), "denial");
    say(kOscar + " then asks for netsuite.payment_approver: status " + decided.state() +
        (denial.empty() ? "" : " (" + denial + ")"));
    if (!expect_state(decided, "denied")) return decided.state();
    const auto approvers = sandbox().members("sandbox.entra", "netsuite-payment-approvers");
    if (!expect(!contains(approvers, kOscar), kOscar + " not in sandbox.entra group netsuite-payment-approvers",
                kOscar + " is a member")) {
      return "denied, but granted";
    }
    say("sandbox.entra group netsuite-payment-approvers: unchanged, " + kOscar + " not a member");
    return "denied";
  }

  // Bob is an engineering manager, and eng-managers own GitLab: he asks
  // for GitLab admin and then tries to approve it himself.
  std::string self_approval_refused() {
    const Answer asked = submit(kBob, "gitlab", "admin", {{"reason", "rotate the runner registration token"}});
    if (!expect_code(asked, 201, "POST /v1/requests gitlab.admin")) return asked.describe();
    const std::string id = remember(asked, kBob + " gitlab.admin");
    say(kBob + " asks for gitlab.admin: status " + asked.state());
    if (!expect_state(asked, "awaiting_approval")) return asked.state();
    const Json step = current_step(asked.view());
    const auto eligible = eligible_of(step);
    say("step 1 is " + string_at(step, "who") + ": " + std::to_string(eligible.size()) +
        " eligible approvers, the requester left out");
    if (!expect(!contains(eligible, kBob), kBob + " not among the eligible approvers", kBob + " is eligible")) {
      return asked.state();
    }

    const Answer attempt = act(kBob, id, "approve", Json::object());
    const Json error = object_at(attempt.body, "error");
    const std::string code = string_at(error, "code");
    say(kBob + " tries to approve his own request: HTTP " + std::to_string(attempt.status) + " " + code + ": " +
        string_at(error, "message"));
    if (!expect(attempt.status == 409 && code == "refused", "HTTP 409 refused", attempt.describe())) {
      return attempt.describe();
    }

    const Answer after = call(kBob, "GET", "/v1/requests/" + id);
    if (!expect_code(after, 200, "GET /v1/requests/" + id)) return after.describe();
    if (!expect_state(after, "awaiting_approval")) return after.state();
    bool recorded = false;
    if (after.body.contains("evidence") && after.body["evidence"].is_array()) {
      for (const auto& entry : after.body["evidence"]) {
        if (string_at(entry, "kind") == "refused" && string_at(entry, "actor") == kBob) {
          recorded = true;
          say("evidence #" + number_at(entry, "seq") + ": " + string_at(entry, "text"));
        }
      }
    }
    if (!expect(recorded, "a \"refused\" evidence entry by " + kBob, "none")) return "refused, not in the evidence";
    say("status: still awaiting_approval (another engineering manager can decide)");
    return "refused (409), still awaiting_approval";
  }

  // ---- API calls --------------------------------------------------------------

  http::Client& client(const std::string& who) {
    auto& slot = clients_[who];
    if (!slot) {
      http::ClientOptions options;
      options.base_url = settings_.base_url;
      options.bearer_token = settings_.tokens.at(who);
      options.timeout = kPollSlice + seconds(10);
      slot = std::make_unique<http::Client>(options);
    }
    return *slot;
  }

  Answer call(const std::string& who, const std::string& method, const std::string& target,
              const std::string& body = {}) {
    Answer answer;
    auto response = client(who).send(method, target, body);
    if (!response) {
      answer.transport_error = response.error().message;
      return answer;
    }
    answer.status = response->status;
    answer.body = Json::parse(response->body, nullptr, /*allow_exceptions=*/false);
    if (answer.body.is_discarded()) answer.body = nullptr;
    return answer;
  }

  Answer submit(const std::string& who, const std::string& app, const std::string& role, Json fields) {
    fields["app"] = app;
    fields["role"] = role;
    return call(who, "POST", "/v1/requests", fields.dump());
  }

  Answer act(const std::string& who, const std::string& id, const std::string& action, const Json& body) {
    return call(who, "POST", "/v1/requests/" + id + "/" + action, body.empty() ? std::string() : body.dump());
  }

  // Long-polls the request until its status is one of `statuses` (or
  // final), or `budget` has passed; never assumes a state is immediate.
  Answer wait_until(const std::string& who, const std::string& id, const std::vector<std::string>& statuses,
                    seconds budget) {
    const auto deadline = steady_clock::now() + budget;
    for (;;) {
      const auto left = std::chrono::duration_cast<milliseconds>(deadline - steady_clock::now());
      const auto slice = std::clamp(left, milliseconds(0), kPollSlice);
      Answer answer = call(who, "GET",
                           "/v1/requests/" + id + "?wait_for=" + join(statuses, ",") +
                               "&timeout_ms=" + std::to_string(slice.count()));
      if (answer.status != 200) return answer;
      if (contains(statuses, answer.state()) || is_final(answer.state())) return answer;
      if (steady_clock::now() >= deadline) return answer;
    }
  }

  // ---- checks and output ------------------------------------------------------

  void scenario(const std::string& title, const std::function<std::string()>& body) {
    out_ << "\n== " << title << " ==\n";
    scenario_ = title;
    const std::size_t before = report_.mismatches.size();
    const std::string final_state = body();
    const bool ok = report_.mismatches.size() == before;
    report_.scenarios.push_back({title, final_state, ok});
    out_ << "  => " << (ok ? "as expected: " : "NOT as expected: ") << final_state << "\n";
  }

  void say(const std::string& line) { out_ << "  " << line << "\n"; }

  bool expect(bool ok, const std::string& expected, const std::string& seen) {
    if (!ok) {
      report_.mismatches.push_back({scenario_, expected, seen});
      out_ << "  MISMATCH: expected " << expected << ", saw " << seen << "\n";
    }
    return ok;
  }

  bool expect_code(const Answer& answer, int status, const std::string& what) {
    return expect(answer.status == status, what + " -> HTTP " + std::to_string(status), answer.describe());
  }

  bool expect_state(const Answer& answer, const std::string& status) {
    if (answer.status != 200 && answer.status != 201) return expect(false, "status " + status, answer.describe());
    return expect(answer.state() == status, "status " + status, "status " + answer.state());
  }

  std::string remember(const Answer& answer, const std::string& label) {
    const std::string id = answer.id();
    if (!id.empty()) report_.requests.push_back({id, label});
    return id;
  }

  const connectors::Sandbox& sandbox() const { return *settings_.sandbox; }

  // Prints each group the request changed and checks the sandbox provider
  // agrees: `user` is a member while granted, and no longer after expiry.
  void show_groups(const Answer& answer, const std::string& user, bool member) {
    const Json& view = answer.view();
    if (!view.contains("memberships") || !view["memberships"].is_array() || view["memberships"].empty()) {
      expect(false, "group memberships on the request", "none");
      return;
    }
    for (const auto& m : view["memberships"]) {
      const Json group = object_at(m, "group");
      const std::string provider = string_at(group, "provider");
      const std::string name = string_at(group, "group");
      const auto members = sandbox().members(provider, name);
      const bool present = contains(members, user);
      say(provider + " group " + name + ": " + user + (present ? " is a member" : " is not a member") +
          " (membership " + string_at(m, "state") + ", " + std::to_string(members.size()) + " member(s))");
      expect(present == member,
             user + (member ? " in " : " removed from ") + provider + " group " + name,
             present ? "still a member" : "not a member");
    }
  }

  const ScriptSettings& settings_;
  std::ostream& out_;
  ScriptReport& report_;
  std::string scenario_;
  std::map<std::string, std::unique_ptr<http::Client>> clients_;
};

}  // namespace

const std::vector<DemoPerson>& demo_people() {
  static const std::vector<DemoPerson> people = {
      {kAnn, "asks for figma.viewer and aws_staging.admin"},
      {kCarl, "contractor, asks for figma.editor"},
      {kBob, "Carl's manager; asks for gitlab.admin and tries to approve it"},
      {kPat, "platform lead: step 1 of aws_staging.admin"},
      {kYuki, "security on call: the privileged step 2"},
      {kMark, "asks for canva.pro (not in the catalog)"},
      {kTom, "IT triage"},
      {kOscar, "accounts payable: netsuite.payment_creator, then payment_approver"},
      {kRachel, "controller, owns NetSuite"},
      {kOwen, "head of IT: admin (reads every request and the audit head)", true},
  };
  return people;
}

const std::string& demo_admin() { return kOwen; }

ScriptReport run_demo_script(const ScriptSettings& settings, std::ostream& out) {
  ScriptReport report;
  Script(settings, out, report).run();
  return report;
}

bool print_evidence(const ScriptSettings& settings, ScriptReport& report, std::ostream& out) {
  http::ClientOptions options;
  options.base_url = settings.base_url;
  options.bearer_token = settings.tokens.at(demo_admin());
  http::Client admin(options);
  bool all_read = true;
  for (const auto& request : report.requests) {
    auto response = admin.get("/v1/requests/" + request.id);
    Json body = response ? Json::parse(response->body, nullptr, false) : Json();
    if (!response || response->status != 200 || !body.is_object() || !body.contains("evidence")) {
      const std::string seen = response ? "HTTP " + std::to_string(response->status) : response.error().message;
      report.mismatches.push_back({"evidence", "GET /v1/requests/" + request.id + " -> HTTP 200 with evidence", seen});
      out << "\n" << request.id << "  " << request.label << ": cannot read the evidence (" << seen << ")\n";
      all_read = false;
      continue;
    }
    out << "\n" << request.id << "  " << request.label << ": " << string_at(body["request"], "status") << "\n";
    for (const auto& entry : body["evidence"]) {
      const std::string hash = string_at(entry, "hash");
      out << "  #" << number_at(entry, "seq") << "  " << string_at(entry, "time") << "  "
          << string_at(entry, "kind") << "  " << string_at(entry, "actor") << ": " << string_at(entry, "text")
          << "  [" << hash.substr(0, 12) << "]\n";
    }
  }
  return all_read;
}

std::string read_audit_head(const ScriptSettings& settings, std::string& error) {
  http::ClientOptions options;
  options.base_url = settings.base_url;
  options.bearer_token = settings.tokens.at(demo_admin());
  http::Client admin(options);
  auto response = admin.get("/v1/audit/head");
  if (!response) {
    error = response.error().message;
    return {};
  }
  const Json body = Json::parse(response->body, nullptr, false);
  const std::string head = string_at(body, "head");
  if (response->status != 200 || head.empty()) {
    error = "GET /v1/audit/head answered HTTP " + std::to_string(response->status);
    return {};
  }
  return head;
}

}  // namespace portcullis::cli::demo
