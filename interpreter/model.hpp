#pragma once
// The compiled policy: an immutable model built once from a checked
// program and shared by every request (std::shared_ptr<const Policy>).
//
// Compilation resolves what the syntax tree leaves implicit: the effective
// settings of each role (role over app over bucket), provider references,
// pools, and each CEL condition compiled once into an evaluable program.
// Every item keeps the span it came from, so decisions can cite the policy
// line behind them.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "dsl/ast.hpp"
#include "dsl/diagnostics.hpp"
#include "dsl/loader.hpp"
#include "interpreter/cel/program.hpp"

namespace portcullis::interpreter {

using Seconds = std::int64_t;
using dsl::Span;

// One membership a role grants: a group in a provider.
struct GroupRef {
  std::string provider;  // "okta.main": kind.name, as the policy writes it
  std::string kind;      // okta, entra, google, scim, sandbox
  std::string group;
  Span span;

  std::string key() const { return provider + "/" + group; }
  friend bool operator==(const GroupRef& a, const GroupRef& b) { return a.provider == b.provider && a.group == b.group; }
  friend bool operator<(const GroupRef& a, const GroupRef& b) { return a.key() < b.key(); }
};

// A CEL condition, compiled once.
struct Condition {
  std::string text;
  Span span;
  std::shared_ptr<const cel::Program> program;
};

using Approver = dsl::ast::Approver;

struct Step {
  int quorum = 1;
  Approver approver;
  Span span;
};

struct Branch {
  std::vector<Step> steps;
  std::optional<Condition> when;
  Span span;
};

struct Route {
  std::vector<Branch> branches;
  Span span;  // the `approve:` field it came from
};

struct DurationRule {
  std::vector<Seconds> allowed;   // one_of(...), ascending; empty when not a set
  bool permanent_allowed = true;  // `permanent` or one_of(..., permanent), or no rule at all
  std::optional<Seconds> maximum;
  std::optional<Seconds> default_duration;
  Span span;  // invalid when no duration was written anywhere
};

struct Escalation {
  Seconds after = 0;
  Approver to;
  Span span;
};

// A role's settings after role > app > bucket inheritance. Each field keeps
// the span of the line it was inherited from.
struct EffectiveSettings {
  std::string bucket;
  Span bucket_span;
  Route route;
  DurationRule duration;
  bool expiry_required = false;
  Span expiry_span;
  std::optional<int> max_renewals;  // nullopt: unlimited
  Span renew_span;
  std::optional<Seconds> remind_after;
  Span remind_span;
  std::optional<Escalation> escalate;
  bool require_justification = false;
  bool require_ticket = false;
  Span require_span;
};

struct Role {
  std::string app;
  std::string name;
  std::vector<GroupRef> groups;
  std::optional<std::string> manual;  // how a person fulfils it
  std::optional<std::string> description;
  EffectiveSettings settings;
  // Indexes into Policy::conflicts() of the conflicts naming this role, so
  // resolution looks only at those.
  std::vector<std::size_t> conflicts;
  Span span;

  std::string qualified() const { return app + "." + name; }
};

struct App {
  std::string name;
  std::string title;
  std::optional<Approver> owner;
  std::vector<Role> roles;
  Span span;

  const Role* find_role(const std::string& role) const;
};

struct Pool {
  std::string name;
  Approver source;  // group or people
  Span span;
};

struct Bucket {
  std::string name;
  EffectiveSettings settings;  // the bucket's own settings
  Span span;
};

struct Conflict {
  std::string name;
  std::vector<std::pair<std::string, std::string>> roles;  // (app, role)
  bool deny = true;
  std::optional<Approver> escalate_to;
  Span span;
};

struct ReviewScope {
  dsl::ast::ReviewScope::Kind kind;
  std::string name;  // bucket or app
  std::string role;  // for role scopes
};

struct Recommendation {
  bool revoke = false;
  Condition when;
};

struct Review {
  std::string name;
  std::vector<ReviewScope> scope;
  std::optional<Seconds> every;
  std::optional<Seconds> due;
  std::optional<Approver> reviewer;
  bool revoke_undecided = false;
  std::vector<Recommendation> recommendations;
  Span span;
};

class Policy {
 public:
  Policy() = default;
  // The app index points into the model itself: share it, never copy it.
  Policy(const Policy&) = delete;
  Policy& operator=(const Policy&) = delete;

  const std::map<std::string, App>& apps() const { return apps_; }
  const std::map<std::string, Bucket>& buckets() const { return buckets_; }
  const std::map<std::string, Pool>& pools() const { return pools_; }
  const std::vector<Conflict>& conflicts() const { return conflicts_; }
  const std::vector<Review>& reviews() const { return reviews_; }
  // The test blocks, as written (the test runner interprets them).
  const std::vector<dsl::ast::Test>& tests() const { return tests_; }
  const std::vector<dsl::SourceFilePtr>& sources() const { return sources_; }

  const App* find_app(const std::string& app) const;
  const Role* find_role(const std::string& app, const std::string& role) const;
  const Pool* find_pool(const std::string& name) const;
  // The bucket requests outside the catalog go to (named `unknown`), if any.
  const Bucket* unknown_bucket() const;

 private:
  friend class PolicyCompiler;
  std::map<std::string, App> apps_;
  // Lookup index over apps_ (whose nodes never move): requests look apps up
  // by name on every resolution.
  std::unordered_map<std::string_view, const App*> app_index_;
  std::map<std::string, Bucket> buckets_;
  std::map<std::string, Pool> pools_;
  std::vector<Conflict> conflicts_;
  std::vector<Review> reviews_;
  std::vector<dsl::ast::Test> tests_;
  std::vector<dsl::SourceFilePtr> sources_;
};

using PolicyPtr = std::shared_ptr<const Policy>;

struct CompiledPolicy {
  PolicyPtr policy;  // null when diagnostics has errors
  dsl::Diagnostics diagnostics;
};

// Compiles a loaded program. Runs the full front-end check first: a policy
// with errors never compiles.
CompiledPolicy compile_policy(const dsl::Program& program);

// Loads, checks and compiles the policy rooted at `path`.
CompiledPolicy load_policy(const std::string& path, const dsl::FileReader& reader);

}  // namespace portcullis::interpreter
