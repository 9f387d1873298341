// submit() and step(): every transition of the request state machine, and
// every event it refuses (with the refusal recorded as evidence).

#include "interpreter/state_machine.hpp"

#include <gtest/gtest.h>

#include "interpreter_test_support.hpp"

namespace portcullis::interpreter {
namespace {

using namespace itest;
using Strings = std::vector<std::string>;

const std::string kRequester = "ann@x.com";

GroupRef group(const std::string& name) { return GroupRef{"sandbox.demo", "sandbox", name, {}}; }

PlanStep plan_step(Strings eligible, int quorum = 1) {
  PlanStep s;
  s.quorum = quorum;
  s.eligible = std::move(eligible);
  s.who = "approver";
  return s;
}

Plan approval_plan(std::vector<PlanStep> steps, std::optional<Seconds> duration = 6 * kHour) {
  Plan p;
  p.outcome = Outcome::approval;
  p.app = "tool";
  p.role = "admin";
  p.steps = std::move(steps);
  p.duration = duration;
  p.groups = {group("g1"), group("g2")};
  return p;
}

AccessRequest the_request() { return request_for(kRequester, "tool", "admin"); }

StepContext ctx(Time now, std::set<std::string> held = {}) {
  StepContext c;
  c.now = now;
  c.held_elsewhere = std::move(held);
  c.administrators = {"it@x.com"};
  return c;
}

RequestState submitted(const Plan& plan, std::vector<Effect>* effects = nullptr) {
  return settle(submit("r1", the_request(), plan, ctx(kNow)), ctx(kNow), effects);
}

// Applies one event that must be accepted, then performs its membership effects.
RequestState apply(const RequestState& s, const Event& e, Time now, std::set<std::string> held = {},
                   std::vector<Effect>* effects = nullptr) {
  Transition t = step(s, e, ctx(now, held));
  EXPECT_FALSE(t.refusal) << describe_event(e) << ": " << *t.refusal;
  EXPECT_FALSE(t.ignored) << describe_event(e);
  return settle(std::move(t), ctx(now, held), effects);
}

// Applies one event that must be refused: state unchanged, refusal recorded.
std::string refused(const RequestState& s, const Event& e, Time now = kNow) {
  const Transition t = step(s, e, ctx(now));
  EXPECT_TRUE(t.refusal) << describe_event(e) << " was accepted; now " << status_name(t.state.status);
  EXPECT_EQ(t.state.status, s.status);
  EXPECT_EQ(t.state.version, s.version);
  EXPECT_EQ(t.state.approvals.size(), s.approvals.size());
  EXPECT_TRUE(t.refusal && has_evidence_containing(t, "refused: " + *t.refusal)) << "a refusal leaves evidence";
  return t.refusal.value_or("");
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// ---- submit --------------------------------------------------------------------

TEST(StateMachine, SubmitWaitsForTheFirstStepAndSetsItsTimers) {
  Plan plan = approval_plan({plan_step({"owner@x.com"}), plan_step({"sec@x.com"})});
  plan.steps[0].remind_after = kHour;
  plan.steps[0].escalate_after = 4 * kHour;
  plan.steps[0].escalate_to = {"it@x.com"};
  const Transition t = submit("r1", the_request(), plan, ctx(kNow));
  EXPECT_EQ(t.state.status, Status::awaiting_approval);
  EXPECT_EQ(t.state.step, 0u);
  EXPECT_EQ(t.state.created_at, kNow);
  EXPECT_TRUE(has_evidence_containing(t, "requested: ann@x.com asks for tool.admin for 6h"));
  const auto cards = effects_of<PostCardEffect>(t);
  ASSERT_EQ(cards.size(), 1u);
  EXPECT_EQ(cards[0].approvers, Strings{"owner@x.com"});
  const auto timers = effects_of<ScheduleTimerEffect>(t);
  ASSERT_EQ(timers.size(), 2u);
  EXPECT_EQ(timers[0].kind, TimerKind::remind);
  EXPECT_EQ(timers[0].at, kNow + kHour);
  EXPECT_EQ(timers[1].kind, TimerKind::escalate);
  EXPECT_EQ(timers[1].at, kNow + 4 * kHour);
}

TEST(StateMachine, SubmitOfAnAutomaticPlanProvisionsThenActivates) {
  Plan plan = approval_plan({});
  plan.outcome = Outcome::auto_approved;
  const Transition t = submit("r1", the_request(), plan, ctx(kNow));
  EXPECT_EQ(t.state.status, Status::provisioning);
  EXPECT_EQ(effects_of<AddMembershipEffect>(t).size(), 2u);
  std::vector<Effect> all;
  const RequestState s = settle(t, ctx(kNow), &all);
  EXPECT_EQ(s.status, Status::active);
  EXPECT_EQ(s.active_at, kNow);
  EXPECT_EQ(s.expires_at, kNow + 6 * kHour);
  bool expire_scheduled = false;
  for (const auto& e : all) {
    if (const auto* timer = std::get_if<ScheduleTimerEffect>(&e)) {
      expire_scheduled |= timer->kind == TimerKind::expire && timer->at == kNow + 6 * kHour;
    }
  }
  EXPECT_TRUE(expire_scheduled);
}

TEST(StateMachine, SubmitOfAPermanentAutomaticPlanHasNoExpiry) {
  Plan plan = approval_plan({}, std::nullopt);
  plan.outcome = Outcome::auto_approved;
  const RequestState s = submitted(plan);
  EXPECT_EQ(s.status, Status::active);
  EXPECT_FALSE(s.expires_at);
}

TEST(StateMachine, SubmitOfADeniedOrRejectedPlanCloses) {
  for (Outcome outcome : {Outcome::denied, Outcome::rejected}) {
    Plan plan = approval_plan({});
    plan.outcome = outcome;
    plan.denial = "no way";
    const Transition t = submit("r1", the_request(), plan, ctx(kNow));
    EXPECT_EQ(t.state.status, Status::denied);
    EXPECT_EQ(t.state.closing_reason, "no way");
    EXPECT_EQ(t.state.closed_at, kNow);
    EXPECT_TRUE(effects_of<AddMembershipEffect>(t).empty());
  }
}

TEST(StateMachine, SubmitOfATriagePlanAwaitsTriage) {
  Plan plan = approval_plan({plan_step({"it@x.com"})});
  plan.outcome = Outcome::triage;
  EXPECT_EQ(submitted(plan).status, Status::awaiting_triage);
}

TEST(StateMachine, AStepNobodyButTheRequesterCouldApproveIsDenied) {
  const RequestState s = submitted(approval_plan({plan_step({})}));
  EXPECT_EQ(s.status, Status::denied);
  EXPECT_TRUE(contains(s.closing_reason, "nobody but the requester"));
}

TEST(StateMachine, AnApprovalPlanWithoutStepsIsDenied) {
  EXPECT_EQ(submitted(approval_plan({})).status, Status::denied);
}

// ---- approvals ------------------------------------------------------------------

TEST(StateMachine, ApprovalsMoveThroughTheStepsToActive) {
  RequestState s = submitted(approval_plan({plan_step({"owner@x.com"}), plan_step({"sec1@x.com", "sec2@x.com"}, 2)}));
  s = apply(s, ApproveEvent{"owner@x.com"}, kNow + 10);
  EXPECT_EQ(s.status, Status::awaiting_approval);
  EXPECT_EQ(s.step, 1u);
  s = apply(s, ApproveEvent{"sec1@x.com"}, kNow + 20);
  EXPECT_EQ(s.status, Status::awaiting_approval) << "one of a quorum of two";
  EXPECT_EQ(s.step, 1u);
  s = apply(s, ApproveEvent{"sec2@x.com"}, kNow + 30);
  EXPECT_EQ(s.status, Status::active);
  EXPECT_EQ(s.approved_at, kNow + 30);
  EXPECT_EQ(s.expires_at, kNow + 30 + 6 * kHour);
  ASSERT_EQ(s.memberships.size(), 2u);
  for (const auto& m : s.memberships) EXPECT_EQ(m.state, Membership::State::added);
  EXPECT_EQ(s.approvals[0].size(), 1u);
  EXPECT_EQ(s.approvals[1].size(), 2u);
}

TEST(StateMachine, TheRequesterCannotApprove) {
  // Even if a plan were to list them.
  const RequestState s = submitted(approval_plan({plan_step({kRequester, "owner@x.com"})}));
  EXPECT_TRUE(contains(refused(s, ApproveEvent{kRequester}), "own request"));
}

TEST(StateMachine, SomeoneNotEligibleCannotApprove) {
  const RequestState s = submitted(approval_plan({plan_step({"owner@x.com"}), plan_step({"sec@x.com"})}));
  EXPECT_TRUE(contains(refused(s, ApproveEvent{"mallory@x.com"}), "not an approver of step 1"));
  // The approver of a later step cannot approve the current one.
  EXPECT_TRUE(contains(refused(s, ApproveEvent{"sec@x.com"}), "not an approver of step 1"));
}

TEST(StateMachine, NobodyApprovesTwice) {
  RequestState s = submitted(approval_plan({plan_step({"a@x.com", "b@x.com"}, 2)}));
  s = apply(s, ApproveEvent{"a@x.com"}, kNow);
  EXPECT_TRUE(contains(refused(s, ApproveEvent{"a@x.com"}), "already approved"));
  // Nor counts again on a later step.
  RequestState two = submitted(approval_plan({plan_step({"a@x.com"}), plan_step({"a@x.com", "b@x.com"})}));
  two = apply(two, ApproveEvent{"a@x.com"}, kNow);
  EXPECT_TRUE(contains(refused(two, ApproveEvent{"a@x.com"}), "already approved this request (step 1)"));
}

TEST(StateMachine, AnUnknownGroupCannotBeVerified) {
  PlanStep unknown = plan_step({});
  unknown.eligible_known = false;
  const RequestState s = submitted(approval_plan({unknown}));
  EXPECT_EQ(s.status, Status::awaiting_approval);
  EXPECT_TRUE(contains(refused(s, ApproveEvent{"someone@x.com"}), "directory does not say"));
}

TEST(StateMachine, AfterEscalationTheEscalationTargetMayApprove) {
  PlanStep first = plan_step({"owner@x.com"});
  first.escalate_after = 72 * kHour;
  first.escalate_to = {"it@x.com"};
  RequestState s = submitted(approval_plan({first}));
  EXPECT_TRUE(contains(refused(s, ApproveEvent{"it@x.com"}), "not an approver"));
  Transition escalated = step(s, TimerEvent{TimerKind::escalate, 0}, ctx(kNow + 72 * kHour));
  EXPECT_TRUE(has_evidence_containing(escalated, "escalated to"));
  ASSERT_EQ(effects_of<PostCardEffect>(escalated).size(), 1u);
  EXPECT_EQ(effects_of<PostCardEffect>(escalated)[0].approvers, Strings{"it@x.com"});
  s = escalated.state;
  EXPECT_TRUE(s.escalated[0]);
  // A second escalation timer for the same step does nothing.
  EXPECT_TRUE(step(s, TimerEvent{TimerKind::escalate, 0}, ctx(kNow + 73 * kHour)).ignored);
  s = apply(s, ApproveEvent{"it@x.com"}, kNow + 73 * kHour);
  EXPECT_EQ(s.status, Status::active);
}

TEST(StateMachine, AnEscalationHelpsEvenWhenTheStepsGroupIsUnknown) {
  PlanStep unknown = plan_step({});
  unknown.eligible_known = false;
  unknown.escalate_after = kHour;
  unknown.escalate_to = {"it@x.com"};
  RequestState s = submitted(approval_plan({unknown}));
  s = apply(s, TimerEvent{TimerKind::escalate, 0}, kNow + kHour);
  s = apply(s, ApproveEvent{"it@x.com"}, kNow + kHour);
  EXPECT_EQ(s.status, Status::active);
}

TEST(StateMachine, RemindersGoToThoseWhoHaveNotApproved) {
  PlanStep quorum = plan_step({"a@x.com", "b@x.com", "c@x.com"}, 2);
  quorum.remind_after = kHour;
  RequestState s = submitted(approval_plan({quorum}));
  s = apply(s, ApproveEvent{"a@x.com"}, kNow);
  const Transition t = step(s, TimerEvent{TimerKind::remind, 0}, ctx(kNow + kHour));
  ASSERT_FALSE(t.refusal);
  const auto notes = effects_of<NotifyEffect>(t);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_EQ(notes[0].to, (Strings{"b@x.com", "c@x.com"}));
  const auto again = effects_of<ScheduleTimerEffect>(t);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].at, kNow + 2 * kHour);
}

TEST(StateMachine, StaleTimersAreIgnored) {
  RequestState s = submitted(approval_plan({plan_step({"owner@x.com"}), plan_step({"sec@x.com"})}));
  s = apply(s, ApproveEvent{"owner@x.com"}, kNow);
  EXPECT_TRUE(step(s, TimerEvent{TimerKind::remind, 0}, ctx(kNow + kHour)).ignored);
  EXPECT_TRUE(step(s, TimerEvent{TimerKind::escalate, 0}, ctx(kNow + kHour)).ignored);
  EXPECT_TRUE(step(s, TimerEvent{TimerKind::expire, 0}, ctx(kNow + kHour)).ignored);
}

// ---- denial and cancellation -----------------------------------------------------------

TEST(StateMachine, AnApproverDenies) {
  const RequestState s = submitted(approval_plan({plan_step({"owner@x.com"})}));
  const RequestState d = apply(s, DenyEvent{"owner@x.com", "not needed"}, kNow + 5);
  EXPECT_EQ(d.status, Status::denied);
  EXPECT_EQ(d.closed_by, "owner@x.com");
  EXPECT_EQ(d.closing_reason, "not needed");
  EXPECT_TRUE(contains(refused(s, DenyEvent{"mallory@x.com", ""}), "not an approver"));
  EXPECT_TRUE(contains(refused(s, DenyEvent{kRequester, ""}), "cancel it instead"));
}

TEST(StateMachine, CancellationByTheRequesterOrAnAdministrator) {
  const RequestState s = submitted(approval_plan({plan_step({"owner@x.com"})}));
  EXPECT_EQ(apply(s, CancelEvent{kRequester}, kNow).status, Status::cancelled);
  EXPECT_EQ(apply(s, CancelEvent{"it@x.com"}, kNow).status, Status::cancelled);
  EXPECT_TRUE(contains(refused(s, CancelEvent{"owner@x.com"}), "may not cancel"));
}

TEST(StateMachine, ActiveAccessIsRevokedNotCancelled) {
  RequestState s = submitted(approval_plan({plan_step({"owner@x.com"})}));
  s = apply(s, ApproveEvent{"owner@x.com"}, kNow);
  ASSERT_EQ(s.status, Status::active);
  EXPECT_TRUE(contains(refused(s, CancelEvent{kRequester}), "revoke the access instead"));
}

TEST(StateMachine, EveryEventAfterTheRequestClosedIsRefused) {
  RequestState s = submitted(approval_plan({plan_step({"owner@x.com"})}));
  s = apply(s, DenyEvent{"owner@x.com", ""}, kNow);
  ASSERT_TRUE(is_closed(s.status));
  EXPECT_TRUE(contains(refused(s, ApproveEvent{"owner@x.com"}), "already denied"));
  refused(s, CancelEvent{kRequester});
  refused(s, RevokeEvent{"owner@x.com", ""});
  refused(s, RenewEvent{kRequester, std::nullopt});
  refused(s, FulfilmentEvent{"it@x.com"});
  refused(s, ProvisionResultEvent{group("g1"), true, true, ""});
  // A timer of a closed request is stale, not an attempt by anyone.
  EXPECT_TRUE(step(s, TimerEvent{TimerKind::expire, 0}, ctx(kNow + kDay)).ignored);
}

// ---- expiry, revocation, overlapping grants ---------------------------------------------

TEST(StateMachine, ExpiryRemovesTheGroups) {
  RequestState s = submitted(approval_plan({plan_step({"owner@x.com"})}));
  s = apply(s, ApproveEvent{"owner@x.com"}, kNow);
  EXPECT_TRUE(step(s, TimerEvent{TimerKind::expire, 0}, ctx(kNow + 6 * kHour - 1)).ignored) << "not yet due";
  Transition t = step(s, TimerEvent{TimerKind::expire, 0}, ctx(kNow + 6 * kHour));
  EXPECT_EQ(t.state.status, Status::deprovisioning);
  EXPECT_EQ(effects_of<RemoveMembershipEffect>(t).size(), 2u);
  s = settle(std::move(t), ctx(kNow + 6 * kHour));
  EXPECT_EQ(s.status, Status::expired);
  for (const auto& m : s.memberships) EXPECT_EQ(m.state, Membership::State::removed);
}

TEST(StateMachine, TheRequesterIsWarnedBeforeTheExpiry) {
  RequestState s = submitted(approval_plan({plan_step({"owner@x.com"})}));
  Transition approved = step(s, ApproveEvent{"owner@x.com"}, ctx(kNow));
  std::vector<Effect> all;
  s = settle(std::move(approved), ctx(kNow), &all);
  ASSERT_EQ(s.status, Status::active);
  // A quarter of the 6 hours granted: the warning falls 90 minutes ahead.
  std::optional<Time> warn_at;
  for (const auto& e : all) {
    if (const auto* timer = std::get_if<ScheduleTimerEffect>(&e); timer && timer->kind == TimerKind::expiry_warning) {
      warn_at = timer->at;
    }
  }
  ASSERT_TRUE(warn_at);
  EXPECT_EQ(*warn_at, kNow + 6 * kHour - 90 * 60);
  const Transition warned = step(s, TimerEvent{TimerKind::expiry_warning, 0}, ctx(*warn_at));
  EXPECT_EQ(warned.state.status, Status::active);
  const auto notes = effects_of<NotifyEffect>(warned);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_EQ(notes[0].to, Strings{kRequester});
  EXPECT_NE(notes[0].message.find("renewal"), std::string::npos) << notes[0].message;
  // Once the grant has ended, a late warning does nothing.
  s = apply(s, TimerEvent{TimerKind::expire, 0}, kNow + 6 * kHour);
  EXPECT_TRUE(step(s, TimerEvent{TimerKind::expiry_warning, 0}, ctx(kNow + 6 * kHour)).ignored);
}

TEST(StateMachine, ExpiryKeepsAGroupAnotherGrantStillNeeds) {
  RequestState s = submitted(approval_plan({plan_step({"owner@x.com"})}));
  s = apply(s, ApproveEvent{"owner@x.com"}, kNow);
  const std::set<std::string> held{group("g1").key()};
  Transition t = step(s, TimerEvent{TimerKind::expire, 0}, ctx(kNow + 6 * kHour, held));
  const auto removals = effects_of<RemoveMembershipEffect>(t);
  ASSERT_EQ(removals.size(), 1u);
  EXPECT_EQ(removals[0].group.group, "g2");
  EXPECT_TRUE(has_evidence_containing(t, "another active grant still needs it"));
  s = settle(std::move(t), ctx(kNow + 6 * kHour, held));
  EXPECT_EQ(s.status, Status::expired);
  EXPECT_EQ(s.memberships[0].state, Membership::State::kept);
  EXPECT_EQ(s.memberships[1].state, Membership::State::removed);
}

TEST(StateMachine, RevocationByTheRequesterAnApproverOrAnAdministrator) {
  RequestState s = submitted(approval_plan({plan_step({"owner@x.com"})}));
  s = apply(s, ApproveEvent{"owner@x.com"}, kNow);
  for (const std::string& by : {kRequester, std::string("owner@x.com"), std::string("it@x.com")}) {
    const RequestState r = apply(s, RevokeEvent{by, "left the team"}, kNow + 10);
    EXPECT_EQ(r.status, Status::revoked);
    EXPECT_EQ(r.closed_by, by);
  }
  EXPECT_TRUE(contains(refused(s, RevokeEvent{"mallory@x.com", ""}), "may not revoke"));
  const RequestState waiting = submitted(approval_plan({plan_step({"owner@x.com"})}));
  EXPECT_TRUE(contains(refused(waiting, RevokeEvent{"owner@x.com", ""}), "only active access"));
}

TEST(StateMachine, RevocationDuringProvisioningRemovesWhatArrivesLater) {
  const Transition submitted_t = submit("r1", the_request(), approval_plan({plan_step({"owner@x.com"})}), ctx(kNow));
  Transition approved = step(submitted_t.state, ApproveEvent{"owner@x.com"}, ctx(kNow));
  ASSERT_EQ(approved.state.status, Status::provisioning);
  Transition revoked = step(approved.state, RevokeEvent{"owner@x.com", "wrong person"}, ctx(kNow));
  EXPECT_EQ(revoked.state.status, Status::deprovisioning);
  // The additions report back after the revocation: each is taken back.
  Transition added = step(revoked.state, ProvisionResultEvent{group("g1"), true, true, ""}, ctx(kNow));
  EXPECT_EQ(effects_of<RemoveMembershipEffect>(added).size(), 1u);
  RequestState s = settle(std::move(added), ctx(kNow));
  s = apply(s, ProvisionResultEvent{group("g2"), true, true, ""}, kNow);
  EXPECT_EQ(s.status, Status::revoked);
  for (const auto& m : s.memberships) EXPECT_EQ(m.state, Membership::State::removed);
}

TEST(StateMachine, AFailedAdditionTakesBackWhatWasAdded) {
  const Transition t0 = submit("r1", the_request(), approval_plan({plan_step({"owner@x.com"})}), ctx(kNow));
  const Transition t1 = step(t0.state, ApproveEvent{"owner@x.com"}, ctx(kNow));
  const Transition t2 = step(t1.state, ProvisionResultEvent{group("g1"), true, true, ""}, ctx(kNow));
  ASSERT_EQ(t2.state.status, Status::provisioning);
  const Transition t3 = step(t2.state, ProvisionResultEvent{group("g2"), true, false, "403"}, ctx(kNow));
  EXPECT_EQ(t3.state.status, Status::deprovisioning);
  const auto removals = effects_of<RemoveMembershipEffect>(t3);
  ASSERT_EQ(removals.size(), 1u);
  EXPECT_EQ(removals[0].group.group, "g1");
  const RequestState s = settle(t3, ctx(kNow));
  EXPECT_EQ(s.status, Status::failed);
  EXPECT_FALSE(s.active_at) << "never active with partial access";
}

TEST(StateMachine, AFailedRemovalFailsTheRequestAndAsksForAPerson) {
  RequestState s = submitted(approval_plan({plan_step({"owner@x.com"})}));
  s = apply(s, ApproveEvent{"owner@x.com"}, kNow);
  const Transition t = step(s, RevokeEvent{"owner@x.com", ""}, ctx(kNow));
  const Transition f = step(t.state, ProvisionResultEvent{group("g1"), false, false, "timeout"}, ctx(kNow));
  EXPECT_EQ(f.state.memberships[0].state, Membership::State::remove_failed);
  EXPECT_FALSE(effects_of<NotifyEffect>(f).empty());
  // The other removal is still in flight: its result is taken, then the
  // request fails.
  EXPECT_EQ(f.state.status, Status::deprovisioning);
  const Transition g = step(f.state, ProvisionResultEvent{group("g2"), false, true, ""}, ctx(kNow));
  ASSERT_FALSE(g.refusal) << *g.refusal;
  EXPECT_EQ(g.state.memberships[1].state, Membership::State::removed);
  EXPECT_EQ(g.state.status, Status::failed);
  EXPECT_TRUE(contains(g.state.closing_reason, "could not remove"));
}

TEST(StateMachine, AProvisioningResultNobodyAskedForIsRefused) {
  RequestState s = submitted(approval_plan({plan_step({"owner@x.com"})}));
  refused(s, ProvisionResultEvent{group("g1"), true, true, ""});  // nothing pending yet
  s = apply(s, ApproveEvent{"owner@x.com"}, kNow);
  EXPECT_TRUE(contains(refused(s, ProvisionResultEvent{group("zz"), true, true, ""}), "does not grant"));
  EXPECT_TRUE(contains(refused(s, ProvisionResultEvent{group("g1"), false, true, ""}), "no removal"));
}

// ---- manual roles ------------------------------------------------------------------

TEST(StateMachine, AManualRoleWaitsForAPersonBothWays) {
  Plan plan = approval_plan({plan_step({"owner@x.com"})});
  plan.groups.clear();
  plan.manual = "do it by hand";
  RequestState s = submitted(plan);
  s = apply(s, ApproveEvent{"owner@x.com"}, kNow);
  EXPECT_EQ(s.status, Status::awaiting_fulfilment);
  EXPECT_TRUE(contains(refused(s, FulfilmentEvent{kRequester}), "own request"));
  EXPECT_TRUE(contains(refused(s, FulfilmentEvent{"mallory@x.com"}), "may not confirm"));
  s = apply(s, FulfilmentEvent{"it@x.com"}, kNow + 60);
  EXPECT_EQ(s.status, Status::active);
  EXPECT_EQ(s.expires_at, kNow + 60 + 6 * kHour);
  EXPECT_TRUE(contains(refused(s, FulfilmentEvent{"it@x.com"}), "nothing awaits"));
  s = apply(s, TimerEvent{TimerKind::expire, 0}, kNow + 60 + 6 * kHour);
  EXPECT_EQ(s.status, Status::deprovisioning) << "a person removes it";
  s = apply(s, FulfilmentEvent{"owner@x.com"}, kNow + 7 * kHour);
  EXPECT_EQ(s.status, Status::expired);
}

// ---- renewal ---------------------------------------------------------------------------

RequestState active_grant(std::optional<int> max_renewals = 2) {
  Plan plan = approval_plan({plan_step({"owner@x.com"}), plan_step({"sec@x.com"})});
  plan.max_renewals = max_renewals;
  RequestState s = submitted(plan);
  s = apply(s, ApproveEvent{"owner@x.com"}, kNow);
  s = apply(s, ApproveEvent{"sec@x.com"}, kNow);
  EXPECT_EQ(s.status, Status::active);
  return s;
}

TEST(StateMachine, RenewalIsApprovedAgainThroughEveryStep) {
  RequestState s = active_grant();
  const Time t = kNow + 5 * kHour;
  s = apply(s, RenewEvent{kRequester, 2 * kHour}, t);
  ASSERT_TRUE(s.renewal);
  EXPECT_EQ(s.expires_at, kNow + 6 * kHour) << "nothing changes before approval";
  EXPECT_TRUE(contains(refused(s, RenewEvent{kRequester, kHour}), "already waiting"));
  EXPECT_TRUE(contains(refused(s, ApproveEvent{"sec@x.com"}, t), "not an approver of renewal step 1"));
  EXPECT_TRUE(contains(refused(s, ApproveEvent{kRequester}, t), "own request"));
  s = apply(s, ApproveEvent{"owner@x.com"}, t);
  EXPECT_EQ(s.expires_at, kNow + 6 * kHour);
  EXPECT_TRUE(contains(refused(s, ApproveEvent{"owner@x.com"}, t), "already approved this renewal"));
  std::vector<Effect> effects;
  s = apply(s, ApproveEvent{"sec@x.com"}, t, {}, &effects);
  EXPECT_FALSE(s.renewal);
  EXPECT_EQ(s.renewals, 1);
  EXPECT_EQ(s.expires_at, kNow + 8 * kHour);
  bool evidence = false;
  for (const auto& e : effects) {
    if (const auto* ev = std::get_if<EvidenceEffect>(&e)) evidence |= contains(ev->text, "renewal 1 approved");
  }
  EXPECT_TRUE(evidence) << "a renewal is never silent";
}

TEST(StateMachine, RenewalRefusals) {
  RequestState s = active_grant(1);
  EXPECT_TRUE(contains(refused(s, RenewEvent{"owner@x.com", std::nullopt}), "only the requester"));
  EXPECT_TRUE(contains(refused(s, RenewEvent{kRequester, 7 * kHour}), "at most the approved duration"));
  EXPECT_TRUE(contains(refused(s, RenewEvent{kRequester, 0}), "at most the approved duration"));
  s = apply(s, RenewEvent{kRequester, std::nullopt}, kNow);
  s = apply(s, ApproveEvent{"owner@x.com"}, kNow);
  s = apply(s, ApproveEvent{"sec@x.com"}, kNow);
  EXPECT_EQ(s.renewals, 1);
  EXPECT_TRUE(contains(refused(s, RenewEvent{kRequester, std::nullopt}), "renewal limit (1)"));
  const RequestState waiting = submitted(approval_plan({plan_step({"owner@x.com"})}));
  EXPECT_TRUE(contains(refused(waiting, RenewEvent{kRequester, std::nullopt}), "only active access"));
}

TEST(StateMachine, PermanentAccessIsNotRenewed) {
  RequestState s = submitted(approval_plan({plan_step({"owner@x.com"})}, std::nullopt));
  s = apply(s, ApproveEvent{"owner@x.com"}, kNow);
  EXPECT_TRUE(contains(refused(s, RenewEvent{kRequester, std::nullopt}), "permanent"));
}

TEST(StateMachine, ARenewalCanBeDenied) {
  RequestState s = active_grant();
  s = apply(s, RenewEvent{kRequester, std::nullopt}, kNow);
  EXPECT_TRUE(contains(refused(s, DenyEvent{"mallory@x.com", ""}), "not an approver of this renewal"));
  s = apply(s, DenyEvent{"owner@x.com", "enough"}, kNow);
  EXPECT_EQ(s.status, Status::active);
  EXPECT_FALSE(s.renewal);
  EXPECT_EQ(s.renewals, 0);
  EXPECT_EQ(s.expires_at, kNow + 6 * kHour);
}

TEST(StateMachine, ExpiryWhileARenewalWaitsEndsTheGrant) {
  RequestState s = active_grant();
  s = apply(s, RenewEvent{kRequester, std::nullopt}, kNow);
  s = apply(s, TimerEvent{TimerKind::expire, 0}, kNow + 6 * kHour);
  EXPECT_EQ(s.status, Status::expired);
  EXPECT_FALSE(s.renewal);
}

// ---- triage ---------------------------------------------------------------------------

TEST(StateMachine, TriageMapsTheRequestToACatalogRole) {
  Plan plan = approval_plan({plan_step({"it@x.com"})});
  plan.outcome = Outcome::triage;
  const RequestState s = submitted(plan);
  EXPECT_TRUE(contains(refused(s, ApproveEvent{"it@x.com"}), "triaged"));
  const Plan mapped = approval_plan({plan_step({"owner@x.com"})});
  EXPECT_TRUE(contains(refused(s, TriageEvent{"mallory@x.com", the_request(), mapped}), "not a triager"));
  EXPECT_TRUE(contains(refused(s, TriageEvent{kRequester, the_request(), mapped}), "own request"));
  EXPECT_TRUE(contains(refused(s, TriageEvent{"it@x.com", the_request(), plan}), "not in the catalog either"));
  // Triage may not swap the requester for someone else.
  AccessRequest other = the_request();
  other.requester = "owner@x.com";
  EXPECT_TRUE(contains(refused(s, TriageEvent{"it@x.com", other, mapped}), "cannot change the requester"));

  RequestState t = apply(s, TriageEvent{"it@x.com", the_request(), mapped}, kNow + 60);
  EXPECT_EQ(t.status, Status::awaiting_approval);
  EXPECT_EQ(t.approvals.size(), 1u);
  t = apply(t, ApproveEvent{"owner@x.com"}, kNow + 120);
  EXPECT_EQ(t.status, Status::active);
}

TEST(StateMachine, TriageCanDeny) {
  Plan plan = approval_plan({plan_step({"it@x.com"})});
  plan.outcome = Outcome::triage;
  const RequestState s = submitted(plan);
  EXPECT_EQ(apply(s, DenyEvent{"it@x.com", "no"}, kNow).status, Status::denied);
}

// ---- bookkeeping -------------------------------------------------------------------------

TEST(StateMachine, EveryAcceptedTransitionBumpsTheVersion) {
  const RequestState s = submitted(approval_plan({plan_step({"a@x.com", "b@x.com"}, 2)}));
  const Transition t = step(s, ApproveEvent{"a@x.com"}, ctx(kNow + 1));
  EXPECT_EQ(t.state.version, s.version + 1);
  EXPECT_EQ(t.state.updated_at, kNow + 1);
}

TEST(StateMachine, NamesRoundTrip) {
  for (int i = 0; i <= static_cast<int>(Status::failed); ++i) {
    const auto status = static_cast<Status>(i);
    EXPECT_EQ(status_from_name(status_name(status)), status);
  }
  EXPECT_FALSE(status_from_name("bogus"));
  EXPECT_TRUE(is_closed(Status::expired));
  EXPECT_FALSE(is_closed(Status::active));
}

}  // namespace
}  // namespace portcullis::interpreter
