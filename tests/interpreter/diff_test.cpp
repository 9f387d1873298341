#include "interpreter/diff.hpp"

#include <gtest/gtest.h>

#include "interpreter_test_support.hpp"

namespace portcullis::interpreter {
namespace {

using namespace itest;

const std::string kBase = R"(provider sandbox "okta" {}
approvers security = group "security-oncall"
bucket routine { approve: auto when requester.employment == "full_time" else manager }
bucket privileged {
  approve: app.owner then security
  duration: one_of(1h, 6h, 24h) default 1h
  expiry: required
  renew: at_most 1 times
  require: justification, ticket
}
bucket sensitive {
  approve: app.owner
  duration: at_most 30d default 7d
}
app figma "Figma" {
  owner: "dana@acme.com"
  bucket: routine
  role viewer { grants: sandbox.okta group "figma-viewers" }
  role admin { grants: sandbox.okta group "figma-admins"; bucket: privileged }
  role billing { manual "Dana sets it in Figma"; bucket: privileged }
  role editor { grants: sandbox.okta group "figma-editors"; bucket: sensitive }
}
)";

// `text` with the one occurrence of `from` replaced by `to`.
std::string edit(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << "not in the policy: " << from;
  if (at == std::string::npos) return text;
  EXPECT_EQ(text.find(from, at + 1), std::string::npos) << "more than once in the policy: " << from;
  return text.replace(at, from.size(), to);
}

PolicyDiff diff_texts(const std::string& before, const std::string& after) {
  auto o = compile_files({{"old.policy", before}}, "old.policy");
  auto n = compile_files({{"new.policy", after}}, "new.policy");
  if (!o || !n) return {};
  return diff_policies(*o, *n);
}

std::vector<const Change*> find_changes(const PolicyDiff& diff, const std::string& target, ChangeKind kind) {
  std::vector<const Change*> out;
  for (const auto& c : diff.changes) {
    if (c.target() == target && c.kind == kind) out.push_back(&c);
  }
  return out;
}

const Change* only_change(const PolicyDiff& diff, const std::string& target, ChangeKind kind) {
  const auto found = find_changes(diff, target, kind);
  EXPECT_EQ(found.size(), 1u) << target << " " << change_kind_name(kind);
  return found.empty() ? nullptr : found.front();
}

std::string dump(const PolicyDiff& diff) {
  std::string out;
  for (const auto& c : diff.changes) {
    out += c.target() + " " + std::string(change_kind_name(c.kind)) + " [" + c.subject + "] `" + c.before + "` -> `" +
           c.after + "`" + (c.risk ? " RISK: " + c.risk_reason : "") + "\n";
  }
  return out;
}

TEST(PolicyDiff, IdenticalPoliciesHaveNoChanges) {
  const auto diff = diff_texts(kBase, kBase);
  EXPECT_TRUE(diff.empty()) << dump(diff);
  EXPECT_FALSE(diff.has_risk());
}

TEST(PolicyDiff, ReorderingAndReformattingChangeNothing) {
  // Roles, grants, durations, required fields and people in another order,
  // the app moved to an imported file, a condition re-wrapped.
  const std::map<std::string, std::string> files = {{"root.policy", R"(import "apps.policy"
provider sandbox "okta" {}
approvers security = group "security-oncall"
bucket routine {
  approve: auto when requester.employment   ==
             "full_time" else manager
}
bucket sensitive { duration: at_most 30d default 7d; approve: app.owner }
bucket privileged {
  require: ticket, justification
  renew: at_most 1 times
  expiry: required
  duration: one_of(24h, 1h, 6h) default 1h
  approve: app.owner then security
}
)"},
                                                    {"apps.policy", R"(module "apps"
app figma "Figma" {
  bucket: routine
  owner: "dana@acme.com"
  role editor { bucket: sensitive; grants: sandbox.okta group "figma-editors" }
  role billing { bucket: privileged; manual "Dana sets it in Figma" }
  role admin { bucket: privileged; grants: sandbox.okta group "figma-admins" }
  role viewer { grants: sandbox.okta group "figma-viewers" }
}
)"}};
  auto o = compile_files({{"old.policy", kBase}}, "old.policy");
  auto n = compile_files(files, "root.policy");
  ASSERT_TRUE(o && n);
  const auto diff = diff_policies(*o, *n);
  EXPECT_TRUE(diff.empty()) << dump(diff);
}

TEST(PolicyDiff, PeopleAndGrantOrderDoNotMatter) {
  const std::string before = edit(
      kBase, R"(role viewer { grants: sandbox.okta group "figma-viewers" })",
      R"(role viewer { grants: sandbox.okta group "a", sandbox.okta group "b"; approve: people "x@acme.com", "y@acme.com" })");
  const std::string after = edit(
      kBase, R"(role viewer { grants: sandbox.okta group "figma-viewers" })",
      R"(role viewer { grants: sandbox.okta group "b", sandbox.okta group "a"; approve: people "y@acme.com", "x@acme.com" })");
  const auto diff = diff_texts(before, after);
  EXPECT_TRUE(diff.empty()) << dump(diff);
}

TEST(PolicyDiff, RouteThatBecomesAutoIsRisky) {
  const auto after =
      edit(kBase, "role admin { grants: sandbox.okta group \"figma-admins\"; bucket: privileged }",
           "role admin { grants: sandbox.okta group \"figma-admins\"; bucket: privileged; approve: auto }");
  const auto diff = diff_texts(kBase, after);
  const Change* route = only_change(diff, "figma.admin", ChangeKind::route);
  ASSERT_TRUE(route);
  EXPECT_EQ(route->before, "app.owner then security");
  EXPECT_EQ(route->after, "auto");
  EXPECT_TRUE(route->risk);
  EXPECT_NE(route->risk_reason.find("now approved automatically"), std::string::npos) << route->risk_reason;
  EXPECT_TRUE(diff.has_risk());
  // Cites the line in NEW that set it, and the bucket line in OLD.
  ASSERT_TRUE(route->new_span.valid());
  EXPECT_EQ(route->new_span.file->path(), "new.policy");
  EXPECT_EQ(route->new_span.line, 19u);
  ASSERT_TRUE(route->old_span.valid());
  EXPECT_EQ(route->old_span.file->path(), "old.policy");
  EXPECT_EQ(route->old_span.line, 5u);
}

TEST(PolicyDiff, RemovedStepIsRiskyForEveryRoleThatInheritsIt) {
  const auto after = edit(kBase, "approve: app.owner then security", "approve: app.owner");
  const auto diff = diff_texts(kBase, after);
  for (const char* role : {"figma.admin", "figma.billing"}) {
    const Change* route = only_change(diff, role, ChangeKind::route);
    ASSERT_TRUE(route);
    EXPECT_TRUE(route->risk) << role;
    EXPECT_NE(route->risk_reason.find("a step was removed (2 -> 1 steps)"), std::string::npos) << route->risk_reason;
    EXPECT_EQ(route->new_span.line, 5u);
  }
  EXPECT_TRUE(find_changes(diff, "figma.viewer", ChangeKind::route).empty());
  EXPECT_EQ(diff.risk_count(), 2u) << dump(diff);
}

TEST(PolicyDiff, AddedStepIsNotRisky) {
  const auto after = edit(kBase, "approve: app.owner then security", "approve: manager then app.owner then security");
  const auto diff = diff_texts(kBase, after);
  EXPECT_FALSE(diff.has_risk()) << dump(diff);
  EXPECT_FALSE(find_changes(diff, "figma.admin", ChangeKind::route).empty());
}

TEST(PolicyDiff, ChangedApproverIsReportedPerStep) {
  const auto after = edit(kBase, "approve: app.owner then security", "approve: app.owner then group \"it-ops\"");
  const auto diff = diff_texts(kBase, after);
  const Change* step = only_change(diff, "figma.admin", ChangeKind::approvers);
  ASSERT_TRUE(step);
  EXPECT_EQ(step->subject, "step 2 approvers");
  EXPECT_EQ(step->before, "security (group \"security-oncall\")");
  EXPECT_EQ(step->after, "group \"it-ops\"");
  EXPECT_FALSE(step->risk);
  EXPECT_FALSE(diff.has_risk()) << dump(diff);
}

TEST(PolicyDiff, RedefinedPoolOrOwnerChangesTheApproversWithoutRouteText) {
  auto after = edit(kBase, "approvers security = group \"security-oncall\"", "approvers security = group \"everyone\"");
  after = edit(after, "owner: \"dana@acme.com\"", "owner: \"eve@acme.com\"");
  const auto diff = diff_texts(kBase, after);
  EXPECT_TRUE(find_changes(diff, "figma.admin", ChangeKind::route).empty()) << dump(diff);
  const auto steps = find_changes(diff, "figma.admin", ChangeKind::approvers);
  ASSERT_EQ(steps.size(), 2u) << dump(diff);
  EXPECT_EQ(steps[0]->after, "app.owner (\"eve@acme.com\")");
  EXPECT_EQ(steps[1]->after, "security (group \"everyone\")");
}

TEST(PolicyDiff, LowerQuorumIsRiskyHigherIsNot) {
  const auto two = edit(kBase, "approve: app.owner then security", "approve: app.owner then 2 of security");
  const auto lowered = diff_texts(two, kBase);
  const Change* quorum = only_change(lowered, "figma.admin", ChangeKind::quorum);
  ASSERT_TRUE(quorum);
  EXPECT_EQ(quorum->before, "2");
  EXPECT_EQ(quorum->after, "1");
  EXPECT_TRUE(quorum->risk);
  EXPECT_EQ(quorum->subject, "step 2 quorum");

  const auto raised = diff_texts(kBase, two);
  const Change* up = only_change(raised, "figma.admin", ChangeKind::quorum);
  ASSERT_TRUE(up);
  EXPECT_FALSE(up->risk);
  EXPECT_FALSE(raised.has_risk()) << dump(raised);
}

TEST(PolicyDiff, AddedGroupsAreRiskyRemovedAreNot) {
  const auto after = edit(kBase, "role viewer { grants: sandbox.okta group \"figma-viewers\" }",
                          "role viewer { grants: sandbox.okta group \"figma-admins\" }");
  const auto diff = diff_texts(kBase, after);
  const auto groups = find_changes(diff, "figma.viewer", ChangeKind::groups);
  ASSERT_EQ(groups.size(), 2u) << dump(diff);
  EXPECT_EQ(groups[0]->before, "sandbox.okta group \"figma-viewers\"");
  EXPECT_FALSE(groups[0]->risk);
  EXPECT_EQ(groups[1]->after, "sandbox.okta group \"figma-admins\"");
  EXPECT_EQ(groups[1]->subject, "groups in sandbox.okta");
  EXPECT_TRUE(groups[1]->risk);
  // The viewer now reaches what the admin role grants.
  EXPECT_NE(groups[1]->risk_reason.find("figma.admin"), std::string::npos) << groups[1]->risk_reason;
  EXPECT_EQ(groups[1]->new_span.line, 18u);

  const auto back = diff_texts(after, kBase);
  EXPECT_EQ(back.risk_count(), 1u) << dump(back);  // figma-viewers added back
}

TEST(PolicyDiff, ExpiryRemovedIsRisky) {
  const auto after = edit(edit(kBase, "expiry: required", "expiry: optional"), "one_of(1h, 6h, 24h) default 1h",
                          "one_of(1h, 6h, 24h, permanent) default 1h");
  const auto diff = diff_texts(kBase, after);
  const Change* expiry = only_change(diff, "figma.admin", ChangeKind::expiry_required);
  ASSERT_TRUE(expiry);
  EXPECT_EQ(expiry->before, "required");
  EXPECT_EQ(expiry->after, "optional");
  EXPECT_TRUE(expiry->risk);
  EXPECT_EQ(expiry->new_span.line, 7u);
  const Change* permanent = only_change(diff, "figma.admin", ChangeKind::permanent_allowed);
  ASSERT_TRUE(permanent);
  EXPECT_TRUE(permanent->risk);
  EXPECT_NE(permanent->risk_reason.find("expiry removed"), std::string::npos);
  // Adding expiry back is not a risk.
  EXPECT_FALSE(diff_texts(after, kBase).has_risk());
}

TEST(PolicyDiff, LongerDurationsAreRiskyShorterAreNot) {
  const auto longer = edit(kBase, "one_of(1h, 6h, 24h) default 1h", "one_of(1h, 6h, 3d) default 6h");
  const auto diff = diff_texts(kBase, longer);
  const Change* allowed = only_change(diff, "figma.admin", ChangeKind::duration_allowed);
  ASSERT_TRUE(allowed);
  EXPECT_EQ(allowed->before, "1h, 6h, 1d");
  EXPECT_EQ(allowed->after, "1h, 6h, 3d");
  EXPECT_TRUE(allowed->risk);
  const Change* def = only_change(diff, "figma.admin", ChangeKind::duration_default);
  ASSERT_TRUE(def);
  EXPECT_TRUE(def->risk);
  EXPECT_FALSE(diff_texts(longer, kBase).has_risk());

  const auto max = edit(kBase, "at_most 30d default 7d", "at_most 90d default 7d");
  const auto raised = diff_texts(kBase, max);
  const Change* maximum = only_change(raised, "figma.editor", ChangeKind::duration_maximum);
  ASSERT_TRUE(maximum);
  EXPECT_EQ(maximum->before, "30d");
  EXPECT_EQ(maximum->after, "90d");
  EXPECT_TRUE(maximum->risk);
  EXPECT_FALSE(diff_texts(max, kBase).has_risk());
}

TEST(PolicyDiff, RenewalLimitRaisedOrRemovedIsRisky) {
  const auto more = diff_texts(kBase, edit(kBase, "renew: at_most 1 times", "renew: at_most 3 times"));
  const Change* raised = only_change(more, "figma.admin", ChangeKind::renewal_limit);
  ASSERT_TRUE(raised);
  EXPECT_TRUE(raised->risk);
  EXPECT_EQ(raised->after, "at_most 3 times");

  const auto none = diff_texts(kBase, edit(kBase, "  renew: at_most 1 times\n", ""));
  const Change* removed = only_change(none, "figma.admin", ChangeKind::renewal_limit);
  ASSERT_TRUE(removed);
  EXPECT_TRUE(removed->risk);
  EXPECT_EQ(removed->after, "unlimited");

  const auto fewer = diff_texts(kBase, edit(kBase, "renew: at_most 1 times", "renew: never"));
  EXPECT_FALSE(fewer.has_risk()) << dump(fewer);
}

TEST(PolicyDiff, DroppedRequiredFieldIsRisky) {
  const auto dropped = diff_texts(kBase, edit(kBase, "require: justification, ticket", "require: justification"));
  const Change* fields = only_change(dropped, "figma.admin", ChangeKind::required_fields);
  ASSERT_TRUE(fields);
  EXPECT_EQ(fields->before, "justification, ticket");
  EXPECT_EQ(fields->after, "justification");
  EXPECT_TRUE(fields->risk);
  EXPECT_NE(fields->risk_reason.find("ticket"), std::string::npos);
  EXPECT_FALSE(diff_texts(edit(kBase, "require: justification, ticket", "require: justification"), kBase).has_risk());
}

TEST(PolicyDiff, ManualToGroupsIsReportedAndTheGroupFlagged) {
  const auto after = edit(kBase, "role billing { manual \"Dana sets it in Figma\"; bucket: privileged }",
                          "role billing { grants: sandbox.okta group \"figma-billing\"; bucket: privileged }");
  const auto diff = diff_texts(kBase, after);
  const Change* fulfilment = only_change(diff, "figma.billing", ChangeKind::fulfilment);
  ASSERT_TRUE(fulfilment);
  EXPECT_EQ(fulfilment->before, "manual \"Dana sets it in Figma\"");
  EXPECT_EQ(fulfilment->after, "groups");
  EXPECT_FALSE(fulfilment->risk);
  const Change* group = only_change(diff, "figma.billing", ChangeKind::groups);
  ASSERT_TRUE(group);
  EXPECT_TRUE(group->risk);
}

TEST(PolicyDiff, BucketMoveToStricterBucketIsNotRisky) {
  const auto after = edit(kBase, "role viewer { grants: sandbox.okta group \"figma-viewers\" }",
                          "role viewer { grants: sandbox.okta group \"figma-viewers\"; bucket: privileged }");
  const auto diff = diff_texts(kBase, after);
  const Change* bucket = only_change(diff, "figma.viewer", ChangeKind::bucket);
  ASSERT_TRUE(bucket);
  EXPECT_EQ(bucket->before, "routine");
  EXPECT_EQ(bucket->after, "privileged");
  EXPECT_FALSE(diff.has_risk()) << dump(diff);
  EXPECT_FALSE(find_changes(diff, "figma.viewer", ChangeKind::route).empty());
  EXPECT_FALSE(find_changes(diff, "figma.viewer", ChangeKind::expiry_required).empty());
}

TEST(PolicyDiff, BucketMoveToLaxerBucketIsRisky) {
  const auto after = edit(kBase, "role admin { grants: sandbox.okta group \"figma-admins\"; bucket: privileged }",
                          "role admin { grants: sandbox.okta group \"figma-admins\" }");
  const auto diff = diff_texts(kBase, after);
  EXPECT_FALSE(find_changes(diff, "figma.admin", ChangeKind::bucket).empty());
  const Change* route = only_change(diff, "figma.admin", ChangeKind::route);
  ASSERT_TRUE(route);
  EXPECT_TRUE(route->risk);
  EXPECT_TRUE(only_change(diff, "figma.admin", ChangeKind::expiry_required)->risk);
  EXPECT_TRUE(only_change(diff, "figma.admin", ChangeKind::required_fields)->risk);
  EXPECT_TRUE(only_change(diff, "figma.admin", ChangeKind::renewal_limit)->risk);
  EXPECT_TRUE(only_change(diff, "figma.admin", ChangeKind::permanent_allowed)->risk);
}

TEST(PolicyDiff, NewRolesAndAppsAreRiskyOnlyWhenAutoApproved) {
  auto after = edit(kBase, "  role viewer {",
                    "  role guest { grants: sandbox.okta group \"figma-guests\"; approve: auto }\n  role viewer {");
  after +=
      "app miro \"Miro\" {\n  owner: \"dana@acme.com\"\n  role member { grants: sandbox.okta group \"miro\"; bucket: "
      "sensitive }\n}\n";
  const auto diff = diff_texts(kBase, after);
  const Change* guest = only_change(diff, "figma.guest", ChangeKind::role_added);
  ASSERT_TRUE(guest);
  EXPECT_TRUE(guest->risk);
  EXPECT_EQ(guest->new_span.line, 18u);
  EXPECT_FALSE(guest->old_span.valid());
  const Change* app = only_change(diff, "miro", ChangeKind::app_added);
  ASSERT_TRUE(app);
  EXPECT_FALSE(app->risk);
  const Change* member = only_change(diff, "miro.member", ChangeKind::role_added);
  ASSERT_TRUE(member);
  EXPECT_FALSE(member->risk);
  EXPECT_EQ(member->after, "bucket sensitive; approve: app.owner; duration: at_most 30d default 7d");
  EXPECT_EQ(diff.risk_count(), 1u) << dump(diff);

  // The viewer's conditional auto route makes a new viewer-like role risky too.
  const auto routine =
      diff_texts(edit(kBase, "  role viewer { grants: sandbox.okta group \"figma-viewers\" }\n", ""), kBase);
  const Change* viewer = only_change(routine, "figma.viewer", ChangeKind::role_added);
  ASSERT_TRUE(viewer);
  EXPECT_TRUE(viewer->risk);
  EXPECT_NE(viewer->risk_reason.find("when requester.employment == \"full_time\""), std::string::npos);
}

TEST(PolicyDiff, RemovedRolesAndAppsAreNotRisky) {
  auto before = kBase +
                "app miro \"Miro\" {\n  owner: \"dana@acme.com\"\n  role member { grants: sandbox.okta group \"miro\"; "
                "bucket: sensitive }\n}\n";
  const auto after =
      edit(kBase, "  role editor { grants: sandbox.okta group \"figma-editors\"; bucket: sensitive }\n", "");
  const auto diff = diff_texts(before, after);
  EXPECT_FALSE(diff.has_risk()) << dump(diff);
  const Change* app = only_change(diff, "miro", ChangeKind::app_removed);
  ASSERT_TRUE(app);
  EXPECT_EQ(app->before, "roles member");
  EXPECT_TRUE(app->old_span.valid());
  EXPECT_FALSE(app->new_span.valid());
  EXPECT_TRUE(only_change(diff, "figma.editor", ChangeKind::role_removed));
}

TEST(PolicyDiff, DeniedBranchRemovedIsRisky) {
  const auto before =
      edit(kBase, "role admin { grants: sandbox.okta group \"figma-admins\"; bucket: privileged }",
           "role admin { grants: sandbox.okta group \"figma-admins\"; bucket: privileged; approve: deny "
           "\"no contractors\" when requester.employment == \"contractor\" else app.owner then security }");
  const auto diff = diff_texts(before, kBase);
  const Change* route = only_change(diff, "figma.admin", ChangeKind::route);
  ASSERT_TRUE(route);
  EXPECT_TRUE(route->risk);
  EXPECT_NE(route->risk_reason.find("no longer denied when requester.employment == \"contractor\""), std::string::npos)
      << route->risk_reason;
  EXPECT_FALSE(diff_texts(kBase, before).has_risk());
}

TEST(PolicyDiff, WidenedConditionOfAShorterBranchIsRisky) {
  const std::string route = "approve: app.owner when request.duration <= duration(\"7d\") else app.owner then security";
  const auto before = edit(kBase, "approve: app.owner\n  duration: at_most 30d", route + "\n  duration: at_most 30d");
  const auto after = edit(before, "duration(\"7d\")", "duration(\"30d\")");
  const auto diff = diff_texts(before, after);
  const Change* change = only_change(diff, "figma.editor", ChangeKind::route);
  ASSERT_TRUE(change);
  EXPECT_TRUE(change->risk);
  EXPECT_NE(change->risk_reason.find("duration(\"30d\")"), std::string::npos) << change->risk_reason;
}

TEST(PolicyDiff, AutoBranchConditionChangedIsRisky) {
  const auto after = edit(kBase, "requester.employment == \"full_time\"", "requester.employment != \"intern\"");
  const auto diff = diff_texts(kBase, after);
  const Change* route = only_change(diff, "figma.viewer", ChangeKind::route);
  ASSERT_TRUE(route);
  EXPECT_TRUE(route->risk);
  EXPECT_NE(route->risk_reason.find("now approved automatically when requester.employment != \"intern\""),
            std::string::npos)
      << route->risk_reason;
}

TEST(PolicyDiff, TextHelpers) {
  auto policy = compile_text(kBase);
  ASSERT_TRUE(policy);
  const Role* admin = policy->find_role("figma", "admin");
  ASSERT_TRUE(admin);
  EXPECT_EQ(duration_text(admin->settings.duration), "one_of(1h, 6h, 1d) default 1h");
  EXPECT_EQ(route_text(admin->settings.route), "app.owner then security");
  const Role* editor = policy->find_role("figma", "editor");
  EXPECT_EQ(duration_text(editor->settings.duration), "at_most 30d default 7d");
  const Role* viewer = policy->find_role("figma", "viewer");
  EXPECT_EQ(duration_text(viewer->settings.duration), "(none)");
  EXPECT_EQ(change_kind_name(ChangeKind::duration_maximum), "duration_maximum");
}

}  // namespace
}  // namespace portcullis::interpreter
