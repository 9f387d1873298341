#include "interpreter/model.hpp"

#include <algorithm>

#include "dsl/cel/parser.hpp"
#include "dsl/checker.hpp"
#include "dsl/condition_env.hpp"
#include "interpreter/route.hpp"

namespace portcullis::interpreter {
namespace {

// Marks the route variables `expr` names. Over-approximates (a
// comprehension variable that shadows one still marks it), which only
// binds a variable that is not needed.
void mark_reads(const dsl::cel::Expr& expr, std::uint32_t& reads) {
  if (expr.kind == dsl::cel::ExprKind::ident) {
    std::string_view name = expr.name;
    if (name.starts_with('.')) name.remove_prefix(1);
    name = name.substr(0, name.find('.'));
    if (name == "requester") reads |= reads_requester;
    else if (name == "request") reads |= reads_request;
    else if (name == "app") reads |= reads_app;
    else if (name == "role") reads |= reads_role;
    else if (name == "now") reads |= reads_now;
  }
  if (expr.target) mark_reads(*expr.target, reads);
  for (const auto& arg : expr.args) {
    if (arg) mark_reads(*arg, reads);
  }
  for (const auto& entry : expr.entries) {
    if (entry.key) mark_reads(*entry.key, reads);
    if (entry.value) mark_reads(*entry.value, reads);
  }
  for (const auto& field : expr.fields) {
    if (field.value) mark_reads(*field.value, reads);
  }
}

std::uint64_t role_hash(std::string_view app, std::string_view role) {
  const std::hash<std::string_view> h;
  return h(app) * 0x9E3779B97F4A7C15ull ^ h(role);
}

std::uint32_t variables_read(std::string_view text) {
  const dsl::cel::ParseResult parsed = dsl::cel::parse(text);
  if (!parsed.ok()) return reads_all;
  std::uint32_t reads = 0;
  mark_reads(*parsed.expr, reads);
  return reads;
}

}  // namespace

const Role* App::find_role(const std::string& role) const {
  for (const auto& r : roles) {
    if (r.name == role) return &r;
  }
  return nullptr;
}

const App* Policy::find_app(const std::string& app) const {
  auto it = app_index_.find(app);
  return it == app_index_.end() ? nullptr : it->second;
}

const Role* Policy::find_role(const std::string& app, const std::string& role) const {
  return find_app_role(app, role).second;
}

std::pair<const App*, const Role*> Policy::find_app_role(std::string_view app, std::string_view role) const {
  const RoleEntry entry = find_role_entry(app, role);
  return {entry.app, entry.role};
}

Policy::RoleEntry Policy::find_role_entry(std::string_view app, std::string_view role) const {
  if (role_index_.empty()) return {};
  const std::uint64_t hash = role_hash(app, role);
  const std::size_t mask = role_index_.size() - 1;
  for (std::size_t i = hash & mask;; i = (i + 1) & mask) {
    const RoleSlot& slot = role_index_[i];
    if (!slot.role) return {};
    if (slot.hash != hash) continue;
    if (slot.plan) {
      // Start loading the whole block now; the names to compare are in it,
      // so the Role itself is not read at all on the common path.
      for (std::uint32_t b = 0; b < slot.plan_bytes; b += 64) __builtin_prefetch(slot.plan + b);
      if (role_plan_names_match(slot.plan, app, role)) return {slot.app, slot.role, slot.plan};
    } else if (slot.role->name == role && slot.role->app == app) {
      return {slot.app, slot.role, nullptr};
    }
  }
}

const Pool* Policy::find_pool(const std::string& name) const {
  auto it = pools_.find(name);
  return it == pools_.end() ? nullptr : &it->second;
}

const Bucket* Policy::unknown_bucket() const {
  auto it = buckets_.find("unknown");
  return it == buckets_.end() ? nullptr : &it->second;
}

class PolicyCompiler {
 public:
  explicit PolicyCompiler(dsl::Diagnostics& diagnostics) : diagnostics_(diagnostics) {}

  PolicyPtr compile(const dsl::Program& program) {
    auto policy = std::make_shared<Policy>();
    for (const auto& file : program.files) {
      policy->sources_.push_back(file.source);
      for (const auto* pool : file.all<dsl::ast::Pool>()) {
        policy->pools_[pool->name.name] = Pool{pool->name.name, pool->source, pool->span};
      }
      for (const auto* bucket : file.all<dsl::ast::Bucket>()) buckets_ast_[bucket->name.name] = bucket;
    }
    for (const auto& [name, bucket] : buckets_ast_) {
      policy->buckets_[name] = Bucket{name, effective(nullptr, nullptr, bucket), bucket->span};
    }
    for (const auto& file : program.files) {
      for (const auto* app : file.all<dsl::ast::App>()) policy->apps_[app->name.name] = compile_app(*app);
      for (const auto* conflict : file.all<dsl::ast::Conflict>()) policy->conflicts_.push_back(compile_conflict(*conflict));
      for (const auto* review : file.all<dsl::ast::Review>()) policy->reviews_.push_back(compile_review(*review));
      for (const auto* test : file.all<dsl::ast::Test>()) policy->tests_.push_back(*test);
    }
    std::size_t roles = 0;
    for (auto& [name, app] : policy->apps_) {
      policy->app_index_.emplace(name, &app);
      prepare_plan_texts(*policy, app);
      roles += app.roles.size();
    }
    std::size_t slots = 16;
    while (slots < 2 * roles) slots *= 2;
    policy->role_index_.assign(slots, {});
    for (const auto& [name, app] : policy->apps_) {
      for (const Role& role : app.roles) {
        const std::uint64_t hash = role_hash(app.name, role.name);
        std::size_t i = hash & (slots - 1);
        while (policy->role_index_[i].role) i = (i + 1) & (slots - 1);
        policy->role_index_[i] = {hash, &app, &role};
      }
    }
    for (std::size_t i = 0; i < policy->conflicts_.size(); ++i) {
      for (const auto& [app, role] : policy->conflicts_[i].roles) {
        auto it = policy->apps_.find(app);
        if (it == policy->apps_.end()) continue;
        for (auto& r : it->second.roles) {
          if (r.name == role && (r.conflicts.empty() || r.conflicts.back() != i)) r.conflicts.push_back(i);
        }
      }
    }
    // The plan blocks, in index order, once every role is final (its
    // conflicts included); the slots point into the buffer once it has
    // stopped growing.
    std::vector<std::pair<std::size_t, std::size_t>> block_of_slot(slots, {0, 0});
    for (std::size_t i = 0; i < slots; ++i) {
      Policy::RoleSlot& slot = policy->role_index_[i];
      if (!slot.role) continue;
      if (auto block = append_role_plan(*policy, *slot.app, *slot.role, policy->role_plans_)) {
        block_of_slot[i] = *block;
      }
    }
    policy->role_plans_.shrink_to_fit();  // no growth slack kept for the policy's life
    for (std::size_t i = 0; i < slots; ++i) {
      if (block_of_slot[i].second == 0) continue;
      policy->role_index_[i].plan = policy->role_plans_.data() + block_of_slot[i].first;
      policy->role_index_[i].plan_bytes = static_cast<std::uint32_t>(block_of_slot[i].second);
    }
    return policy;
  }

 private:
  App compile_app(const dsl::ast::App& app) {
    App result;
    result.name = app.name.name;
    result.title = app.title ? app.title->value : app.name.name;
    result.owner = app.owner;
    result.span = app.span;
    const dsl::ast::Bucket* app_bucket = find_bucket(app.settings.bucket);
    for (const auto& role : app.roles) {
      Role r;
      r.app = app.name.name;
      r.name = role.name.name;
      r.span = role.span;
      if (role.manual) r.manual = role.manual->value;
      if (role.settings.description) r.description = role.settings.description->value;
      for (const auto& grant : role.grants) {
        r.groups.push_back(GroupRef{grant.provider.text(), grant.provider.first.name, grant.group.value, grant.span});
      }
      const dsl::ast::Bucket* bucket = role.settings.bucket ? find_bucket(role.settings.bucket) : app_bucket;
      r.settings = effective(&role.settings, &app.settings, bucket);
      result.roles.push_back(std::move(r));
    }
    return result;
  }

  const dsl::ast::Bucket* find_bucket(const std::optional<dsl::ast::Identifier>& name) const {
    if (!name) return nullptr;
    auto it = buckets_ast_.find(name->name);
    return it == buckets_ast_.end() ? nullptr : it->second;
  }

  // Role > app > bucket for every setting; either of the first two may be
  // null (a bucket's own settings).
  EffectiveSettings effective(const dsl::ast::Settings* role, const dsl::ast::Settings* app,
                              const dsl::ast::Bucket* bucket) {
    const dsl::ast::Settings* layers[] = {role, app, bucket ? &bucket->settings : nullptr};
    auto pick = [&](auto member) -> decltype(&*(role->*member)) {
      for (const auto* layer : layers) {
        if (layer && (layer->*member)) return &*(layer->*member);
      }
      return nullptr;
    };
    EffectiveSettings s;
    if (bucket) {
      s.bucket = bucket->name.name;
      s.bucket_span = bucket->name.span;
      for (const auto* layer : {role, app}) {
        if (layer && layer->bucket) {
          s.bucket_span = layer->bucket->span;
          break;
        }
      }
    }
    if (const auto* route = pick(&dsl::ast::Settings::approve)) s.route = compile_route(*route);
    if (const auto* duration = pick(&dsl::ast::Settings::duration)) s.duration = compile_duration(*duration);
    if (const auto* expiry = pick(&dsl::ast::Settings::expiry)) {
      s.expiry_required = expiry->required;
      s.expiry_span = expiry->span;
    }
    if (const auto* renew = pick(&dsl::ast::Settings::renew)) {
      s.max_renewals = static_cast<int>(renew->max_times.value);
      s.renew_span = renew->span;
    }
    if (const auto* remind = pick(&dsl::ast::Settings::remind)) {
      s.remind_after = remind->seconds;
      s.remind_span = remind->span;
    }
    if (const auto* escalate = pick(&dsl::ast::Settings::escalate)) {
      s.escalate = Escalation{escalate->after.seconds, escalate->to, escalate->span};
    }
    if (const auto* require = pick(&dsl::ast::Settings::require)) {
      s.require_span = require->span;
      for (const auto& field : require->fields) {
        if (field.name == "justification") s.require_justification = true;
        if (field.name == "ticket") s.require_ticket = true;
      }
    }
    return s;
  }

  DurationRule compile_duration(const dsl::ast::DurationSpec& spec) {
    DurationRule rule;
    rule.span = spec.span;
    for (const auto& d : spec.allowed) rule.allowed.push_back(d.seconds);
    std::sort(rule.allowed.begin(), rule.allowed.end());
    if (spec.maximum) rule.maximum = spec.maximum->seconds;
    if (spec.default_duration) rule.default_duration = spec.default_duration->seconds;
    rule.permanent_allowed = spec.permanent.has_value() || spec.allowed_permanent.has_value();
    return rule;
  }

  Route compile_route(const dsl::ast::Route& route) {
    Route result;
    result.span = route.span;
    for (const auto& branch : route.branches) {
      Branch b;
      b.span = branch.span;
      for (const auto& step : branch.steps) {
        b.steps.push_back(Step{step.quorum ? static_cast<int>(step.quorum->value) : 1, step.approver, step.span});
      }
      if (branch.when) b.when = compile_condition(*branch.when, dsl::condition_envs().route);
      result.branches.push_back(std::move(b));
    }
    return result;
  }

  Condition compile_condition(const dsl::ast::Condition& condition, const std::shared_ptr<const dsl::cel::Env>& env) {
    Condition result{condition.text, condition.span, nullptr};
    // Roles inheriting a bucket's route share its condition text: one
    // program for all of them is compiled once and, at run time, stays in
    // the cache across requests for different roles. Failures are not
    // shared, so each condition still reports its own diagnostics.
    auto shared = programs_.find(std::make_pair(env.get(), condition.text));
    if (shared != programs_.end()) {
      result.program = shared->second.first;
      result.reads = shared->second.second;
      return result;
    }
    auto compiled = cel::compile(condition.text, env);
    if (!compiled.ok()) {
      for (const auto& issue : compiled.issues) {
        const auto begin = condition.span.begin + issue.span.begin;
        diagnostics_.error(dsl::Code::invalid_condition,
                           Span::make(condition.span.file, begin, condition.span.begin + issue.span.end),
                           issue.message);
      }
      return result;
    }
    result.program = compiled.program;
    result.reads = variables_read(condition.text);
    programs_.emplace(std::make_pair(env.get(), condition.text), std::make_pair(result.program, result.reads));
    return result;
  }

  Conflict compile_conflict(const dsl::ast::Conflict& conflict) {
    Conflict result;
    result.name = conflict.name.value;
    result.span = conflict.span;
    for (const auto& role : conflict.roles) result.roles.emplace_back(role.first.name, role.second.name);
    result.deny = !conflict.action || conflict.action->name == "deny";
    result.escalate_to = conflict.escalate_to;
    return result;
  }

  Review compile_review(const dsl::ast::Review& review) {
    Review result;
    result.name = review.name.name;
    result.span = review.span;
    for (const auto& scope : review.scope) {
      result.scope.push_back(ReviewScope{scope.kind, scope.name.name, scope.role ? scope.role->second.name : ""});
    }
    if (review.every) result.every = review.every->seconds;
    if (review.due) result.due = review.due->seconds;
    result.reviewer = review.reviewer;
    result.revoke_undecided = review.undecided && review.undecided->name == "revoke";
    for (const auto& rec : review.recommendations) {
      result.recommendations.push_back(
          Recommendation{rec.action.name == "revoke", compile_condition(rec.when, dsl::condition_envs().review)});
    }
    return result;
  }

  dsl::Diagnostics& diagnostics_;
  std::map<std::string, const dsl::ast::Bucket*> buckets_ast_;
  // Compiled programs by (environment, condition text).
  std::map<std::pair<const dsl::cel::Env*, std::string>, std::pair<std::shared_ptr<const cel::Program>, std::uint32_t>>
      programs_;
};

CompiledPolicy compile_policy(const dsl::Program& program) {
  CompiledPolicy result;
  dsl::check_program(program, result.diagnostics);
  if (result.diagnostics.has_errors()) return result;
  PolicyPtr policy = PolicyCompiler(result.diagnostics).compile(program);
  if (!result.diagnostics.has_errors()) result.policy = std::move(policy);
  return result;
}

CompiledPolicy load_policy(const std::string& path, const dsl::FileReader& reader) {
  dsl::LoadResult loaded = dsl::load_program(path, reader);
  CompiledPolicy result;
  result.diagnostics = std::move(loaded.diagnostics);
  if (!loaded.root_readable) {
    result.diagnostics.error(dsl::Code::import_not_found, Span{}, "cannot read policy file `" + path + "`");
    return result;
  }
  if (result.diagnostics.has_errors()) return result;
  CompiledPolicy compiled = compile_policy(loaded.program);
  result.diagnostics.append(compiled.diagnostics);
  result.policy = std::move(compiled.policy);
  return result;
}

}  // namespace portcullis::interpreter
