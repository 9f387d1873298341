// resolve(): every route form, durations, required fields, triage,
// self-approval and separation of duties, each with the policy line that
// decided it.

#include "interpreter/route.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "interpreter_test_support.hpp"

namespace portcullis::interpreter {
namespace {

using namespace itest;
using Strings = std::vector<std::string>;

const char* const kPolicy = R"(provider sandbox "demo" {}
approvers security = group "security-oncall"
approvers it_triage = group "it-ops"
approvers duo = people "p1@x.com", "p2@x.com"
bucket routine {
  approve: auto when requester.employment == "full_time" else manager
  duration: permanent
}
bucket sensitive {
  approve: app.owner
  duration: one_of(7d, 30d, permanent) default 30d
  remind: after 24h
  escalate: after 72h to it_triage
}
bucket privileged {
  approve: app.owner then security
  duration: one_of(1h, 6h, 24h) default 1h
  expiry: required
  renew: at_most 2 times
  require: justification
  remind: after 1h
  escalate: after 4h to security
}
bucket lonely {
  approve: app.owner
}
bucket unknown { approve: it_triage }
app tool "Tool" {
  owner: "owner@x.com"
  bucket: routine
  role viewer { grants: sandbox.demo group "tool-viewers" }
  role editor { grants: sandbox.demo group "tool-editors"; bucket: sensitive }
  role admin { grants: sandbox.demo group "tool-admins", sandbox.demo group "tool-audit"; bucket: privileged }
  role billing { manual "set it up by hand"; bucket: privileged }
  role by_person { grants: sandbox.demo group "g-person"; approve: "boss@x.com" }
  role by_group { grants: sandbox.demo group "g-group"; approve: group "approvers" }
  role by_ghosts { grants: sandbox.demo group "g-ghosts"; approve: group "ghosts" }
  role by_people { grants: sandbox.demo group "g-people"; approve: people "a@x.com", "b@x.com" }
  role by_pool { grants: sandbox.demo group "g-pool"; approve: duo }
  role quorum { grants: sandbox.demo group "g-quorum"; approve: 2 of security }
  role chain { grants: sandbox.demo group "g-chain"; approve: manager then app.owner then 2 of security }
  role banned { grants: sandbox.demo group "g-banned"; approve: deny "never for anyone" }
  role closed { grants: sandbox.demo group "g-closed"; approve: deny }
  role cond {
    grants: sandbox.demo group "g-cond"
    approve: deny "contractors not allowed" when requester.employment == "contractor" else manager when requester.department == "data" else app.owner
  }
  role timed {
    grants: sandbox.demo group "g-timed"
    approve: app.owner when request.duration <= duration("168h") else app.owner then security
    duration: at_most 30d default 7d
    expiry: required
  }
  role capped { grants: sandbox.demo group "g-capped"; duration: at_most 30d; expiry: required; approve: app.owner }
  role ticketed { grants: sandbox.demo group "g-ticket"; require: ticket; approve: app.owner }
  role odd {
    grants: sandbox.demo group "g-odd"
    approve: auto when requester.attributes["clearance"] == "top" else manager
  }
}
app solo "Solo" {
  owner: "solo@x.com"
  bucket: lonely
  role user { grants: sandbox.demo group "solo-users" }
}
app shared "Shared" {
  owner: group "shared-owners"
  bucket: sensitive
  role user { grants: sandbox.demo group "shared-users" }
}
app pooled "Pooled" {
  owner: duo
  bucket: sensitive
  role user { grants: sandbox.demo group "pooled-users" }
}
app fin "Finance" {
  owner: "cfo@x.com"
  bucket: sensitive
  role create { grants: sandbox.demo group "fin-create" }
  role pay { grants: sandbox.demo group "fin-pay" }
  role close { grants: sandbox.demo group "fin-close" }
}
conflict "create and pay" {
  roles: fin.create, fin.pay
  action: deny
}
conflict "close and pay" {
  roles: fin.close, fin.pay
  action: escalate to "ciso@x.com"
}
conflict "viewer and close" {
  roles: tool.viewer, fin.close
  action: escalate to "ciso@x.com"
}
)";

// The 1-based line of the first occurrence of `needle` in the policy.
std::uint32_t line_of(const std::string& needle) {
  const std::string text = kPolicy;
  const auto at = text.find(needle);
  EXPECT_NE(at, std::string::npos) << needle;
  return static_cast<std::uint32_t>(std::count(text.begin(), text.begin() + static_cast<long>(at), '\n') + 1);
}

class RouteTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    policy_ = new PolicyPtr(compile_text(kPolicy));
    directory_ = new Directory();
    directory_->put(person("ann@x.com", "full_time", "boss@x.com"));
    directory_->put(person("carl@x.com", "contractor", "boss@x.com"));
    directory_->put(person("dee@x.com", "full_time", "boss@x.com", "data"));
    directory_->put(person("boss@x.com", "full_time", "bigboss@x.com"));
    directory_->put(person("owner@x.com", "full_time", "boss@x.com"));
    directory_->put(person("solo@x.com", "full_time", "boss@x.com"));
    directory_->put(person("sec1@x.com", "full_time", "boss@x.com", "security"));
    directory_->put(person("lone@x.com", "full_time", "lone@x.com"));  // their own manager
    directory_->set_group("security-oncall", {"sec1@x.com", "sec2@x.com", "sec3@x.com"});
    directory_->set_group("it-ops", {"it1@x.com", "it2@x.com"});
    directory_->set_group("approvers", {"g1@x.com", "g2@x.com", "ann@x.com"});
    directory_->set_group("shared-owners", {"so1@x.com", "so2@x.com"});
  }
  static void TearDownTestSuite() {
    delete policy_;
    delete directory_;
  }

  const Policy& policy() const { return **policy_; }

  Plan resolve_for(const AccessRequest& r, std::vector<std::pair<std::string, std::string>> grants = {}) const {
    Facts facts;
    facts.directory = directory_;
    facts.current_grants = std::move(grants);
    return resolve(policy(), r, facts, kNow);
  }
  Plan resolve_for(const std::string& who, const std::string& app, const std::string& role) const {
    AccessRequest r = request_for(who, app, role);
    r.justification = "because";
    return resolve_for(r);
  }

  static PolicyPtr* policy_;
  static Directory* directory_;
};

PolicyPtr* RouteTest::policy_ = nullptr;
Directory* RouteTest::directory_ = nullptr;

// ---- route forms ------------------------------------------------------------

TEST_F(RouteTest, AutoWhenTheConditionHolds) {
  ASSERT_TRUE(*policy_);
  const Plan plan = resolve_for("ann@x.com", "tool", "viewer");
  EXPECT_EQ(plan.outcome, Outcome::auto_approved);
  EXPECT_TRUE(plan.steps.empty());
  EXPECT_EQ(plan.bucket, "routine");
  EXPECT_EQ(plan.app_title, "Tool");
  EXPECT_FALSE(plan.duration) << "routine is permanent";
  ASSERT_EQ(plan.groups.size(), 1u);
  EXPECT_EQ(plan.groups[0].key(), "sandbox.demo/tool-viewers");
  EXPECT_TRUE(has_reason_containing(plan, "condition holds: requester.employment == \"full_time\""));
  EXPECT_EQ(reason_line(plan, "approved automatically"), line_of("approve: auto when requester.employment"));
  EXPECT_EQ(reason_line(plan, "bucket routine"), line_of("bucket: routine"));
}

TEST_F(RouteTest, ElseBranchGoesToTheManager) {
  const Plan plan = resolve_for("carl@x.com", "tool", "viewer");
  ASSERT_EQ(plan.outcome, Outcome::approval);
  ASSERT_EQ(plan.steps.size(), 1u);
  EXPECT_EQ(plan.steps[0].source.kind, Approver::Kind::manager);
  EXPECT_EQ(plan.steps[0].eligible, Strings{"boss@x.com"});
  EXPECT_EQ(plan.steps[0].quorum, 1);
  EXPECT_NE(plan.steps[0].who.find("boss@x.com"), std::string::npos) << plan.steps[0].who;
  EXPECT_TRUE(has_reason_containing(plan, "condition is false"));
  EXPECT_EQ(reason_line(plan, "step: "), line_of("approve: auto when requester.employment"));
}

TEST_F(RouteTest, AppOwnerPersonWithBucketTimers) {
  const Plan plan = resolve_for("ann@x.com", "tool", "editor");
  ASSERT_EQ(plan.outcome, Outcome::approval);
  ASSERT_EQ(plan.steps.size(), 1u);
  const PlanStep& s = plan.steps[0];
  EXPECT_EQ(s.source.kind, Approver::Kind::app_owner);
  EXPECT_EQ(s.eligible, Strings{"owner@x.com"});
  EXPECT_EQ(s.remind_after, 24 * kHour);
  EXPECT_EQ(s.escalate_after, 72 * kHour);
  EXPECT_EQ(s.escalate_to, (Strings{"it1@x.com", "it2@x.com"}));
  EXPECT_EQ(plan.duration, 30 * kDay) << "the bucket default";
  EXPECT_EQ(reason_line(plan, "default duration"), line_of("duration: one_of(7d, 30d, permanent)"));
}

TEST_F(RouteTest, AppOwnerGroupAndPool) {
  const Plan group_owned = resolve_for("ann@x.com", "shared", "user");
  ASSERT_EQ(group_owned.steps.size(), 1u);
  EXPECT_EQ(group_owned.steps[0].eligible, (Strings{"so1@x.com", "so2@x.com"}));
  const Plan pool_owned = resolve_for("ann@x.com", "pooled", "user");
  ASSERT_EQ(pool_owned.steps.size(), 1u);
  EXPECT_EQ(pool_owned.steps[0].eligible, (Strings{"p1@x.com", "p2@x.com"}));
}

TEST_F(RouteTest, NamedPersonGroupPeopleAndPool) {
  EXPECT_EQ(resolve_for("ann@x.com", "tool", "by_person").steps.at(0).eligible, Strings{"boss@x.com"});
  // The requester is a member of the group and is left out.
  EXPECT_EQ(resolve_for("ann@x.com", "tool", "by_group").steps.at(0).eligible, (Strings{"g1@x.com", "g2@x.com"}));
  EXPECT_EQ(resolve_for("carl@x.com", "tool", "by_group").steps.at(0).eligible,
            (Strings{"ann@x.com", "g1@x.com", "g2@x.com"}));
  EXPECT_EQ(resolve_for("ann@x.com", "tool", "by_people").steps.at(0).eligible, (Strings{"a@x.com", "b@x.com"}));
  const Plan pool = resolve_for("ann@x.com", "tool", "by_pool");
  EXPECT_EQ(pool.steps.at(0).eligible, (Strings{"p1@x.com", "p2@x.com"}));
  EXPECT_EQ(pool.steps.at(0).source.kind, Approver::Kind::pool);
  EXPECT_NE(pool.steps.at(0).why.find("duo"), std::string::npos);
}

TEST_F(RouteTest, AGroupTheDirectoryDoesNotKnowHasNoKnownApprovers) {
  const Plan plan = resolve_for("ann@x.com", "tool", "by_ghosts");
  ASSERT_EQ(plan.outcome, Outcome::approval);
  ASSERT_EQ(plan.steps.size(), 1u);
  EXPECT_FALSE(plan.steps[0].eligible_known);
  EXPECT_TRUE(plan.steps[0].eligible.empty());
}

TEST_F(RouteTest, QuorumOfAPool) {
  const Plan plan = resolve_for("ann@x.com", "tool", "quorum");
  ASSERT_EQ(plan.steps.size(), 1u);
  EXPECT_EQ(plan.steps[0].quorum, 2);
  EXPECT_EQ(plan.steps[0].eligible, (Strings{"sec1@x.com", "sec2@x.com", "sec3@x.com"}));
  EXPECT_EQ(plan.steps[0].who.rfind("2 of ", 0), 0u) << plan.steps[0].who;
}

TEST_F(RouteTest, ASequenceKeepsItsOrder) {
  const Plan plan = resolve_for("carl@x.com", "tool", "chain");
  ASSERT_EQ(plan.outcome, Outcome::approval);
  ASSERT_EQ(plan.steps.size(), 3u);
  EXPECT_EQ(plan.steps[0].source.kind, Approver::Kind::manager);
  EXPECT_EQ(plan.steps[1].source.kind, Approver::Kind::app_owner);
  EXPECT_EQ(plan.steps[2].source.kind, Approver::Kind::pool);
  EXPECT_EQ(plan.steps[2].quorum, 2);
  const auto steps = std::count_if(plan.reasons.begin(), plan.reasons.end(),
                                   [](const Reason& r) { return r.text.rfind("step: ", 0) == 0; });
  EXPECT_EQ(steps, 3);
}

TEST_F(RouteTest, DenyWithAndWithoutAReason) {
  const Plan banned = resolve_for("ann@x.com", "tool", "banned");
  EXPECT_EQ(banned.outcome, Outcome::denied);
  EXPECT_EQ(banned.denial, "never for anyone");
  EXPECT_TRUE(banned.steps.empty());
  EXPECT_EQ(reason_line(banned, "denied: never for anyone"), line_of("approve: deny \"never for anyone\""));
  const Plan closed = resolve_for("ann@x.com", "tool", "closed");
  EXPECT_EQ(closed.outcome, Outcome::denied);
  EXPECT_EQ(closed.denial, "denied by policy");
}

TEST_F(RouteTest, ConditionalBranchesAreTriedInOrder) {
  const Plan contractor = resolve_for("carl@x.com", "tool", "cond");
  EXPECT_EQ(contractor.outcome, Outcome::denied);
  EXPECT_EQ(contractor.denial, "contractors not allowed");
  const Plan data = resolve_for("dee@x.com", "tool", "cond");
  ASSERT_EQ(data.steps.size(), 1u);
  EXPECT_EQ(data.steps[0].source.kind, Approver::Kind::manager);
  EXPECT_TRUE(has_reason_containing(data, "condition is false: requester.employment == \"contractor\""));
  EXPECT_TRUE(has_reason_containing(data, "condition holds: requester.department == \"data\""));
  const Plan other = resolve_for("ann@x.com", "tool", "cond");
  ASSERT_EQ(other.steps.size(), 1u);
  EXPECT_EQ(other.steps[0].source.kind, Approver::Kind::app_owner);
}

TEST_F(RouteTest, ConditionsSeeTheGrantedDuration) {
  AccessRequest week = request_for("ann@x.com", "tool", "timed");
  week.duration = 7 * kDay;
  EXPECT_EQ(resolve_for(week).steps.size(), 1u);
  AccessRequest month = week;
  month.duration = 30 * kDay;
  const Plan plan = resolve_for(month);
  ASSERT_EQ(plan.steps.size(), 2u);
  EXPECT_EQ(plan.steps[1].eligible, (Strings{"sec1@x.com", "sec2@x.com", "sec3@x.com"}));
  // The default (7d) is what the condition sees when nothing is asked.
  EXPECT_EQ(resolve_for(request_for("ann@x.com", "tool", "timed")).steps.size(), 1u);
}

TEST_F(RouteTest, AConditionThatCannotBeEvaluatedGoesToTriageNotToAGrant) {
  const Plan plan = resolve_for("ann@x.com", "tool", "odd");
  EXPECT_EQ(plan.outcome, Outcome::triage);
  ASSERT_EQ(plan.steps.size(), 1u);
  EXPECT_EQ(plan.steps[0].eligible, (Strings{"it1@x.com", "it2@x.com"}));
  EXPECT_EQ(reason_line(plan, "could not be evaluated"), line_of("approve: auto when requester.attributes"));
}

// ---- triage -----------------------------------------------------------------

TEST_F(RouteTest, AnAppOutsideTheCatalogGoesToTriage) {
  const Plan plan = resolve_for("ann@x.com", "canva", "pro");
  EXPECT_EQ(plan.outcome, Outcome::triage);
  EXPECT_EQ(plan.bucket, "unknown");
  EXPECT_TRUE(plan.groups.empty());
  ASSERT_EQ(plan.steps.size(), 1u);
  EXPECT_EQ(plan.steps[0].eligible, (Strings{"it1@x.com", "it2@x.com"}));
  EXPECT_TRUE(has_reason_containing(plan, "app canva is not in the catalog"));
  EXPECT_EQ(reason_line(plan, "IT triage"), line_of("bucket unknown"));
}

TEST_F(RouteTest, ARoleOutsideTheCatalogGoesToTriage) {
  const Plan plan = resolve_for("ann@x.com", "tool", "superuser");
  EXPECT_EQ(plan.outcome, Outcome::triage);
  EXPECT_TRUE(has_reason_containing(plan, "app tool has no role superuser"));
}

TEST(RouteWithoutTriage, OutsideTheCatalogIsRejectedWhenNoUnknownBucketExists) {
  auto policy = compile_text(R"(provider sandbox "demo" {}
bucket b { approve: app.owner }
app a "A" { owner: "o@x.com"; bucket: b; role r { grants: sandbox.demo group "g" } }
)");
  ASSERT_TRUE(policy);
  const Plan plan = resolve(*policy, request_for("ann@x.com", "zzz", "r"), Facts{}, kNow);
  EXPECT_EQ(plan.outcome, Outcome::rejected);
  EXPECT_NE(plan.denial.find("no `unknown` bucket"), std::string::npos) << plan.denial;
}

// ---- required fields ----------------------------------------------------------

TEST_F(RouteTest, AMissingJustificationOrTicketIsRejected) {
  const Plan no_reason = resolve_for(request_for("ann@x.com", "tool", "admin"));
  EXPECT_EQ(no_reason.outcome, Outcome::rejected);
  EXPECT_NE(no_reason.denial.find("justification"), std::string::npos);
  EXPECT_EQ(reason_line(no_reason, "justification"), line_of("require: justification"));

  AccessRequest no_ticket = request_for("ann@x.com", "tool", "ticketed");
  no_ticket.justification = "reason";
  const Plan plan = resolve_for(no_ticket);
  EXPECT_EQ(plan.outcome, Outcome::rejected);
  EXPECT_NE(plan.denial.find("ticket"), std::string::npos);
  no_ticket.ticket = "ACC-1";
  EXPECT_EQ(resolve_for(no_ticket).outcome, Outcome::approval);
}

// ---- durations ----------------------------------------------------------------

TEST_F(RouteTest, ARequestedDurationFromOneOfIsGranted) {
  AccessRequest r = request_for("ann@x.com", "tool", "admin");
  r.justification = "incident";
  r.duration = 6 * kHour;
  const Plan plan = resolve_for(r);
  EXPECT_EQ(plan.outcome, Outcome::approval);
  EXPECT_EQ(plan.duration, 6 * kHour);
  EXPECT_TRUE(plan.expiry_required);
  EXPECT_EQ(plan.max_renewals, 2);
  EXPECT_EQ(plan.groups.size(), 2u);
}

TEST_F(RouteTest, ADurationOutsideOneOfIsRejected) {
  AccessRequest r = request_for("ann@x.com", "tool", "admin");
  r.justification = "incident";
  r.duration = 3 * kDay;
  const Plan plan = resolve_for(r);
  EXPECT_EQ(plan.outcome, Outcome::rejected);
  EXPECT_NE(plan.denial.find("not an allowed duration"), std::string::npos) << plan.denial;
  EXPECT_EQ(reason_line(plan, "not an allowed duration"), line_of("duration: one_of(1h, 6h, 24h)"));
}

TEST_F(RouteTest, TheDefaultAppliesWhenNothingIsAsked) {
  EXPECT_EQ(resolve_for("ann@x.com", "tool", "admin").duration, kHour);
  EXPECT_EQ(resolve_for("ann@x.com", "tool", "timed").duration, 7 * kDay);
}

TEST_F(RouteTest, AnAskedDurationAboveTheMaximumIsCapped) {
  AccessRequest r = request_for("ann@x.com", "tool", "timed");
  r.duration = 90 * kDay;
  const Plan plan = resolve_for(r);
  EXPECT_EQ(plan.outcome, Outcome::approval);
  EXPECT_EQ(plan.duration, 30 * kDay);
  EXPECT_EQ(reason_line(plan, "capped at the maximum"), line_of("duration: at_most 30d default 7d"));
}

TEST_F(RouteTest, WithoutADefaultABoundedRoleGetsItsMaximum) {
  const Plan plan = resolve_for("ann@x.com", "tool", "capped");
  EXPECT_EQ(plan.outcome, Outcome::approval);
  EXPECT_EQ(plan.duration, 30 * kDay);
}

TEST_F(RouteTest, PermanentIsRefusedWhereExpiryIsRequired) {
  AccessRequest r = request_for("ann@x.com", "tool", "admin");
  r.justification = "forever";
  r.permanent = true;
  const Plan plan = resolve_for(r);
  EXPECT_EQ(plan.outcome, Outcome::rejected);
  EXPECT_NE(plan.denial.find("must expire"), std::string::npos) << plan.denial;
  AccessRequest capped = request_for("ann@x.com", "tool", "capped");
  capped.permanent = true;
  EXPECT_EQ(resolve_for(capped).outcome, Outcome::rejected);
}

TEST_F(RouteTest, PermanentIsGrantedWhereAllowed) {
  AccessRequest r = request_for("ann@x.com", "tool", "editor");
  r.permanent = true;
  const Plan plan = resolve_for(r);
  EXPECT_EQ(plan.outcome, Outcome::approval);
  EXPECT_FALSE(plan.duration);
}

TEST_F(RouteTest, ANonPositiveDurationIsRejected) {
  AccessRequest r = request_for("ann@x.com", "tool", "timed");
  r.duration = 0;
  EXPECT_EQ(resolve_for(r).outcome, Outcome::rejected);
  r.duration = -kHour;
  EXPECT_EQ(resolve_for(r).outcome, Outcome::rejected);
}

TEST_F(RouteTest, AManualRoleGrantsNoGroups) {
  const Plan plan = resolve_for("ann@x.com", "tool", "billing");
  EXPECT_EQ(plan.outcome, Outcome::approval);
  EXPECT_EQ(plan.manual, std::optional<std::string>("set it up by hand"));
  EXPECT_TRUE(plan.groups.empty());
  EXPECT_TRUE(has_reason_containing(plan, "fulfilled by hand"));
}

// ---- nobody approves their own request ---------------------------------------------

TEST_F(RouteTest, TheOwnerAsRequesterEscalatesPerPolicy) {
  const Plan plan = resolve_for("owner@x.com", "tool", "editor");
  ASSERT_EQ(plan.outcome, Outcome::approval);
  ASSERT_EQ(plan.steps.size(), 1u);
  EXPECT_EQ(plan.steps[0].eligible, (Strings{"it1@x.com", "it2@x.com"}));
  EXPECT_NE(plan.steps[0].why.find("escalation"), std::string::npos) << plan.steps[0].why;
  EXPECT_EQ(reason_line(plan, "escalated to"), line_of("escalate: after 72h to it_triage"));
}

TEST_F(RouteTest, WithoutEscalationTheOwnerAsRequesterGoesToTriage) {
  const Plan plan = resolve_for("solo@x.com", "solo", "user");
  ASSERT_EQ(plan.outcome, Outcome::approval);
  ASSERT_EQ(plan.steps.size(), 1u);
  EXPECT_EQ(plan.steps[0].eligible, (Strings{"it1@x.com", "it2@x.com"}));
  EXPECT_EQ(plan.steps[0].quorum, 1);
  EXPECT_NE(plan.steps[0].why.find("IT triage"), std::string::npos);
  EXPECT_TRUE(has_reason_containing(plan, "nobody but the requester can approve this step; sent to IT triage"));
}

TEST_F(RouteTest, TheirOwnManagerIsNoApprover) {
  const Plan plan = resolve_for("lone@x.com", "tool", "by_group");
  EXPECT_EQ(plan.steps.at(0).eligible, (Strings{"ann@x.com", "g1@x.com", "g2@x.com"}));
  AccessRequest r = request_for("lone@x.com", "tool", "chain");
  const Plan chain = resolve_for(r);
  ASSERT_EQ(chain.steps.size(), 3u);
  for (const auto& s : chain.steps) {
    EXPECT_EQ(std::count(s.eligible.begin(), s.eligible.end(), "lone@x.com"), 0);
  }
  EXPECT_NE(chain.steps[0].why.find("IT triage"), std::string::npos) << chain.steps[0].why;
}

TEST_F(RouteTest, TooFewApproversBesidesTheRequesterForAQuorum) {
  // security-oncall has three members; sec1 asking for `2 of security`
  // still leaves two.
  const Plan enough = resolve_for("sec1@x.com", "tool", "quorum");
  EXPECT_EQ(enough.steps.at(0).eligible, (Strings{"sec2@x.com", "sec3@x.com"}));
  EXPECT_EQ(enough.steps.at(0).quorum, 2);

  Directory small = *directory_;
  small.set_group("security-oncall", {"sec1@x.com", "sec2@x.com"});
  Facts facts;
  facts.directory = &small;
  const Plan plan = resolve(policy(), request_for("sec1@x.com", "tool", "quorum"), facts, kNow);
  ASSERT_EQ(plan.steps.size(), 1u);
  EXPECT_EQ(plan.steps[0].eligible, (Strings{"it1@x.com", "it2@x.com"})) << "sent to triage";
  EXPECT_EQ(plan.steps[0].quorum, 1);
  EXPECT_TRUE(has_reason_containing(plan, "too few approvers besides the requester for a quorum of 2"));
}

TEST(RouteSelfApproval, NoEscalationAndNoTriageLeavesNobodyAndTheRequestIsDenied) {
  auto policy = compile_text(R"(provider sandbox "demo" {}
bucket b { approve: app.owner }
app a "A" { owner: "o@x.com"; bucket: b; role r { grants: sandbox.demo group "g" } }
)");
  ASSERT_TRUE(policy);
  Directory directory;
  directory.put(person("o@x.com"));
  Facts facts;
  facts.directory = &directory;
  const Plan plan = resolve(*policy, request_for("o@x.com", "a", "r"), facts, kNow);
  ASSERT_EQ(plan.outcome, Outcome::approval);
  ASSERT_EQ(plan.steps.size(), 1u);
  EXPECT_TRUE(plan.steps[0].eligible.empty());
  EXPECT_TRUE(has_reason_containing(plan, "no escalation or triage can take it"));
  const Transition t = submit("r1", request_for("o@x.com", "a", "r"), plan, at(kNow));
  EXPECT_EQ(t.state.status, Status::denied);
  EXPECT_NE(t.state.closing_reason.find("nobody but the requester"), std::string::npos);
}

// ---- separation of duties -----------------------------------------------------

TEST_F(RouteTest, AConflictingGrantDenies) {
  const Plan plan = resolve_for(request_for("ann@x.com", "fin", "pay"), {{"fin", "create"}});
  EXPECT_EQ(plan.outcome, Outcome::denied);
  EXPECT_NE(plan.denial.find("create and pay"), std::string::npos) << plan.denial;
  EXPECT_NE(plan.denial.find("fin.create"), std::string::npos) << plan.denial;
  EXPECT_EQ(reason_line(plan, "separation of duties"), line_of("conflict \"create and pay\""));
  EXPECT_TRUE(plan.steps.empty());
}

TEST_F(RouteTest, NoConflictWithoutTheOtherRole) {
  EXPECT_EQ(resolve_for(request_for("ann@x.com", "fin", "pay"), {{"tool", "viewer"}}).outcome, Outcome::approval);
  // Holding the requested role itself is no conflict.
  EXPECT_EQ(resolve_for(request_for("ann@x.com", "fin", "pay"), {{"fin", "pay"}}).outcome, Outcome::approval);
}

TEST_F(RouteTest, AnEscalatingConflictAddsAStep) {
  const Plan plan = resolve_for(request_for("ann@x.com", "fin", "pay"), {{"fin", "close"}});
  ASSERT_EQ(plan.outcome, Outcome::approval);
  ASSERT_EQ(plan.steps.size(), 2u);
  EXPECT_EQ(plan.steps[0].eligible, Strings{"cfo@x.com"});
  EXPECT_EQ(plan.steps[1].eligible, Strings{"ciso@x.com"});
  EXPECT_NE(plan.steps[1].why.find("close and pay"), std::string::npos);
  EXPECT_EQ(reason_line(plan, "; escalated"), line_of("conflict \"close and pay\""));
}

TEST_F(RouteTest, AnEscalatingConflictIsNotSkippedByAnAutomaticRoute) {
  // tool.viewer is automatic for full-time staff, but the conflict with a
  // held fin.close asks the CISO to accept the risk first.
  const Plan plan = resolve_for(request_for("ann@x.com", "tool", "viewer"), {{"fin", "close"}});
  ASSERT_EQ(plan.outcome, Outcome::approval);
  ASSERT_EQ(plan.steps.size(), 1u);
  EXPECT_EQ(plan.steps[0].eligible, Strings{"ciso@x.com"});
  EXPECT_TRUE(has_reason_containing(plan, "viewer and close"));
}

// ---- purity ---------------------------------------------------------------------

TEST_F(RouteTest, TheSameInputsGiveTheSamePlan) {
  const Plan a = resolve_for("carl@x.com", "tool", "chain");
  const Plan b = resolve_for("carl@x.com", "tool", "chain");
  ASSERT_EQ(a.steps.size(), b.steps.size());
  for (std::size_t i = 0; i < a.steps.size(); ++i) EXPECT_EQ(a.steps[i].eligible, b.steps[i].eligible);
  ASSERT_EQ(a.reasons.size(), b.reasons.size());
  for (std::size_t i = 0; i < a.reasons.size(); ++i) EXPECT_EQ(a.reasons[i].text, b.reasons[i].text);
}

TEST_F(RouteTest, EligibleApproversIsUnknownWithoutADirectory) {
  Approver manager;
  manager.kind = Approver::Kind::manager;
  EXPECT_FALSE(eligible_approvers(policy(), manager, nullptr, "ann@x.com", nullptr));
  EXPECT_EQ(eligible_approvers(policy(), manager, nullptr, "ann@x.com", directory_), Strings{"boss@x.com"});
  Approver group;
  group.kind = Approver::Kind::group;
  group.name = "ghosts";
  EXPECT_FALSE(eligible_approvers(policy(), group, nullptr, "ann@x.com", directory_));
}

}  // namespace
}  // namespace portcullis::interpreter
