#include "interpreter/test_runner.hpp"

#include <algorithm>
#include <deque>
#include <map>
#include <set>

#include "interpreter/state_machine.hpp"

namespace portcullis::interpreter {
namespace {

namespace ast = dsl::ast;

constexpr Time kTestEpoch = 1767225600;  // 2026-01-01T00:00:00Z

nlohmann::json to_json(const ast::Value& value) {
  return std::visit(
      [](const auto& v) -> nlohmann::json {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, ast::StringLit>) return v.value;
        if constexpr (std::is_same_v<T, ast::IntegerLit>) return v.value;
        if constexpr (std::is_same_v<T, ast::DurationLit>) return v.seconds;
        if constexpr (std::is_same_v<T, ast::BoolLit>) return v.value;
        if constexpr (std::is_same_v<T, ast::Identifier>) return v.name;
        if constexpr (std::is_same_v<T, ast::SecretRef>) return nullptr;
        if constexpr (std::is_same_v<T, ast::ListValue>) {
          nlohmann::json list = nlohmann::json::array();
          for (const auto& item : v.items) list.push_back(to_json(item));
          return list;
        }
        return nullptr;
      },
      value.data);
}


bool same_approver(const Approver& a, const Approver& b) {
  if (a.kind != b.kind) return false;
  if (a.kind == Approver::Kind::people) {
    if (a.people.size() != b.people.size()) return false;
    for (std::size_t i = 0; i < a.people.size(); ++i) {
      if (a.people[i].value != b.people[i].value) return false;
    }
    return true;
  }
  return a.name == b.name;
}

class TestWorld {
 public:
  TestWorld(const Policy& policy, const Directory* base, const ast::Test& test)
      : policy_(policy), test_(test), now_(kTestEpoch) {
    if (base) directory_ = *base;
    result_.name = test.name.value;
    result_.span = test.span;
  }

  TestResult run(std::set<std::string>& touched) {
    for (const auto& statement : test_.statements) {
      std::visit([&](const auto& s) { apply(s); }, statement);
      if (aborted_) break;
    }
    if (state_) touched.insert(state_->request.app + "." + state_->request.role);
    return std::move(result_);
  }

 private:
  void fail(const Span& span, std::string expected, std::string actual) {
    result_.failures.push_back({span, std::move(expected), std::move(actual)});
  }

  // ---- given ------------------------------------------------------------

  void apply(const ast::GivenPerson& given) {
    if (given.is_requester) requester_ = given.email.value;
    // Make sure the person exists even without attributes.
    if (!directory_.find(given.email.value)) directory_.set_attribute(given.email.value, "name", "");
    for (const auto& attribute : given.attributes) {
      directory_.set_attribute(given.email.value, attribute.key.name, to_json(attribute.value));
    }
  }

  void apply(const ast::GivenGrant& given) {
    holdings_[given.email.value].emplace_back(given.role.first.name, given.role.second.name);
  }

  void apply(const ast::GivenGroup& given) {
    std::vector<std::string> members;
    for (const auto& m : given.members) members.push_back(m.value);
    directory_.set_group(given.group.value, std::move(members));
  }

  // ---- the request and its events -----------------------------------------

  StepContext context() const {
    StepContext context;
    context.now = now_;
    if (state_) {
      const auto it = holdings_.find(state_->request.requester);
      if (it != holdings_.end()) {
        for (const auto& [app, role] : it->second) {
          if (const Role* r = policy_.find_role(app, role)) {
            for (const auto& g : r->groups) context.held_elsewhere.insert(g.key());
          }
        }
      }
      context.administrators = request_administrators(policy_, state_->request, &directory_);
    }
    return context;
  }

  void apply(const ast::RequestStmt& request) {
    AccessRequest r;
    r.requester = request.requester ? request.requester->value : requester_;
    if (r.requester.empty()) {
      fail(request.span, "a requester (`given requester` or `by`)", "none");
      aborted_ = true;
      return;
    }
    r.app = request.target.first.name;
    r.role = request.target.second.name;
    if (request.duration) r.duration = request.duration->seconds;
    if (request.reason) r.justification = request.reason->value;
    if (request.ticket) r.ticket = request.ticket->value;
    Facts facts;
    facts.directory = &directory_;
    if (auto it = holdings_.find(r.requester); it != holdings_.end()) facts.current_grants = it->second;
    Plan plan = resolve(policy_, r, facts, now_);
    original_outcome_ = plan.outcome;
    state_.emplace();
    state_->request = r;
    absorb(interpreter::submit("test", std::move(r), std::move(plan), context()));
  }

  void apply(const ast::ActionStmt& action) {
    if (!state_) return;
    const std::string by = action.actor ? action.actor->value : state_->request.requester;
    const std::string reason = action.reason ? action.reason->value : "";
    const std::string& verb = action.verb.name;
    if (verb == "approve") {
      if (state_->status == Status::awaiting_triage) {
        fail(action.span, "an approval step", "the request awaits triage");
        return;
      }
      deliver(ApproveEvent{by});
    } else if (verb == "deny") {
      deliver(DenyEvent{by, reason});
    } else if (verb == "cancel") {
      deliver(CancelEvent{by});
    } else if (verb == "revoke") {
      deliver(RevokeEvent{by, reason});
    } else if (verb == "confirm") {
      deliver(FulfilmentEvent{by});
    } else if (verb == "renew") {
      RenewEvent renew{by, std::nullopt};
      if (action.duration) renew.duration = action.duration->seconds;
      deliver(renew);
    }
  }

  void apply(const ast::WaitStmt& wait) {
    const Time until = now_ + wait.duration.seconds;
    // Fire due timers in time order, each at its own instant.
    while (state_) {
      auto next = std::min_element(timers_.begin(), timers_.end(),
                                   [](const auto& a, const auto& b) { return a.second.at < b.second.at; });
      if (next == timers_.end() || next->second.at > until) break;
      const ScheduleTimerEffect timer = next->second;
      timers_.erase(next);
      now_ = std::max(now_, timer.at);
      deliver(TimerEvent{timer.kind, timer.step});
    }
    now_ = until;
  }

  void deliver(const Event& event) {
    if (!state_) return;
    Transition t = interpreter::step(*state_, event, context());
    if (t.refusal) last_refusal_ = *t.refusal;
    else if (!t.ignored) last_refusal_.reset();
    absorb(std::move(t));
  }

  // Takes a transition and performs its effects as the sandbox would:
  // memberships change at once and report back; timers are remembered.
  void absorb(Transition t) {
    std::deque<Effect> pending(t.effects.begin(), t.effects.end());
    state_ = std::move(t.state);
    while (!pending.empty()) {
      Effect effect = std::move(pending.front());
      pending.pop_front();
      std::optional<Event> follow;
      if (const auto* add = std::get_if<AddMembershipEffect>(&effect)) {
        follow = ProvisionResultEvent{add->group, true, true, ""};
      } else if (const auto* remove = std::get_if<RemoveMembershipEffect>(&effect)) {
        follow = ProvisionResultEvent{remove->group, false, true, ""};
      } else if (const auto* schedule = std::get_if<ScheduleTimerEffect>(&effect)) {
        timers_[schedule->kind] = *schedule;
      } else if (const auto* cancel = std::get_if<CancelTimerEffect>(&effect)) {
        timers_.erase(cancel->kind);
      }
      if (follow) {
        Transition next = interpreter::step(*state_, *follow, context());
        state_ = std::move(next.state);
        pending.insert(pending.end(), next.effects.begin(), next.effects.end());
      }
    }
  }

  // ---- expectations -----------------------------------------------------

  void apply(const ast::Expectation& e) {
    if (!state_) {
      fail(e.span, "a request", "no request was filed");
      return;
    }
    const RequestState& s = *state_;
    const std::string& kind = e.kind.name;
    const std::string status(status_name(s.status));
    if (kind == "auto_approved") {
      if (original_outcome_ != Outcome::auto_approved) fail(e.span, "auto_approved", std::string(outcome_name(original_outcome_)));
    } else if (kind == "denied") {
      if (s.status != Status::denied || s.plan.outcome == Outcome::rejected) {
        fail(e.span, "denied", status + (s.plan.outcome == Outcome::rejected ? " (rejected: " + s.plan.denial + ")" : ""));
      }
    } else if (kind == "triage") {
      if (original_outcome_ != Outcome::triage) fail(e.span, "triage", std::string(outcome_name(original_outcome_)));
    } else if (kind == "pending") {
      const bool renewal_pending = s.status == Status::active && s.renewal.has_value();
      if (s.status != Status::awaiting_approval && s.status != Status::awaiting_triage &&
          s.status != Status::awaiting_fulfilment && !renewal_pending) {
        fail(e.span, "pending (awaiting a decision)", status);
      }
    } else if (kind == "refused") {
      const std::string want = e.text ? e.text->value : "";
      std::optional<std::string> why;
      if (last_refusal_) why = last_refusal_;
      else if (s.plan.outcome == Outcome::rejected) why = s.plan.denial;
      if (!why) {
        fail(e.span, "refused" + (want.empty() ? "" : " \"" + want + "\""), "nothing was refused (state " + status + ")");
      } else if (!want.empty() && why->find(want) == std::string::npos) {
        fail(e.span, "refused \"" + want + "\"", "refused: " + *why);
      }
    } else if (kind == "permanent") {
      if (s.plan.duration) fail(e.span, "permanent", "expires after " + ast::format_duration(*s.plan.duration));
    } else if (kind == "no_grants") {
      std::vector<std::string> held;
      for (const auto& m : s.memberships) {
        if (m.state == Membership::State::added || m.state == Membership::State::pending_remove) held.push_back(m.group.key());
      }
      if (!held.empty()) {
        std::string list;
        for (const auto& h : held) list += (list.empty() ? "" : ", ") + h;
        fail(e.span, "no groups held", list);
      }
    } else if (kind == "state") {
      if (e.name && status != e.name->name) {
        fail(e.span, "state " + e.name->name, status + (s.closing_reason.empty() ? "" : " (" + s.closing_reason + ")"));
      }
    } else if (kind == "bucket") {
      if (e.name && s.plan.bucket != e.name->name) fail(e.span, "bucket " + e.name->name, "bucket " + s.plan.bucket);
    } else if (kind == "expires_after") {
      const std::string want = ast::format_duration(e.duration ? e.duration->seconds : 0);
      if (!s.plan.duration) fail(e.span, "expires after " + want, "permanent");
      else if (*s.plan.duration != e.duration->seconds) {
        fail(e.span, "expires after " + want, "expires after " + ast::format_duration(*s.plan.duration));
      } else if (s.active_at && s.expires_at && *s.expires_at - *s.active_at != e.duration->seconds + renewal_extension(s)) {
        fail(e.span, "expires after " + want, "active until " + std::to_string(*s.expires_at - *s.active_at) + "s later");
      }
    } else if (kind == "grants") {
      std::set<std::string> want, got;
      for (const auto& g : e.grants) want.insert(g.provider.text() + " group \"" + g.group.value + "\"");
      for (const auto& g : s.plan.groups) got.insert(g.provider + " group \"" + g.group + "\"");
      if (want != got) fail(e.span, "grants " + join(want), got.empty() ? "no groups" : "grants " + join(got));
    } else if (kind == "requires") {
      const Role* role = policy_.find_role(s.request.app, s.request.role);
      for (const auto& field : e.names) {
        const bool required = role && ((field.name == "justification" && role->settings.require_justification) ||
                                       (field.name == "ticket" && role->settings.require_ticket));
        if (!required) fail(field.span, "requires " + field.name, "not required");
      }
    } else if (kind == "route") {
      check_route(e);
    }
  }

  static Seconds renewal_extension(const RequestState& s) {
    return s.renewals > 0 && s.expires_at && s.active_at ? *s.expires_at - *s.active_at - s.plan.duration.value_or(0) : 0;
  }

  static std::string join(const std::set<std::string>& items) {
    std::string out;
    for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
    return out;
  }

  // `expect route R`: an unconditional R is compared with the steps the
  // plan chose; a conditional R with the role's whole route as written.
  void check_route(const ast::Expectation& e) {
    if (!e.route || e.route->branches.empty()) return;
    const bool conditional = e.route->branches.size() > 1 || e.route->branches.front().when;
    if (conditional) {
      const Role* role = policy_.find_role(state_->request.app, state_->request.role);
      std::string got = role ? route_text(role->settings.route) : "none (not in the catalog)";
      if (got != ast::normalize_condition(ast::to_source(*e.route))) fail(e.span, "route " + ast::to_source(*e.route), "route " + got);
      return;
    }
    const auto& steps = state_->plan.steps;
    std::string got;
    for (const auto& step : steps) got += (got.empty() ? "" : " then ") + ast::to_source(step.quorum, step.source);
    if (got.empty()) got = std::string(outcome_name(state_->plan.outcome));
    const auto& want = e.route->branches.front().steps;
    bool same = want.size() == steps.size();
    for (std::size_t i = 0; same && i < want.size(); ++i) {
      const int quorum = want[i].quorum ? static_cast<int>(want[i].quorum->value) : 1;
      same = quorum == steps[i].quorum && same_approver(want[i].approver, steps[i].source);
    }
    if (want.size() == 1 && want[0].approver.kind == Approver::Kind::automatic) {
      same = state_->plan.outcome == Outcome::auto_approved;
    }
    if (!same) fail(e.span, "route " + ast::to_source(*e.route), "route " + got);
  }

  static std::string route_text(const Route& route) {
    std::string out;
    for (const auto& branch : route.branches) {
      if (!out.empty()) out += " else ";
      std::string steps;
      for (const auto& step : branch.steps) steps += (steps.empty() ? "" : " then ") + ast::to_source(step.quorum, step.approver);
      out += steps;
      if (branch.when) out += " when " + branch.when->text;
    }
    return ast::normalize_condition(out);
  }

  const Policy& policy_;
  const ast::Test& test_;
  Directory directory_;
  std::map<std::string, std::vector<std::pair<std::string, std::string>>> holdings_;
  std::string requester_;
  Time now_;
  std::optional<RequestState> state_;
  Outcome original_outcome_ = Outcome::rejected;
  std::optional<std::string> last_refusal_;
  std::map<TimerKind, ScheduleTimerEffect> timers_;
  TestResult result_;
  bool aborted_ = false;
};

}  // namespace

std::size_t TestReport::passed() const {
  return static_cast<std::size_t>(std::count_if(results.begin(), results.end(), [](const TestResult& r) { return r.passed(); }));
}

std::size_t TestReport::failed() const { return results.size() - passed(); }

TestReport run_tests(const Policy& policy, const TestOptions& options) {
  TestReport report;
  std::set<std::string> touched;
  for (const auto& test : policy.tests()) {
    if (options.only && test.span.file.get() != options.only) continue;
    if (!options.filter.empty() && test.name.value.find(options.filter) == std::string::npos) continue;
    report.results.push_back(TestWorld(policy, options.base, test).run(touched));
  }
  for (const auto& [name, app] : policy.apps()) {
    for (const auto& role : app.roles) {
      ++report.coverage.total_roles;
      if (!touched.count(role.qualified())) report.coverage.untested_roles.push_back(role.qualified());
    }
  }
  return report;
}

}  // namespace portcullis::interpreter
