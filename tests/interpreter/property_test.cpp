// Property tests over the example policies (examples/acme and
// policies/standard): generated requests driven by random event sequences.
//
//   - every run ends in a final state;
//   - no request reaches provisioning, fulfilment or active without the
//     approvals its plan requires (quorum, distinct people, each eligible,
//     never the requester);
//   - every active time-bound grant expires, within the role's maximum for
//     each approved decision;
//   - a refused event changes nothing;
//   - expiring or revoking one of two overlapping grants leaves the
//     membership in place; it goes only with the last grant that needs it.
//
// Seeded: PORTCULLIS_PROPERTY_SEED overrides the base seed; a failure
// prints the seed of the run that failed so it can be replayed alone.

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>
#include <set>

#include "interpreter_test_support.hpp"

namespace portcullis::interpreter {
namespace {

using namespace itest;

std::uint64_t base_seed() {
  if (const char* env = std::getenv("PORTCULLIS_PROPERTY_SEED")) return std::strtoull(env, nullptr, 10);
  return 20261127;
}

struct World {
  std::string name;
  PolicyPtr policy;
  Directory directory;
  std::vector<std::string> people;                          // requesters and bystanders
  std::vector<std::pair<std::string, std::string>> roles;  // the catalog
  std::vector<std::pair<std::string, std::string>> conflict_roles;
};

World make_world(const std::string& name, const std::string& root, bool acme_directory) {
  World w;
  w.name = name;
  w.policy = load_repo_policy(root);
  if (!w.policy) return w;
  if (acme_directory) {
    w.directory = load_acme_directory();
  } else {
    for (const char* email : {"ann.lee@example.com", "carl.diaz@example.com", "bob.stone@example.com",
                              "sam.okafor@example.com", "olivia.hart@example.com"}) {
      w.directory.put(person(email, std::string(email).rfind("carl", 0) == 0 ? "contractor" : "full_time",
                             "bob.stone@example.com"));
    }
    w.directory.set_group("platform-leads", {"pat.kim@example.com", "raj.rao@example.com", "ann.lee@example.com"});
    w.directory.set_group("security-oncall", {"sec.one@example.com", "sec.two@example.com"});
    w.directory.set_group("it-ops", {"tom.nash@example.com", "sam.okafor@example.com"});
  }
  std::set<std::string> people;
  for (const auto& [app_name, app] : w.policy->apps()) {
    for (const auto& role : app.roles) w.roles.emplace_back(app.name, role.name);
  }
  for (const auto& c : w.policy->conflicts()) {
    for (const auto& r : c.roles) w.conflict_roles.push_back(r);
  }
  // People who show up as approvers, so approvals are often by someone
  // eligible, plus a sample of everyone.
  for (const auto& [app_name, app] : w.policy->apps()) {
    if (app.owner) {
      if (auto owners = eligible_approvers(*w.policy, *app.owner, &app, "", &w.directory)) {
        people.insert(owners->begin(), owners->end());
      }
    }
  }
  for (const char* g : {"platform-leads", "security-oncall", "it-ops", "finance-approvers", "data-stewards",
                        "eng-managers", "support-leads", "people-ops", "it-admins"}) {
    if (const auto* members = w.directory.members(g)) people.insert(members->begin(), members->end());
  }
  for (const char* p : {"ann.lee@acme.com", "carl.diaz@acme.com", "leo.martins@acme.com", "ivy.chen@acme.com",
                        "bob.stone@acme.com", "chloe.martin@acme.com", "mark.jensen@acme.com", "nobody@elsewhere.com",
                        "maya.patel@acme.com", "olivia.hart@acme.com", "james.wright@acme.com"}) {
    people.insert(p);
  }
  w.people.assign(people.begin(), people.end());
  return w;
}

const std::vector<World>& worlds() {
  static const std::vector<World> all = [] {
    std::vector<World> v;
    v.push_back(make_world("acme", "examples/acme/acme.policy", true));
    v.push_back(make_world("standard", "policies/standard/buckets_test.policy", false));
    return v;
  }();
  return all;
}

// The longest grant a role's duration rule allows for one decision;
// nullopt when unbounded.
std::optional<Seconds> role_maximum(const Role& role) {
  const DurationRule& rule = role.settings.duration;
  std::optional<Seconds> max;
  if (!rule.allowed.empty()) max = rule.allowed.back();
  if (rule.maximum) max = std::max(max.value_or(0), *rule.maximum);
  return max;
}

class RandomRun {
 public:
  RandomRun(const World& world, std::uint64_t seed) : w_(world), rng_(seed) {}

  // Returns false (with a gtest failure already recorded) when a property
  // does not hold.
  void go() {
    now_ = kNow + static_cast<Time>(pick(1000)) * 60;
    make_request();
    Plan plan = resolve(*w_.policy, request_, facts(), now_);
    accept(submit("req", request_, std::move(plan), context()));
    const int events = 5 + static_cast<int>(pick(40));
    for (int i = 0; i < events && !is_closed(state_.status) && !::testing::Test::HasFailure(); ++i) random_event();
    drain();
    EXPECT_TRUE(is_closed(state_.status)) << "ends in " << status_name(state_.status) << "\n" << log_;
    ++coverage()[std::string(status_name(state_.status))];
  }

  // How runs ended, and what they went through, over all runs: proof that
  // the generator reaches the interesting paths.
  static std::map<std::string, int>& coverage() {
    static std::map<std::string, int> counts;
    return counts;
  }

 private:
  std::size_t pick(std::size_t n) { return n == 0 ? 0 : std::uniform_int_distribution<std::size_t>(0, n - 1)(rng_); }
  bool chance(int percent) { return static_cast<int>(pick(100)) < percent; }
  template <typename T>
  const T& one_of(const std::vector<T>& v) { return v[pick(v.size())]; }

  Facts facts() {
    Facts f;
    f.directory = &w_.directory;
    f.current_grants = grants_;
    return f;
  }

  StepContext context() const {
    StepContext c;
    c.now = now_;
    c.administrators = administrators_;
    return c;
  }

  void make_request() {
    request_.requester = one_of(w_.people);
    if (chance(5)) {
      request_.app = "canva";
      request_.role = "pro";
    } else {
      const auto& [app, role] = one_of(w_.roles);
      request_.app = app;
      request_.role = role;
    }
    if (chance(85)) request_.justification = "work";
    if (chance(75)) request_.ticket = "ACC-1";
    if (const Role* role = w_.policy->find_role(request_.app, request_.role)) {
      const DurationRule& rule = role->settings.duration;
      switch (pick(5)) {
        case 0: break;  // the default
        case 1: request_.permanent = true; break;
        case 2:
          if (!rule.allowed.empty()) request_.duration = one_of(rule.allowed);
          break;
        case 3:
          if (rule.maximum) request_.duration = *rule.maximum;
          break;
        default: request_.duration = static_cast<Seconds>(1 + pick(60)) * kDay / 4;
      }
    }
    if (!w_.conflict_roles.empty() && chance(30)) grants_.push_back(one_of(w_.conflict_roles));
    if (const Bucket* unknown = w_.policy->unknown_bucket()) {
      for (const auto& branch : unknown->settings.route.branches) {
        for (const auto& s : branch.steps) {
          if (auto p = eligible_approvers(*w_.policy, s.approver, nullptr, "", &w_.directory)) {
            administrators_.insert(administrators_.end(), p->begin(), p->end());
          }
        }
      }
    }
  }

  // People who might act now: the eligible ones (often), the requester,
  // whoever approved already, and anyone at all.
  std::string actor() {
    std::vector<std::string> candidates;
    const auto& steps = state_.plan.steps;
    const std::size_t k = state_.renewal ? state_.renewal->step : state_.step;
    if (k < steps.size()) {
      candidates = steps[k].eligible;
      candidates.insert(candidates.end(), steps[k].escalate_to.begin(), steps[k].escalate_to.end());
    }
    for (const auto& step_approvals : state_.approvals) {
      for (const auto& a : step_approvals) {
        if (chance(30)) candidates.push_back(a.by);
      }
    }
    if (chance(10) || candidates.empty()) candidates.push_back(request_.requester);
    if (chance(15) || candidates.empty()) candidates.push_back(one_of(w_.people));
    if (chance(10)) candidates.push_back(one_of(administrators_.empty() ? w_.people : administrators_));
    return one_of(candidates);
  }

  void random_event() {
    const std::size_t roll = pick(100);
    if (!pending_.empty() && roll < 25) {
      // A connector reports back; one in twenty fails.
      const std::size_t i = pick(pending_.size());
      ProvisionResultEvent e = pending_[i];
      pending_.erase(pending_.begin() + static_cast<long>(i));
      if (chance(5)) {
        e.ok = false;
        e.detail = "HTTP 503";
      }
      deliver(e);
    } else if (roll < 60) {
      deliver(ApproveEvent{actor()});
    } else if (roll < 64) {
      deliver(DenyEvent{actor(), "no"});
    } else if (roll < 67) {
      deliver(CancelEvent{chance(70) ? request_.requester : actor()});
    } else if (roll < 71) {
      deliver(RevokeEvent{chance(50) ? request_.requester : actor(), "done"});
    } else if (roll < 80) {
      fire_next_timer(std::nullopt);
    } else if (roll < 87) {
      std::optional<Seconds> d;
      if (chance(50)) d = static_cast<Seconds>(1 + pick(48)) * kHour;
      deliver(RenewEvent{chance(85) ? request_.requester : actor(), d});
    } else if (roll < 92) {
      deliver(FulfilmentEvent{chance(70) && !administrators_.empty() ? one_of(administrators_) : actor()});
    } else if (roll < 96) {
      triage();
    } else {
      advance(now_ + static_cast<Time>(pick(3 * kDay)));
    }
  }

  // Time passes as it does for the runtime: every timer due on the way
  // fires at its own instant.
  void advance(Time until) {
    for (int guard = 0; guard < 1000 && !timers_.empty(); ++guard) {
      const auto next = std::min_element(timers_.begin(), timers_.end(),
                                         [](const auto& a, const auto& b) { return a.second.at < b.second.at; });
      if (next->second.at > until) break;
      fire_next_timer(until);
    }
    now_ = std::max(now_, until);
  }

  void triage() {
    AccessRequest mapped = request_;
    const auto& [app, role] = one_of(w_.roles);
    mapped.app = app;
    mapped.role = role;
    mapped.duration.reset();
    mapped.permanent = false;
    Plan plan = resolve(*w_.policy, mapped, facts(), now_);
    deliver(TriageEvent{chance(80) && !administrators_.empty() ? one_of(administrators_) : actor(), mapped, plan});
  }

  void fire_next_timer(std::optional<Time> limit) {
    if (timers_.empty()) return;
    auto next = std::min_element(timers_.begin(), timers_.end(),
                                 [](const auto& a, const auto& b) { return a.second.at < b.second.at; });
    if (limit && next->second.at > *limit) return;
    const ScheduleTimerEffect timer = next->second;
    timers_.erase(next);
    now_ = std::max(now_, timer.at);
    deliver(TimerEvent{timer.kind, timer.step});
  }

  void deliver(const Event& event) {
    const RequestState before = state_;
    Transition t = step(state_, event, context());
    log_ += "  " + std::to_string(now_ - kNow) + "s " + describe_event(event) + " -> ";
    if (t.refusal) {
      log_ += "refused: " + *t.refusal + "\n";
      EXPECT_EQ(t.state.version, before.version) << "a refusal changed the state\n" << log_;
      EXPECT_EQ(t.state.status, before.status) << log_;
      EXPECT_EQ(t.effects.size(), 1u) << "a refusal only records evidence\n" << log_;
      if (std::holds_alternative<ProvisionResultEvent>(event)) {
        ADD_FAILURE() << "a provisioning result the request asked for was refused\n" << log_;
      }
      return;
    }
    if (t.ignored) {
      log_ += "ignored\n";
      EXPECT_EQ(t.state.version, before.version);
      return;
    }
    accept(std::move(t));
  }

  void accept(Transition t) {
    const Status previous = state_.status;
    const bool first = state_.id.empty();
    state_ = std::move(t.state);
    log_ += std::string(status_name(state_.status)) + "\n";
    for (const auto& e : t.effects) {
      if (const auto* add = std::get_if<AddMembershipEffect>(&e)) {
        pending_.push_back(ProvisionResultEvent{add->group, true, true, ""});
      } else if (const auto* remove = std::get_if<RemoveMembershipEffect>(&e)) {
        pending_.push_back(ProvisionResultEvent{remove->group, false, true, ""});
      } else if (const auto* schedule = std::get_if<ScheduleTimerEffect>(&e)) {
        timers_[schedule->kind] = *schedule;
      } else if (const auto* cancel = std::get_if<CancelTimerEffect>(&e)) {
        timers_.erase(cancel->kind);
      }
    }
    const bool granted_now = state_.status == Status::provisioning || state_.status == Status::active ||
                             state_.status == Status::awaiting_fulfilment;
    const bool granted_before = !first && (previous == Status::provisioning || previous == Status::active ||
                                           previous == Status::awaiting_fulfilment ||
                                           previous == Status::deprovisioning);
    if (granted_now && !granted_before) {
      check_approvals();
      ++coverage()[plan_kind()];
    }
    if (state_.renewals > 0 && was_active_ && last_expires_at_ != state_.expires_at) ++coverage()["renewed"];
    if (previous == Status::awaiting_triage && state_.status != Status::awaiting_triage) ++coverage()["triaged"];
    if (state_.status == Status::active) check_expiry();
    was_active_ = state_.status == Status::active;
    last_expires_at_ = state_.expires_at;
  }

  std::string plan_kind() const {
    if (state_.plan.outcome == Outcome::auto_approved) return "granted automatically";
    return "granted after " + std::to_string(state_.plan.steps.size()) + " step(s)";
  }

  // No path to access without the approvals the plan requires.
  void check_approvals() {
    const Plan& plan = state_.plan;
    if (plan.outcome == Outcome::auto_approved) return;
    ASSERT_EQ(plan.outcome, Outcome::approval) << "access from a plan that is " << outcome_name(plan.outcome) << "\n"
                                               << log_;
    ASSERT_FALSE(plan.steps.empty()) << log_;
    std::set<std::string> everyone;
    for (std::size_t k = 0; k < plan.steps.size(); ++k) {
      const PlanStep& s = plan.steps[k];
      const auto& got = state_.approvals.at(k);
      EXPECT_GE(static_cast<int>(got.size()), s.quorum) << "step " << k + 1 << "\n" << log_;
      for (const auto& a : got) {
        EXPECT_NE(a.by, state_.request.requester) << "self-approval\n" << log_;
        EXPECT_TRUE(everyone.insert(a.by).second) << a.by << " counted twice\n" << log_;
        const bool eligible = std::count(s.eligible.begin(), s.eligible.end(), a.by) > 0;
        const bool escalated = state_.escalated.at(k) &&
                               std::count(s.escalate_to.begin(), s.escalate_to.end(), a.by) > 0;
        EXPECT_TRUE(eligible || escalated) << a.by << " was not eligible for step " << k + 1 << "\n" << log_;
      }
    }
  }

  // An active time-bound grant ends, and no approved decision grants more
  // than the role allows.
  void check_expiry() {
    const Plan& plan = state_.plan;
    ASSERT_TRUE(state_.active_at) << log_;
    if (!plan.duration) {
      EXPECT_FALSE(state_.expires_at) << log_;
      EXPECT_FALSE(plan.expiry_required) << "a role that must expire is permanent\n" << log_;
      return;
    }
    ASSERT_TRUE(state_.expires_at) << "time-bound access without an expiry\n" << log_;
    EXPECT_GT(*state_.expires_at, now_) << "active past its expiry after a transition\n" << log_;
    // Each approved decision (the grant, then each renewal) extends the
    // access by at most the plan's duration from the later of the old
    // expiry and the moment of the decision.
    if (!was_active_) {
      EXPECT_EQ(*state_.expires_at, *state_.active_at + *plan.duration) << log_;
    } else if (*state_.expires_at != *last_expires_at_) {
      EXPECT_LE(*state_.expires_at, std::max(*last_expires_at_, now_) + *plan.duration) << log_;
      EXPECT_GT(*state_.expires_at, *last_expires_at_) << "a renewal shortened the grant\n" << log_;
    }
    if (plan.max_renewals) {
      EXPECT_LE(state_.renewals, *plan.max_renewals) << log_;
    }
    EXPECT_TRUE(timers_.count(TimerKind::expire)) << "nothing will end this grant\n" << log_;
    if (timers_.count(TimerKind::expire)) {
      EXPECT_EQ(timers_.at(TimerKind::expire).at, *state_.expires_at);
    }
    if (const Role* role = w_.policy->find_role(state_.request.app, state_.request.role)) {
      if (const auto max = role_maximum(*role)) {
        EXPECT_LE(*plan.duration, *max) << "granted beyond the role's maximum\n" << log_;
      }
    }
  }

  // Bring the request to an end the way the runtime and people would:
  // connectors answer, time passes, someone cancels or revokes.
  void drain() {
    for (int round = 0; round < 50 && !is_closed(state_.status) && !::testing::Test::HasFailure(); ++round) {
      if (!pending_.empty()) {
        ProvisionResultEvent e = pending_.front();
        pending_.erase(pending_.begin());
        deliver(e);
        continue;
      }
      switch (state_.status) {
        case Status::active:
          if (state_.expires_at) {
            fire_next_timer(std::nullopt);
          } else {
            deliver(RevokeEvent{request_.requester, "done"});
          }
          break;
        case Status::deprovisioning:
          // Only a manual role waits here with nothing in flight.
          deliver(FulfilmentEvent{someone_else()});
          break;
        default: deliver(CancelEvent{request_.requester}); break;
      }
    }
  }

  // An administrator who is not the requester (a person confirms for others).
  std::string someone_else() const {
    for (const auto& a : administrators_) {
      if (a != request_.requester) return a;
    }
    return "nobody@elsewhere.com";
  }

  const World& w_;
  std::mt19937_64 rng_;
  Time now_ = kNow;
  AccessRequest request_;
  std::vector<std::pair<std::string, std::string>> grants_;
  std::vector<std::string> administrators_;
  RequestState state_;
  std::vector<ProvisionResultEvent> pending_;
  std::map<TimerKind, ScheduleTimerEffect> timers_;
  std::string log_;
  bool was_active_ = false;
  std::optional<Time> last_expires_at_;
};

TEST(InterpreterProperties, RandomEventSequencesKeepTheInvariants) {
  const std::uint64_t seed0 = base_seed();
  constexpr int kRunsPerWorld = 5000;
  for (const World& world : worlds()) {
    ASSERT_TRUE(world.policy) << world.name;
    ASSERT_FALSE(world.roles.empty());
    for (int i = 0; i < kRunsPerWorld; ++i) {
      const std::uint64_t seed = seed0 + static_cast<std::uint64_t>(i);
      SCOPED_TRACE("world " + world.name + ", seed " + std::to_string(seed) +
                   " (replay: PORTCULLIS_PROPERTY_SEED=" + std::to_string(seed) + ")");
      RandomRun(world, seed).go();
      if (::testing::Test::HasFailure()) return;  // one failing run is enough to read
    }
  }
  const auto& seen = RandomRun::coverage();
  std::string summary;
  for (const auto& [what, n] : seen) summary += "  " + what + ": " + std::to_string(n) + "\n";
  std::printf("property runs:\n%s", summary.c_str());
  auto count = [&](const std::string& key) { return seen.count(key) ? seen.at(key) : 0; };
  for (const char* key : {"expired", "revoked", "denied", "cancelled", "failed", "granted automatically",
                          "granted after 1 step(s)", "granted after 2 step(s)", "renewed", "triaged"}) {
    EXPECT_GT(count(key), 5) << "the generator rarely reaches " << key << "\n" << summary;
  }
}

// ---- overlapping grants --------------------------------------------------------------

// Two requests of one person granting the same groups, driven to active;
// then one ends (expiry or revocation) while the other is active. The
// connector's membership ledger must keep the shared groups until the
// second grant ends too.
class Overlap {
 public:
  Overlap(const World& world, std::uint64_t seed) : w_(world), rng_(seed) {}

  void go() {
    // A role with groups, granted through approvals we can give.
    const Role* role = nullptr;
    for (int tries = 0; tries < 200 && !role; ++tries) {
      const auto& [app, name] = w_.roles[pick(w_.roles.size())];
      const Role* r = w_.policy->find_role(app, name);
      if (r && !r->groups.empty()) role = r;
    }
    ASSERT_TRUE(role);
    const std::string requester = w_.people[pick(w_.people.size())];
    RequestState a, b;
    if (!activate(*role, requester, "a", a) || !activate(*role, requester, "b", b)) return;  // not grantable: skip
    ++activated_;
    for (const auto& g : role->groups) ASSERT_TRUE(ledger_.count({requester, g.key()})) << g.key();

    // End the first one while the second is active.
    const bool expire_first = a.expires_at && pick(2) == 0;
    RequestState& first = pick(2) == 0 ? a : b;
    RequestState& second = &first == &a ? b : a;
    end(first, held_by(second), expire_first);
    EXPECT_TRUE(is_closed(first.status)) << status_name(first.status);
    for (const auto& g : role->groups) {
      EXPECT_TRUE(ledger_.count({requester, g.key()})) << "ending one grant removed " << g.key()
                                                       << " that the other still needs";
    }
    // Then the second, with nothing else holding the groups.
    end(second, {}, false);
    EXPECT_TRUE(is_closed(second.status));
    for (const auto& g : role->groups) {
      EXPECT_FALSE(ledger_.count({requester, g.key()})) << g.key() << " outlived every grant that needed it";
    }
  }

  int activated() const { return activated_; }

 private:
  std::size_t pick(std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng_); }

  std::set<std::string> held_by(const RequestState& other) const {
    std::set<std::string> held;
    if (other.status != Status::active) return held;
    for (const auto& m : other.memberships) {
      if (m.state == Membership::State::added || m.state == Membership::State::kept) held.insert(m.group.key());
    }
    return held;
  }

  StepContext context(std::set<std::string> held = {}) const {
    StepContext c;
    c.now = now_;
    c.held_elsewhere = std::move(held);
    return c;
  }

  // Performs the effects on the ledger and feeds results back.
  RequestState perform(Transition t, const std::set<std::string>& held) {
    std::deque<Effect> pending(t.effects.begin(), t.effects.end());
    RequestState s = std::move(t.state);
    while (!pending.empty()) {
      const Effect e = pending.front();
      pending.pop_front();
      std::optional<Event> follow;
      if (const auto* add = std::get_if<AddMembershipEffect>(&e)) {
        ledger_.insert({add->user, add->group.key()});
        follow = ProvisionResultEvent{add->group, true, true, ""};
      } else if (const auto* remove = std::get_if<RemoveMembershipEffect>(&e)) {
        ledger_.erase({remove->user, remove->group.key()});
        follow = ProvisionResultEvent{remove->group, false, true, ""};
      }
      if (!follow) continue;
      Transition next = step(s, *follow, context(held));
      EXPECT_FALSE(next.refusal);
      pending.insert(pending.end(), next.effects.begin(), next.effects.end());
      s = std::move(next.state);
    }
    return s;
  }

  bool activate(const Role& role, const std::string& requester, const std::string& id, RequestState& out) {
    AccessRequest r = request_for(requester, role.app, role.name);
    r.justification = "work";
    r.ticket = "ACC-1";
    Facts facts;
    facts.directory = &w_.directory;
    Plan plan = resolve(*w_.policy, r, facts, now_);
    if (plan.outcome != Outcome::approval && plan.outcome != Outcome::auto_approved) return false;
    RequestState s = perform(submit(id, r, plan, context()), {});
    for (std::size_t k = 0; k < s.plan.steps.size() && s.status == Status::awaiting_approval; ++k) {
      const std::vector<std::string> eligible = s.plan.steps[k].eligible;  // s changes below
      for (const auto& who : eligible) {
        if (s.status != Status::awaiting_approval || s.step != k) break;
        Transition t = step(s, ApproveEvent{who}, context());
        if (t.refusal) continue;  // already counted on an earlier step
        s = perform(std::move(t), {});
      }
    }
    if (s.status != Status::active) return false;
    now_ += static_cast<Time>(pick(3600));
    out = std::move(s);
    return true;
  }

  void end(RequestState& s, const std::set<std::string>& held, bool by_expiry) {
    if (by_expiry) now_ = std::max(now_, *s.expires_at);
    Transition t = by_expiry ? step(s, TimerEvent{TimerKind::expire, 0}, context(held))
                             : step(s, RevokeEvent{s.request.requester, "done"}, context(held));
    ASSERT_FALSE(t.refusal) << *t.refusal;
    ASSERT_FALSE(t.ignored);
    s = perform(std::move(t), held);
  }

  const World& w_;
  std::mt19937_64 rng_;
  Time now_ = kNow;
  std::set<std::pair<std::string, std::string>> ledger_;
  int activated_ = 0;
};

TEST(InterpreterProperties, EndingOneOfTwoOverlappingGrantsKeepsTheMembership) {
  const std::uint64_t seed0 = base_seed() + 1'000'000;
  int activated = 0;
  for (const World& world : worlds()) {
    ASSERT_TRUE(world.policy);
    for (int i = 0; i < 500; ++i) {
      const std::uint64_t seed = seed0 + static_cast<std::uint64_t>(i);
      SCOPED_TRACE("world " + world.name + ", seed " + std::to_string(seed));
      Overlap run(world, seed);
      run.go();
      activated += run.activated();
      if (::testing::Test::HasFailure()) return;
    }
  }
  EXPECT_GT(activated, 200) << "too few runs reached two active grants to prove anything";
}

}  // namespace
}  // namespace portcullis::interpreter
