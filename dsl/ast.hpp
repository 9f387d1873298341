#pragma once
// The syntax tree of a policy file.
//
// Plain data: the parser builds it, the checker and formatter read it, the
// interpreter compiles it. Every node carries the Span it was parsed from.
// Strings hold decoded values (escapes resolved); the span gives the text as
// written. Conditions are kept as CEL source text with their span; they are
// parsed and type-checked by dsl/cel.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "dsl/source.hpp"

namespace portcullis::dsl::ast {

struct Identifier {
  std::string name;
  Span span;
};

struct StringLit {
  std::string value;
  Span span;
};

struct IntegerLit {
  std::int64_t value = 0;
  Span span;
};

// A duration literal such as `90d` or `1h30m`, in seconds.
struct DurationLit {
  std::int64_t seconds = 0;
  Span span;
};

struct BoolLit {
  bool value = false;
  Span span;
};

// `a.b`: an app's role (`figma.viewer`) or a provider (`okta.main`).
struct QualifiedName {
  Identifier first;
  Identifier second;
  Span span;
  std::string text() const { return first.name + "." + second.name; }
};

// A CEL expression, kept as written. `text` is the exact source slice.
struct Condition {
  std::string text;
  Span span;
};

// `env("NAME")` or `file("path")`: where a secret lives, never the secret.
struct SecretRef {
  enum class Kind { env, file };
  Kind kind = Kind::env;
  StringLit target;
  Span span;
};

struct Value;
struct ListValue {
  std::vector<Value> items;
  Span span;
};

// A setting or attribute value.
struct Value {
  std::variant<StringLit, IntegerLit, DurationLit, BoolLit, SecretRef, Identifier, ListValue> data;
  Span span;
};

// `key: value` inside provider, tracker and chat blocks.
struct Setting {
  Identifier key;
  Value value;
  Span span;
};

// `key: value` inside `given requester "x" { ... }` and `request ... with {}`.
using Attribute = Setting;

// Who may approve one step.
struct Approver {
  enum class Kind {
    automatic,  // `auto`: nobody needs to approve
    manager,    // the requester's manager
    app_owner,  // `app.owner`
    person,     // a named person: "dana@acme.com"
    group,      // any member of a directory group: group "platform-leads"
    people,     // any of the listed people: people "a@x", "b@x"
    pool,       // a named approver pool
    deny,       // `deny "reason"`: the request is refused
  };
  Kind kind = Kind::automatic;
  std::string name;                 // person, group or pool name; deny reason
  std::vector<StringLit> people;    // for Kind::people
  Span span;
};

// One approval step: `security`, `2 of group "platform-leads"`.
struct Step {
  std::optional<IntegerLit> quorum;  // `N of`; absent means one approval
  Approver approver;
  Span span;
};

// `step then step then ...`, optionally guarded by `when <condition>`.
struct Branch {
  std::vector<Step> steps;
  std::optional<Condition> when;
  Span span;
};

// `branch else branch else ...`: the first branch whose condition holds.
struct Route {
  std::vector<Branch> branches;
  Span span;
};

// `duration: one_of(1h, 6h) default 1h`, `at_most 30d`, `permanent`.
struct DurationSpec {
  std::vector<DurationLit> allowed;   // one_of(...)
  std::optional<Span> allowed_permanent;  // `permanent` listed inside one_of(...)
  std::optional<DurationLit> maximum;  // at_most
  std::optional<DurationLit> default_duration;
  std::optional<Span> permanent;       // the whole spec is `permanent`
  Span span;
};

// `escalate: after 72h to it_triage`
struct Escalation {
  DurationLit after;
  Approver to;
  Span span;
};

// `renew: at_most 2 times` or `renew: never` (count 0).
struct Renewal {
  IntegerLit max_times;
  Span span;
};

// `expiry: required` or `expiry: optional`.
struct Expiry {
  bool required = false;
  Span span;
};

// `require: justification, ticket`
struct Requirements {
  std::vector<Identifier> fields;
  Span span;
};

// The fields a bucket, an app and a role share. A role's setting overrides
// its app's, an app's overrides its bucket's.
struct Settings {
  std::optional<Identifier> bucket;  // apps and roles only
  std::optional<Route> approve;
  std::optional<DurationSpec> duration;
  std::optional<Expiry> expiry;
  std::optional<Renewal> renew;
  std::optional<DurationLit> remind;
  std::optional<Escalation> escalate;
  std::optional<Requirements> require;
  std::optional<StringLit> description;
};

// `okta.main group "figma-viewers"`
struct Grant {
  QualifiedName provider;
  StringLit group;
  Span span;
};

struct Role {
  Identifier name;
  std::vector<Grant> grants;
  Span grants_span;                 // the `grants:` field, when present
  std::optional<StringLit> manual;  // `manual "how a person fulfils it"`
  Settings settings;
  Span span;
};

struct App {
  Identifier name;
  std::optional<StringLit> title;
  std::optional<Approver> owner;
  Settings settings;
  std::vector<Role> roles;
  Span span;
};

struct Bucket {
  Identifier name;
  Settings settings;
  Span span;
};

// `provider okta "main" { url: "..." token: env("OKTA_TOKEN") }`
struct Provider {
  Identifier kind;
  StringLit name;
  std::vector<Setting> settings;
  Span span;
};

// `tracker jira { ... }` and `chat slack { ... }`
struct Integration {
  enum class Role { tracker, chat };
  Role role = Role::tracker;
  Identifier kind;
  std::vector<Setting> settings;
  Span span;
};

// `approvers security = group "security-oncall"`
struct Pool {
  Identifier name;
  Approver source;  // Kind::group or Kind::people
  Span span;
};

// `conflict "payments" { roles: a.b, c.d  action: deny }`
struct Conflict {
  StringLit name;
  std::vector<QualifiedName> roles;
  Span roles_span;
  std::optional<Identifier> action;      // deny | escalate
  std::optional<Approver> escalate_to;   // for `escalate to X`
  Span action_span;
  std::optional<StringLit> description;
  Span span;
};

// `scope: bucket privileged, app figma, role aws_prod.admin`
struct ReviewScope {
  enum class Kind { bucket, app, role };
  Kind kind = Kind::bucket;
  Identifier name;                    // bucket or app
  std::optional<QualifiedName> role;  // Kind::role
  Span span;
};

// `recommend revoke when <condition>`
struct Recommendation {
  Identifier action;  // keep | revoke
  Condition when;
  Span span;
};

struct Review {
  Identifier name;
  std::vector<ReviewScope> scope;
  Span scope_span;
  std::optional<DurationLit> every;
  std::optional<Approver> reviewer;
  std::optional<DurationLit> due;
  std::optional<Identifier> undecided;  // keep | revoke
  std::vector<Recommendation> recommendations;
  std::optional<StringLit> description;
  Span span;
};

// ---- test blocks ----------------------------------------------------------

// `given requester "ann@acme.com" { employment: "full_time" }` or
// `given person "bob@acme.com" { ... }`: directory facts for the test.
struct GivenPerson {
  bool is_requester = false;
  StringLit email;
  std::vector<Attribute> attributes;
  Span span;
};

// `given grant netsuite.payment_creator to "ann@acme.com"`: an access the
// person already holds.
struct GivenGrant {
  QualifiedName role;
  StringLit email;
  Span span;
};

// `given group "platform-leads" members "a@x", "b@x"`
struct GivenGroup {
  StringLit group;
  std::vector<StringLit> members;
  Span span;
};

// `request aws_prod.admin for 6h by "ann@acme.com" because "INC-1" ticket "X"`
struct RequestStmt {
  QualifiedName target;
  std::optional<DurationLit> duration;
  std::optional<StringLit> requester;
  std::optional<StringLit> reason;
  std::optional<StringLit> ticket;
  Span span;
};

// `approve by "x"`, `deny by "x" because "why"`, `cancel`, `revoke by "x"`,
// `confirm by "x"` (manual fulfilment), `renew for 6h`.
struct ActionStmt {
  Identifier verb;
  std::optional<StringLit> actor;
  std::optional<StringLit> reason;
  std::optional<DurationLit> duration;
  Span span;
};

// `wait 6h`: let time pass.
struct WaitStmt {
  DurationLit duration;
  Span span;
};

// `expect <what>`. `kind` names the expectation: auto_approved, denied,
// triage, pending, refused, permanent, no_grants, state, route, grants,
// expires_after, bucket, requires.
struct Expectation {
  Identifier kind;
  std::optional<Identifier> name;          // state S, bucket B
  std::optional<Route> route;              // route R
  std::vector<Grant> grants;               // grants G, G
  std::optional<DurationLit> duration;     // expires_after D
  std::vector<Identifier> names;           // requires a, b
  std::optional<StringLit> text;           // refused "substring"
  Span span;
};

using TestStatement =
    std::variant<GivenPerson, GivenGrant, GivenGroup, RequestStmt, ActionStmt, WaitStmt, Expectation>;

struct Test {
  StringLit name;
  std::vector<TestStatement> statements;
  Span span;
};

// ---- files -----------------------------------------------------------------

// `import "relative/path.policy"`
struct Import {
  StringLit path;
  Span span;
};

// `module "name"`: marks a file as a library of shared definitions; its
// definitions are not reported unused.
struct Module {
  StringLit name;
  Span span;
};

using Item = std::variant<Module, Import, Provider, Integration, Pool, Bucket, App, Conflict, Review, Test>;

struct Comment {
  std::string text;  // including the leading '#'
  Span span;
  bool trailing = false;  // follows code on the same line
};

// A top-level item that failed to parse: its keyword and name, read from
// its first line, so that references to it are not reported as unknown.
struct Unparsed {
  std::string keyword;  // app, bucket, approvers, provider, ...
  std::string name;     // for providers: "kind.name"
  Span span;
};

struct File {
  SourceFilePtr source;
  std::vector<Item> items;
  std::vector<Comment> comments;
  std::vector<Unparsed> unparsed;

  // Items of one kind, in source order.
  template <typename T>
  std::vector<const T*> all() const {
    std::vector<const T*> result;
    for (const auto& item : items) {
      if (const auto* p = std::get_if<T>(&item)) result.push_back(p);
    }
    return result;
  }
};

// A readable name for an approver, as the language writes it.
std::string to_source(const Approver& approver);
// `2 of group "x"`: one step as the language writes it.
std::string to_source(const Step& step);
std::string to_source(int quorum, const Approver& approver);
// A condition with each run of whitespace outside its string literals
// ('...', "...", and their triple-quoted forms) collapsed to one space, so
// layout never changes how a condition reads or compares.
std::string normalize_condition(std::string_view text);
// Canonical one-line text of a route, as the formatter writes it.
std::string to_source(const Route& route);
// A string literal as the language writes it, quotes and escapes included.
std::string quote_string(const std::string& text);
// Parses a duration as the language writes it (`90d`, `1h30m`); nullopt
// when malformed or longer than a century.
std::optional<std::int64_t> parse_duration(std::string_view text);
// `1h30m`: the canonical spelling of a duration in seconds.
std::string format_duration(std::int64_t seconds);

}  // namespace portcullis::dsl::ast
