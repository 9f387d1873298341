#pragma once
// The PEGTL grammar of the policy language: rules only. What the rules build
// lives in parser.cpp; the error message of each committed rule lives in
// parser_errors.hpp.
//
// Layout is free: newlines are whitespace and every construct ends where its
// grammar says, so `role x { grants: a group "b"; bucket: c }` and the same
// over several lines parse alike. `;` may separate fields.

#include <tao/pegtl.hpp>

#include "dsl/condition_scanner.hpp"

namespace portcullis::dsl::grammar {

namespace pegtl = tao::pegtl;
using namespace pegtl;  // NOLINT: a grammar reads far better unqualified

// ---- lexical ---------------------------------------------------------------

struct comment : seq<one<'#'>, until<at<eolf>>> {};
struct ws : star<sor<space, comment>> {};

template <typename Rule>
struct tok : seq<Rule, ws> {};

struct ident_first : ranges<'a', 'z', 'A', 'Z', '_'> {};
struct ident_other : ranges<'a', 'z', 'A', 'Z', '0', '9', '_'> {};
struct identifier : seq<ident_first, star<ident_other>> {};

template <typename Word>
struct kw : tok<seq<Word, not_at<ident_other>>> {};

#define PORTCULLIS_KW(name) struct kw_##name : kw<TAO_PEGTL_STRING(#name)> {}
PORTCULLIS_KW(import);
PORTCULLIS_KW(module);
PORTCULLIS_KW(provider);
PORTCULLIS_KW(tracker);
PORTCULLIS_KW(chat);
PORTCULLIS_KW(approvers);
PORTCULLIS_KW(bucket);
PORTCULLIS_KW(app);
PORTCULLIS_KW(role);
PORTCULLIS_KW(conflict);
PORTCULLIS_KW(review);
PORTCULLIS_KW(test);
PORTCULLIS_KW(group);
PORTCULLIS_KW(people);
PORTCULLIS_KW(auto);
PORTCULLIS_KW(manager);
PORTCULLIS_KW(owner);
PORTCULLIS_KW(deny);
PORTCULLIS_KW(then);
PORTCULLIS_KW(when);
PORTCULLIS_KW(else);
PORTCULLIS_KW(of);
PORTCULLIS_KW(one_of);
PORTCULLIS_KW(at_most);
PORTCULLIS_KW(default);
PORTCULLIS_KW(permanent);
PORTCULLIS_KW(times);
PORTCULLIS_KW(never);
PORTCULLIS_KW(after);
PORTCULLIS_KW(to);
PORTCULLIS_KW(env);
PORTCULLIS_KW(file);
PORTCULLIS_KW(true);
PORTCULLIS_KW(false);
PORTCULLIS_KW(manual);
PORTCULLIS_KW(recommend);
PORTCULLIS_KW(given);
PORTCULLIS_KW(requester);
PORTCULLIS_KW(person);
PORTCULLIS_KW(grant);
PORTCULLIS_KW(members);
PORTCULLIS_KW(request);
PORTCULLIS_KW(for);
PORTCULLIS_KW(by);
PORTCULLIS_KW(because);
PORTCULLIS_KW(ticket);
PORTCULLIS_KW(wait);
PORTCULLIS_KW(expect);
PORTCULLIS_KW(escalate);
#undef PORTCULLIS_KW

// Words that cannot name an approver pool where a route expects a step.
struct reserved
    : seq<sor<TAO_PEGTL_STRING("auto"), TAO_PEGTL_STRING("manager"), TAO_PEGTL_STRING("app"),
              TAO_PEGTL_STRING("group"), TAO_PEGTL_STRING("people"), TAO_PEGTL_STRING("deny"),
              TAO_PEGTL_STRING("then"), TAO_PEGTL_STRING("when"), TAO_PEGTL_STRING("else"),
              TAO_PEGTL_STRING("of")>,
          not_at<ident_other>> {};

struct lbrace : tok<one<'{'>> {};
struct rbrace : tok<one<'}'>> {};
struct lparen : tok<one<'('>> {};
struct rparen : tok<one<')'>> {};
struct lbracket : tok<one<'['>> {};
struct rbracket : tok<one<']'>> {};
struct colon : tok<one<':'>> {};
struct comma : tok<one<','>> {};
struct dot : one<'.'> {};
struct equals : tok<one<'='>> {};
struct semi : tok<one<';'>> {};

// A name used as a value (app, role, bucket, pool, field key...).
struct name : identifier {};
struct name_tok : seq<name, ws> {};

// Strings: "..." with \" \\ \n \r \t \u{hex} escapes, on one line.
struct escape_char : one<'"', '\\', 'n', 'r', 't'> {};
struct escape_unicode : seq<one<'u'>, one<'{'>, rep_min_max<1, 6, xdigit>, one<'}'>> {};
struct escape_body : sor<escape_char, escape_unicode> {};
struct escape : seq<one<'\\'>, must<escape_body>> {};
struct string_char : sor<escape, not_one<'"', '\\', '\n', '\r'>> {};
struct string_close : one<'"'> {};
struct string_lit : seq<one<'"'>, star<string_char>, must<string_close>> {};
struct string_tok : seq<string_lit, ws> {};

// Numbers and durations: `42`, `90d`, `1h30m`.
struct duration_unit : one<'s', 'm', 'h', 'd', 'w'> {};
struct duration_lit : seq<plus<digit>, duration_unit, star<plus<digit>, duration_unit>, not_at<ident_other>> {};
struct duration_tok : seq<duration_lit, ws> {};
struct integer : seq<plus<digit>, not_at<ident_other>> {};
struct integer_tok : seq<integer, ws> {};
// A digit run glued to letters that do not make a duration: `30x`, `5 days`
// is fine (two tokens), `5days` is not.
struct bad_number : seq<plus<digit>, plus<ident_other>> {};

struct bool_true : kw_true {};
struct bool_false : kw_false {};

struct qualified : seq<name, dot, must<name>> {};
struct qualified_tok : seq<qualified, ws> {};

// ---- values ----------------------------------------------------------------

struct env_ref : seq<kw_env, must<lparen>, must<string_tok>, must<rparen>> {};
struct file_ref : seq<kw_file, must<lparen>, must<string_tok>, must<rparen>> {};
struct value;
struct list_close : rbracket {};
struct list_value : seq<lbracket, opt<list<value, comma>, opt<comma>>, must<list_close>> {};
struct value : sor<env_ref, file_ref, string_tok, duration_tok, integer_tok, bool_true, bool_false, list_value,
                   name_tok> {};
struct value_expected : seq<value> {};
struct setting : seq<name_tok, colon, must<value_expected>, opt<semi>> {};
struct setting_block_close : rbrace {};
struct setting_block : seq<lbrace, star<setting>, must<setting_block_close>> {};

// ---- approvers and routes --------------------------------------------------

struct string_list : list<string_tok, comma> {};
struct person_ref : string_tok {};
struct group_ref : seq<kw_group, must<string_tok>> {};
struct people_ref : seq<kw_people, must<string_list>> {};
struct app_owner_ref : seq<TAO_PEGTL_STRING("app"), dot, TAO_PEGTL_STRING("owner"), not_at<ident_other>, ws> {};
struct manager_ref : kw_manager {};
struct auto_ref : kw_auto {};
struct deny_ref : seq<kw_deny, opt<string_tok>> {};
struct pool_ref : seq<not_at<reserved>, name_tok> {};
// Who approves one step.
struct approver : sor<auto_ref, manager_ref, app_owner_ref, deny_ref, group_ref, people_ref, person_ref, pool_ref> {};
struct approver_expected : seq<approver> {};
struct quorum_step : seq<integer_tok, kw_of, must<approver_expected>> {};
struct step : sor<quorum_step, approver> {};
struct step_expected : seq<step> {};
struct condition : condition_scanner {};
struct condition_tok : seq<condition, ws> {};
struct condition_expected : condition_tok {};
struct branch : seq<step, star<kw_then, must<step_expected>>, opt<kw_when, must<condition_expected>>> {};
struct branch_expected : seq<branch> {};
struct route : seq<branch, star<kw_else, must<branch_expected>>> {};
struct route_expected : seq<route> {};

// ---- fields shared by buckets, apps and roles ------------------------------

template <typename Word>
struct field_key : seq<Word, not_at<ident_other>, ws, colon> {};

struct duration_entry : sor<duration_tok, kw_permanent> {};
struct one_of_close : rparen {};
struct one_of_spec
    : seq<kw_one_of, must<lparen>, list<duration_entry, comma>, opt<comma>, must<one_of_close>> {};
struct at_most_spec : seq<kw_at_most, must<duration_tok>> {};
struct permanent_spec : kw_permanent {};
struct default_clause : seq<kw_default, must<duration_tok>> {};
struct duration_spec_body : sor<one_of_spec, at_most_spec, permanent_spec> {};
struct duration_spec : seq<must<duration_spec_body>, opt<default_clause>> {};

struct approve_field : seq<field_key<TAO_PEGTL_STRING("approve")>, must<route_expected>> {};
struct duration_field : seq<field_key<TAO_PEGTL_STRING("duration")>, duration_spec> {};
struct expiry_value : sor<TAO_PEGTL_STRING("required"), TAO_PEGTL_STRING("optional")> {};
struct expiry_field : seq<field_key<TAO_PEGTL_STRING("expiry")>, must<expiry_value>, ws> {};
struct renew_count : seq<kw_at_most, must<integer_tok>, must<kw_times>> {};
struct renew_never : kw_never {};
struct renew_value : sor<renew_count, renew_never> {};
struct renew_field : seq<field_key<TAO_PEGTL_STRING("renew")>, must<renew_value>> {};
struct remind_field : seq<field_key<TAO_PEGTL_STRING("remind")>, must<kw_after>, must<duration_tok>> {};
struct escalate_field
    : seq<field_key<TAO_PEGTL_STRING("escalate")>, must<kw_after>, must<duration_tok>, must<kw_to>,
          must<approver_expected>> {};
struct name_list : list<name_tok, comma> {};
struct require_field : seq<field_key<TAO_PEGTL_STRING("require")>, must<name_list>> {};
struct bucket_field : seq<field_key<TAO_PEGTL_STRING("bucket")>, must<name_tok>> {};
struct description_field : seq<field_key<TAO_PEGTL_STRING("description")>, must<string_tok>> {};

struct settings_field : sor<approve_field, duration_field, expiry_field, renew_field, remind_field,
                            escalate_field, require_field, description_field> {};

// A `key:` this block does not know: reported, skipped to the end of its
// line, and parsing goes on.
struct unknown_field : seq<name_tok, colon, skip_field_value, ws> {};

// ---- top-level items -------------------------------------------------------

struct import_item : seq<kw_import, must<string_tok>> {};
struct module_item : seq<kw_module, must<string_tok>> {};

struct provider_kind : name_tok {};
struct provider_item : seq<kw_provider, must<provider_kind>, must<string_tok>, must<setting_block>> {};
struct tracker_item : seq<kw_tracker, must<name_tok>, must<setting_block>> {};
struct chat_item : seq<kw_chat, must<name_tok>, must<setting_block>> {};

struct pool_source : sor<group_ref, people_ref> {};
struct pool_item : seq<kw_approvers, must<name_tok>, must<equals>, must<pool_source>> {};

struct bucket_close : rbrace {};
struct bucket_item
    : seq<kw_bucket, must<name_tok>, must<lbrace>, star<sor<settings_field, unknown_field>, opt<semi>>,
          must<bucket_close>> {};

struct grant : seq<qualified_tok, must<kw_group>, must<string_tok>> {};
struct grant_expected : seq<grant> {};
struct grants_field : seq<field_key<TAO_PEGTL_STRING("grants")>, must<grant_expected>, star<comma, must<grant_expected>>> {};
struct manual_field : seq<kw_manual, must<string_tok>> {};
struct role_close : rbrace {};
struct role_block
    : seq<kw_role, must<name_tok>, must<lbrace>,
          star<sor<grants_field, manual_field, bucket_field, settings_field, unknown_field>, opt<semi>>,
          must<role_close>> {};

struct owner_value : sor<group_ref, people_ref, person_ref, pool_ref> {};
struct owner_field : seq<field_key<TAO_PEGTL_STRING("owner")>, must<owner_value>> {};
struct app_title : string_tok {};
struct app_close : rbrace {};
struct app_item
    : seq<kw_app, must<name_tok>, opt<app_title>, must<lbrace>,
          star<sor<role_block, owner_field, bucket_field, settings_field, unknown_field>, opt<semi>>,
          must<app_close>> {};

struct qualified_expected : qualified_tok {};
struct conflict_roles_field
    : seq<field_key<TAO_PEGTL_STRING("roles")>, must<qualified_expected>, star<comma, must<qualified_expected>>> {};
struct conflict_deny : kw_deny {};
struct conflict_escalate : seq<kw_escalate, must<kw_to>, must<approver_expected>> {};
struct conflict_action : sor<conflict_deny, conflict_escalate> {};
struct conflict_action_field : seq<field_key<TAO_PEGTL_STRING("action")>, must<conflict_action>> {};
struct conflict_close : rbrace {};
struct conflict_item
    : seq<kw_conflict, must<string_tok>, must<lbrace>,
          star<sor<conflict_roles_field, conflict_action_field, description_field, unknown_field>, opt<semi>>,
          must<conflict_close>> {};

struct scope_bucket : seq<kw_bucket, must<name_tok>> {};
struct scope_app : seq<kw_app, must<name_tok>> {};
struct scope_role : seq<kw_role, must<qualified_expected>> {};
struct scope_entry : sor<scope_bucket, scope_app, scope_role> {};
struct scope_entry_expected : seq<scope_entry> {};
struct scope_field
    : seq<field_key<TAO_PEGTL_STRING("scope")>, must<scope_entry_expected>, star<comma, must<scope_entry_expected>>> {};
struct every_field : seq<field_key<TAO_PEGTL_STRING("every")>, must<duration_tok>> {};
struct due_field : seq<field_key<TAO_PEGTL_STRING("due")>, must<duration_tok>> {};
struct reviewer_field : seq<field_key<TAO_PEGTL_STRING("reviewer")>, must<approver_expected>> {};
struct undecided_field : seq<field_key<TAO_PEGTL_STRING("undecided")>, must<name_tok>> {};
struct recommendation : seq<kw_recommend, must<name_tok>, must<kw_when>, must<condition_expected>> {};
struct review_close : rbrace {};
struct review_item
    : seq<kw_review, must<name_tok>, must<lbrace>,
          star<sor<scope_field, every_field, due_field, reviewer_field, undecided_field, recommendation,
                   description_field, unknown_field>,
               opt<semi>>,
          must<review_close>> {};

// ---- tests -----------------------------------------------------------------

struct attribute : seq<name_tok, colon, must<value_expected>> {};
struct attribute_block_close : rbrace {};
struct attribute_block : seq<lbrace, star<attribute, opt<sor<comma, semi>>>, must<attribute_block_close>> {};
struct given_requester : seq<kw_requester, must<string_tok>, opt<attribute_block>> {};
struct given_person : seq<kw_person, must<string_tok>, opt<attribute_block>> {};
struct given_grant : seq<kw_grant, must<qualified_expected>, must<kw_to>, must<string_tok>> {};
struct given_group : seq<kw_group, must<string_tok>, must<kw_members>, must<string_list>> {};
struct given_what : sor<given_requester, given_person, given_grant, given_group> {};
struct given_stmt : seq<kw_given, must<given_what>> {};

struct clause_for : seq<kw_for, must<duration_tok>> {};
struct clause_by : seq<kw_by, must<string_tok>> {};
struct clause_because : seq<kw_because, must<string_tok>> {};
struct clause_ticket : seq<kw_ticket, must<string_tok>> {};
struct request_stmt
    : seq<kw_request, must<qualified_expected>, star<sor<clause_for, clause_by, clause_because, clause_ticket>>> {};

struct action_verb : seq<sor<TAO_PEGTL_STRING("approve"), TAO_PEGTL_STRING("deny"), TAO_PEGTL_STRING("cancel"),
                             TAO_PEGTL_STRING("revoke"), TAO_PEGTL_STRING("confirm"), TAO_PEGTL_STRING("renew")>,
                         not_at<ident_other>, ws> {};
struct action_stmt : seq<action_verb, star<sor<clause_by, clause_because, clause_for>>> {};
struct wait_stmt : seq<kw_wait, must<duration_tok>> {};

template <typename Word>
struct expect_word : seq<Word, not_at<ident_other>, ws> {};
struct expect_route : seq<expect_word<TAO_PEGTL_STRING("route")>, must<route_expected>> {};
struct expect_grants
    : seq<expect_word<TAO_PEGTL_STRING("grants")>, must<grant_expected>, star<comma, must<grant_expected>>> {};
struct expect_state : seq<expect_word<TAO_PEGTL_STRING("state")>, must<name_tok>> {};
struct expect_bucket : seq<expect_word<TAO_PEGTL_STRING("bucket")>, must<name_tok>> {};
struct expect_expires : seq<expect_word<TAO_PEGTL_STRING("expires_after")>, must<duration_tok>> {};
struct expect_requires : seq<expect_word<TAO_PEGTL_STRING("requires")>, must<name_list>> {};
struct expect_refused : seq<expect_word<TAO_PEGTL_STRING("refused")>, opt<string_tok>> {};
struct expect_plain
    : expect_word<sor<TAO_PEGTL_STRING("auto_approved"), TAO_PEGTL_STRING("denied"), TAO_PEGTL_STRING("triage"),
                      TAO_PEGTL_STRING("pending"), TAO_PEGTL_STRING("permanent"), TAO_PEGTL_STRING("no_grants")>> {};
struct expectation : sor<expect_route, expect_grants, expect_state, expect_bucket, expect_expires, expect_requires,
                         expect_refused, expect_plain> {};
struct expectation_expected : seq<expectation> {};
struct expect_stmt : seq<kw_expect, must<expectation_expected>> {};

struct test_statement : sor<given_stmt, request_stmt, expect_stmt, wait_stmt, action_stmt> {};
struct test_close : rbrace {};
struct test_item : seq<kw_test, must<string_tok>, must<lbrace>, star<test_statement, opt<semi>>, must<test_close>> {};

// ---- file ------------------------------------------------------------------

struct item : sor<import_item, module_item, provider_item, tracker_item, chat_item, pool_item, bucket_item,
                  app_item, conflict_item, review_item, test_item> {};
struct item_expected : seq<item> {};
// One top-level item, or the end of the file. The parser drives this rule in
// a loop so that it can recover at the next item after an error.
struct next_item : seq<ws, sor<eof, must<item_expected>>> {};

}  // namespace portcullis::dsl::grammar
