#include "interpreter/route.hpp"

#include <algorithm>
#include <set>

#include "dsl/condition_env.hpp"
#include "interpreter/cel/json.hpp"

namespace portcullis::interpreter {
namespace {

using Kind = Approver::Kind;

std::string format_seconds(Seconds s) { return dsl::ast::format_duration(s); }

cel::Value string_list(const std::vector<std::string>& items) {
  std::vector<cel::Value> values;
  values.reserve(items.size());
  for (const auto& item : items) values.push_back(cel::Value::string(item));
  return cel::Value::list(std::move(values));
}

cel::Value person_value(const Person* person, const std::string& email) {
  const auto& envs = dsl::condition_envs();
  if (!person) {
    return cel::Value::object(envs.person,
                              {cel::Value::string(email), cel::Value::string(""), cel::Value::string(""),
                               cel::Value::string(""), cel::Value::string(""), cel::Value::string(""),
                               cel::Value::string(""), string_list({}), cel::value_from_json(nlohmann::json::object())});
  }
  return cel::Value::object(
      envs.person, {cel::Value::string(person->email), cel::Value::string(person->name),
                    cel::Value::string(person->department), cel::Value::string(person->employment),
                    cel::Value::string(person->location), cel::Value::string(person->title),
                    cel::Value::string(person->manager), string_list(person->groups),
                    cel::value_from_json(person->attributes)});
}

// Binds what a route condition may read.
class RouteActivation {
 public:
  RouteActivation(const App& app, const Role& role, const AccessRequest& request, const Seconds* duration,
                  const Facts& facts, Time now)
      : activation_(dsl::condition_envs().route) {
    const auto& envs = dsl::condition_envs();
    const Person* person = facts.directory ? facts.directory->find(request.requester) : nullptr;
    activation_.bind("requester", person_value(person, request.requester));
    std::vector<std::string> groups;
    for (const auto& g : role.groups) groups.push_back(g.key());
    const Seconds seconds = duration ? *duration : 0;
    activation_.bind("request", cel::Value::object(envs.request,
                                                   {cel::Value::string(request.app), cel::Value::string(request.role),
                                                    cel::Value::string(role.settings.bucket),
                                                    cel::Value::duration({seconds, 0}),
                                                    cel::Value::boolean(duration == nullptr),
                                                    cel::Value::string(request.justification),
                                                    cel::Value::string(request.ticket)}));
    std::string owner = app.owner ? dsl::ast::to_source(*app.owner) : "";
    if (app.owner && app.owner->kind == Kind::person) owner = app.owner->name;
    activation_.bind("app", cel::Value::object(envs.app, {cel::Value::string(app.name), cel::Value::string(app.title),
                                                          cel::Value::string(role.settings.bucket),
                                                          cel::Value::string(owner)}));
    activation_.bind("role", cel::Value::object(envs.role, {cel::Value::string(role.name), cel::Value::string(app.name),
                                                            cel::Value::string(role.settings.bucket),
                                                            string_list(groups), cel::Value::boolean(role.manual.has_value())}));
    activation_.bind("now", cel::Value::timestamp({now, 0}));
  }

  const cel::Activation& get() const { return activation_; }

 private:
  cel::Activation activation_;
};

std::vector<std::string> without(std::vector<std::string> people, const std::string& requester) {
  people.erase(std::remove(people.begin(), people.end(), requester), people.end());
  std::sort(people.begin(), people.end());
  people.erase(std::unique(people.begin(), people.end()), people.end());
  return people;
}

std::string describe(const Policy& policy, const Approver& approver, const App* app, const Facts& facts,
                     const std::string& requester) {
  switch (approver.kind) {
    case Kind::automatic: return "nobody (automatic)";
    case Kind::deny: return "nobody (denied)";
    case Kind::manager: {
      const Person* person = facts.directory ? facts.directory->find(requester) : nullptr;
      return person && !person->manager.empty() ? "the requester's manager (" + person->manager + ")"
                                                : "the requester's manager";
    }
    case Kind::app_owner:
      if (app && app->owner) return "the owner of " + app->title + " (" + describe(policy, *app->owner, app, facts, requester) + ")";
      return "the app owner";
    case Kind::person: return approver.name;
    case Kind::group: return "a member of group " + approver.name;
    case Kind::people: {
      std::string out;
      for (const auto& p : approver.people) out += (out.empty() ? "" : ", ") + p.value;
      return "one of " + out;
    }
    case Kind::pool: {
      const Pool* pool = policy.find_pool(approver.name);
      return pool ? approver.name + " (" + describe(policy, pool->source, app, facts, requester) + ")" : approver.name;
    }
  }
  return {};
}

std::string why(const Approver& approver, const App* app) {
  switch (approver.kind) {
    case Kind::manager: return "manages the requester";
    case Kind::app_owner: return app ? "owns " + app->title : "owns the app";
    case Kind::person: return "named in the policy";
    case Kind::group: return "member of group " + approver.name;
    case Kind::people: return "named in the policy";
    case Kind::pool: return "member of approver pool " + approver.name;
    default: return "";
  }
}

class Resolver {
 public:
  Resolver(const Policy& policy, const AccessRequest& request, const Facts& facts, Time now)
      : policy_(policy), request_(request), facts_(facts), now_(now) {}

  Plan run() {
    plan_.app = request_.app;
    plan_.role = request_.role;
    const App* app = policy_.find_app(request_.app);
    const Role* role = app ? app->find_role(request_.role) : nullptr;
    if (!role) return triage(app);
    plan_.app_title = app->title;
    plan_.bucket = role->settings.bucket;
    plan_.groups = role->groups;
    plan_.manual = role->manual;
    plan_.max_renewals = role->settings.max_renewals;
    plan_.expiry_required = role->settings.expiry_required;
    if (!plan_.bucket.empty()) reason("bucket " + plan_.bucket, role->settings.bucket_span);
    reason("role " + role->qualified() + (role->manual ? " is fulfilled by hand" : " grants its groups"), role->span);

    if (!check_required_fields(*role)) return std::move(plan_);
    if (!fix_duration(*role)) return std::move(plan_);
    if (!check_conflicts(*app, *role)) return std::move(plan_);
    choose_route(*app, *role);
    // An automatic route does not waive separation of duties: the conflict's
    // approver must still accept the risk.
    if (plan_.outcome == Outcome::auto_approved && !escalating_conflicts_.empty()) {
      plan_.outcome = Outcome::approval;
    }
    if (plan_.outcome == Outcome::approval) {
      for (const Conflict* conflict : escalating_conflicts_) {
        PlanStep step = make_step(Step{1, *conflict->escalate_to, conflict->span}, app, role->settings);
        step.why = "separation of duties: conflict \"" + conflict->name + "\"";
        plan_.steps.push_back(std::move(step));
      }
    }
    return std::move(plan_);
  }

 private:
  void reason(std::string text, const Span& span) { plan_.reasons.push_back({std::move(text), span}); }

  void reject(std::string why, const Span& span) {
    plan_.outcome = Outcome::rejected;
    plan_.denial = why;
    reason(std::move(why), span);
  }

  Plan triage(const App* app) {
    const Bucket* unknown = policy_.unknown_bucket();
    const std::string what = app ? "app " + request_.app + " has no role " + request_.role
                                 : "app " + request_.app + " is not in the catalog";
    if (!unknown || unknown->settings.route.branches.empty()) {
      plan_.outcome = Outcome::rejected;
      plan_.denial = what + ", and the policy has no `unknown` bucket to triage it";
      reason(plan_.denial, {});
      return std::move(plan_);
    }
    plan_.outcome = Outcome::triage;
    plan_.bucket = unknown->name;
    reason(what + ": IT triage maps it to a catalog role or denies it", unknown->span);
    // The triagers are the first step of the unknown bucket's route.
    const Branch& branch = unknown->settings.route.branches.front();
    if (!branch.steps.empty()) {
      PlanStep step = make_step(branch.steps.front(), app, unknown->settings);
      step.why = "triages requests outside the catalog";
      plan_.steps.push_back(std::move(step));
    }
    return std::move(plan_);
  }

  bool check_required_fields(const Role& role) {
    const auto& s = role.settings;
    if (s.require_justification && request_.justification.empty()) {
      reject("a justification is required for " + role.qualified(), s.require_span);
      return false;
    }
    if (s.require_ticket && request_.ticket.empty()) {
      reject("a ticket reference is required for " + role.qualified(), s.require_span);
      return false;
    }
    return true;
  }

  // Fixes the granted duration: the requested one (capped by the maximum),
  // else the default, else permanent where allowed.
  bool fix_duration(const Role& role) {
    const DurationRule& rule = role.settings.duration;
    const bool permanent_ok = rule.permanent_allowed && !role.settings.expiry_required;
    const bool has_rule = rule.span.valid();
    const Span rule_span = has_rule ? rule.span : role.settings.expiry_span;
    if (request_.permanent) {
      if (!(permanent_ok || (!has_rule && !role.settings.expiry_required))) {
        reject("permanent access to " + role.qualified() + " is not allowed: it must expire", rule_span);
        return false;
      }
      plan_.duration.reset();
      reason("permanent access", rule_span);
      return true;
    }
    if (request_.duration) {
      Seconds asked = *request_.duration;
      if (asked <= 0) {
        reject("a requested duration must be positive", rule_span);
        return false;
      }
      if (!rule.allowed.empty()) {
        if (std::find(rule.allowed.begin(), rule.allowed.end(), asked) == rule.allowed.end()) {
          std::string list;
          for (Seconds a : rule.allowed) list += (list.empty() ? "" : ", ") + format_seconds(a);
          reject(format_seconds(asked) + " is not an allowed duration for " + role.qualified() + " (allowed: " + list + ")",
                 rule.span);
          return false;
        }
        plan_.duration = asked;
        reason("granted for " + format_seconds(asked), rule.span);
        return true;
      }
      if (rule.maximum && asked > *rule.maximum) {
        plan_.duration = *rule.maximum;
        reason(format_seconds(asked) + " requested, capped at the maximum " + format_seconds(*rule.maximum), rule.span);
        return true;
      }
      plan_.duration = asked;
      reason("granted for " + format_seconds(asked), rule_span);
      return true;
    }
    if (rule.default_duration) {
      plan_.duration = rule.default_duration;
      reason("default duration " + format_seconds(*rule.default_duration), rule.span);
      return true;
    }
    if (permanent_ok || (!has_rule && !role.settings.expiry_required)) {
      plan_.duration.reset();
      reason("permanent unless revoked", rule_span);
      return true;
    }
    if (rule.maximum) {
      plan_.duration = rule.maximum;
      reason("no duration requested: granted for the maximum " + format_seconds(*rule.maximum), rule.span);
      return true;
    }
    reject("a duration is required for " + role.qualified() + ": access to it must expire", rule_span);
    return false;
  }

  bool check_conflicts(const App& app, const Role& role) {
    if (role.conflicts.empty() || facts_.current_grants.empty()) return true;
    const auto requested = std::make_pair(app.name, role.name);
    for (const std::size_t index : role.conflicts) {
      const Conflict& conflict = policy_.conflicts()[index];
      for (const auto& held : facts_.current_grants) {
        if (held == requested) continue;
        if (std::find(conflict.roles.begin(), conflict.roles.end(), held) == conflict.roles.end()) continue;
        const std::string text = "separation of duties (conflict \"" + conflict.name + "\"): the requester holds " +
                                 held.first + "." + held.second;
        if (conflict.deny) {
          plan_.outcome = Outcome::denied;
          plan_.denial = text;
          reason(text, conflict.span);
          return false;
        }
        reason(text + "; escalated", conflict.span);
        escalating_conflicts_.push_back(&conflict);
        break;
      }
    }
    return true;
  }

  void choose_route(const App& app, const Role& role) {
    const Route& route = role.settings.route;
    // Binding the attributes costs more than resolving an unconditional
    // route; build them only when a condition needs them.
    std::optional<RouteActivation> activation;
    for (const Branch& branch : route.branches) {
      if (branch.when) {
        if (!activation) activation.emplace(app, role, request_, plan_.duration ? &*plan_.duration : nullptr, facts_, now_);
        if (!branch.when->program) {
          to_triage_or_deny("condition `" + branch.when->text + "` is not compiled", branch.when->span);
          return;
        }
        const cel::Value result = branch.when->program->evaluate(activation->get());
        if (result.is_error() || result.kind() != cel::Kind::bool_) {
          to_triage_or_deny("condition `" + branch.when->text + "` could not be evaluated: " +
                                (result.is_error() ? std::string(result.error_message()) : "not a bool"),
                            branch.when->span);
          return;
        }
        if (!result.as_bool()) {
          reason("condition is false: " + branch.when->text, branch.when->span);
          continue;
        }
        reason("condition holds: " + branch.when->text, branch.when->span);
      }
      take_branch(app, role, branch);
      return;
    }
    if (route.branches.empty()) {
      reject("no approval route applies to " + role.qualified(), role.span);
    }
  }

  void to_triage_or_deny(std::string why, const Span& span) {
    // A condition that cannot be decided must not grant anything by
    // accident: a person looks at it.
    reason(why, span);
    const Bucket* unknown = policy_.unknown_bucket();
    if (unknown && !unknown->settings.route.branches.empty() && !unknown->settings.route.branches[0].steps.empty()) {
      plan_.outcome = Outcome::triage;
      PlanStep step = make_step(unknown->settings.route.branches[0].steps[0], nullptr, unknown->settings);
      step.why = "triages requests the policy could not decide";
      plan_.steps.push_back(std::move(step));
    } else {
      plan_.outcome = Outcome::denied;
      plan_.denial = why;
    }
  }

  void take_branch(const App& app, const Role& role, const Branch& branch) {
    const Step& first = branch.steps.front();
    if (first.approver.kind == Kind::automatic) {
      plan_.outcome = Outcome::auto_approved;
      reason("approved automatically", first.span);
      return;
    }
    if (first.approver.kind == Kind::deny) {
      plan_.outcome = Outcome::denied;
      plan_.denial = first.approver.name.empty() ? "denied by policy" : first.approver.name;
      reason("denied: " + plan_.denial, first.span);
      return;
    }
    plan_.outcome = Outcome::approval;
    for (const Step& step : branch.steps) {
      PlanStep planned = make_step(step, &app, role.settings);
      reason("step: " + planned.who, step.span);
      plan_.steps.push_back(std::move(planned));
    }
  }

  // Resolves one step. When the requester is the only one who could
  // approve (or too few remain for the quorum), the step escalates per the
  // policy's `escalate:` target, else goes to IT triage: never to
  // self-approval.
  PlanStep make_step(const Step& step, const App* app, const EffectiveSettings& settings) {
    PlanStep planned;
    planned.quorum = step.quorum;
    planned.source = step.approver;
    planned.span = step.span;
    planned.who = (step.quorum > 1 ? std::to_string(step.quorum) + " of " : std::string()) +
                  describe(policy_, step.approver, app, facts_, request_.requester);
    planned.why = why(step.approver, app);
    planned.remind_after = settings.remind_after;
    if (settings.escalate) {
      planned.escalate_after = settings.escalate->after;
      planned.escalate_who = describe(policy_, settings.escalate->to, app, facts_, request_.requester);
      if (auto to = eligible_approvers(policy_, settings.escalate->to, app, request_.requester, facts_.directory)) {
        planned.escalate_to = *to;
      }
    }
    auto eligible = eligible_approvers(policy_, step.approver, app, request_.requester, facts_.directory);
    if (!eligible) {
      planned.eligible_known = false;
      return planned;
    }
    planned.eligible = *eligible;
    if (static_cast<int>(planned.eligible.size()) >= step.quorum) return planned;

    // Not enough people other than the requester.
    const std::string shortfall = planned.eligible.empty()
                                      ? "nobody but the requester can approve this step"
                                      : "too few approvers besides the requester for a quorum of " +
                                            std::to_string(step.quorum);
    if (settings.escalate) {
      auto to = eligible_approvers(policy_, settings.escalate->to, app, request_.requester, facts_.directory);
      if (!to || static_cast<int>(to->size()) >= step.quorum) {
        reason(shortfall + "; escalated to " + planned.escalate_who, settings.escalate->span);
        planned.eligible = to.value_or(std::vector<std::string>{});
        planned.eligible_known = to.has_value();
        planned.who = (step.quorum > 1 ? std::to_string(step.quorum) + " of " : std::string()) + planned.escalate_who;
        planned.why = "escalation: " + shortfall;
        planned.escalate_to.clear();
        planned.escalate_after.reset();
        return planned;
      }
    }
    const Bucket* unknown = policy_.unknown_bucket();
    if (unknown && !unknown->settings.route.branches.empty() && !unknown->settings.route.branches[0].steps.empty()) {
      const Step& triage = unknown->settings.route.branches[0].steps[0];
      auto triagers = eligible_approvers(policy_, triage.approver, app, request_.requester, facts_.directory);
      if (!triagers || !triagers->empty()) {
        reason(shortfall + "; sent to IT triage", triage.span);
        planned.quorum = 1;
        planned.eligible = triagers.value_or(std::vector<std::string>{});
        planned.eligible_known = triagers.has_value();
        planned.who = describe(policy_, triage.approver, app, facts_, request_.requester);
        planned.why = "IT triage: " + shortfall;
        planned.escalate_to.clear();
        planned.escalate_after.reset();
        return planned;
      }
    }
    reason(shortfall + "; no escalation or triage can take it", step.span);
    planned.eligible.clear();
    return planned;
  }

  const Policy& policy_;
  const AccessRequest& request_;
  const Facts& facts_;
  Time now_;
  Plan plan_;
  std::vector<const Conflict*> escalating_conflicts_;
};

}  // namespace

std::string_view outcome_name(Outcome outcome) {
  switch (outcome) {
    case Outcome::approval: return "approval";
    case Outcome::auto_approved: return "auto_approved";
    case Outcome::denied: return "denied";
    case Outcome::rejected: return "rejected";
    case Outcome::triage: return "triage";
  }
  return "unknown";
}

std::optional<std::vector<std::string>> eligible_approvers(const Policy& policy, const Approver& approver,
                                                           const App* app, const std::string& requester,
                                                           const Directory* directory) {
  switch (approver.kind) {
    case Kind::automatic:
    case Kind::deny: return std::vector<std::string>{};
    case Kind::person: return without({approver.name}, requester);
    case Kind::people: {
      std::vector<std::string> people;
      for (const auto& p : approver.people) people.push_back(p.value);
      return without(std::move(people), requester);
    }
    case Kind::manager: {
      const Person* person = directory ? directory->find(requester) : nullptr;
      if (!person) return std::nullopt;
      if (person->manager.empty()) return std::vector<std::string>{};
      return without({person->manager}, requester);
    }
    case Kind::group: {
      const auto* members = directory ? directory->members(approver.name) : nullptr;
      if (!members) return std::nullopt;
      return without(*members, requester);
    }
    case Kind::pool: {
      const Pool* pool = policy.find_pool(approver.name);
      if (!pool) return std::vector<std::string>{};
      return eligible_approvers(policy, pool->source, app, requester, directory);
    }
    case Kind::app_owner:
      if (!app || !app->owner) return std::vector<std::string>{};
      return eligible_approvers(policy, *app->owner, app, requester, directory);
  }
  return std::nullopt;
}

Plan resolve(const Policy& policy, const AccessRequest& request, const Facts& facts, Time now) {
  return Resolver(policy, request, facts, now).run();
}

std::vector<std::string> request_administrators(const Policy& policy, const AccessRequest& request,
                                                const Directory* directory) {
  std::vector<std::string> administrators;
  if (const Bucket* unknown = policy.unknown_bucket()) {
    for (const auto& branch : unknown->settings.route.branches) {
      for (const auto& step : branch.steps) {
        if (auto people = eligible_approvers(policy, step.approver, nullptr, "", directory)) {
          administrators.insert(administrators.end(), people->begin(), people->end());
        }
      }
    }
  }
  if (const App* app = policy.find_app(request.app); app && app->owner) {
    if (auto owners = eligible_approvers(policy, *app->owner, app, request.requester, directory)) {
      administrators.insert(administrators.end(), owners->begin(), owners->end());
    }
  }
  return administrators;
}

}  // namespace portcullis::interpreter
