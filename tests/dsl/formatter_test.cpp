// The formatter: golden layouts for every construct, comments and blank
// lines, and two properties over real and generated policies: formatting
// is idempotent and keeps the meaning (the AST dump) of the file.

#include "dsl/formatter.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <set>
#include <sstream>

#include "dsl/ast_dump.hpp"
#include "dsl/text_diff.hpp"
#include "random_policy.hpp"
#include "test_support.hpp"

namespace portcullis::dsl {
namespace {

using testing::parse_text;

std::string errors_of(const ParseResult& parsed) {
  std::string out;
  for (const auto& d : parsed.diagnostics.items()) out += render_text(d) + "\n";
  return out;
}

// Formats `text`, which must parse without errors.
std::string fmt(const std::string& text) {
  const ParseResult parsed = parse_text(text);
  EXPECT_FALSE(parsed.diagnostics.has_errors()) << errors_of(parsed) << "in:\n" << text;
  return format(parsed.file);
}

// `input` formats to `expected`, and `expected` is already formatted.
void expect_format(const std::string& input, const std::string& expected) {
  EXPECT_EQ(fmt(input), expected) << "input:\n" << input;
  EXPECT_EQ(fmt(expected), expected) << "the expected text is not a fixed point";
}

// The two properties, with a readable failure.
void expect_stable(const std::string& text, const std::string& what) {
  const ParseResult original = parse_text(text, what);
  ASSERT_FALSE(original.diagnostics.has_errors()) << what << ":\n" << errors_of(original) << text;
  const std::string once = format(original.file);
  const ParseResult reparsed = parse_text(once, what + " (formatted)");
  ASSERT_FALSE(reparsed.diagnostics.has_errors()) << what << ": the formatted text does not parse:\n"
                                                  << errors_of(reparsed) << once;
  EXPECT_EQ(dump(reparsed.file), dump(original.file)) << what << ": formatting changed the meaning\n" << once;
  const std::string twice = format(reparsed.file);
  EXPECT_EQ(twice, once) << what << ": formatting is not idempotent:\n"
                         << unified_diff(once, twice, "a/once", "b/twice");
  EXPECT_EQ(reparsed.file.comments.size(), original.file.comments.size()) << what << ": comments lost\n" << once;
  for (const auto& comment : original.file.comments) {
    std::string text_only = comment.text;
    while (!text_only.empty() && (text_only.back() == ' ' || text_only.back() == '\t' || text_only.back() == '\r')) {
      text_only.pop_back();
    }
    EXPECT_NE(once.find(text_only), std::string::npos) << what << ": comment `" << text_only << "` lost";
  }
}

// ---- constructs ----------------------------------------------------------------

TEST(Formatter, EmptyFileStaysEmpty) {
  EXPECT_EQ(fmt(""), "");
  EXPECT_EQ(fmt("\n\n   \n"), "");
}

TEST(Formatter, ModuleAndImports) {
  expect_format("module   \"acme/x\"\nimport \"a.policy\"\n\n\n\nimport\t\"b.policy\"",
                "module \"acme/x\"\n"
                "\n"
                "import \"a.policy\"\n"
                "\n"
                "import \"b.policy\"\n");
}

TEST(Formatter, ProviderWithEveryValueKind) {
  expect_format(
      "provider okta \"main\" { url: \"https://acme.okta.com\"; token: env( \"OKTA_TOKEN\" ) key: file(\"/run/k\")\n"
      "retries : 3 enabled: true debug: false timeout: 30s mode: strict scopes: [\"a\", \"b\",] nested: [[1, 2], []] }",
      "provider okta \"main\" {\n"
      "  url: \"https://acme.okta.com\"\n"
      "  token: env(\"OKTA_TOKEN\")\n"
      "  key: file(\"/run/k\")\n"
      "  retries: 3\n"
      "  enabled: true\n"
      "  debug: false\n"
      "  timeout: 30s\n"
      "  mode: strict\n"
      "  scopes: [\"a\", \"b\"]\n"
      "  nested: [[1, 2], []]\n"
      "}\n");
}

TEST(Formatter, TrackerChatAndEmptyProvider) {
  expect_format(
      "tracker jira {\n"
      "    url: \"https://x\"\n"
      "}\n"
      "chat slack { channel: \"#access\" }\n"
      "provider sandbox \"demo\" {   }\n",
      "tracker jira {\n"
      "  url: \"https://x\"\n"
      "}\n"
      "\n"
      "chat slack {\n"
      "  channel: \"#access\"\n"
      "}\n"
      "\n"
      "provider sandbox \"demo\" {}\n");
}

TEST(Formatter, ApproverPools) {
  expect_format("approvers  it_triage=group \"it-ops\"\napprovers leads = people \"a@x.com\",\"b@x.com\"",
                "approvers it_triage = group \"it-ops\"\n"
                "\n"
                "approvers leads = people \"a@x.com\", \"b@x.com\"\n");
}

TEST(Formatter, BucketWithEverySetting) {
  expect_format(
      "bucket privileged { approve: app.owner   then security when requester.level >   3\n"
      "      &&  requester.title == \"VP  Eng\" else deny \"no\"\n"
      "duration: one_of( 1h,6h , permanent ) default 1h\n"
      "expiry: required; renew: at_most 2 times\n"
      "remind: after 24h escalate: after 72h to group \"it-ops\"\n"
      "require: justification,ticket\n"
      "description: \"Admin caf\\u{e9}\" }\n"
      "bucket b2 { duration: at_most 30d; renew: never }\n"
      "bucket b3 { duration: permanent default 90m; expiry: optional }\n",
      "bucket privileged {\n"
      "  approve: app.owner then security when requester.level > 3 && requester.title == \"VP  Eng\" else deny \"no\"\n"
      "  duration: one_of(1h, 6h, permanent) default 1h\n"
      "  expiry: required\n"
      "  renew: at_most 2 times\n"
      "  remind: after 24h\n"
      "  escalate: after 72h to group \"it-ops\"\n"
      "  require: justification, ticket\n"
      "  description: \"Admin caf\xC3\xA9\"\n"
      "}\n"
      "\n"
      "bucket b2 {\n"
      "  duration: at_most 30d\n"
      "  renew: never\n"
      "}\n"
      "\n"
      "bucket b3 {\n"
      "  duration: permanent default 90m\n"
      "  expiry: optional\n"
      "}\n");
}

TEST(Formatter, FieldsKeepTheAuthorsOrder) {
  expect_format("bucket x { renew: never\n description: \"d\"\n approve: manager }",
                "bucket x {\n"
                "  renew: never\n"
                "  description: \"d\"\n"
                "  approve: manager\n"
                "}\n");
}

TEST(Formatter, EveryApproverKindInRoutes) {
  expect_format(
      "bucket b { approve: auto then manager then app.owner then \"p@x.com\" then group \"g\" then people \"a@x\", "
      "\"b@x\" then pool1 then 2 of security then deny else deny \"why\" }",
      "bucket b {\n"
      "  approve: auto then manager then app.owner then \"p@x.com\" then group \"g\" then people \"a@x\", \"b@x\" then "
      "pool1 then 2 of security then deny else deny \"why\"\n"
      "}\n");
}

TEST(Formatter, RoutesAreSpelledAsToSourceSpellsThem) {
  const std::string text =
      "bucket b { approve: 2 of group \"g\" then pool1 when a > 1 else people \"x@y\", \"z@y\" then deny \"n\" }";
  const ParseResult parsed = parse_text(text);
  ASSERT_FALSE(parsed.diagnostics.has_errors());
  const auto buckets = parsed.file.all<ast::Bucket>();
  ASSERT_EQ(buckets.size(), 1u);
  EXPECT_EQ(format(parsed.file), "bucket b {\n  approve: " + ast::to_source(*buckets[0]->settings.approve) + "\n}\n");
}

TEST(Formatter, AppsAndTheCompactRoleRule) {
  expect_format(
      "app figma \"Figma\" {\n"
      "owner: \"dana@acme.com\"\n"
      "bucket: routine\n"
      "role viewer {\n"
      "  grants: okta.main group \"figma-viewers\"\n"
      "}\n"
      "role admin  { grants: okta.main group \"figma-admins\"; bucket: privileged }\n"
      "role three { grants: okta.main group \"x\"; bucket: b; expiry: optional }\n"
      "role billing { manual \"Finance sets this\"   bucket: privileged }\n"
      "role long { grants: okta.main group \"a-very-long-group-name-that-goes-on\", entra.corp group "
      "\"another-long-group-name\" }\n"
      "role empty { }\n"
      "}\n"
      "app plain { owner: group \"leads\"; approve: manager }\n",
      "app figma \"Figma\" {\n"
      "  owner: \"dana@acme.com\"\n"
      "  bucket: routine\n"
      "  role viewer { grants: okta.main group \"figma-viewers\" }\n"
      "  role admin { grants: okta.main group \"figma-admins\"; bucket: privileged }\n"
      "  role three {\n"
      "    grants: okta.main group \"x\"\n"
      "    bucket: b\n"
      "    expiry: optional\n"
      "  }\n"
      "  role billing { manual \"Finance sets this\"; bucket: privileged }\n"
      "  role long {\n"
      "    grants: okta.main group \"a-very-long-group-name-that-goes-on\", entra.corp group \"another-long-group-name\"\n"
      "  }\n"
      "  role empty {}\n"
      "}\n"
      "\n"
      "app plain {\n"
      "  owner: group \"leads\"\n"
      "  approve: manager\n"
      "}\n");
}

TEST(Formatter, CompactRoleFitsInExactlyOneHundredColumns) {
  // `  role r { grants: p.q group "` is 30 columns, `" }` 3 more.
  const std::string fits(100 - 33, 'g');
  const std::string too_long(101 - 33, 'g');
  const std::string compact = "app a {\n  role r { grants: p.q group \"" + fits + "\" }\n}\n";
  EXPECT_EQ(compact.find('\n', 8) - 8, 100u);
  expect_format("app a { role r {\n grants: p.q group \"" + fits + "\" } }", compact);
  expect_format("app a { role r { grants: p.q group \"" + too_long + "\" } }",
                "app a {\n  role r {\n    grants: p.q group \"" + too_long + "\"\n  }\n}\n");
}

TEST(Formatter, ApproverKindsAsOwners) {
  expect_format("app a { owner: people \"a@x\",\"b@x\" }\napp b { owner: security }",
                "app a {\n  owner: people \"a@x\", \"b@x\"\n}\n\napp b {\n  owner: security\n}\n");
}

TEST(Formatter, Conflicts) {
  expect_format(
      "conflict \"payments\" { roles: netsuite.payment_creator,netsuite.payment_approver; action: deny }\n"
      "conflict \"prod\" { action: escalate   to group \"sec\"\n roles: aws.admin, aws.auditor }",
      "conflict \"payments\" {\n"
      "  roles: netsuite.payment_creator, netsuite.payment_approver\n"
      "  action: deny\n"
      "}\n"
      "\n"
      "conflict \"prod\" {\n"
      "  action: escalate to group \"sec\"\n"
      "  roles: aws.admin, aws.auditor\n"
      "}\n");
}

// ast::Conflict has no place for `description:` (the grammar accepts it and
// the parser drops it); the formatter must not delete it.
TEST(Formatter, ConflictDescriptionIsNotLost) {
  expect_format("conflict \"c\" { roles: a.b, c.d description:   \"why \\\"not\\\"\" ; action: deny }",
                "conflict \"c\" {\n"
                "  roles: a.b, c.d\n"
                "  description: \"why \\\"not\\\"\"\n"
                "  action: deny\n"
                "}\n");
}

TEST(Formatter, Reviews) {
  expect_format(
      "review q { scope: bucket privileged, app figma,role aws_prod.admin\n"
      "every: 90d reviewer: app.owner due: 14d undecided: revoke\n"
      "recommend revoke when member.last_login_age >\n"
      "   duration(\"60d\")\n"
      "recommend keep when true\n"
      "description: \"Quarterly\" }",
      "review q {\n"
      "  scope: bucket privileged, app figma, role aws_prod.admin\n"
      "  every: 90d\n"
      "  reviewer: app.owner\n"
      "  due: 14d\n"
      "  undecided: revoke\n"
      "  recommend revoke when member.last_login_age > duration(\"60d\")\n"
      "  recommend keep when true\n"
      "  description: \"Quarterly\"\n"
      "}\n");
}

TEST(Formatter, TestsWithEveryStatementKind) {
  expect_format(
      "test \"everything\" {\n"
      "given requester \"ann@acme.com\" { employment: \"full_time\"; level: 3, }\n"
      "given person \"bob@acme.com\"\n"
      "given person \"carl@acme.com\" {}\n"
      "given grant netsuite.payment_creator to \"ann@acme.com\"\n"
      "given group \"platform-leads\" members \"a@x.com\",\"b@x.com\"\n"
      "request aws_prod.admin ticket \"T-1\" because \"INC-1\" by \"ann@acme.com\" for 6h\n"
      "request figma.viewer\n"
      "approve by \"bob@acme.com\"\n"
      "deny because \"no\" by \"bob@acme.com\"\n"
      "cancel\n"
      "revoke by \"sec@acme.com\"\n"
      "confirm by \"ops@acme.com\"\n"
      "renew for 2h\n"
      "wait 6h\n"
      "expect auto_approved\n"
      "expect denied; expect triage; expect pending; expect permanent; expect no_grants\n"
      "expect refused\n"
      "expect refused \"not allowed\"\n"
      "expect state active\n"
      "expect bucket privileged\n"
      "expect route 2 of group \"platform-leads\" then security when x  >  1 else deny\n"
      "expect grants okta.main group \"a\", entra.corp group \"b\"\n"
      "expect expires_after 6h\n"
      "expect requires justification,ticket\n"
      "}\n",
      "test \"everything\" {\n"
      "  given requester \"ann@acme.com\" { employment: \"full_time\", level: 3 }\n"
      "  given person \"bob@acme.com\"\n"
      "  given person \"carl@acme.com\"\n"
      "  given grant netsuite.payment_creator to \"ann@acme.com\"\n"
      "  given group \"platform-leads\" members \"a@x.com\", \"b@x.com\"\n"
      "  request aws_prod.admin for 6h by \"ann@acme.com\" because \"INC-1\" ticket \"T-1\"\n"
      "  request figma.viewer\n"
      "  approve by \"bob@acme.com\"\n"
      "  deny by \"bob@acme.com\" because \"no\"\n"
      "  cancel\n"
      "  revoke by \"sec@acme.com\"\n"
      "  confirm by \"ops@acme.com\"\n"
      "  renew for 2h\n"
      "  wait 6h\n"
      "  expect auto_approved\n"
      "  expect denied\n"
      "  expect triage\n"
      "  expect pending\n"
      "  expect permanent\n"
      "  expect no_grants\n"
      "  expect refused\n"
      "  expect refused \"not allowed\"\n"
      "  expect state active\n"
      "  expect bucket privileged\n"
      "  expect route 2 of group \"platform-leads\" then security when x > 1 else deny\n"
      "  expect grants okta.main group \"a\", entra.corp group \"b\"\n"
      "  expect expires_after 6h\n"
      "  expect requires justification, ticket\n"
      "}\n");
}

TEST(Formatter, GivenAttributesOnOneLineWhenTheyFit) {
  expect_format("test \"t\" { given requester \"ann@acme.com\" {\nemployment: \"full_time\"; level: 4\n} }",
                "test \"t\" {\n  given requester \"ann@acme.com\" { employment: \"full_time\", level: 4 }\n}\n");
  expect_format(
      "test \"t\" { given requester \"ann.lee@acme.com\" { employment: \"full_time\", department: \"engineering\", "
      "manager: \"bob.stone@acme.com\" } }",
      "test \"t\" {\n"
      "  given requester \"ann.lee@acme.com\" {\n"
      "    employment: \"full_time\"\n"
      "    department: \"engineering\"\n"
      "    manager: \"bob.stone@acme.com\"\n"
      "  }\n"
      "}\n");
}

TEST(Formatter, GivenAttributesWithCommentsGoOnePerLine) {
  expect_format("test \"t\" { given requester \"a@x\" { employment: \"full_time\"  # why\n level: 2 } }",
                "test \"t\" {\n"
                "  given requester \"a@x\" {\n"
                "    employment: \"full_time\"  # why\n"
                "    level: 2\n"
                "  }\n"
                "}\n");
}

TEST(Formatter, StringsAreRequotedCanonically) {
  expect_format("bucket b { description: \"caf\\u{e9}\ttab \\u{1F600} \\\\ \\\" \\n\" }",
                "bucket b {\n  description: \"caf\xC3\xA9\\ttab \xF0\x9F\x98\x80 \\\\ \\\" \\n\"\n}\n");
}

// ast::quote_string writes control characters raw, and a raw NUL makes a
// file unparsable; the formatter escapes them.
TEST(Formatter, ControlCharactersStayEscaped) {
  expect_format("bucket b { description: \"a\\u{0}b\\u{1f}c\\u{7f}\" }",
                "bucket b {\n  description: \"a\\u{0}b\\u{1f}c\\u{7f}\"\n}\n");
}

TEST(Formatter, DurationsKeepTheirSpelling) {
  expect_format("bucket b { remind: after 90m; escalate: after 1h30m to manager; duration: one_of(3600s, 2w) }",
                "bucket b {\n"
                "  remind: after 90m\n"
                "  escalate: after 1h30m to manager\n"
                "  duration: one_of(3600s, 2w)\n"
                "}\n");
}

TEST(Formatter, ConditionsCollapseWhitespaceOutsideStrings) {
  expect_format(
      "bucket b {\n"
      "  approve: auto when requester.name  ==  \"a   b\" &&\n"
      "      'c\t  d' in requester.tags   ||\n"
      "      size( requester.groups )>2\n"
      "    else manager\n"
      "}\n",
      "bucket b {\n"
      "  approve: auto when requester.name == \"a   b\" && 'c\t  d' in requester.tags || size( requester.groups )>2 "
      "else manager\n"
      "}\n");
}

TEST(Formatter, CrlfBecomesLf) {
  expect_format("# c\r\nbucket b {\r\n  approve: manager  # t\r\n}\r\n",
                "# c\nbucket b {\n  approve: manager  # t\n}\n");
}

TEST(Formatter, TreeBuiltWithoutSource) {
  ast::File file;
  ast::Bucket bucket;
  bucket.name.name = "b";
  ast::Step step;
  step.approver.kind = ast::Approver::Kind::manager;
  ast::Branch branch;
  branch.steps.push_back(step);
  bucket.settings.approve = ast::Route{{branch}, {}};
  ast::DurationLit remind;
  remind.seconds = 5400;
  bucket.settings.remind = remind;
  file.items.emplace_back(bucket);
  file.items.emplace_back(ast::Module{ast::StringLit{"m", {}}, {}});
  EXPECT_EQ(format(file), "bucket b {\n  approve: manager\n  remind: after 1h30m\n}\n\nmodule \"m\"\n");
}

// ---- comments -------------------------------------------------------------------

TEST(Formatter, CommentsLeadingTrailingEndOfBlockAndEndOfFile) {
  expect_format(
      "# file header\n"
      "\n"
      "# about the bucket\n"
      "bucket b {   # opens\n"
      "  # before approve\n"
      "  approve: manager   # trailing\n"
      "  remind: after 1h\n"
      "      # end of block\n"
      "}   # after bucket\n"
      "# end of file   \n",
      "# file header\n"
      "\n"
      "# about the bucket\n"
      "bucket b {  # opens\n"
      "  # before approve\n"
      "  approve: manager  # trailing\n"
      "  remind: after 1h\n"
      "  # end of block\n"
      "}  # after bucket\n"
      "\n"
      "# end of file\n");
}

TEST(Formatter, CommentsOnlyFile) {
  expect_format("# one\n\n\n\n# two\n# three", "# one\n\n# two\n# three\n");
}

TEST(Formatter, TrailingCommentsOfTopLevelItems) {
  expect_format("approvers a = group \"x\"   # first\napprovers b = group \"y\"\n# about c\napprovers c = group \"z\"",
                "approvers a = group \"x\"  # first\n"
                "\n"
                "approvers b = group \"y\"\n"
                "\n"
                "# about c\n"
                "approvers c = group \"z\"\n");
}

TEST(Formatter, CommentInsideAOneLineConstructMovesAboveIt) {
  expect_format(
      "bucket b {\n"
      "  approve: auto when requester.x == 1   # full-timers\n"
      "           else manager\n"
      "  require: a,   # first\n"
      "           b\n"
      "}\n",
      "bucket b {\n"
      "  # full-timers\n"
      "  approve: auto when requester.x == 1 else manager\n"
      "  # first\n"
      "  require: a, b\n"
      "}\n");
}

TEST(Formatter, CommentAfterAKeyMovesAboveItsField) {
  expect_format(
      "bucket b {\n  remind: after 1h\n  approve:   # why\n    manager\n  expiry: # e\n  required  # r\n}\n"
      "test \"t\" {\n  expect # x\n    pending\n  request a.b for # y\n    1h\n}\n",
      "bucket b {\n"
      "  remind: after 1h\n"
      "  # why\n"
      "  approve: manager\n"
      "  # e\n"
      "  expiry: required  # r\n"
      "}\n"
      "\n"
      "test \"t\" {\n"
      "  # x\n"
      "  expect pending\n"
      "  # y\n"
      "  request a.b for 1h\n"
      "}\n");
}

TEST(Formatter, CommentsInNestedBlocks) {
  expect_format(
      "app a \"A\" {  # the app\n"
      "  role r {\n"
      "    # why\n"
      "    grants: okta.main group \"g\"\n"
      "  }\n"
      "  role s { grants: okta.main group \"g\" }   # trailing is fine\n"
      "  role t { grants: okta.main group \"g\"  # inside\n"
      "  }\n"
      "  # last\n"
      "}\n",
      "app a \"A\" {  # the app\n"
      "  role r {\n"
      "    # why\n"
      "    grants: okta.main group \"g\"\n"
      "  }\n"
      "  role s { grants: okta.main group \"g\" }  # trailing is fine\n"
      "  role t {\n"
      "    grants: okta.main group \"g\"  # inside\n"
      "  }\n"
      "  # last\n"
      "}\n");
}

TEST(Formatter, CommentBetweenKeywordAndBraceMovesAbove) {
  expect_format("provider okta  # the main one\n \"main\" { url: \"u\" }",
                "# the main one\nprovider okta \"main\" {\n  url: \"u\"\n}\n");
}

TEST(Formatter, CommentsInTests) {
  expect_format(
      "test \"t\" {\n"
      "  # arrange\n"
      "  given person \"a@x\"   # someone\n"
      "\n"
      "  # act\n"
      "  request a.b  # go\n"
      "  expect pending\n"
      "  # done\n"
      "}\n",
      "test \"t\" {\n"
      "  # arrange\n"
      "  given person \"a@x\"  # someone\n"
      "\n"
      "  # act\n"
      "  request a.b  # go\n"
      "  expect pending\n"
      "  # done\n"
      "}\n");
}

// The parser ends some spans early or late when a CEL string holds quotes
// of the other kind (`'''it's'''`, then `'#x'`); comments still land in
// their places.
TEST(Formatter, CelQuotesDoNotMisplaceComments) {
  expect_format(
      "bucket b { approve: auto when '''it's''' == a || '#x' in b  # c\n"
      " remind: after 1h # d\n"
      "}  # e\n"
      "review r {\n  recommend revoke when '''it's''' != x  # f\n}\n",
      "bucket b {\n"
      "  approve: auto when '''it's''' == a || '#x' in b  # c\n"
      "  remind: after 1h  # d\n"
      "}  # e\n"
      "\n"
      "review r {\n"
      "  recommend revoke when '''it's''' != x  # f\n"
      "}\n");
}

// ---- blank lines ------------------------------------------------------------------

TEST(Formatter, BlankLinesInsideBlocksAreKeptOnceAndNeverAdded) {
  expect_format(
      "bucket b {\n"
      "\n"
      "\n"
      "  approve: manager\n"
      "\n"
      "  \t\n"
      "  remind: after 1h\n"
      "  expiry: required\n"
      "\n"
      "\n"
      "}\n",
      "bucket b {\n"
      "  approve: manager\n"
      "\n"
      "  remind: after 1h\n"
      "  expiry: required\n"
      "}\n");
}

TEST(Formatter, TopLevelItemsAreSeparatedByExactlyOneBlankLine) {
  expect_format("# header\n\n\nbucket a {}\nbucket b {} bucket c {}\n\n\n\n\nbucket d {}\n\n\n",
                "# header\n"
                "\n"
                "bucket a {}\n"
                "\n"
                "bucket b {}\n"
                "\n"
                "bucket c {}\n"
                "\n"
                "bucket d {}\n");
}

TEST(Formatter, CommentDirectlyAboveAnItemStaysAttached) {
  expect_format("bucket a {}\n# about b\nbucket b {}\n# section\n\n# about c\nbucket c {}\n",
                "bucket a {}\n"
                "\n"
                "# about b\n"
                "bucket b {}\n"
                "\n"
                "# section\n"
                "\n"
                "# about c\n"
                "bucket c {}\n");
}

TEST(Formatter, SemicolonSeparatedOneLineBlocksOpenUp) {
  expect_format("bucket b { approve: manager; remind: after 1h; }",
                "bucket b {\n  approve: manager\n  remind: after 1h\n}\n");
}

// ---- properties ------------------------------------------------------------------

// A copy of /work/shared/design/policy-sketch.policy, the language's first
// example.
constexpr const char* kSketch = R"(# A sketch of what a Portcullis policy must be able to say.
# The syntax here is a starting point, not a contract: improve it where a
# better form serves policy authors, and document the language you ship.
# Everything this sketch expresses must be expressible in the real language.

# Where things live. Secrets are never in policy files: only the names of the
# environment variables or files that hold them.
provider okta "main" {
  url: "https://acme.okta.com"
  token: env("OKTA_TOKEN")
}
provider entra "corp" {
  tenant: "acme.onmicrosoft.com"
  client_id: env("ENTRA_CLIENT_ID")
  client_secret: env("ENTRA_CLIENT_SECRET")
}
tracker jira {
  url: "https://acme.atlassian.net"
  project: "ACC"
  approved_status: "Approved"
  user: env("JIRA_USER")
  token: env("JIRA_TOKEN")
}
chat slack {
  channel: "#access-requests"
  token: env("SLACK_BOT_TOKEN")
  signing_secret: env("SLACK_SIGNING_SECRET")
}

approvers it_triage = group "it-ops"            # okta group used as a pool
approvers security  = group "security-oncall"

# Risk buckets: the same kind of request gets the same treatment every time.
bucket routine {
  approve: auto when requester.employment == "full_time"
           else manager
}
bucket sensitive {
  approve: app.owner
  remind: after 24h
  escalate: after 72h to it_triage
}
bucket privileged {
  approve: app.owner then security
  duration: one_of(1h, 6h, 24h) default 1h      # time-bound is mandatory here
  renew: at_most 2 times
}
bucket unknown {                                  # anything not in the catalog
  approve: it_triage
}

app figma "Figma" {
  owner: "dana@acme.com"
  bucket: routine
  role viewer { grants: okta.main group "figma-viewers" }
  role editor { grants: okta.main group "figma-editors" }
  role admin  { grants: okta.main group "figma-admins"; bucket: privileged }
}

app aws_prod "AWS production" {
  owner: group "platform-leads"
  bucket: privileged
  role read_only {
    grants: okta.main group "aws-prod-ro"
    bucket: sensitive
    duration: at_most 30d
  }
  role admin {
    grants: okta.main group "aws-prod-admin", entra.corp group "aws-prod-admin"
    approve: 2 of group "platform-leads" then security
    require: justification, ticket                # request must carry both
  }
}

app salesforce "Salesforce" {
  owner: "sam@acme.com"
  bucket: sensitive
  role viewer        { grants: okta.main group "sfdc-viewers" }
  role billing_admin { manual "Finance Ops sets this in Salesforce Setup"; bucket: privileged }
}

# Separation of duties.
conflict "payments" {
  roles: netsuite.payment_creator, netsuite.payment_approver
  action: deny
}

# Access reviews.
review privileged_quarterly {
  scope: bucket privileged, bucket sensitive
  every: 90d
  reviewer: app.owner
  recommend revoke when member.last_login_age > duration("60d")
}

# Policy tests: run by the lint step in CI.
test "full-time staff get figma viewer without waiting" {
  given requester "ann@acme.com" { employment: "full_time", manager: "bob@acme.com" }
  request figma.viewer
  expect auto_approved
  expect grants okta.main group "figma-viewers"
}

test "aws admin needs two platform leads, then security, and expires" {
  request aws_prod.admin for 6h by "ann@acme.com" because "INC-4411"
  expect route 2 of group "platform-leads" then security
  expect expires_after 6h
}
)";

TEST(FormatterProperties, PolicySketch) { expect_stable(kSketch, "policy-sketch.policy"); }

TEST(FormatterProperties, PolicySketchLayout) {
  const std::string out = fmt(kSketch);
  EXPECT_NE(out.find("approvers it_triage = group \"it-ops\"  # okta group used as a pool\n\n"
                     "approvers security = group \"security-oncall\"\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("bucket unknown {  # anything not in the catalog\n  approve: it_triage\n}\n"), std::string::npos)
      << out;
  EXPECT_NE(out.find("  role admin { grants: okta.main group \"figma-admins\"; bucket: privileged }\n"),
            std::string::npos)
      << out;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

TEST(FormatterProperties, EveryPolicyFileInTheRepository) {
  namespace fs = std::filesystem;
  std::size_t checked = 0;
  std::error_code ec;
  fs::recursive_directory_iterator it(PORTCULLIS_SOURCE_DIR, fs::directory_options::skip_permission_denied, ec);
  for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (it->is_directory(ec)) {
      if (name.starts_with("build") || name.starts_with(".")) it.disable_recursion_pending();
      continue;
    }
    if (it->path().extension() != ".policy") continue;
    const std::string text = read_file(it->path());
    // Deliberately broken files (parser tests, fuzz regressions) have
    // nothing to format.
    if (parse_text(text).diagnostics.has_errors()) continue;
    expect_stable(text, it->path().string());
    ++checked;
  }
  RecordProperty("files", static_cast<int>(checked));
}

TEST(FormatterProperties, RandomPolicies) {
  for (std::uint32_t seed = 1; seed <= 500; ++seed) {
    const std::string text = testing::random_policy(seed);
    SCOPED_TRACE("seed " + std::to_string(seed));
    expect_stable(text, "random policy " + std::to_string(seed));
    if (::testing::Test::HasFailure()) {
      ADD_FAILURE() << "generated policy:\n" << text;
      break;
    }
  }
}

// The generator reaches every kind of item, value, approver, statement and
// expectation, so the properties above cover the whole language.
TEST(FormatterProperties, RandomPoliciesCoverEveryConstruct) {
  std::set<std::string> seen;
  auto approver = [&](const ast::Approver& a) { seen.insert("approver " + std::to_string(static_cast<int>(a.kind))); };
  auto route = [&](const ast::Route& r) {
    for (const auto& b : r.branches) {
      if (b.when) seen.insert("when");
      for (const auto& s : b.steps) {
        if (s.quorum) seen.insert("quorum");
        approver(s.approver);
      }
    }
  };
  auto settings = [&](const ast::Settings& s) {
    if (s.bucket) seen.insert("bucket:");
    if (s.approve) route(*s.approve);
    if (s.duration) {
      seen.insert(s.duration->permanent ? "permanent" : s.duration->maximum ? "at_most" : "one_of");
      if (s.duration->allowed_permanent) seen.insert("one_of permanent");
      if (s.duration->default_duration) seen.insert("default");
    }
    if (s.expiry) seen.insert("expiry");
    if (s.renew) seen.insert(s.renew->max_times.value == 0 ? "renew 0" : "renew n");
    if (s.remind) seen.insert("remind");
    if (s.escalate) seen.insert("escalate");
    if (s.require) seen.insert("require");
    if (s.description) seen.insert("description");
  };
  std::function<void(const ast::Value&)> value = [&](const ast::Value& v) {
    seen.insert("value " + std::to_string(v.data.index()));
    if (const auto* list = std::get_if<ast::ListValue>(&v.data)) {
      for (const auto& item : list->items) value(item);
    }
  };
  bool comments = false;
  for (std::uint32_t seed = 1; seed <= 100; ++seed) {
    const ParseResult parsed = parse_text(testing::random_policy(seed));
    ASSERT_FALSE(parsed.diagnostics.has_errors()) << errors_of(parsed);
    comments = comments || !parsed.file.comments.empty();
    for (const auto& item : parsed.file.items) {
      seen.insert("item " + std::to_string(item.index()));
      if (const auto* p = std::get_if<ast::Provider>(&item)) {
        for (const auto& s : p->settings) value(s.value);
      } else if (const auto* i = std::get_if<ast::Integration>(&item)) {
        seen.insert(i->role == ast::Integration::Role::tracker ? "tracker" : "chat");
      } else if (const auto* pool = std::get_if<ast::Pool>(&item)) {
        approver(pool->source);
      } else if (const auto* b = std::get_if<ast::Bucket>(&item)) {
        settings(b->settings);
      } else if (const auto* a = std::get_if<ast::App>(&item)) {
        settings(a->settings);
        if (a->owner) approver(*a->owner);
        if (a->title) seen.insert("title");
        for (const auto& r : a->roles) {
          settings(r.settings);
          if (!r.grants.empty()) seen.insert("grants");
          if (r.manual) seen.insert("manual");
        }
      } else if (const auto* c = std::get_if<ast::Conflict>(&item)) {
        if (c->escalate_to) seen.insert("conflict escalate");
      } else if (const auto* r = std::get_if<ast::Review>(&item)) {
        for (const auto& s : r->scope) seen.insert("scope " + std::to_string(static_cast<int>(s.kind)));
        if (!r->recommendations.empty()) seen.insert("recommend");
        if (r->every && r->due && r->reviewer && r->undecided) seen.insert("review fields");
      } else if (const auto* t = std::get_if<ast::Test>(&item)) {
        for (const auto& statement : t->statements) {
          seen.insert("statement " + std::to_string(statement.index()));
          if (const auto* e = std::get_if<ast::Expectation>(&statement)) seen.insert("expect " + e->kind.name);
          if (const auto* g = std::get_if<ast::GivenPerson>(&statement)) {
            seen.insert(g->is_requester ? "given requester" : "given person");
          }
        }
      }
    }
  }
  EXPECT_TRUE(comments);
  std::vector<std::string> wanted = {"when", "quorum", "bucket:", "permanent", "at_most", "one_of", "one_of permanent",
                                     "default", "expiry", "renew 0", "renew n", "remind", "escalate", "require",
                                     "description", "tracker", "chat", "title", "grants", "manual",
                                     "conflict escalate", "recommend", "review fields", "given requester",
                                     "given person"};
  for (int i = 0; i < 8; ++i) wanted.push_back("approver " + std::to_string(i));
  for (int i = 0; i < 7; ++i) wanted.push_back("value " + std::to_string(i));
  for (int i = 0; i < 10; ++i) wanted.push_back("item " + std::to_string(i));
  for (int i = 0; i < 3; ++i) wanted.push_back("scope " + std::to_string(i));
  for (int i = 0; i < 7; ++i) wanted.push_back("statement " + std::to_string(i));
  for (const char* kind : {"route", "grants", "state", "bucket", "expires_after", "requires", "refused",
                           "auto_approved", "denied", "triage", "pending", "permanent", "no_grants"}) {
    wanted.push_back(std::string("expect ") + kind);
  }
  for (const auto& w : wanted) EXPECT_TRUE(seen.count(w)) << "the generator never produced: " << w;
}

TEST(FormatterProperties, RandomPoliciesParseAndVary) {
  // The generator itself: valid, deterministic, and not always the same.
  EXPECT_EQ(testing::random_policy(7), testing::random_policy(7));
  EXPECT_NE(testing::random_policy(7), testing::random_policy(8));
  bool saw_crlf = false;
  bool saw_compact = false;
  for (std::uint32_t seed = 1; seed <= 100; ++seed) {
    const std::string text = testing::random_policy(seed);
    saw_crlf = saw_crlf || text.find("\r\n") != std::string::npos;
    saw_compact = saw_compact || text.find("; ") != std::string::npos;
  }
  EXPECT_TRUE(saw_crlf);
  EXPECT_TRUE(saw_compact);
}

// ---- text diffs (dsl/text_diff) -------------------------------------------------

std::size_t lcs_length(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  std::vector<std::vector<std::size_t>> table(a.size() + 1, std::vector<std::size_t>(b.size() + 1, 0));
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      table[i][j] = a[i - 1] == b[j - 1] ? table[i - 1][j - 1] + 1 : std::max(table[i - 1][j], table[i][j - 1]);
    }
  }
  return table[a.size()][b.size()];
}

TEST(TextDiff, ShortestEditScriptOnRandomTexts) {
  std::mt19937 rng(42);
  for (int round = 0; round < 500; ++round) {
    std::vector<std::string> a;
    std::vector<std::string> b;
    std::string ta;
    std::string tb;
    for (std::uint32_t i = rng() % 12; i > 0; --i) {
      a.push_back(std::string(1, static_cast<char>('a' + rng() % 4)) + "\n");
      ta += a.back();
    }
    for (std::uint32_t i = rng() % 12; i > 0; --i) {
      b.push_back(std::string(1, static_cast<char>('a' + rng() % 4)) + "\n");
      tb += b.back();
    }
    const auto script = diff_lines(ta, tb);
    std::string before;
    std::string after;
    std::size_t same = 0;
    for (const auto& line : script) {
      if (line.kind != DiffLine::Kind::added) before += line.text;
      if (line.kind != DiffLine::Kind::removed) after += line.text;
      if (line.kind == DiffLine::Kind::same) ++same;
    }
    ASSERT_EQ(before, ta);
    ASSERT_EQ(after, tb);
    ASSERT_EQ(same, lcs_length(a, b)) << ta << "----\n" << tb;
  }
}

TEST(TextDiff, UnifiedDiffShape) {
  std::string before;
  for (int i = 1; i <= 20; ++i) before += "line " + std::to_string(i) + "\n";
  std::string after = before;
  after.replace(after.find("line 3\n"), 7, "line three\n");
  after.replace(after.find("line 18\n"), 8, "");
  EXPECT_EQ(unified_diff(before, after, "a/x.policy", "b/x.policy"),
            "--- a/x.policy\n"
            "+++ b/x.policy\n"
            "@@ -1,6 +1,6 @@\n"
            " line 1\n"
            " line 2\n"
            "-line 3\n"
            "+line three\n"
            " line 4\n"
            " line 5\n"
            " line 6\n"
            "@@ -15,6 +15,5 @@\n"
            " line 15\n"
            " line 16\n"
            " line 17\n"
            "-line 18\n"
            " line 19\n"
            " line 20\n");
  EXPECT_EQ(unified_diff(before, before, "a", "b"), "");
}

TEST(TextDiff, NearbyChangesShareAHunkAndMissingNewlineIsMarked) {
  EXPECT_EQ(unified_diff("a\nb\nc\nd\n", "a\nB\nc\nD", "a/f", "b/f"),
            "--- a/f\n"
            "+++ b/f\n"
            "@@ -1,4 +1,4 @@\n"
            " a\n"
            "-b\n"
            "+B\n"
            " c\n"
            "-d\n"
            "+D\n"
            "\\ No newline at end of file\n");
  EXPECT_EQ(unified_diff("", "x\n", "a/f", "b/f"), "--- a/f\n+++ b/f\n@@ -0,0 +1 @@\n+x\n");
}

}  // namespace
}  // namespace portcullis::dsl
