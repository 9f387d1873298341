#include "interpreter/route.hpp"

#include <algorithm>
#include <cstring>
#include <set>
#include <type_traits>

#include "dsl/condition_env.hpp"
#include "interpreter/cel/json.hpp"

namespace portcullis::interpreter {
namespace {

using Kind = Approver::Kind;

std::string format_seconds(Seconds s) { return dsl::ast::format_duration(s); }

cel::Value string_list(const std::vector<std::string>& items) {
  std::vector<cel::Value> values;
  values.reserve(items.size());
  for (const auto& item : items) values.push_back(cel::Value::string(item));
  return cel::Value::list(std::move(values));
}

cel::Value person_value(const Person* person, const std::string& email) {
  const auto& envs = dsl::condition_envs();
  if (!person) {
    return cel::Value::object(envs.person,
                              {cel::Value::string(email), cel::Value::string(""), cel::Value::string(""),
                               cel::Value::string(""), cel::Value::string(""), cel::Value::string(""),
                               cel::Value::string(""), string_list({}), cel::value_from_json(nlohmann::json::object())});
  }
  return cel::Value::object(
      envs.person, {cel::Value::string(person->email), cel::Value::string(person->name),
                    cel::Value::string(person->department), cel::Value::string(person->employment),
                    cel::Value::string(person->location), cel::Value::string(person->title),
                    cel::Value::string(person->manager), string_list(person->groups),
                    cel::value_from_json(person->attributes)});
}

// Binds what route conditions read, each variable the first time a
// condition names it (Condition::reads): building the attributes costs more
// than evaluating most conditions.
class RouteActivation {
 public:
  RouteActivation(const App& app, const Role& role, const AccessRequest& request, const Seconds* duration,
                  const Person* person, Time now)
      : activation_(dsl::condition_envs().route),
        app_(app),
        role_(role),
        request_(request),
        duration_(duration),
        person_(person),
        now_(now) {}

  const cel::Activation& with(std::uint32_t reads) {
    const std::uint32_t missing = reads & ~bound_;
    if (missing & reads_requester) bind_requester();
    if (missing & reads_request) bind_request();
    if (missing & reads_app) bind_app();
    if (missing & reads_role) bind_role();
    if (missing & reads_now) activation_.bind("now", cel::Value::timestamp({now_, 0}));
    bound_ |= reads;
    return activation_;
  }

 private:
  void bind_requester() { activation_.bind("requester", person_value(person_, request_.requester)); }

  void bind_request() {
    const auto& envs = dsl::condition_envs();
    const Seconds seconds = duration_ ? *duration_ : 0;
    activation_.bind("request", cel::Value::object(envs.request,
                                                   {cel::Value::string(request_.app), cel::Value::string(request_.role),
                                                    cel::Value::string(role_.settings.bucket),
                                                    cel::Value::duration({seconds, 0}),
                                                    cel::Value::boolean(duration_ == nullptr),
                                                    cel::Value::string(request_.justification),
                                                    cel::Value::string(request_.ticket)}));
  }

  void bind_app() {
    const auto& envs = dsl::condition_envs();
    std::string owner = app_.owner ? dsl::ast::to_source(*app_.owner) : "";
    if (app_.owner && app_.owner->kind == Kind::person) owner = app_.owner->name;
    activation_.bind("app", cel::Value::object(envs.app, {cel::Value::string(app_.name), cel::Value::string(app_.title),
                                                          cel::Value::string(role_.settings.bucket),
                                                          cel::Value::string(owner)}));
  }

  void bind_role() {
    const auto& envs = dsl::condition_envs();
    std::vector<std::string> groups;
    for (const auto& g : role_.groups) groups.push_back(g.key());
    activation_.bind("role", cel::Value::object(envs.role, {cel::Value::string(role_.name), cel::Value::string(app_.name),
                                                            cel::Value::string(role_.settings.bucket),
                                                            string_list(groups), cel::Value::boolean(role_.manual.has_value())}));
  }

  cel::Activation activation_;
  const App& app_;
  const Role& role_;
  const AccessRequest& request_;
  const Seconds* duration_;
  const Person* person_;
  Time now_;
  std::uint32_t bound_ = 0;
};

std::vector<std::string> without(std::vector<std::string> people, const std::string& requester) {
  people.erase(std::remove(people.begin(), people.end(), requester), people.end());
  std::sort(people.begin(), people.end());
  people.erase(std::unique(people.begin(), people.end()), people.end());
  return people;
}

// `person` is the requester's directory entry (null when unknown): only a
// `manager` approver reads it.
std::string describe(const Policy& policy, const Approver& approver, const App* app, const Person* person) {
  switch (approver.kind) {
    case Kind::automatic: return "nobody (automatic)";
    case Kind::deny: return "nobody (denied)";
    case Kind::manager:
      return person && !person->manager.empty() ? "the requester's manager (" + person->manager + ")"
                                                : "the requester's manager";
    case Kind::app_owner:
      if (app && app->owner) return "the owner of " + app->title + " (" + describe(policy, *app->owner, app, person) + ")";
      return "the app owner";
    case Kind::person: return approver.name;
    case Kind::group: return "a member of group " + approver.name;
    case Kind::people: {
      std::string out;
      for (const auto& p : approver.people) out += (out.empty() ? "" : ", ") + p.value;
      return "one of " + out;
    }
    case Kind::pool: {
      const Pool* pool = policy.find_pool(approver.name);
      return pool ? approver.name + " (" + describe(policy, pool->source, app, person) + ")" : approver.name;
    }
  }
  return {};
}

std::string quorum_prefix(int quorum) { return quorum > 1 ? std::to_string(quorum) + " of " : std::string(); }

// Whether describe() of `approver` reads the requester (a `manager`
// somewhere in it), so its text cannot be phrased at load. Deeper chains
// than any policy writes count as dependent, which is always safe.
bool depends_on_requester(const Policy& policy, const Approver& approver, const App* app, int depth = 0) {
  if (depth > 4) return true;
  switch (approver.kind) {
    case Kind::manager: return true;
    case Kind::app_owner: return app && app->owner && depends_on_requester(policy, *app->owner, app, depth + 1);
    case Kind::pool: {
      const Pool* pool = policy.find_pool(approver.name);
      return pool && depends_on_requester(policy, pool->source, app, depth + 1);
    }
    default: return false;
  }
}

// eligible_approvers() with the requester's directory entry already looked
// up (`person`, null when unknown).
std::optional<std::vector<std::string>> eligible_for(const Policy& policy, const Approver& approver, const App* app,
                                                     const std::string& requester, const Person* person,
                                                     const Directory* directory) {
  switch (approver.kind) {
    case Kind::automatic:
    case Kind::deny: return std::vector<std::string>{};
    case Kind::person:
      if (approver.name == requester) return std::vector<std::string>{};
      return std::vector<std::string>{approver.name};
    case Kind::people: {
      std::vector<std::string> people;
      people.reserve(approver.people.size());
      for (const auto& p : approver.people) people.push_back(p.value);
      return without(std::move(people), requester);
    }
    case Kind::manager: {
      if (!person) return std::nullopt;
      if (person->manager.empty() || person->manager == requester) return std::vector<std::string>{};
      return std::vector<std::string>{person->manager};
    }
    case Kind::group: {
      // Already sorted and unique: dropping the requester keeps it so.
      const auto* members = directory ? directory->sorted_members(approver.name) : nullptr;
      if (!members) return std::nullopt;
      std::vector<std::string> people;
      people.reserve(members->size());
      for (const auto& m : *members) {
        if (m != requester) people.push_back(m);
      }
      return people;
    }
    case Kind::pool: {
      const Pool* pool = policy.find_pool(approver.name);
      if (!pool) return std::vector<std::string>{};
      return eligible_for(policy, pool->source, app, requester, person, directory);
    }
    case Kind::app_owner:
      if (!app || !app->owner) return std::vector<std::string>{};
      return eligible_for(policy, *app->owner, app, requester, person, directory);
  }
  return std::nullopt;
}

std::string why(const Approver& approver, const App* app) {
  switch (approver.kind) {
    case Kind::manager: return "manages the requester";
    case Kind::app_owner: return app ? "owns " + app->title : "owns the app";
    case Kind::person: return "named in the policy";
    case Kind::group: return "member of group " + approver.name;
    case Kind::people: return "named in the policy";
    case Kind::pool: return "member of approver pool " + approver.name;
    default: return "";
  }
}

std::string role_reason(const Role& role) {
  return "role " + role.qualified() + (role.manual ? " is fulfilled by hand" : " grants its groups");
}

// Starts loading, all at once, the parts of a role's model a resolution
// reads. In a large catalog each request meets them cold, and following
// pointer to pointer would wait for one cache miss after another; hinted
// here, the misses overlap. Only hints: nothing is read that resolve()
// would not read anyway.
void prefetch(const void* p, std::size_t bytes) {
  const char* c = static_cast<const char*>(p);
  for (std::size_t i = 0; i < bytes; i += 64) __builtin_prefetch(c + i);
}

void prefetch_text(const std::string& s) {
  __builtin_prefetch(s.data());
}

void prefetch_role(const App& app, const Role& role) {
  prefetch(&role, sizeof role);
  prefetch(&app, sizeof app);
  prefetch_text(app.title);
  prefetch_text(role.bucket_reason);
  prefetch_text(role.role_reason);
  prefetch_text(role.default_duration_reason);
  prefetch(role.groups.data(), role.groups.size() * sizeof(GroupRef));
  for (const GroupRef& g : role.groups) prefetch_text(g.group);
  const auto& branches = role.settings.route.branches;
  prefetch(branches.data(), branches.size() * sizeof(Branch));
  for (const Branch& branch : branches) {
    prefetch(branch.steps.data(), branch.steps.size() * sizeof(Step));
    if (branch.when) prefetch_text(branch.when->text);
  }
  for (const Branch& branch : branches) {
    for (const Step& step : branch.steps) {
      prefetch_text(step.approver.name);
      prefetch_text(step.who);
      prefetch_text(step.why);
      prefetch_text(step.reason);
    }
  }
  if (app.owner) prefetch_text(app.owner->name);
}


// ---- plan blocks ---------------------------------------------------------
//
// A role's plan block holds, in one contiguous run of bytes, everything the
// common resolution of the role reads: names, texts, groups, the route's
// branches and steps, and spans as (source index, offsets). In a large
// catalog each request meets its role cold; reading the Role means a chain
// of dependent cache and TLB misses (role -> vector -> element -> string),
// reading the block means one run of adjacent lines, all prefetched when the
// index slot is found. Only trivially copyable values, so the block is
// plain bytes: texts are (offset, size) from the block's start.

struct TextRef {
  std::uint32_t offset = 0;
  std::uint32_t size = 0;
};

constexpr std::uint32_t kNoFile = ~0u;

// A Span without its shared_ptr: `file` indexes Policy::sources().
struct SpanRef {
  std::uint32_t file = kNoFile;
  std::uint32_t begin = 0;
  std::uint32_t end = 0;
  std::uint32_t line = 0;
  std::uint32_t column = 0;
};

// An Approver without people (blocks are built only for roles whose
// approvers list none).
struct BlockApprover {
  Kind kind = Kind::automatic;
  TextRef name;
  SpanRef span;
};

struct BlockGroup {
  TextRef provider;
  TextRef kind;
  TextRef group;
  SpanRef span;
};

struct BlockStep {
  int quorum = 1;
  BlockApprover approver;
  SpanRef span;
  bool phrased = false;
  TextRef who;
  TextRef why;
  TextRef reason;
};

struct BlockBranch {
  bool has_when = false;
  const cel::Program* program = nullptr;  // owned by the policy; null when not compiled
  std::uint32_t reads = 0;
  TextRef when_text;
  SpanRef when_span;
  std::uint32_t first_step = 0;
  std::uint32_t steps = 0;
};

// What fix_duration() decides when the request names no duration.
enum class DefaultDuration : std::uint8_t { default_duration, permanent, maximum };

struct BlockHeader {
  TextRef app;
  TextRef role;
  TextRef app_title;
  TextRef bucket;
  std::uint32_t groups_at = 0;  // BlockGroup[groups]
  std::uint32_t groups = 0;
  std::uint32_t branches_at = 0;  // BlockBranch[branches]
  std::uint32_t branches = 0;
  std::uint32_t steps_at = 0;  // BlockStep[], indexed by BlockBranch::first_step
  bool has_manual = false;
  TextRef manual;
  std::optional<int> max_renewals;
  bool expiry_required = false;
  TextRef bucket_reason;  // empty when the role has no bucket
  SpanRef bucket_span;
  TextRef role_reason;
  SpanRef role_span;
  bool require_justification = false;
  bool require_ticket = false;
  bool has_conflicts = false;
  DefaultDuration default_duration = DefaultDuration::permanent;
  Seconds duration = 0;
  TextRef duration_reason;
  SpanRef duration_span;
  std::optional<Seconds> remind_after;
  bool has_escalate = false;
  Seconds escalate_after = 0;
  BlockApprover escalate_to;
  bool escalate_who_known = false;
  TextRef escalate_who;
};

static_assert(std::is_trivially_copyable_v<BlockHeader> && std::is_trivially_copyable_v<BlockStep> &&
              std::is_trivially_copyable_v<BlockBranch> && std::is_trivially_copyable_v<BlockGroup>);

class BlockWriter {
 public:
  explicit BlockWriter(const Policy& policy) : policy_(policy) { bytes_.resize(sizeof(BlockHeader)); }

  TextRef text(std::string_view s) {
    const TextRef ref{static_cast<std::uint32_t>(bytes_.size()), static_cast<std::uint32_t>(s.size())};
    const auto* p = reinterpret_cast<const std::byte*>(s.data());
    bytes_.insert(bytes_.end(), p, p + s.size());
    return ref;
  }

  // False when the span's file is not one of the policy's sources (then
  // the role gets no block).
  bool span(const Span& s, SpanRef& out) {
    out = SpanRef{kNoFile, s.begin, s.end, s.line, s.column};
    if (!s.file) return true;
    const auto& sources = policy_.sources();
    for (std::size_t i = 0; i < sources.size(); ++i) {
      if (sources[i] == s.file) {
        out.file = static_cast<std::uint32_t>(i);
        return true;
      }
    }
    return false;
  }

  template <typename T>
  std::uint32_t array(const std::vector<T>& items) {
    bytes_.resize((bytes_.size() + alignof(T) - 1) / alignof(T) * alignof(T));
    const auto at = static_cast<std::uint32_t>(bytes_.size());
    const auto* p = reinterpret_cast<const std::byte*>(items.data());
    bytes_.insert(bytes_.end(), p, p + items.size() * sizeof(T));
    return at;
  }

  std::vector<std::byte> finish(const BlockHeader& header) {
    std::memcpy(bytes_.data(), &header, sizeof header);
    return std::move(bytes_);
  }

 private:
  const Policy& policy_;
  std::vector<std::byte> bytes_;
};

std::optional<std::vector<std::byte>> build_role_plan(const Policy& policy, const App& app, const Role& role) {
  const EffectiveSettings& settings = role.settings;
  BlockWriter w(policy);
  BlockHeader h;
  auto approver = [&](const Approver& a, BlockApprover& out) {
    if (a.kind == Kind::people || !a.people.empty()) return false;
    out.kind = a.kind;
    out.name = w.text(a.name);
    return w.span(a.span, out.span);
  };
  h.app = w.text(role.app);
  h.role = w.text(role.name);
  h.app_title = w.text(app.title);
  h.bucket = w.text(settings.bucket);
  std::vector<BlockGroup> groups;
  for (const GroupRef& g : role.groups) {
    BlockGroup& b = groups.emplace_back();
    b.provider = w.text(g.provider);
    b.kind = w.text(g.kind);
    b.group = w.text(g.group);
    if (!w.span(g.span, b.span)) return std::nullopt;
  }
  h.has_manual = role.manual.has_value();
  if (role.manual) h.manual = w.text(*role.manual);
  h.max_renewals = settings.max_renewals;
  h.expiry_required = settings.expiry_required;
  if (!settings.bucket.empty()) {
    h.bucket_reason = w.text(role.bucket_reason.empty() ? "bucket " + settings.bucket : role.bucket_reason);
  }
  h.role_reason = w.text(role.role_reason.empty() ? role_reason(role) : role.role_reason);
  if (!w.span(settings.bucket_span, h.bucket_span) || !w.span(role.span, h.role_span)) return std::nullopt;
  h.require_justification = settings.require_justification;
  h.require_ticket = settings.require_ticket;
  h.has_conflicts = !role.conflicts.empty();

  // fix_duration() for a request that names no duration.
  const DurationRule& rule = settings.duration;
  const bool permanent_ok = rule.permanent_allowed && !settings.expiry_required;
  const bool has_rule = rule.span.valid();
  if (rule.default_duration) {
    h.default_duration = DefaultDuration::default_duration;
    h.duration = *rule.default_duration;
    h.duration_reason = w.text(role.default_duration_reason.empty()
                                   ? "default duration " + format_seconds(*rule.default_duration)
                                   : role.default_duration_reason);
    if (!w.span(rule.span, h.duration_span)) return std::nullopt;
  } else if (permanent_ok || (!has_rule && !settings.expiry_required)) {
    h.default_duration = DefaultDuration::permanent;
    h.duration_reason = w.text("permanent unless revoked");
    if (!w.span(has_rule ? rule.span : settings.expiry_span, h.duration_span)) return std::nullopt;
  } else if (rule.maximum) {
    h.default_duration = DefaultDuration::maximum;
    h.duration = *rule.maximum;
    h.duration_reason = w.text("no duration requested: granted for the maximum " + format_seconds(*rule.maximum));
    if (!w.span(rule.span, h.duration_span)) return std::nullopt;
  } else {
    return std::nullopt;  // rejected: the Role path phrases it
  }

  h.remind_after = settings.remind_after;
  if (settings.escalate) {
    h.has_escalate = true;
    h.escalate_after = settings.escalate->after;
    if (!approver(settings.escalate->to, h.escalate_to)) return std::nullopt;
    h.escalate_who_known = settings.escalate->who.has_value();
    if (settings.escalate->who) h.escalate_who = w.text(*settings.escalate->who);
  }

  std::vector<BlockBranch> branches;
  std::vector<BlockStep> steps;
  if (settings.route.branches.empty()) return std::nullopt;
  for (const Branch& branch : settings.route.branches) {
    if (branch.steps.empty()) return std::nullopt;
    BlockBranch& b = branches.emplace_back();
    if (branch.when) {
      b.has_when = true;
      b.program = branch.when->program.get();
      b.reads = branch.when->reads;
      b.when_text = w.text(branch.when->text);
      if (!w.span(branch.when->span, b.when_span)) return std::nullopt;
    }
    b.first_step = static_cast<std::uint32_t>(steps.size());
    b.steps = static_cast<std::uint32_t>(branch.steps.size());
    for (const Step& step : branch.steps) {
      BlockStep& s = steps.emplace_back();
      s.quorum = step.quorum;
      if (!approver(step.approver, s.approver) || !w.span(step.span, s.span)) return std::nullopt;
      s.phrased = step.phrased;
      if (step.phrased) {
        s.who = w.text(step.who);
        s.why = w.text(step.why);
        s.reason = w.text(step.reason);
      }
    }
  }
  h.groups = static_cast<std::uint32_t>(groups.size());
  h.groups_at = w.array(groups);
  h.branches = static_cast<std::uint32_t>(branches.size());
  h.branches_at = w.array(branches);
  h.steps_at = w.array(steps);
  return w.finish(h);
}

// Block readers. The blocks are built by build_role_plan above from
// trivially copyable structs, at offsets aligned for them.
const BlockHeader& block_header(const std::byte* block) { return *reinterpret_cast<const BlockHeader*>(block); }

template <typename T>
const T* block_array(const std::byte* block, std::uint32_t at) {
  return reinterpret_cast<const T*>(block + at);
}

std::string_view block_text(const std::byte* block, TextRef ref) {
  return {reinterpret_cast<const char*>(block) + ref.offset, ref.size};
}

Span block_span(const Policy& policy, SpanRef ref) {
  Span span;
  if (ref.file != kNoFile) span.file = policy.sources()[ref.file];
  span.begin = ref.begin;
  span.end = ref.end;
  span.line = ref.line;
  span.column = ref.column;
  return span;
}

class Resolver {
 public:
  Resolver(const Policy& policy, const AccessRequest& request, const Facts& facts, Time now, bool use_plan_blocks = true)
      : use_plan_blocks_(use_plan_blocks),
        policy_(policy),
        request_(request),
        facts_(facts),
        now_(now),
        // Looked up once: conditions, `manager` approvers and their texts
        // all read it.
        person_(facts.directory ? facts.directory->find(request.requester) : nullptr) {}

  Plan run() {
    plan_.app = request_.app;
    plan_.role = request_.role;
    // Most plans carry the bucket, role, duration and step reasons, and a
    // condition or two: one allocation instead of four growths.
    plan_.reasons.reserve(8);
    const Policy::RoleEntry entry = policy_.find_role_entry(request_.app, request_.role);
    const App* app = entry.app;
    const Role* role = entry.role;
    if (!role) return triage(policy_.find_app(request_.app));
    if (entry.plan && use_plan_blocks_) {
      if (run_block(*app, *role, entry.plan)) return std::move(plan_);
      // A case the block does not cover: start over from the Role.
      plan_ = Plan{};
      plan_.app = request_.app;
      plan_.role = request_.role;
      plan_.reasons.reserve(8);
    }
    prefetch_role(*app, *role);
    plan_.app_title = app->title;
    plan_.bucket = role->settings.bucket;
    plan_.groups = role->groups;
    plan_.manual = role->manual;
    plan_.max_renewals = role->settings.max_renewals;
    plan_.expiry_required = role->settings.expiry_required;
    if (!plan_.bucket.empty()) {
      reason(role->bucket_reason.empty() ? "bucket " + plan_.bucket : role->bucket_reason, role->settings.bucket_span);
    }
    reason(role->role_reason.empty() ? role_reason(*role) : role->role_reason, role->span);

    if (!check_required_fields(*role)) return std::move(plan_);
    if (!fix_duration(*role)) return std::move(plan_);
    if (!check_conflicts(*app, *role)) return std::move(plan_);
    choose_route(*app, *role);
    // An automatic route does not waive separation of duties: the conflict's
    // approver must still accept the risk.
    if (plan_.outcome == Outcome::auto_approved && !escalating_conflicts_.empty()) {
      plan_.outcome = Outcome::approval;
    }
    if (plan_.outcome == Outcome::approval) {
      for (const Conflict* conflict : escalating_conflicts_) {
        PlanStep step = make_step(Step{1, *conflict->escalate_to, conflict->span}, app, role->settings);
        step.why = "separation of duties: conflict \"" + conflict->name + "\"";
        plan_.steps.push_back(std::move(step));
      }
    }
    return std::move(plan_);
  }

 private:
  const bool use_plan_blocks_;
  void reason(std::string text, Span span) { plan_.reasons.emplace_back(std::move(text), std::move(span)); }

  // run() from the role's plan block, for the common cases: a request
  // without a duration of its own, the required fields given, no
  // conflicting grants to weigh, conditions that evaluate, and enough
  // approvers for every step. Builds exactly the Plan the Role path below
  // would; returns false as soon as the case is not one of these (the plan
  // is then partial and the caller starts over).
  bool run_block(const App& app, const Role& role, const std::byte* b) {
    const BlockHeader& h = block_header(b);
    if (request_.permanent || request_.duration) return false;
    if (h.require_justification && request_.justification.empty()) return false;
    if (h.require_ticket && request_.ticket.empty()) return false;
    if (h.has_conflicts && !facts_.current_grants.empty()) return false;
    plan_.app_title = block_text(b, h.app_title);
    plan_.bucket = block_text(b, h.bucket);
    const BlockGroup* groups = block_array<BlockGroup>(b, h.groups_at);
    plan_.groups.reserve(h.groups);
    for (std::uint32_t i = 0; i < h.groups; ++i) {
      const BlockGroup& g = groups[i];
      plan_.groups.push_back(GroupRef{std::string(block_text(b, g.provider)), std::string(block_text(b, g.kind)),
                                      std::string(block_text(b, g.group)), block_span(policy_, g.span)});
    }
    if (h.has_manual) plan_.manual.emplace(block_text(b, h.manual));
    plan_.max_renewals = h.max_renewals;
    plan_.expiry_required = h.expiry_required;
    if (!plan_.bucket.empty()) reason(std::string(block_text(b, h.bucket_reason)), block_span(policy_, h.bucket_span));
    reason(std::string(block_text(b, h.role_reason)), block_span(policy_, h.role_span));
    switch (h.default_duration) {
      case DefaultDuration::default_duration:
      case DefaultDuration::maximum: plan_.duration = h.duration; break;
      case DefaultDuration::permanent: plan_.duration.reset(); break;
    }
    reason(std::string(block_text(b, h.duration_reason)), block_span(policy_, h.duration_span));

    const BlockBranch* branches = block_array<BlockBranch>(b, h.branches_at);
    const BlockStep* steps = block_array<BlockStep>(b, h.steps_at);
    std::optional<RouteActivation> activation;
    for (std::uint32_t i = 0; i < h.branches; ++i) {
      const BlockBranch& branch = branches[i];
      if (branch.has_when) {
        if (!branch.program) return false;
        if (!activation) activation.emplace(app, role, request_, plan_.duration ? &*plan_.duration : nullptr, person_, now_);
        const cel::Value result = branch.program->evaluate(activation->with(branch.reads));
        if (result.is_error() || result.kind() != cel::Kind::bool_) return false;
        const std::string_view text = block_text(b, branch.when_text);
        std::string said;
        said.reserve(20 + text.size());
        said += result.as_bool() ? "condition holds: " : "condition is false: ";
        said += text;
        reason(std::move(said), block_span(policy_, branch.when_span));
        if (!result.as_bool()) continue;
      }
      return take_block_branch(app, h, b, steps + branch.first_step, branch.steps);
    }
    return true;  // no branch applies: the Role path leaves the plan so too
  }

  bool take_block_branch(const App& app, const BlockHeader& h, const std::byte* b, const BlockStep* steps,
                         std::uint32_t count) {
    const BlockStep& first = steps[0];
    if (first.approver.kind == Kind::automatic) {
      plan_.outcome = Outcome::auto_approved;
      reason("approved automatically", block_span(policy_, first.span));
      return true;
    }
    if (first.approver.kind == Kind::deny) {
      plan_.outcome = Outcome::denied;
      const std::string_view name = block_text(b, first.approver.name);
      plan_.denial = name.empty() ? "denied by policy" : std::string(name);
      reason("denied: " + plan_.denial, block_span(policy_, first.span));
      return true;
    }
    plan_.outcome = Outcome::approval;
    plan_.steps.reserve(count);
    for (std::uint32_t i = 0; i < count; ++i) {
      const BlockStep& step = steps[i];
      PlanStep planned;
      if (!make_block_step(app, h, b, step, planned)) return false;
      if (step.phrased && planned.who == block_text(b, step.who)) {
        reason(std::string(block_text(b, step.reason)), block_span(policy_, step.span));
      } else {
        reason("step: " + planned.who, block_span(policy_, step.span));
      }
      plan_.steps.push_back(std::move(planned));
    }
    return true;
  }

  Approver block_approver(const std::byte* b, const BlockApprover& a) const {
    return Approver{a.kind, std::string(block_text(b, a.name)), {}, block_span(policy_, a.span)};
  }

  // make_step() for a block step; false where make_step() would find too
  // few approvers (escalation and triage are left to the Role path).
  bool make_block_step(const App& app, const BlockHeader& h, const std::byte* b, const BlockStep& step,
                       PlanStep& planned) {
    planned.quorum = step.quorum;
    planned.source = block_approver(b, step.approver);
    planned.span = block_span(policy_, step.span);
    if (step.phrased) {
      planned.who = block_text(b, step.who);
      planned.why = block_text(b, step.why);
    } else {
      planned.who = quorum_prefix(step.quorum) + describe(planned.source, &app);
      planned.why = why(planned.source, &app);
    }
    planned.remind_after = h.remind_after;
    if (h.has_escalate) {
      const Approver to = block_approver(b, h.escalate_to);
      planned.escalate_after = h.escalate_after;
      planned.escalate_who = h.escalate_who_known ? std::string(block_text(b, h.escalate_who)) : describe(to, &app);
      if (auto people = eligible(to, &app)) planned.escalate_to = std::move(*people);
    }
    auto eligible_people = eligible(planned.source, &app);
    if (!eligible_people) {
      planned.eligible_known = false;
      return true;
    }
    planned.eligible = std::move(*eligible_people);
    return static_cast<int>(planned.eligible.size()) >= step.quorum;
  }

  void reject(std::string why, const Span& span) {
    plan_.outcome = Outcome::rejected;
    plan_.denial = why;
    reason(std::move(why), span);
  }

  std::string describe(const Approver& approver, const App* app) const {
    return portcullis::interpreter::describe(policy_, approver, app, person_);
  }

  std::optional<std::vector<std::string>> eligible(const Approver& approver, const App* app) const {
    return eligible_for(policy_, approver, app, request_.requester, person_, facts_.directory);
  }

  Plan triage(const App* app) {
    const Bucket* unknown = policy_.unknown_bucket();
    const std::string what = app ? "app " + request_.app + " has no role " + request_.role
                                 : "app " + request_.app + " is not in the catalog";
    if (!unknown || unknown->settings.route.branches.empty()) {
      plan_.outcome = Outcome::rejected;
      plan_.denial = what + ", and the policy has no `unknown` bucket to triage it";
      reason(plan_.denial, {});
      return std::move(plan_);
    }
    plan_.outcome = Outcome::triage;
    plan_.bucket = unknown->name;
    reason(what + ": IT triage maps it to a catalog role or denies it", unknown->span);
    // The triagers are the first step of the unknown bucket's route.
    const Branch& branch = unknown->settings.route.branches.front();
    if (!branch.steps.empty()) {
      PlanStep step = make_step(branch.steps.front(), app, unknown->settings);
      step.why = "triages requests outside the catalog";
      plan_.steps.push_back(std::move(step));
    }
    return std::move(plan_);
  }

  bool check_required_fields(const Role& role) {
    const auto& s = role.settings;
    if (s.require_justification && request_.justification.empty()) {
      reject("a justification is required for " + role.qualified(), s.require_span);
      return false;
    }
    if (s.require_ticket && request_.ticket.empty()) {
      reject("a ticket reference is required for " + role.qualified(), s.require_span);
      return false;
    }
    return true;
  }

  // Fixes the granted duration: the requested one (capped by the maximum),
  // else the default, else permanent where allowed.
  bool fix_duration(const Role& role) {
    const DurationRule& rule = role.settings.duration;
    const bool permanent_ok = rule.permanent_allowed && !role.settings.expiry_required;
    const bool has_rule = rule.span.valid();
    const Span& rule_span = has_rule ? rule.span : role.settings.expiry_span;
    if (request_.permanent) {
      if (!(permanent_ok || (!has_rule && !role.settings.expiry_required))) {
        reject("permanent access to " + role.qualified() + " is not allowed: it must expire", rule_span);
        return false;
      }
      plan_.duration.reset();
      reason("permanent access", rule_span);
      return true;
    }
    if (request_.duration) {
      Seconds asked = *request_.duration;
      if (asked <= 0) {
        reject("a requested duration must be positive", rule_span);
        return false;
      }
      if (!rule.allowed.empty()) {
        if (std::find(rule.allowed.begin(), rule.allowed.end(), asked) == rule.allowed.end()) {
          std::string list;
          for (Seconds a : rule.allowed) list += (list.empty() ? "" : ", ") + format_seconds(a);
          reject(format_seconds(asked) + " is not an allowed duration for " + role.qualified() + " (allowed: " + list + ")",
                 rule.span);
          return false;
        }
        plan_.duration = asked;
        reason("granted for " + format_seconds(asked), rule.span);
        return true;
      }
      if (rule.maximum && asked > *rule.maximum) {
        plan_.duration = *rule.maximum;
        reason(format_seconds(asked) + " requested, capped at the maximum " + format_seconds(*rule.maximum), rule.span);
        return true;
      }
      plan_.duration = asked;
      reason("granted for " + format_seconds(asked), rule_span);
      return true;
    }
    if (rule.default_duration) {
      plan_.duration = rule.default_duration;
      reason(role.default_duration_reason.empty() ? "default duration " + format_seconds(*rule.default_duration)
                                                  : role.default_duration_reason,
             rule.span);
      return true;
    }
    if (permanent_ok || (!has_rule && !role.settings.expiry_required)) {
      plan_.duration.reset();
      reason("permanent unless revoked", rule_span);
      return true;
    }
    if (rule.maximum) {
      plan_.duration = rule.maximum;
      reason("no duration requested: granted for the maximum " + format_seconds(*rule.maximum), rule.span);
      return true;
    }
    reject("a duration is required for " + role.qualified() + ": access to it must expire", rule_span);
    return false;
  }

  bool check_conflicts(const App& app, const Role& role) {
    if (role.conflicts.empty() || facts_.current_grants.empty()) return true;
    for (const std::size_t index : role.conflicts) {
      const Conflict& conflict = policy_.conflicts()[index];
      for (const auto& held : facts_.current_grants) {
        if (held.first == app.name && held.second == role.name) continue;
        if (std::find(conflict.roles.begin(), conflict.roles.end(), held) == conflict.roles.end()) continue;
        const std::string text = "separation of duties (conflict \"" + conflict.name + "\"): the requester holds " +
                                 held.first + "." + held.second;
        if (conflict.deny) {
          plan_.outcome = Outcome::denied;
          plan_.denial = text;
          reason(text, conflict.span);
          return false;
        }
        reason(text + "; escalated", conflict.span);
        escalating_conflicts_.push_back(&conflict);
        break;
      }
    }
    return true;
  }

  void choose_route(const App& app, const Role& role) {
    const Route& route = role.settings.route;
    // Binding the attributes costs more than resolving an unconditional
    // route; build them only when a condition needs them.
    std::optional<RouteActivation> activation;
    for (const Branch& branch : route.branches) {
      if (branch.when) {
        if (!activation) activation.emplace(app, role, request_, plan_.duration ? &*plan_.duration : nullptr, person_, now_);
        if (!branch.when->program) {
          to_triage_or_deny("condition `" + branch.when->text + "` is not compiled", branch.when->span);
          return;
        }
        const cel::Value result = branch.when->program->evaluate(activation->with(branch.when->reads));
        if (result.is_error() || result.kind() != cel::Kind::bool_) {
          to_triage_or_deny("condition `" + branch.when->text + "` could not be evaluated: " +
                                (result.is_error() ? std::string(result.error_message()) : "not a bool"),
                            branch.when->span);
          return;
        }
        if (!result.as_bool()) {
          reason("condition is false: " + branch.when->text, branch.when->span);
          continue;
        }
        reason("condition holds: " + branch.when->text, branch.when->span);
      }
      take_branch(app, role, branch);
      return;
    }
    if (route.branches.empty()) {
      reject("no approval route applies to " + role.qualified(), role.span);
    }
  }

  void to_triage_or_deny(std::string why, const Span& span) {
    // A condition that cannot be decided must not grant anything by
    // accident: a person looks at it.
    reason(why, span);
    const Bucket* unknown = policy_.unknown_bucket();
    if (unknown && !unknown->settings.route.branches.empty() && !unknown->settings.route.branches[0].steps.empty()) {
      plan_.outcome = Outcome::triage;
      PlanStep step = make_step(unknown->settings.route.branches[0].steps[0], nullptr, unknown->settings);
      step.why = "triages requests the policy could not decide";
      plan_.steps.push_back(std::move(step));
    } else {
      plan_.outcome = Outcome::denied;
      plan_.denial = why;
    }
  }

  void take_branch(const App& app, const Role& role, const Branch& branch) {
    const Step& first = branch.steps.front();
    if (first.approver.kind == Kind::automatic) {
      plan_.outcome = Outcome::auto_approved;
      reason("approved automatically", first.span);
      return;
    }
    if (first.approver.kind == Kind::deny) {
      plan_.outcome = Outcome::denied;
      plan_.denial = first.approver.name.empty() ? "denied by policy" : first.approver.name;
      reason("denied: " + plan_.denial, first.span);
      return;
    }
    plan_.outcome = Outcome::approval;
    plan_.steps.reserve(branch.steps.size() + escalating_conflicts_.size());
    for (const Step& step : branch.steps) {
      PlanStep planned = make_step(step, &app, role.settings);
      // make_step may have replaced the phrased text (escalation, triage).
      reason(step.phrased && planned.who == step.who ? step.reason : "step: " + planned.who, step.span);
      plan_.steps.push_back(std::move(planned));
    }
  }

  // Resolves one step. When the requester is the only one who could
  // approve (or too few remain for the quorum), the step escalates per the
  // policy's `escalate:` target, else goes to IT triage: never to
  // self-approval.
  PlanStep make_step(const Step& step, const App* app, const EffectiveSettings& settings) {
    PlanStep planned;
    planned.quorum = step.quorum;
    planned.source = step.approver;
    planned.span = step.span;
    if (step.phrased) {
      planned.who = step.who;
      planned.why = step.why;
    } else {
      planned.who = quorum_prefix(step.quorum) + describe(step.approver, app);
      planned.why = why(step.approver, app);
    }
    planned.remind_after = settings.remind_after;
    // Whether the directory knows the escalation target; its people are in
    // planned.escalate_to.
    bool escalation_known = false;
    if (settings.escalate) {
      planned.escalate_after = settings.escalate->after;
      planned.escalate_who = settings.escalate->who ? *settings.escalate->who : describe(settings.escalate->to, app);
      if (auto to = eligible(settings.escalate->to, app)) {
        planned.escalate_to = std::move(*to);
        escalation_known = true;
      }
    }
    auto eligible_people = eligible(step.approver, app);
    if (!eligible_people) {
      planned.eligible_known = false;
      return planned;
    }
    planned.eligible = std::move(*eligible_people);
    if (static_cast<int>(planned.eligible.size()) >= step.quorum) return planned;

    // Not enough people other than the requester.
    const std::string shortfall = planned.eligible.empty()
                                      ? "nobody but the requester can approve this step"
                                      : "too few approvers besides the requester for a quorum of " +
                                            std::to_string(step.quorum);
    if (settings.escalate) {
      if (!escalation_known || static_cast<int>(planned.escalate_to.size()) >= step.quorum) {
        reason(shortfall + "; escalated to " + planned.escalate_who, settings.escalate->span);
        planned.eligible = escalation_known ? std::move(planned.escalate_to) : std::vector<std::string>{};
        planned.eligible_known = escalation_known;
        planned.who = quorum_prefix(step.quorum) + planned.escalate_who;
        planned.why = "escalation: " + shortfall;
        planned.escalate_to.clear();
        planned.escalate_after.reset();
        return planned;
      }
    }
    const Bucket* unknown = policy_.unknown_bucket();
    if (unknown && !unknown->settings.route.branches.empty() && !unknown->settings.route.branches[0].steps.empty()) {
      const Step& triage = unknown->settings.route.branches[0].steps[0];
      auto triagers = eligible(triage.approver, app);
      if (!triagers || !triagers->empty()) {
        reason(shortfall + "; sent to IT triage", triage.span);
        planned.quorum = 1;
        planned.eligible = triagers.value_or(std::vector<std::string>{});
        planned.eligible_known = triagers.has_value();
        planned.who = describe(triage.approver, app);
        planned.why = "IT triage: " + shortfall;
        planned.escalate_to.clear();
        planned.escalate_after.reset();
        return planned;
      }
    }
    reason(shortfall + "; no escalation or triage can take it", step.span);
    planned.eligible.clear();
    return planned;
  }

  const Policy& policy_;
  const AccessRequest& request_;
  const Facts& facts_;
  Time now_;
  const Person* person_;
  Plan plan_;
  std::vector<const Conflict*> escalating_conflicts_;
};

}  // namespace

std::string_view outcome_name(Outcome outcome) {
  switch (outcome) {
    case Outcome::approval: return "approval";
    case Outcome::auto_approved: return "auto_approved";
    case Outcome::denied: return "denied";
    case Outcome::rejected: return "rejected";
    case Outcome::triage: return "triage";
  }
  return "unknown";
}

std::optional<std::vector<std::string>> eligible_approvers(const Policy& policy, const Approver& approver,
                                                           const App* app, const std::string& requester,
                                                           const Directory* directory) {
  const Person* person = directory ? directory->find(requester) : nullptr;
  return eligible_for(policy, approver, app, requester, person, directory);
}

Plan resolve(const Policy& policy, const AccessRequest& request, const Facts& facts, Time now) {
  return Resolver(policy, request, facts, now).run();
}

Plan resolve_without_plan_blocks(const Policy& policy, const AccessRequest& request, const Facts& facts, Time now) {
  return Resolver(policy, request, facts, now, false).run();
}

std::optional<std::pair<std::size_t, std::size_t>> append_role_plan(const Policy& policy, const App& app,
                                                                    const Role& role, std::vector<std::byte>& arena) {
  auto block = build_role_plan(policy, app, role);
  if (!block) return std::nullopt;
  // Each block starts a cache line (relative to the buffer), so a small
  // one spans as few lines as its size allows.
  const std::size_t at = (arena.size() + 63) / 64 * 64;
  arena.resize(at);
  arena.insert(arena.end(), block->begin(), block->end());
  return std::pair{at, block->size()};
}

bool role_plan_names_match(const std::byte* plan, std::string_view app, std::string_view role) {
  const BlockHeader& h = block_header(plan);
  return block_text(plan, h.role) == role && block_text(plan, h.app) == app;
}

void prepare_plan_texts(const Policy& policy, App& app) {
  for (Role& role : app.roles) {
    EffectiveSettings& settings = role.settings;
    if (!settings.bucket.empty()) role.bucket_reason = "bucket " + settings.bucket;
    role.role_reason = role_reason(role);
    if (settings.duration.default_duration) {
      role.default_duration_reason = "default duration " + format_seconds(*settings.duration.default_duration);
    }
    for (Branch& branch : settings.route.branches) {
      for (Step& step : branch.steps) {
        if (depends_on_requester(policy, step.approver, &app)) continue;
        step.who = quorum_prefix(step.quorum) + describe(policy, step.approver, &app, nullptr);
        step.why = why(step.approver, &app);
        step.reason = "step: " + step.who;
        step.phrased = true;
      }
    }
    if (settings.escalate && !depends_on_requester(policy, settings.escalate->to, &app)) {
      settings.escalate->who = describe(policy, settings.escalate->to, &app, nullptr);
    }
  }
}

std::vector<std::string> request_administrators(const Policy& policy, const AccessRequest& request,
                                                const Directory* directory) {
  std::vector<std::string> administrators;
  if (const Bucket* unknown = policy.unknown_bucket()) {
    for (const auto& branch : unknown->settings.route.branches) {
      for (const auto& step : branch.steps) {
        if (auto people = eligible_approvers(policy, step.approver, nullptr, "", directory)) {
          administrators.insert(administrators.end(), people->begin(), people->end());
        }
      }
    }
  }
  if (const App* app = policy.find_app(request.app); app && app->owner) {
    if (auto owners = eligible_approvers(policy, *app->owner, app, request.requester, directory)) {
      administrators.insert(administrators.end(), owners->begin(), owners->end());
    }
  }
  return administrators;
}

}  // namespace portcullis::interpreter
