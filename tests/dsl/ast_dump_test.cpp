// The AST dump: every value, no spans, no comments; equal exactly when two
// files mean the same.

#include "dsl/ast_dump.hpp"

#include <gtest/gtest.h>

#include "test_support.hpp"

namespace portcullis::dsl {
namespace {

using testing::parse_text;

std::string dump_of(const std::string& text) {
  const ParseResult parsed = parse_text(text);
  EXPECT_FALSE(parsed.diagnostics.has_errors()) << text;
  return dump(parsed.file);
}

TEST(AstDump, WritesEveryValue) {
  EXPECT_EQ(dump_of("module \"m\"\n"
                    "import \"x.policy\"\n"
                    "provider okta \"main\" { token: env(\"T\") key: file(\"k\") n: 3 on: true d: 90m mode: strict "
                    "list: [\"a\", [1]] }\n"
                    "chat slack { channel: \"#c\" }\n"
                    "approvers sec = people \"a@x\", \"b@x\"\n"
                    "bucket b { approve: 2 of group \"g\" then app.owner when a  ==  \"x  y\" else deny \"no\"\n"
                    "  duration: one_of(1h, permanent) default 1h renew: never remind: after 1d\n"
                    "  escalate: after 2h to manager require: t, j expiry: required description: \"d\" }\n"
                    "app a \"A\" { owner: sec bucket: b role r { grants: okta.main group \"g\" manual \"m\" } }\n"
                    "conflict \"c\" { roles: a.r, a.s action: escalate to auto }\n"
                    "review v { scope: bucket b, app a, role a.r every: 90d reviewer: sec due: 7d undecided: keep\n"
                    "  recommend revoke when x > 1 description: \"q\" }\n"
                    "test \"t\" { given requester \"a@x\" { k: \"v\" } given grant a.r to \"a@x\"\n"
                    "  given group \"g\" members \"a@x\" request a.r for 1h by \"a@x\" because \"why\" ticket \"T-1\"\n"
                    "  deny by \"b@x\" because \"no\" wait 2h expect refused \"x\" expect requires t\n"
                    "  expect grants okta.main group \"g\" expect route auto expect state active expect expires_after 1h }\n"),
            "(file\n"
            "  (module \"m\")\n"
            "  (import \"x.policy\")\n"
            "  (provider okta \"main\"\n"
            "    (setting token (secret env \"T\"))\n"
            "    (setting key (secret file \"k\"))\n"
            "    (setting n (integer 3))\n"
            "    (setting on (bool #t))\n"
            "    (setting d (duration 5400))\n"
            "    (setting mode (name strict))\n"
            "    (setting list (list (string \"a\") (list (integer 1)))))\n"
            "  (chat slack\n"
            "    (setting channel (string \"#c\")))\n"
            "  (pool sec (approver people \"\" \"a@x\" \"b@x\"))\n"
            "  (bucket b\n"
            "    (approve (route (branch (step 2 (approver group \"g\")) (step - (approver app_owner \"\")) "
            "(when \"a == \\\"x  y\\\"\")) (branch (step - (approver deny \"no\")))))\n"
            "    (duration (one_of (seconds 3600) permanent) (default (seconds 3600)))\n"
            "    (expiry required)\n"
            "    (renew 0)\n"
            "    (remind (seconds 86400))\n"
            "    (escalate (seconds 7200) (approver manager \"\"))\n"
            "    (require t j)\n"
            "    (description \"d\"))\n"
            "  (app a (title \"A\")\n"
            "    (owner (approver pool \"sec\"))\n"
            "    (bucket b)\n"
            "    (role r\n"
            "      (grants (grant okta.main \"g\"))\n"
            "      (manual \"m\")))\n"
            "  (conflict \"c\"\n"
            "    (roles a.r a.s)\n"
            "    (action escalate)\n"
            "    (escalate_to (approver automatic \"\")))\n"
            "  (review v\n"
            "    (scope (bucket b) (app a) (role a.r))\n"
            "    (every (seconds 7776000))\n"
            "    (reviewer (approver pool \"sec\"))\n"
            "    (due (seconds 604800))\n"
            "    (undecided keep)\n"
            "    (recommend revoke \"x > 1\")\n"
            "    (description \"q\"))\n"
            "  (test \"t\"\n"
            "    (given_requester \"a@x\" (setting k (string \"v\")))\n"
            "    (given_grant a.r \"a@x\")\n"
            "    (given_group \"g\" \"a@x\")\n"
            "    (request a.r (for (seconds 3600)) (by \"a@x\") (because \"why\") (ticket \"T-1\"))\n"
            "    (action deny (by \"b@x\") (because \"no\"))\n"
            "    (wait (seconds 7200))\n"
            "    (expect refused (text \"x\"))\n"
            "    (expect requires (names t))\n"
            "    (expect grants (grants (grant okta.main \"g\")))\n"
            "    (expect route (route (branch (step - (approver automatic \"\")))))\n"
            "    (expect state (name active))\n"
            "    (expect expires_after (duration (seconds 3600)))))\n");
}

TEST(AstDump, IgnoresLayoutCommentsAndConditionSpacing) {
  EXPECT_EQ(dump_of("bucket b {\n  # c\n  approve: auto when a  &&\n     b  # t\n    else manager\n}\n"),
            dump_of("bucket b { approve: auto when a && b else manager }"));
}

TEST(AstDump, DurationsCompareBySeconds) {
  EXPECT_EQ(dump_of("bucket b { remind: after 90m }"), dump_of("bucket b { remind: after 1h30m }"));
}

TEST(AstDump, SeesEveryDifferenceThatMatters) {
  const std::string base = dump_of("bucket b { approve: auto when a == \"x y\" else manager }");
  EXPECT_NE(base, dump_of("bucket b { approve: auto when a == \"x  y\" else manager }"));  // inside a string
  EXPECT_NE(base, dump_of("bucket b { approve: auto when a == \"x y\" else app.owner }"));
  EXPECT_NE(base, dump_of("bucket c { approve: auto when a == \"x y\" else manager }"));
  EXPECT_NE(dump_of("bucket b { remind: after 1h }"), dump_of("bucket b { remind: after 2h }"));
  EXPECT_NE(dump_of("bucket b { renew: never }"), dump_of("bucket b { renew: at_most 1 times }"));
  EXPECT_NE(dump_of("app a { role r { grants: p.q group \"g\" } }"), dump_of("app a { role r { grants: p.q group \"h\" } }"));
  EXPECT_NE(dump_of("test \"t\" { given person \"a@x\" }"), dump_of("test \"t\" { given requester \"a@x\" }"));
}

TEST(AstDump, ControlCharactersAreEscaped) {
  EXPECT_NE(dump_of("bucket b { description: \"a\\u{0}b\\nc\" }").find("\"a\\x00b\\x0ac\""), std::string::npos);
}

}  // namespace
}  // namespace portcullis::dsl
