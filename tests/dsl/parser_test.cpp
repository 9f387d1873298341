#include "dsl/parser.hpp"

#include <gtest/gtest.h>

#include "test_support.hpp"

namespace portcullis::dsl {
namespace {

using testing::codes;
using testing::find_code;
using testing::parse_text;

TEST(Parser, ParsesTheBasePolicyWithoutDiagnostics) {
  const auto result = parse_text(testing::kBase);
  EXPECT_TRUE(result.diagnostics.items().empty()) << render_text(result.diagnostics.items().front());
  EXPECT_EQ(result.file.all<ast::Provider>().size(), 1u);
  EXPECT_EQ(result.file.all<ast::Pool>().size(), 2u);
  EXPECT_EQ(result.file.all<ast::Bucket>().size(), 2u);
  EXPECT_EQ(result.file.all<ast::App>().size(), 2u);
  EXPECT_EQ(result.file.all<ast::Conflict>().size(), 1u);
}

TEST(Parser, BuildsAppsRolesGrantsAndSettings) {
  const auto result = parse_text(testing::kBase);
  const ast::App& figma = *result.file.all<ast::App>()[0];
  EXPECT_EQ(figma.name.name, "figma");
  ASSERT_TRUE(figma.title);
  EXPECT_EQ(figma.title->value, "Figma");
  ASSERT_TRUE(figma.owner);
  EXPECT_EQ(figma.owner->kind, ast::Approver::Kind::person);
  EXPECT_EQ(figma.owner->name, "dana@acme.com");
  ASSERT_EQ(figma.roles.size(), 2u);
  const ast::Role& admin = figma.roles[1];
  ASSERT_EQ(admin.grants.size(), 1u);
  EXPECT_EQ(admin.grants[0].provider.text(), "sandbox.okta");
  EXPECT_EQ(admin.grants[0].group.value, "figma-admins");
  ASSERT_TRUE(admin.settings.bucket);
  EXPECT_EQ(admin.settings.bucket->name, "privileged");
}

TEST(Parser, EverySpanPointsAtItsSource) {
  const auto result = parse_text("app figma {\n  bucket: routine\n  role viewer { manual \"ask IT\" }\n}\n");
  ASSERT_TRUE(result.diagnostics.items().empty());
  const ast::App& app = *result.file.all<ast::App>()[0];
  EXPECT_EQ(app.name.span.line, 1u);
  EXPECT_EQ(app.name.span.column, 5u);
  EXPECT_EQ(app.name.span.text(), "figma");
  EXPECT_EQ(app.settings.bucket->span.line, 2u);
  EXPECT_EQ(app.settings.bucket->span.column, 11u);
  EXPECT_EQ(app.roles[0].name.span.text(), "viewer");
  EXPECT_EQ(app.roles[0].manual->span.text(), "\"ask IT\"");
  EXPECT_EQ(app.roles[0].span.text(), "role viewer { manual \"ask IT\" }");
  EXPECT_EQ(app.span.line, 1u);
  EXPECT_EQ(app.span.text().back(), '}');
}

TEST(Parser, RoutesHaveStepsQuorumsAndConditions) {
  const auto result = parse_text(R"(bucket b {
  approve: auto when requester.employment == "full_time" &&
                     request.duration <= duration("8h")
           else 2 of group "leads" then security then "cio@acme.com"
})");
  ASSERT_TRUE(result.diagnostics.items().empty()) << render_text(result.diagnostics.items()[0]);
  const ast::Route& route = *result.file.all<ast::Bucket>()[0]->settings.approve;
  ASSERT_EQ(route.branches.size(), 2u);
  ASSERT_TRUE(route.branches[0].when);
  EXPECT_EQ(route.branches[0].when->text,
            "requester.employment == \"full_time\" &&\n                     request.duration <= duration(\"8h\")");
  EXPECT_EQ(route.branches[0].when->span.line, 2u);
  EXPECT_EQ(route.branches[0].when->span.column, 22u);
  const auto& steps = route.branches[1].steps;
  ASSERT_EQ(steps.size(), 3u);
  EXPECT_EQ(steps[0].quorum->value, 2);
  EXPECT_EQ(steps[0].approver.kind, ast::Approver::Kind::group);
  EXPECT_EQ(steps[1].approver.kind, ast::Approver::Kind::pool);
  EXPECT_EQ(steps[2].approver.kind, ast::Approver::Kind::person);
  EXPECT_EQ(ast::to_source(route),
            "auto when requester.employment == \"full_time\" &&\n                     request.duration <= "
            "duration(\"8h\") else 2 of group \"leads\" then security then \"cio@acme.com\"");
}

TEST(Parser, ConditionsEndWhereTheirTokensStopContinuingAnExpression) {
  const auto result = parse_text(R"(review r {
  scope: bucket b
  recommend revoke when member.days > 60 ? true : member.x in ["a", "b"]
  recommend keep when has(member.flag) && member.tags.exists(t, t == 'vip#1')
  reviewer: app.owner
})");
  ASSERT_TRUE(result.diagnostics.items().empty()) << render_text(result.diagnostics.items()[0]);
  const ast::Review& review = *result.file.all<ast::Review>()[0];
  ASSERT_EQ(review.recommendations.size(), 2u);
  EXPECT_EQ(review.recommendations[0].when.text, "member.days > 60 ? true : member.x in [\"a\", \"b\"]");
  EXPECT_EQ(review.recommendations[1].when.text, "has(member.flag) && member.tags.exists(t, t == 'vip#1')");
  ASSERT_TRUE(review.reviewer);
  EXPECT_TRUE(result.file.comments.empty()) << "a # inside a CEL string is not a comment";
}

TEST(Parser, DurationsAndDurationSpecs) {
  const auto result = parse_text(R"(bucket b {
  duration: one_of(1h, 1h30m, 2d, 1w, permanent) default 1h30m
  renew: at_most 3 times
  remind: after 90m
  escalate: after 3d to security
  expiry: optional
  require: justification, ticket
})");
  ASSERT_TRUE(result.diagnostics.items().empty()) << render_text(result.diagnostics.items()[0]);
  const ast::Settings& s = result.file.all<ast::Bucket>()[0]->settings;
  ASSERT_EQ(s.duration->allowed.size(), 4u);
  EXPECT_EQ(s.duration->allowed[1].seconds, 5400);
  EXPECT_EQ(s.duration->allowed[2].seconds, 2 * 86400);
  EXPECT_EQ(s.duration->allowed[3].seconds, 7 * 86400);
  EXPECT_TRUE(s.duration->allowed_permanent);
  EXPECT_EQ(s.duration->default_duration->seconds, 5400);
  EXPECT_EQ(s.renew->max_times.value, 3);
  EXPECT_EQ(s.remind->seconds, 5400);
  EXPECT_EQ(s.escalate->after.seconds, 3 * 86400);
  EXPECT_EQ(s.escalate->to.name, "security");
  EXPECT_FALSE(s.expiry->required);
  ASSERT_EQ(s.require->fields.size(), 2u);
  EXPECT_EQ(s.require->fields[1].name, "ticket");
}

TEST(Parser, StringEscapesDecode) {
  const auto result = parse_text(R"(app a "tab\there \"q\" back\\slash \u{1F600} nl\n" { bucket: b role r { manual "x" } })");
  ASSERT_TRUE(result.diagnostics.items().empty()) << render_text(result.diagnostics.items()[0]);
  EXPECT_EQ(result.file.all<ast::App>()[0]->title->value, "tab\there \"q\" back\\slash \xF0\x9F\x98\x80 nl\n");
}

TEST(Parser, InvalidEscapeIsReportedAtTheEscape) {
  const auto result = parse_text("app a \"bad \\q escape\" {}\n");
  const Diagnostic* d = find_code(result.diagnostics, Code::invalid_escape);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->span.line, 1u);
  EXPECT_EQ(d->span.column, 12u) << "the caret starts at the backslash";
  ASSERT_TRUE(d->help);
}

TEST(Parser, SurrogateCodePointIsAnInvalidEscape) {
  const auto result = parse_text("app a \"\\u{D800}\" {}\n");
  EXPECT_NE(find_code(result.diagnostics, Code::invalid_escape), nullptr);
}

TEST(Parser, UnterminatedStringStopsAtEndOfLine) {
  const auto result = parse_text("app a \"never closed {\n}\nbucket b {}\n");
  const Diagnostic* d = find_code(result.diagnostics, Code::unterminated_string);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->span.line, 1u);
  EXPECT_EQ(result.file.all<ast::Bucket>().size(), 1u) << "parsing resumes at the next item";
}

TEST(Parser, InvalidDurationNamesTheUnit) {
  const auto result = parse_text("bucket b { remind: after 30x }\n");
  const Diagnostic* d = find_code(result.diagnostics, Code::invalid_duration);
  ASSERT_NE(d, nullptr);
  EXPECT_NE(d->message.find("30x"), std::string::npos);
  ASSERT_TRUE(d->help);
}

TEST(Parser, DurationLongerThanACenturyIsRefused) {
  const auto result = parse_text("bucket b { remind: after 99999999999d }\n");
  EXPECT_NE(find_code(result.diagnostics, Code::invalid_duration), nullptr);
}

TEST(Parser, NumberTooLargeIsRefused) {
  const auto result = parse_text("bucket b { renew: at_most 99999999999999999999 times }\n");
  EXPECT_NE(find_code(result.diagnostics, Code::invalid_number), nullptr);
}

TEST(Parser, UnknownFieldSuggestsAndParsingContinues) {
  const auto result = parse_text("bucket b {\n  aprove: manager\n  remind: after 1d\n}\n");
  ASSERT_EQ(result.diagnostics.items().size(), 1u);
  const Diagnostic& d = result.diagnostics.items()[0];
  EXPECT_EQ(d.code, Code::unknown_field);
  EXPECT_EQ(d.span.line, 2u);
  EXPECT_EQ(d.help, "did you mean `approve`?");
  ASSERT_EQ(result.file.all<ast::Bucket>().size(), 1u);
  EXPECT_TRUE(result.file.all<ast::Bucket>()[0]->settings.remind) << "the field after the unknown one is kept";
}

TEST(Parser, DuplicateFieldPointsAtTheFirst) {
  const auto result = parse_text("bucket b {\n  approve: manager\n  approve: auto\n}\n");
  const Diagnostic* d = find_code(result.diagnostics, Code::duplicate_field);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->span.line, 3u);
  ASSERT_EQ(d->notes.size(), 1u);
  EXPECT_EQ(d->notes[0].span.line, 2u);
}

TEST(Parser, RecoversAtTheNextTopLevelItem) {
  const auto result = parse_text(R"(bucket good1 { approve: manager }
app broken {
  role r { grants: sandbox.okta group }
}
bucket good2 { approve: manager }
app also_broken "x" { bucket b role }
bucket good3 { approve: manager }
)");
  EXPECT_EQ(result.diagnostics.items().size(), 2u) << "one error per broken item, no cascade";
  EXPECT_EQ(result.file.all<ast::Bucket>().size(), 3u);
  ASSERT_EQ(result.file.unparsed.size(), 2u);
  EXPECT_EQ(result.file.unparsed[0].keyword, "app");
  EXPECT_EQ(result.file.unparsed[0].name, "broken");
}

TEST(Parser, MissingCloseBraceFailsAtTheNextItemWhichStillParses) {
  const auto result = parse_text("bucket a {\n  approve: manager\n\nbucket b { approve: manager }\n");
  ASSERT_EQ(result.diagnostics.items().size(), 1u);
  const Diagnostic& d = result.diagnostics.items()[0];
  EXPECT_EQ(d.code, Code::expected_token);
  EXPECT_EQ(d.span.line, 4u);
  EXPECT_NE(d.message.find("found `bucket`"), std::string::npos) << d.message;
  ASSERT_EQ(result.file.all<ast::Bucket>().size(), 1u);
  EXPECT_EQ(result.file.all<ast::Bucket>()[0]->name.name, "b");
}

TEST(Parser, IncompleteConditionIsReported) {
  const auto result = parse_text("bucket b {\n  approve: auto when requester.x == 1 &&\n}\n");
  const Diagnostic* d = find_code(result.diagnostics, Code::invalid_condition);
  ASSERT_NE(d, nullptr);
  EXPECT_NE(d->message.find("incomplete"), std::string::npos);
}

TEST(Parser, EmptyConditionIsReported) {
  const auto result = parse_text("bucket b {\n  approve: auto when else manager\n}\n");
  EXPECT_NE(find_code(result.diagnostics, Code::invalid_condition), nullptr);
}

TEST(Parser, InvalidUtf8IsRefusedWithItsOffset) {
  const auto result = parse_text("bucket b {}\n# caf\xC3 here\n");
  const Diagnostic* d = find_code(result.diagnostics, Code::invalid_encoding);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->span.line, 2u);
  EXPECT_EQ(d->span.column, 6u);
}

TEST(Parser, NulByteIsRefused) {
  const auto result = parse_text(std::string("bucket b {}\0", 12));
  EXPECT_NE(find_code(result.diagnostics, Code::invalid_encoding), nullptr);
}

TEST(Parser, DeepListNestingHitsTheLimit) {
  std::string value(40, '[');
  value += std::string(40, ']');
  const auto result = parse_text("provider sandbox \"x\" { description: " + value + " }\n");
  EXPECT_NE(find_code(result.diagnostics, Code::nesting_too_deep), nullptr);
}

TEST(Parser, DeepConditionNestingHitsTheLimit) {
  const std::string condition = std::string(100, '(') + "true" + std::string(100, ')');
  const auto result = parse_text("bucket b { approve: auto when " + condition + " else manager }\n");
  EXPECT_NE(find_code(result.diagnostics, Code::nesting_too_deep), nullptr);
}

TEST(Parser, CommentsAreKeptWithTheirPlacement) {
  const auto result = parse_text("# leading\nbucket b { # trailing\n  approve: manager\n}\n# end\n");
  ASSERT_TRUE(result.diagnostics.items().empty());
  ASSERT_EQ(result.file.comments.size(), 3u);
  EXPECT_EQ(result.file.comments[0].text, "# leading");
  EXPECT_FALSE(result.file.comments[0].trailing);
  EXPECT_TRUE(result.file.comments[1].trailing);
  EXPECT_EQ(result.file.comments[2].span.line, 5u);
}

TEST(Parser, SemicolonsAndNewlinesAreInterchangeable) {
  const auto one_line = parse_text("app a { bucket: b; role r { grants: sandbox.x group \"g\"; bucket: c } }");
  const auto many_lines = parse_text("app a {\n  bucket: b\n  role r {\n    grants: sandbox.x group \"g\"\n    bucket: c\n  }\n}\n");
  ASSERT_TRUE(one_line.diagnostics.items().empty());
  ASSERT_TRUE(many_lines.diagnostics.items().empty());
  EXPECT_EQ(one_line.file.all<ast::App>()[0]->roles[0].settings.bucket->name,
            many_lines.file.all<ast::App>()[0]->roles[0].settings.bucket->name);
}

TEST(Parser, TestBlocksParseEveryStatement) {
  const auto result = parse_text(R"(test "everything" {
  given requester "ann@acme.com" { employment: "full_time", level: 3, admin: false, tags: ["a", "b"] }
  given person "bob@acme.com" { department: "it" }
  given grant netsuite.payment_creator to "ann@acme.com"
  given group "platform-leads" members "a@acme.com", "b@acme.com"
  request aws.admin for 6h by "ann@acme.com" because "INC-1" ticket "ACC-9"
  expect route 2 of group "platform-leads" then security
  approve by "a@acme.com"
  deny by "b@acme.com" because "no"
  expect refused "already"
  wait 6h
  expect state expired
  expect grants sandbox.okta group "g1", sandbox.entra group "g2"
  expect expires_after 6h
  expect requires justification, ticket
  expect bucket privileged
  expect auto_approved
  cancel
  renew for 1h by "ann@acme.com"
})");
  ASSERT_TRUE(result.diagnostics.items().empty()) << render_text(result.diagnostics.items()[0]);
  const ast::Test& test = *result.file.all<ast::Test>()[0];
  ASSERT_EQ(test.statements.size(), 18u);
  const auto& requester = std::get<ast::GivenPerson>(test.statements[0]);
  EXPECT_TRUE(requester.is_requester);
  EXPECT_EQ(requester.attributes.size(), 4u);
  const auto& request = std::get<ast::RequestStmt>(test.statements[4]);
  EXPECT_EQ(request.target.text(), "aws.admin");
  EXPECT_EQ(request.duration->seconds, 6 * 3600);
  EXPECT_EQ(request.reason->value, "INC-1");
  EXPECT_EQ(request.ticket->value, "ACC-9");
  const auto& route = std::get<ast::Expectation>(test.statements[5]);
  EXPECT_EQ(route.kind.name, "route");
  EXPECT_EQ(ast::to_source(*route.route), "2 of group \"platform-leads\" then security");
  const auto& deny = std::get<ast::ActionStmt>(test.statements[7]);
  EXPECT_EQ(deny.verb.name, "deny");
  EXPECT_EQ(deny.reason->value, "no");
  EXPECT_EQ(std::get<ast::Expectation>(test.statements[11]).grants.size(), 2u);
  EXPECT_EQ(std::get<ast::Expectation>(test.statements[13]).names.size(), 2u);
  EXPECT_EQ(std::get<ast::Expectation>(test.statements[15]).kind.name, "auto_approved");
}

TEST(Parser, TopLevelGarbageIsOneErrorWithHelp) {
  const auto result = parse_text("aplication foo {}\nbucket b { approve: manager }\n");
  ASSERT_EQ(result.diagnostics.items().size(), 1u);
  EXPECT_EQ(result.diagnostics.items()[0].code, Code::syntax_error);
  EXPECT_TRUE(result.diagnostics.items()[0].help);
  EXPECT_EQ(result.file.all<ast::Bucket>().size(), 1u);
}

}  // namespace
}  // namespace portcullis::dsl

namespace portcullis::dsl {
namespace {

TEST(ParserSpans, QuotesAndHashesInsideConditionsDoNotEndASpan) {
  const auto result = testing::parse_text(
      "review r {\n  scope: bucket b\n  reviewer: manager\n  recommend revoke when '''it's''' != member.x  # c\n}\n"
      "bucket b { approve: auto when '''it's''' == requester.a || '#x' in requester.groups else manager }\n");
  ASSERT_TRUE(result.diagnostics.items().empty()) << render_text(result.diagnostics.items()[0]);
  const auto& rec = result.file.all<ast::Review>()[0]->recommendations[0];
  EXPECT_EQ(rec.span.text(), "recommend revoke when '''it's''' != member.x");
  const ast::Bucket& bucket = *result.file.all<ast::Bucket>()[0];
  EXPECT_EQ(bucket.span.text().back(), '}');
  EXPECT_EQ(bucket.settings.approve->branches[0].when->text, "'''it's''' == requester.a || '#x' in requester.groups");
}

TEST(QuoteString, EscapesControlCharactersSoTheyRoundTrip) {
  EXPECT_EQ(ast::quote_string(std::string("a\0b\x1f", 4)), "\"a\\u{0}b\\u{1f}\"");
  const auto result = testing::parse_text("app a " + ast::quote_string(std::string("x\0y", 3)) + " { bucket: b; role r { manual \"m\" } }");
  ASSERT_TRUE(result.diagnostics.items().empty());
  EXPECT_EQ(result.file.all<ast::App>()[0]->title->value, std::string("x\0y", 3));
}

}  // namespace
}  // namespace portcullis::dsl
