#pragma once
// The compiled policy: an immutable model built once from a checked
// program and shared by every request (std::shared_ptr<const Policy>).
//
// Compilation resolves what the syntax tree leaves implicit: the effective
// settings of each role (role over app over bucket), provider references,
// pools, and each CEL condition compiled once into an evaluable program.
// Every item keeps the span it came from, so decisions can cite the policy
// line behind them.

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
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

// The top-level variables a route condition names, as bits of
// Condition::reads.
enum ConditionRead : std::uint32_t {
  reads_requester = 1u << 0,
  reads_request = 1u << 1,
  reads_app = 1u << 2,
  reads_role = 1u << 3,
  reads_now = 1u << 4,
  reads_all = ~0u,
};

// A CEL condition, compiled once.
struct Condition {
  std::string text;
  Span span;
  std::shared_ptr<const cel::Program> program;
  // Which variables the text names (ConditionRead bits), found at load so
  // that resolution binds only those: building the others costs more than
  // evaluating most conditions. reads_all when unknown.
  std::uint32_t reads = reads_all;
};

using Approver = dsl::ast::Approver;

struct Step {
  int quorum = 1;
  Approver approver;
  Span span;
  // For the steps of a role's own route whose approver does not depend on
  // the requester (no `manager` in it), the texts resolve() gives the
  // step, phrased once at load (prepare_plan_texts in route.hpp) instead
  // of on every request. `phrased` is false elsewhere (bucket routes,
  // requester-dependent approvers): resolve() then phrases them itself.
  bool phrased = false;
  std::string who{};     // PlanStep::who, quorum included
  std::string why{};     // PlanStep::why
  std::string reason{};  // the plan's "step: ..." reason
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
  // PlanStep::escalate_who phrased once at load, for a role's own settings
  // when `to` does not depend on the requester (see Step::phrased).
  std::optional<std::string> who{};
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
  // The reasons every resolution of this role starts with ("bucket ...",
  // "role ... grants its groups"), and the one for its default duration,
  // phrased once at load (prepare_plan_texts in route.hpp).
  std::string bucket_reason;
  std::string role_reason;
  std::string default_duration_reason;

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
  // A role and the app it belongs to, or {nullptr, nullptr} when the app
  // has no such role (or there is no such app).
  std::pair<const App*, const Role*> find_app_role(std::string_view app, std::string_view role) const;
  // find_app_role() plus the role's plan block: a read-only, contiguous
  // copy of what resolving the role usually reads (built by
  // append_role_plan in route.hpp; null for roles without one), so that a
  // request touches a few adjacent cache lines instead of the role's
  // scattered strings and vectors. Meaningful to route.cpp only.
  struct RoleEntry {
    const App* app = nullptr;
    const Role* role = nullptr;
    const std::byte* plan = nullptr;
  };
  RoleEntry find_role_entry(std::string_view app, std::string_view role) const;
  const Pool* find_pool(const std::string& name) const;
  // The bucket requests outside the catalog go to (named `unknown`), if any.
  const Bucket* unknown_bucket() const;

 private:
  friend class PolicyCompiler;
  std::map<std::string, App> apps_;
  // Lookup index over apps_ (whose nodes never move): requests look apps up
  // by name on every resolution.
  std::unordered_map<std::string_view, const App*> app_index_;
  // Lookup index over every role, by (app, role): open addressing, so one
  // probe into one array finds a request's role and app instead of a hash
  // node, the app and a scan of its roles (each a cache miss in a large
  // catalog). Power-of-two size, at most half full; empty slots have a null
  // role.
  struct RoleSlot {
    std::uint64_t hash = 0;
    const App* app = nullptr;
    const Role* role = nullptr;
    const std::byte* plan = nullptr;  // into role_plans_, or null
    std::uint32_t plan_bytes = 0;
  };
  std::vector<RoleSlot> role_index_;
  // Every role's plan block, one after another (each 64-byte aligned
  // within the buffer), in index order.
  std::vector<std::byte> role_plans_;
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
