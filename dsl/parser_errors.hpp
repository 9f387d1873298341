#pragma once
// The error of each committed grammar rule: what the parser expected when a
// `must<>` failed. One message per rule, so every syntax error reads the
// same way wherever it happens.

#include <string_view>

#include "dsl/diagnostics.hpp"
#include "dsl/grammar.hpp"

namespace portcullis::dsl {

struct ErrorInfo {
  Code code = Code::syntax_error;
  std::string_view message = "unexpected input";
  std::string_view help = {};
  bool expects_duration = false;
};

template <typename Rule>
inline constexpr ErrorInfo error_info{};

#define PORTCULLIS_ERROR(rule, ...) \
  template <>                       \
  inline constexpr ErrorInfo error_info<grammar::rule> { __VA_ARGS__ }

PORTCULLIS_ERROR(escape_body, Code::invalid_escape, "invalid escape sequence in string",
                 "the escapes are \\\" \\\\ \\n \\r \\t and \\u{hex}");
PORTCULLIS_ERROR(string_close, Code::unterminated_string, "unterminated string",
                 "close the string with `\"` on the same line");
PORTCULLIS_ERROR(name, Code::expected_token, "expected a name");
PORTCULLIS_ERROR(name_tok, Code::expected_token, "expected a name");
PORTCULLIS_ERROR(string_tok, Code::expected_token, "expected a string in double quotes");
PORTCULLIS_ERROR(lparen, Code::expected_token, "expected `(`");
PORTCULLIS_ERROR(rparen, Code::expected_token, "expected `)`");
PORTCULLIS_ERROR(lbrace, Code::expected_token, "expected `{`");
PORTCULLIS_ERROR(equals, Code::expected_token, "expected `=`");
PORTCULLIS_ERROR(list_close, Code::expected_token, "expected `,` or `]` in list");
PORTCULLIS_ERROR(value_expected, Code::expected_token, "expected a value",
                 "a value is a string, a number, a duration, true/false, env(\"NAME\"), file(\"path\"), a list "
                 "or a name");
PORTCULLIS_ERROR(setting_block, Code::expected_token, "expected `{`");
PORTCULLIS_ERROR(setting_block_close, Code::expected_token, "expected a setting (`key: value`) or `}`");
PORTCULLIS_ERROR(approver_expected, Code::expected_token, "expected an approver",
                 "an approver is auto, manager, app.owner, a person \"email\", group \"name\", "
                 "people \"a\", \"b\", or an approver pool");
PORTCULLIS_ERROR(step_expected, Code::expected_token, "expected an approval step after `then`",
                 "a step is an approver, or `N of` an approver group, pool or people list");
PORTCULLIS_ERROR(condition_expected, Code::invalid_condition, "expected a condition");
PORTCULLIS_ERROR(branch_expected, Code::expected_token, "expected a route after `else`");
PORTCULLIS_ERROR(route_expected, Code::expected_token, "expected a route",
                 "for example `manager`, `app.owner then security` or `auto when <condition> else manager`");
PORTCULLIS_ERROR(one_of_close, Code::expected_token, "expected `,` or `)` in `one_of(...)`", {}, true);
PORTCULLIS_ERROR(duration_tok, Code::expected_token, "expected a duration such as `90d` or `1h30m`", {}, true);
PORTCULLIS_ERROR(duration_spec_body, Code::expected_token, "expected `one_of(...)`, `at_most D` or `permanent`",
                 "for example `duration: one_of(1h, 6h, 24h) default 1h`");
PORTCULLIS_ERROR(expiry_value, Code::expected_token, "expected `required` or `optional`");
PORTCULLIS_ERROR(integer_tok, Code::expected_token, "expected a whole number");
PORTCULLIS_ERROR(kw_times, Code::expected_token, "expected `times`");
PORTCULLIS_ERROR(renew_value, Code::expected_token, "expected `at_most N times` or `never`");
PORTCULLIS_ERROR(kw_after, Code::expected_token, "expected `after`");
PORTCULLIS_ERROR(kw_to, Code::expected_token, "expected `to`");
PORTCULLIS_ERROR(kw_when, Code::expected_token, "expected `when`");
PORTCULLIS_ERROR(kw_group, Code::expected_token, "expected `group`");
PORTCULLIS_ERROR(kw_members, Code::expected_token, "expected `members`");
PORTCULLIS_ERROR(name_list, Code::expected_token, "expected a name");
PORTCULLIS_ERROR(bucket_close, Code::expected_token, "expected a bucket field or `}`",
                 "the fields of a bucket are approve, duration, expiry, renew, remind, escalate, require and "
                 "description");
PORTCULLIS_ERROR(provider_kind, Code::expected_token, "expected a provider kind",
                 "the kinds are okta, entra, google, scim and sandbox");
PORTCULLIS_ERROR(pool_source, Code::expected_token, "expected `group \"name\"` or `people \"email\", ...`");
PORTCULLIS_ERROR(grant_expected, Code::expected_token, "expected a grant",
                 "a grant names a provider and a group: `okta.main group \"figma-viewers\"`");
PORTCULLIS_ERROR(role_close, Code::expected_token, "expected a role field or `}`",
                 "the fields of a role are grants, manual, bucket, approve, duration, expiry, renew, remind, "
                 "escalate, require and description");
PORTCULLIS_ERROR(owner_value, Code::expected_token, "expected an owner",
                 "an owner is a person \"email\", group \"name\", people \"a\", \"b\", or an approver pool");
PORTCULLIS_ERROR(app_close, Code::expected_token, "expected an app field, a `role` or `}`",
                 "the fields of an app are owner, bucket, approve, duration, expiry, renew, remind, escalate, "
                 "require and description");
PORTCULLIS_ERROR(qualified_expected, Code::expected_token, "expected `app.role`");
PORTCULLIS_ERROR(conflict_action, Code::expected_token, "expected `deny` or `escalate to APPROVER`");
PORTCULLIS_ERROR(conflict_close, Code::expected_token, "expected a conflict field (roles, action) or `}`");
PORTCULLIS_ERROR(scope_entry_expected, Code::expected_token, "expected `bucket NAME`, `app NAME` or `role APP.ROLE`");
PORTCULLIS_ERROR(review_close, Code::expected_token, "expected a review field or `}`",
                 "the fields of a review are scope, every, due, reviewer, undecided, description and "
                 "`recommend keep|revoke when <condition>`");
PORTCULLIS_ERROR(attribute_block_close, Code::expected_token, "expected an attribute (`key: value`) or `}`");
PORTCULLIS_ERROR(given_what, Code::expected_token, "expected `requester`, `person`, `grant` or `group` after `given`");
PORTCULLIS_ERROR(expectation_expected, Code::expected_token, "expected an expectation",
                 "expectations: auto_approved, denied, triage, pending, refused, permanent, no_grants, state S, "
                 "route R, grants G, expires_after D, bucket B, requires F");
PORTCULLIS_ERROR(test_close, Code::expected_token, "expected a test statement or `}`",
                 "statements: given, request, approve, deny, cancel, revoke, confirm, renew, wait, expect");
PORTCULLIS_ERROR(item_expected, Code::syntax_error, "expected a top-level item",
                 "items are import, module, provider, tracker, chat, approvers, bucket, app, conflict, review "
                 "and test");

#undef PORTCULLIS_ERROR

}  // namespace portcullis::dsl
