#include "dsl/checker.hpp"

#include <gtest/gtest.h>

#include "test_support.hpp"

namespace portcullis::dsl {
namespace {

using testing::check_text;
using testing::codes;
using testing::find_code;
using testing::kBase;

std::string with_base(const std::string& extra) { return std::string(kBase) + "\n" + extra; }

// The diagnostic with `code`, failing the test when there is none.
const Diagnostic& expect_code(const CheckRun& run, Code code) {
  const Diagnostic* d = find_code(run.diagnostics, code);
  if (!d) {
    std::string all;
    for (const auto& item : run.diagnostics.items()) all += render_text(item);
    ADD_FAILURE() << "no " << code_id(code) << "; got:\n" << all;
    static const Diagnostic none;
    return none;
  }
  return *d;
}

TEST(Checker, BasePolicyIsClean) {
  const auto run = check_text(kBase);
  EXPECT_TRUE(run.diagnostics.items().empty()) << render_text(run.diagnostics.items().front());
}

TEST(Checker, UnknownBucketSuggestsTheNearestName) {
  const auto run = check_text(with_base("app x { owner: \"o@acme.com\"; bucket: privilegd\n role r { manual \"m\" } }"));
  const auto& d = expect_code(run, Code::unknown_bucket);
  EXPECT_EQ(d.message, "unknown bucket `privilegd`");
  EXPECT_EQ(d.help, "did you mean `privileged`?");
  EXPECT_EQ(d.span.text(), "privilegd");
}

TEST(Checker, UnknownAppAndRoleInAConflict) {
  const auto run = check_text(with_base(R"(conflict "c" { roles: netsuit.payment_creator, netsuite.payment_aprover; action: deny })"));
  EXPECT_EQ(expect_code(run, Code::unknown_app).help, "did you mean `netsuite`?");
  const auto& role = expect_code(run, Code::unknown_role);
  EXPECT_EQ(role.span.text(), "payment_aprover");
  EXPECT_EQ(role.help, "did you mean `payment_approver`?");
}

TEST(Checker, UnknownProviderAndKindMismatch) {
  const auto run = check_text(with_base(R"(app x {
  owner: "o@acme.com"
  bucket: routine
  role a { grants: sandbox.okat group "g" }
  role b { grants: okta.okta group "g" }
})"));
  EXPECT_EQ(expect_code(run, Code::unknown_provider).help, "did you mean `sandbox.okta`?");
  const auto& mismatch = expect_code(run, Code::provider_kind_mismatch);
  EXPECT_EQ(mismatch.help, "write `sandbox.okta`");
}

TEST(Checker, UnknownPoolInARoute) {
  const auto run = check_text(with_base("bucket extra { approve: securty }\napp y { owner: \"o@acme.com\"; bucket: extra; role r { manual \"m\" } }"));
  EXPECT_EQ(expect_code(run, Code::unknown_pool).help, "did you mean `security`?");
}

TEST(Checker, DuplicatesPointAtTheFirstDefinition) {
  const auto run = check_text(with_base("bucket routine { approve: manager }\napp figma { bucket: routine; role r { manual \"m\" } }"));
  const auto all = codes(run.diagnostics);
  const auto duplicates = std::count(all.begin(), all.end(), "E0206");
  EXPECT_EQ(duplicates, 2);
  const auto& d = expect_code(run, Code::duplicate_definition);
  ASSERT_EQ(d.notes.size(), 1u);
  EXPECT_EQ(d.notes[0].message, "first defined here");
  EXPECT_LT(d.notes[0].span.line, d.span.line);
}

TEST(Checker, DuplicateRoleInOneApp) {
  const auto run = check_text(with_base("app z { owner: \"o@acme.com\"; bucket: routine\n role r { manual \"m\" }\n role r { manual \"n\" } }"));
  EXPECT_NE(expect_code(run, Code::duplicate_definition).message.find("role `r` twice"), std::string::npos);
}

TEST(Checker, ImportsShareDefinitions) {
  const auto run = check_text(std::map<std::string, std::string>{
      {"main.policy", "import \"lib/buckets.policy\"\nprovider sandbox \"p\" {}\napp a { bucket: std_routine; role r { grants: sandbox.p group \"g\" } }"},
      {"lib/buckets.policy", "module \"buckets\"\nbucket std_routine { approve: manager }\nbucket std_unused { approve: manager }"}});
  EXPECT_TRUE(run.diagnostics.items().empty()) << render_text(run.diagnostics.items().front());
  ASSERT_EQ(run.programs.size(), 1u);
  EXPECT_EQ(run.programs[0].files.size(), 2u);
}

TEST(Checker, MissingImportIsReportedOnTheImport) {
  const auto run = check_text("import \"nope.policy\"\n");
  const auto& d = expect_code(run, Code::import_not_found);
  EXPECT_EQ(d.span.text(), "\"nope.policy\"");
}

TEST(Checker, ImportCycleIsReported) {
  const auto run = check_text(std::map<std::string, std::string>{
      {"main.policy", "import \"a.policy\"\n"}, {"a.policy", "import \"b.policy\"\n"}, {"b.policy", "import \"a.policy\"\n"}});
  const auto& d = expect_code(run, Code::import_cycle);
  EXPECT_EQ(d.span.file->path(), "b.policy");
  EXPECT_FALSE(d.notes.empty());
}

TEST(Checker, ProviderKindsAndSettings) {
  const auto run = check_text(R"(provider okat "a" { url: "https://x" }
provider okta "b" { url: "https://x"; tokn: env("T") }
provider entra "c" { tenant: "t"; client_id: env("ID") }
)");
  EXPECT_EQ(expect_code(run, Code::unknown_provider_kind).help, "did you mean `okta`?");
  EXPECT_EQ(expect_code(run, Code::unknown_setting).help, "did you mean `token`?");
  // entra "c" lacks its secret; okta "b" has neither a token nor OAuth
  // client credentials.
  bool secret = false, credentials = false;
  for (const auto& d : run.diagnostics.items()) {
    if (d.code != Code::missing_setting) continue;
    secret |= d.message == "provider `entra` needs the setting `client_secret`";
    credentials |= d.message == "provider `okta` has no credentials";
  }
  EXPECT_TRUE(secret);
  EXPECT_TRUE(credentials);
}

TEST(Checker, RoleWithoutGrantOrManual) {
  const auto run = check_text(with_base("app q { owner: \"o@acme.com\"; bucket: routine; role empty { description: \"x\" } }"));
  const auto& d = expect_code(run, Code::role_without_grant);
  EXPECT_EQ(d.span.text(), "empty");
  EXPECT_TRUE(d.help);
}

TEST(Checker, RoleWithGrantAndManual) {
  const auto run = check_text(with_base("app q { owner: \"o@acme.com\"; bucket: routine\n role both { grants: sandbox.okta group \"g\"\n manual \"m\" } }"));
  EXPECT_EQ(expect_code(run, Code::role_grant_and_manual).notes.size(), 1u);
}

TEST(Checker, RoleWithoutBucket) {
  const auto run = check_text(with_base("app q { owner: \"o@acme.com\"; role r { manual \"m\" } }"));
  EXPECT_NE(expect_code(run, Code::missing_bucket).message.find("`r`"), std::string::npos);
}

TEST(Checker, AppOwnerAskedButMissing) {
  const auto run = check_text(with_base("app q { bucket: privileged; role r { grants: sandbox.okta group \"g\" } }"));
  EXPECT_EQ(expect_code(run, Code::missing_owner).span.text(), "q");
}

TEST(Checker, DefaultOutsideTheAllowedSet) {
  const auto run = check_text(with_base("app q { owner: \"o@acme.com\"; bucket: privileged\n role r { grants: sandbox.okta group \"g\"; duration: one_of(1h, 6h) default 2h } }"));
  const auto& d = expect_code(run, Code::default_not_allowed);
  EXPECT_EQ(d.span.text(), "2h");
  EXPECT_EQ(d.help, "allowed: 1h, 6h");
}

TEST(Checker, DefaultAboveTheMaximum) {
  const auto run = check_text(with_base("app q { owner: \"o@acme.com\"; bucket: routine\n role r { grants: sandbox.okta group \"g\"; duration: at_most 30d default 60d } }"));
  EXPECT_EQ(expect_code(run, Code::default_above_maximum).notes.at(0).span.text(), "30d");
}

TEST(Checker, ExpiryRequiredButPermanentAllowed) {
  const auto run = check_text(with_base("app q { owner: \"o@acme.com\"; bucket: privileged\n role r { grants: sandbox.okta group \"g\"; duration: permanent } }"));
  const auto& d = expect_code(run, Code::expiry_unbounded);
  EXPECT_EQ(d.span.text(), "permanent");
  EXPECT_EQ(d.notes.at(0).span.text(), "required");
}

TEST(Checker, ExpiryRequiredOnABucketWithNoDuration) {
  const auto run = check_text(with_base(R"(bucket strict { approve: security; expiry: required }
app q { owner: "o@acme.com"; bucket: strict; role r { grants: sandbox.okta group "g" } })"));
  EXPECT_NE(expect_code(run, Code::expiry_unbounded).message.find("sets no duration"), std::string::npos);
}

TEST(Checker, ExpiryRequiredBucketAllowingPermanentInItsSet) {
  const auto run = check_text(with_base("bucket b2 { approve: security; expiry: required; duration: one_of(1h, permanent) }\napp q { owner: \"o@acme.com\"; bucket: b2; role r { manual \"m\" } }"));
  EXPECT_EQ(expect_code(run, Code::expiry_unbounded).span.text(), "permanent");
}

TEST(Checker, RepeatedOrZeroDurations) {
  const auto run = check_text(with_base("bucket b2 { approve: manager; duration: one_of(1h, 60m, 0s) }\napp q { owner: \"o@acme.com\"; bucket: b2; role r { manual \"m\" } }"));
  const auto all = codes(run.diagnostics);
  EXPECT_EQ(std::count(all.begin(), all.end(), "E0404"), 2);
}

TEST(Checker, QuorumLargerThanThePool) {
  const auto run = check_text(with_base("app q { owner: \"o@acme.com\"; bucket: routine\n role r { grants: sandbox.okta group \"g\"; approve: 3 of finance } }"));
  const auto& d = expect_code(run, Code::quorum_exceeds_pool);
  EXPECT_NE(d.message.find("only 2 people"), std::string::npos) << d.message;
  EXPECT_EQ(d.notes.size(), 1u);
}

TEST(Checker, QuorumBelowOne) {
  const auto run = check_text(with_base("bucket b2 { approve: 0 of security }\napp q { owner: \"o@acme.com\"; bucket: b2; role r { manual \"m\" } }"));
  expect_code(run, Code::quorum_too_small);
}

TEST(Checker, RoutesThatCanNeverBeSatisfied) {
  const auto run = check_text(with_base(R"(bucket b2 { approve: auto then security }
bucket b3 { approve: 2 of manager }
bucket b4 { approve: manager else security }
app q { owner: "o@acme.com"; bucket: b2; role r { manual "m" }; role s { manual "m"; bucket: b3 }; role t { manual "m"; bucket: b4 } })"));
  const auto all = codes(run.diagnostics);
  EXPECT_EQ(std::count(all.begin(), all.end(), "E0503"), 2) << ::testing::PrintToString(all);
  // `2 of manager`: a requester has one manager.
  EXPECT_NE(expect_code(run, Code::quorum_exceeds_pool).message.find("only 1 person"), std::string::npos);
}

TEST(Checker, ConditionalRouteWithoutElse) {
  const auto run = check_text(with_base("bucket b2 { approve: auto when requester.x == 1 }\napp q { owner: \"o@acme.com\"; bucket: b2; role r { manual \"m\" } }"));
  EXPECT_EQ(expect_code(run, Code::route_without_else).span.text(), "requester.x == 1");
}

TEST(Checker, LiteralSecretIsRefusedWithoutEchoingIt) {
  const auto run = check_text(R"(provider okta "main" { url: "https://acme.okta.com"; token: "00aBcDeFgHiJkLmN" }
chat slack { channel: "#a"; token: "xoxb-123-456"; signing_secret: env("S") })");
  const auto all = codes(run.diagnostics);
  EXPECT_EQ(std::count(all.begin(), all.end(), "E0601"), 2);
  for (const auto& d : run.diagnostics.items()) {
    const std::string text = render_text(d);
    EXPECT_EQ(d.message.find("00aBcDeFgHiJkLmN"), std::string::npos);
    EXPECT_EQ(d.message.find("xoxb"), std::string::npos);
    if (d.help) {
      EXPECT_EQ(d.help->find("xoxb"), std::string::npos);
    }
  }
  EXPECT_EQ(expect_code(run, Code::literal_secret).help, "reference it instead: token: env(\"TOKEN\") or file(\"/run/secrets/token\")");
}

TEST(Checker, CredentialLookingValueUnderAnyKeyIsRefused) {
  const auto run = check_text("provider sandbox \"x\" { description: \"-----BEGIN PRIVATE KEY-----\" }\n");
  expect_code(run, Code::literal_secret);
}

TEST(Checker, InvalidSecretReference) {
  const auto run = check_text(R"(provider scim "s" { url: "https://x"; token: env("1BAD-NAME") })");
  expect_code(run, Code::invalid_secret_ref);
}

TEST(Checker, ConflictNeedsTwoDifferentRoles) {
  const auto run = check_text(with_base(R"(conflict "self" { roles: figma.admin, figma.admin; action: deny })"));
  expect_code(run, Code::conflict_too_small);
}

TEST(Checker, ConflictNeedsAnAction) {
  const auto run = check_text(with_base(R"(conflict "noact" { roles: figma.admin, figma.viewer })"));
  EXPECT_NE(expect_code(run, Code::missing_field).message.find("no `action`"), std::string::npos);
}

TEST(Checker, UnusedBucketPoolAndProviderAreWarnings) {
  const auto run = check_text(with_base(R"(bucket spare { approve: manager }
bucket unknown { approve: security }
approvers idle = group "idle"
provider sandbox "extra" {})"));
  EXPECT_EQ(expect_code(run, Code::unused_bucket).severity, Severity::warning);
  EXPECT_EQ(expect_code(run, Code::unused_pool).severity, Severity::warning);
  EXPECT_EQ(expect_code(run, Code::unused_provider).severity, Severity::warning);
  EXPECT_FALSE(run.diagnostics.has_errors());
  const auto all = codes(run.diagnostics);
  EXPECT_EQ(std::count(all.begin(), all.end(), "W0101"), 1) << "the `unknown` bucket is used implicitly";
}

TEST(Checker, AppThatFailedToParseDoesNotCascade) {
  const auto run = check_text(with_base(R"(app payroll {
  bucket: privileged
  role clerk { grants: sandbox.okta group }
}
conflict "payroll" { roles: payroll.clerk, figma.admin; action: deny })"));
  ASSERT_EQ(run.diagnostics.items().size(), 1u) << render_text(run.diagnostics.items()[1]);
  EXPECT_EQ(run.diagnostics.items()[0].code, Code::expected_token);
}

TEST(Checker, ReviewsResolveScopeAndDecisions) {
  const auto run = check_text(with_base(R"(review quarterly {
  scope: bucket privilegd, app figma, role figma.admn
  every: 90d
  reviewer: app.owner
  undecided: revok
  recommend remove when member.last_login_age > duration("60d")
})"));
  expect_code(run, Code::unknown_bucket);
  expect_code(run, Code::unknown_role);
  const auto all = codes(run.diagnostics);
  EXPECT_EQ(std::count(all.begin(), all.end(), "E0702"), 2);
}

TEST(Checker, TestBlocksAreChecked) {
  const auto run = check_text(with_base(R"(test "t" {
  approve by "x@acme.com"
  request figma.viewer
  approve
  expect state activ
  expect grants sandbox.okt group "g"
})"));
  const auto all = codes(run.diagnostics);
  EXPECT_NE(std::find(all.begin(), all.end(), "E0305"), all.end()) << "approve needs `by`";
  EXPECT_EQ(expect_code(run, Code::invalid_value).message, "`approve` before any `request`");
  EXPECT_NE(std::find(all.begin(), all.end(), "E0204"), all.end());
  bool state = false;
  for (const auto& d : run.diagnostics.items()) state |= d.help == std::optional<std::string>("did you mean `active`?");
  EXPECT_TRUE(state);
}

TEST(Checker, DiagnosticsOfASharedImportAppearOnce) {
  FileReader reader = [](const std::string& path) -> std::optional<std::string> {
    if (path == "a.policy" || path == "b.policy") return "import \"shared.policy\"\n";
    if (path == "shared.policy") return "module \"shared\"\nbucket b { approve: nobody_pool }\n";
    return std::nullopt;
  };
  const auto run = check_files({"a.policy", "b.policy"}, reader);
  EXPECT_EQ(run.diagnostics.items().size(), 1u);
}

}  // namespace
}  // namespace portcullis::dsl

namespace portcullis::dsl {
namespace {

TEST(CheckerConditions, UnknownAttributeIsReportedInsideTheCondition) {
  const auto run = testing::check_text(
      "bucket b {\n  approve: auto when requester.employment == \"full_time\" && requester.departmnt == \"it\" else manager\n}\n"
      "app a { bucket: b; role r { manual \"m\" } }\n");
  const Diagnostic* d = testing::find_code(run.diagnostics, Code::unknown_attribute);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->span.line, 2u);
  EXPECT_EQ(d->span.column, 71u);
  EXPECT_EQ(d->span.text(), "departmnt");
  EXPECT_EQ(d->message, "`requester` has no attribute `departmnt`");
  EXPECT_EQ(d->help, "did you mean `department`?");
}

TEST(CheckerConditions, TypeMismatchAndNonBooleanConditions) {
  const auto run = testing::check_text(
      "bucket b { approve: auto when request.duration > 3 else manager }\n"
      "bucket c { approve: auto when requester.email else manager }\n"
      "app a { bucket: b; role r { manual \"m\" }; role s { manual \"m\"; bucket: c } }\n");
  const auto all = testing::codes(run.diagnostics);
  EXPECT_EQ(std::count(all.begin(), all.end(), "E0803"), 2) << ::testing::PrintToString(all);
}

TEST(CheckerConditions, ReviewsSeeMembersAndRoutesSeeRequesters) {
  const auto run = testing::check_text(std::string(testing::kBase) + R"(
review r {
  scope: app figma
  reviewer: app.owner
  recommend revoke when member.last_login_age > duration("1440h") && member.employment != "full_time"
  recommend keep when requester.department == "it"
})");
  const auto all = testing::codes(run.diagnostics);
  ASSERT_EQ(all.size(), 1u) << ::testing::PrintToString(all);
  EXPECT_EQ(all[0], "E0802") << "`requester` is not in scope in a review";
}

TEST(CheckerConditions, CelSyntaxErrorPointsIntoTheCondition) {
  const auto run = testing::check_text("bucket b { approve: auto when requester.email.endsWith(,) else manager }\n"
                                       "app a { bucket: b; role r { manual \"m\" } }\n");
  const Diagnostic* d = testing::find_code(run.diagnostics, Code::condition_syntax);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->span.column, 56u);
}

}  // namespace
}  // namespace portcullis::dsl
