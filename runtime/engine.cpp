#include "runtime/engine.hpp"

#include <algorithm>
#include <random>

#include "interpreter/state_machine.hpp"
#include "runtime/codec.hpp"
#include "runtime/logging.hpp"

namespace portcullis::runtime {

namespace ip = interpreter;

namespace {

constexpr int kMaxConflictRetries = 16;

// Providers the policy grants groups in that have no connector.
std::vector<std::string> missing_providers(const ip::Policy& policy, const connectors::ConnectorSet& connectors) {
  std::set<std::string> missing;
  for (const auto& [name, app] : policy.apps()) {
    for (const auto& role : app.roles) {
      for (const auto& group : role.groups) {
        if (!connectors.providers.count(group.provider)) missing.insert(group.provider);
      }
    }
  }
  return {missing.begin(), missing.end()};
}

std::string join(const std::vector<std::string>& items, std::string_view separator) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += separator;
    out += item;
  }
  return out;
}

// The audit kind of a transition: what happened, in one word.
std::string audit_kind(const ip::Event& event, const ip::Transition& t) {
  if (t.refusal) return "refused";
  return std::visit(
      [&](const auto& e) -> std::string {
        using E = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<E, ip::ApproveEvent>) return "approved";
        else if constexpr (std::is_same_v<E, ip::DenyEvent>) return "denied";
        else if constexpr (std::is_same_v<E, ip::CancelEvent>) return "cancelled";
        else if constexpr (std::is_same_v<E, ip::RevokeEvent>) return "revoked";
        else if constexpr (std::is_same_v<E, ip::TimerEvent>) {
          switch (e.kind) {
            case ip::TimerKind::remind: return "reminded";
            case ip::TimerKind::escalate: return "escalated";
            case ip::TimerKind::expire: return "expired";
            case ip::TimerKind::expiry_warning: return "expiry_warned";
          }
          return "timer";
        } else if constexpr (std::is_same_v<E, ip::ProvisionResultEvent>) {
          if (e.add) return e.ok ? "provisioned" : "provisioning_failed";
          return e.ok ? "deprovisioned" : "deprovisioning_failed";
        } else if constexpr (std::is_same_v<E, ip::FulfilmentEvent>) return "fulfilled";
        else if constexpr (std::is_same_v<E, ip::RenewEvent>) return "renewal";
        else return "triaged";
      },
      event);
}

std::vector<std::string> evidence_lines(const std::vector<ip::Effect>& effects) {
  std::vector<std::string> lines;
  for (const auto& effect : effects) {
    if (const auto* e = std::get_if<ip::EvidenceEffect>(&effect)) lines.push_back(e->text);
  }
  return lines;
}

Json effects_summary(const std::vector<ip::Effect>& effects) {
  Json out = Json::array();
  for (const auto& effect : effects) out.push_back(codec::encode_effect(effect));
  return out;
}

// One ticket comment per transition instead of one per evidence line: the
// lines of a transition belong together and each comment is a remote call.
std::vector<ip::Effect> coalesce_evidence(const std::vector<ip::Effect>& effects) {
  std::vector<ip::Effect> out;
  out.reserve(effects.size());
  ip::EvidenceEffect* open = nullptr;
  for (const auto& effect : effects) {
    if (const auto* e = std::get_if<ip::EvidenceEffect>(&effect)) {
      if (open) {
        open->text += "\n" + e->text;
        continue;
      }
      out.push_back(*e);
      open = &std::get<ip::EvidenceEffect>(out.back());
      continue;
    }
    out.push_back(effect);
  }
  return out;
}

// The outbox rows of a transition: its effects with evidence coalesced,
// card updates dropped when there is no card to update (each is a remote
// call that would change nothing), and a ticket move when the request
// reached a state a tracker follows (the tracker maps it to its workflow,
// or ignores it).
// `before_plan`: the plan before the transition. Cards go only to the
// approvers of a plan step (or its escalation), so a request whose plan
// had no step before the transition and has none after never had a card.
std::vector<ip::Effect> outbox_effects(ip::Status before, const ip::Plan& before_plan, const ip::Transition& t) {
  std::vector<ip::Effect> out = coalesce_evidence(t.effects);
  if (before_plan.steps.empty() && t.state.plan.steps.empty()) {
    std::erase_if(out, [](const ip::Effect& e) { return std::holds_alternative<ip::UpdateCardEffect>(e); });
  }
  const auto approved = [](ip::Status s) {
    return s == ip::Status::approved || s == ip::Status::provisioning || s == ip::Status::awaiting_fulfilment;
  };
  const ip::Status after = t.state.status;
  // The machine passes through `approved` without resting there: what a
  // tracker sees is the request becoming approved, whatever comes next.
  if (approved(after) && !approved(before) && !t.refusal) {
    out.push_back(ip::TicketStatusEffect{std::string(ip::status_name(ip::Status::approved))});
    return out;
  }
  if (after != before && !t.refusal) {
    switch (after) {
      case ip::Status::denied:
      case ip::Status::active:
      case ip::Status::expired:
      case ip::Status::revoked:
      case ip::Status::cancelled:
      case ip::Status::failed:
        out.push_back(ip::TicketStatusEffect{std::string(ip::status_name(after))});
        break;
      default:
        break;
    }
  }
  return out;
}

// True when stepping `event` may read StepContext::held_elsewhere: only
// when memberships are taken back (revoke, cancel, deny, expiry, a failed
// addition, an addition that lands while the request is being closed).
// The common result, an addition that succeeded while provisioning, never
// does, and reading every grant of the requester for it costs a query
// that grows with the number of grants they hold.
bool needs_holdings(const ip::RequestState& state, const ip::Event& event) {
  if (const auto* result = std::get_if<ip::ProvisionResultEvent>(&event)) {
    return !(result->add && result->ok && state.status != ip::Status::deprovisioning);
  }
  return std::holds_alternative<ip::RevokeEvent>(event) || std::holds_alternative<ip::CancelEvent>(event) ||
         std::holds_alternative<ip::DenyEvent>(event) ||
         (std::holds_alternative<ip::TimerEvent>(event) &&
          std::get<ip::TimerEvent>(event).kind == ip::TimerKind::expire);
}

// True when the result of this group change was recorded already (the
// executor re-ran the row after a crash between recording and marking it).
bool already_recorded(const ip::RequestState& state, const ip::ProvisionResultEvent& e) {
  for (const auto& m : state.memberships) {
    if (!(m.group == e.group)) continue;
    return e.add ? m.state != ip::Membership::State::pending_add : m.state != ip::Membership::State::pending_remove;
  }
  return false;  // not a group of this request: let the state machine refuse it
}

}  // namespace

Result<std::unique_ptr<Engine>> Engine::create(EngineConfig config) {
  if (!config.store) return make_error(ErrorCode::invalid, "engine: no store");
  if (!config.clock) return make_error(ErrorCode::invalid, "engine: no clock");
  if (!config.policy) return make_error(ErrorCode::invalid, "engine: no policy");
  if (auto missing = missing_providers(*config.policy, config.connectors); !missing.empty()) {
    return make_error(ErrorCode::invalid, "the policy grants groups in provider(s) with no connector: " +
                                              join(missing, ", "));
  }
  return std::unique_ptr<Engine>(new Engine(std::move(config)));
}

Engine::Engine(EngineConfig config)
    : store_(std::move(config.store)), connectors_(std::move(config.connectors)), clock_(std::move(config.clock)),
      policy_(std::move(config.policy)) {
  EffectExecutor::Callbacks callbacks;
  callbacks.load_request = [this](const std::string& id) { return load_for_effects(id); };
  callbacks.provision_result = [this](const std::string& id, const ip::ProvisionResultEvent& e,
                                      const OutboxFinish& finish) -> Status {
    auto r = record_provision_result(id, e, finish);
    if (!r) return r.error();
    return {};
  };
  callbacks.gave_up = [this](const std::string& id, const ip::Effect& effect, const std::string& error) {
    return record_dead_effect(id, effect, error);
  };
  callbacks.directory = [this] { return directory(); };
  executor_ = std::make_unique<EffectExecutor>(config.executor, *store_, connectors_, *clock_, std::move(callbacks));
}

Engine::~Engine() { stop(); }

void Engine::start() {
  std::lock_guard lock(timer_mutex_);
  if (started_) return;
  started_ = true;
  stopping_ = false;
  executor_->start();
  timer_thread_ = std::thread([this] { timer_loop(); });
}

void Engine::stop() {
  {
    std::lock_guard lock(timer_mutex_);
    if (!started_) return;
    stopping_ = true;
  }
  timer_cv_.notify_all();
  if (timer_thread_.joinable()) timer_thread_.join();
  executor_->stop();
  std::lock_guard lock(timer_mutex_);
  started_ = false;
}

ip::PolicyPtr Engine::policy() const {
  std::lock_guard lock(policy_mutex_);
  return policy_;
}

Status Engine::replace_policy(ip::PolicyPtr policy) {
  if (!policy) return make_error(ErrorCode::invalid, "no policy");
  if (auto missing = missing_providers(*policy, connectors_); !missing.empty()) {
    return make_error(ErrorCode::invalid,
                      "the new policy grants groups in provider(s) with no connector: " + join(missing, ", "));
  }
  std::lock_guard lock(policy_mutex_);
  policy_ = std::move(policy);
  return {};
}

std::shared_ptr<const ip::Directory> Engine::directory() const {
  if (connectors_.directory) {
    if (auto snapshot = connectors_.directory->snapshot()) return snapshot;
  }
  static const auto empty = std::make_shared<const ip::Directory>();
  return empty;
}

ExecutorStats Engine::executor_stats() const { return executor_->stats(); }

std::string Engine::new_request_id() {
  // Time-ordered (milliseconds, so lists read oldest first) and random
  // enough that replicas sharing a database never collide.
  thread_local std::mt19937_64 random{std::random_device{}() ^ (static_cast<std::uint64_t>(std::random_device{}()) << 32)};
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  char buffer[40];
  std::snprintf(buffer, sizeof buffer, "req_%011llx%012llx", static_cast<unsigned long long>(ms),
                static_cast<unsigned long long>(random() & 0xFFFFFFFFFFFFull));
  return buffer;
}

ip::StepContext Engine::context_for(const ip::RequestState& state, const ip::Event* event, const ip::Policy& policy,
                                    const ip::Directory* directory) {
  ip::StepContext context;
  context.now = clock_->now();
  context.administrators = ip::request_administrators(policy, state.request, directory);
  if (event && needs_holdings(state, *event)) {
    if (auto holdings = store_->holdings_of(state.request.requester)) {
      for (const auto& grant : *holdings) {
        if (grant.request_id == state.id) continue;
        if (const ip::Role* role = policy.find_role(grant.app, grant.role)) {
          for (const auto& group : role->groups) context.held_elsewhere.insert(group.key());
        }
      }
    }
  }
  return context;
}

Result<std::vector<std::pair<std::string, std::string>>> Engine::current_grants(const std::string& requester) {
  auto holdings = store_->holdings_of(requester);
  if (!holdings) return holdings.error();
  std::vector<std::pair<std::string, std::string>> grants;
  for (const auto& grant : *holdings) {
    if (grant.status == ip::Status::active) grants.emplace_back(grant.app, grant.role);
  }
  return grants;
}

Result<CommandResult> Engine::submit(ip::AccessRequest request, std::optional<std::string> idempotency_key) {
  const auto policy = this->policy();
  const auto dir = directory();
  ip::Facts facts;
  facts.directory = dir.get();
  // Current grants matter only to separation-of-duties conflicts.
  if (const ip::Role* role = policy->find_role(request.app, request.role); role && !role->conflicts.empty()) {
    auto grants = current_grants(request.requester);
    if (!grants) return grants.error();
    facts.current_grants = std::move(*grants);
  }
  const Time now = clock_->now();
  ip::Plan plan = ip::resolve(*policy, request, facts, now);
  ip::StepContext context;
  context.now = now;
  context.administrators = ip::request_administrators(*policy, request, dir.get());

  const std::string id = new_request_id();
  ip::Transition t = ip::submit(id, request, std::move(plan), context);

  Commit commit;
  commit.expected_version = 0;
  commit.event = {{"type", "submit"}, {"request", codec::encode_request(request)}};
  add_effects(commit, outbox_effects(ip::Status::submitted, t.state.plan, t));
  AuditInput audit;
  audit.kind = "submitted";
  audit.actor = request.requester;
  // The state machine's evidence already says who asked for what and why.
  if (auto lines = evidence_lines(t.effects); !lines.empty()) {
    audit.text = join(lines, "; ");
  } else {
    audit.text = request.requester + " asked for " + request.app + "." + request.role;
  }
  audit.payload = {{"request", codec::encode_request(request)},
                   {"outcome", codec::outcome_key(t.state.plan.outcome)},
                   {"status", ip::status_name(t.state.status)},
                   {"version", t.state.version},
                   {"effects", effects_summary(t.effects)}};
  commit.audit.push_back(std::move(audit));
  commit.idempotency_key = std::move(idempotency_key);
  commit.now = now;
  commit.state = std::move(t.state);

  auto result = store_->commit(commit);
  if (!result) return result.error();
  if (result->duplicate) {
    auto existing = store_->get(result->request_id);
    if (!existing) return existing.error();
    return CommandResult{std::move(*existing), std::nullopt, true};
  }
  after_commit(commit.state, commit);
  log_event(LogLevel::info, "request submitted",
            {{"request_id", commit.state.id},
             {"requester", request.requester},
             {"access", request.app + "." + request.role},
             {"status", std::string(ip::status_name(commit.state.status))}});
  return CommandResult{std::move(commit.state), std::nullopt, false};
}

Result<CommandResult> Engine::act(const std::string& id, const ip::Event& event) {
  const std::string actor = std::visit(
      [](const auto& e) -> std::string {
        if constexpr (requires { e.by; }) return e.by;
        else return "system";
      },
      event);
  return apply(id, event, actor);
}

Result<CommandResult> Engine::triage(const std::string& id, const std::string& by, const std::string& app,
                                     const std::string& role) {
  const auto policy = this->policy();
  if (!policy->find_role(app, role)) {
    return make_error(ErrorCode::invalid, "triage: " + app + "." + role + " is not a role in the catalog");
  }
  auto current = store_->get(id);
  if (!current) return current.error();
  ip::TriageEvent event;
  event.by = by;
  event.mapped = current->request;
  event.mapped.app = app;
  event.mapped.role = role;
  const auto dir = directory();
  ip::Facts facts;
  facts.directory = dir.get();
  auto grants = current_grants(event.mapped.requester);
  if (!grants) return grants.error();
  facts.current_grants = std::move(*grants);
  event.plan = ip::resolve(*policy, event.mapped, facts, clock_->now());
  return apply(id, event, by);
}

Result<CommandResult> Engine::record_provision_result(const std::string& id, const ip::ProvisionResultEvent& e,
                                                      std::optional<OutboxFinish> finish) {
  return apply(id, e, e.group.provider, std::nullopt, finish);
}

Status Engine::record_dead_effect(const std::string& id, const ip::Effect& effect, const std::string& error) {
  for (int attempt = 0; attempt < kMaxConflictRetries; ++attempt) {
    auto current = store_->get(id);
    if (!current) return current.error();
    Commit commit;
    commit.state = *current;
    commit.expected_version = current->version;
    commit.event = {{"type", "effect_failed"}, {"effect", codec::encode_effect(effect)}, {"error", error}};
    commit.audit.push_back(AuditInput{"effect_failed", "system",
                                      "gave up on " + ip::describe_effect(effect) + ": " + error,
                                      {{"effect", codec::encode_effect(effect)}, {"error", error}}});
    commit.now = clock_->now();
    auto result = store_->commit(std::move(commit));
    if (result) return {};
    if (result.error().code != ErrorCode::conflict) return result.error();
  }
  return make_error(ErrorCode::conflict, "request " + id + " kept changing; the failure was not recorded");
}

Result<CommandResult> Engine::apply(const std::string& id, const ip::Event& event, const std::string& actor,
                                    std::optional<DueTimer> fired_timer, const std::optional<OutboxFinish>& finish) {
  // Nothing to commit: the outbox row is marked on its own.
  auto finish_alone = [&] {
    if (finish) (void)store_->finish_outbox_async(finish->id, finish->owner, finish->outcome, clock_->now());
  };
  bool try_cache = true;
  for (int attempt = 0; attempt < kMaxConflictRetries; ++attempt) {
    // The cached state is only trusted where the store checks it: a commit
    // names its version. Any path that returns without committing reads
    // the store first.
    std::optional<ip::RequestState> cached = try_cache ? cached_state(id) : std::nullopt;
    try_cache = false;
    const bool from_cache = cached.has_value();
    Result<ip::RequestState> current = from_cache ? Result<ip::RequestState>(std::move(*cached)) : store_->get(id);
    if (!current) return current.error();
    if (const auto* result = std::get_if<ip::ProvisionResultEvent>(&event);
        result && already_recorded(*current, *result)) {
      if (from_cache) continue;
      finish_alone();
      return CommandResult{std::move(*current), std::nullopt, false};
    }
    const auto policy = this->policy();
    const auto dir = directory();
    const ip::StepContext context = context_for(*current, &event, *policy, dir.get());
    ip::Transition t = ip::step(*current, event, context);
    if (t.ignored && !fired_timer) {
      if (from_cache) continue;
      finish_alone();
      return CommandResult{std::move(*current), std::nullopt, false};
    }
    if (t.refusal || t.ignored) {
      // The state does not move, but the refusal's evidence is an effect:
      // bump the version so its outbox key is new.
      t.state = *current;
      if (!t.effects.empty()) {
        t.state.version = current->version + 1;
        t.state.updated_at = context.now;
      }
    }
    auto committed = commit_transition(*current, t, event, actor, fired_timer, finish);
    if (!committed) {
      forget_state(id);
      if (committed.error().code == ErrorCode::conflict) continue;
      return committed.error();
    }
    return CommandResult{std::move(t.state), t.refusal, false};
  }
  return make_error(ErrorCode::conflict, "request " + id + " kept changing under concurrent commands; try again");
}

Result<CommitResult> Engine::commit_transition(const ip::RequestState& before, ip::Transition& t,
                                               const ip::Event& event, const std::string& actor,
                                               const std::optional<DueTimer>& fired_timer,
                                               const std::optional<OutboxFinish>& finish) {
  Commit commit;
  if (finish) commit.finish_outbox.push_back(*finish);
  commit.expected_version = before.version;
  commit.event = codec::encode_event(event);
  if (fired_timer) {
    commit.timers.push_back(TimerChange{fired_timer->kind, fired_timer->step, std::nullopt, fired_timer->due});
  }
  add_effects(commit, outbox_effects(before.status, before.plan, t));
  if (!t.ignored) {
    AuditInput audit;
    audit.kind = audit_kind(event, t);
    audit.actor = actor;
    auto lines = evidence_lines(t.effects);
    audit.text = lines.empty() ? ip::describe_event(event) : join(lines, "; ");
    if (t.refusal) audit.text = ip::describe_event(event) + " refused: " + *t.refusal;
    audit.payload = {{"event", commit.event},
                     {"from", ip::status_name(before.status)},
                     {"to", ip::status_name(t.state.status)},
                     {"version", t.state.version},
                     {"effects", effects_summary(t.effects)}};
    if (t.refusal) audit.payload["refusal"] = *t.refusal;
    commit.audit.push_back(std::move(audit));
  }
  commit.now = clock_->now();
  commit.state = t.state;
  auto result = store_->commit(commit);
  if (result) {
    after_commit(t.state, commit);
    if (!commit.audit.empty()) {
      log_event(t.refusal ? LogLevel::warn : LogLevel::info, "request " + commit.audit.front().kind,
                {{"request_id", t.state.id},
                 {"actor", actor},
                 {"from", std::string(ip::status_name(before.status))},
                 {"to", std::string(ip::status_name(t.state.status))},
                 {"refusal", t.refusal.value_or("")}});
    }
  }
  return result;
}

void Engine::after_commit(const ip::RequestState& state, const Commit& commit) {
  remember_state(state);
  notify_watchers(state);
  if (!commit.effects.empty()) executor_->wake();
  std::optional<Time> earliest;
  for (const auto& timer : commit.timers) {
    if (timer.due && (!earliest || *timer.due < *earliest)) earliest = timer.due;
  }
  if (earliest) {
    std::lock_guard lock(timer_mutex_);
    if (!next_deadline_ || *earliest < *next_deadline_) {
      next_deadline_ = earliest;
      timer_cv_.notify_all();
    }
  }
}

std::optional<ip::RequestState> Engine::cached_state(const std::string& id) {
  std::lock_guard lock(cache_mutex_);
  auto it = state_cache_.find(id);
  if (it == state_cache_.end()) return std::nullopt;
  return it->second;
}

void Engine::remember_state(const ip::RequestState& state) {
  // Requests that wait for nothing the engine does (active grants, closed
  // requests) are dropped: their next event may be days away.
  const bool settled = state.status == ip::Status::active || ip::is_closed(state.status);
  std::lock_guard lock(cache_mutex_);
  if (settled) {
    state_cache_.erase(state.id);
    return;
  }
  auto it = state_cache_.find(state.id);
  if (it != state_cache_.end()) {
    // Two commits of one request may report in either order: keep the newer.
    if (it->second.version < state.version) it->second = state;
    return;
  }
  // Bounded: a miss only costs a read.
  if (state_cache_.size() >= kStateCacheLimit) state_cache_.clear();
  state_cache_.emplace(state.id, state);
}

void Engine::forget_state(const std::string& id) {
  std::lock_guard lock(cache_mutex_);
  state_cache_.erase(id);
}

Result<ip::RequestState> Engine::load_for_effects(const std::string& id) {
  if (auto cached = cached_state(id)) return std::move(*cached);
  return store_->get(id);
}

void Engine::notify_watchers(const ip::RequestState& state) {
  std::lock_guard lock(watch_mutex_);
  auto [begin, end] = watchers_.equal_range(state.id);
  for (auto it = begin; it != end; ++it) {
    it->second->status = state.status;
    it->second->changed = true;
    it->second->cv.notify_all();
  }
}

Result<ip::RequestState> Engine::get(const std::string& id) { return store_->get(id); }

Result<ip::RequestState> Engine::wait_for(const std::string& id, const std::set<ip::Status>& statuses,
                                          std::chrono::milliseconds timeout) {
  auto done = [&](ip::Status status) { return statuses.count(status) > 0 || ip::is_closed(status); };
  Waiter waiter;
  std::unique_lock lock(watch_mutex_);
  // Registered before reading, so a change between the read and the wait
  // is not missed.
  auto registration = watchers_.emplace(id, &waiter);
  lock.unlock();
  auto current = store_->get(id);
  lock.lock();
  if (!current || done(current->status)) {
    watchers_.erase(registration);
    return current;
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  bool reached = false;
  while (!reached) {
    if (!waiter.cv.wait_until(lock, deadline, [&] { return waiter.changed; })) break;
    waiter.changed = false;
    reached = done(waiter.status);
  }
  watchers_.erase(registration);
  lock.unlock();
  return store_->get(id);
}

std::size_t Engine::fire_due_timers() {
  std::size_t fired = 0;
  for (;;) {
    auto due = store_->due_timers(clock_->now(), 256);
    if (!due || due->empty()) return fired;
    std::size_t progressed = 0;
    for (const auto& timer : *due) {
      auto result = apply(timer.request_id, ip::TimerEvent{timer.kind, timer.step}, "system", timer);
      if (result) ++progressed;
    }
    fired += progressed;
    // Nothing could be recorded (the store is failing): let the loop back
    // off instead of spinning on the same rows.
    if (progressed == 0 || due->size() < 256) return fired;
  }
}

void Engine::timer_loop() {
  auto refresh = [this] {
    auto next = store_->next_timer();
    std::lock_guard lock(timer_mutex_);
    next_deadline_ = next ? *next : std::optional<Time>{};
  };
  refresh();
  std::unique_lock lock(timer_mutex_);
  while (!stopping_) {
    const Time now = clock_->now();
    if (next_deadline_ && *next_deadline_ <= now) {
      lock.unlock();
      const std::size_t fired = fire_due_timers();
      refresh();
      lock.lock();
      // A timer that could not be recorded stays due: wait a little before
      // trying again rather than spinning.
      if (fired == 0 && next_deadline_ && *next_deadline_ <= clock_->now()) {
        timer_cv_.wait_for(lock, std::chrono::seconds(1), [&] { return stopping_; });
      }
      continue;
    }
    // Sleep until the deadline by the wall clock, but look again at least
    // every 250 ms: the clock may be moved by hand (tests) or jump.
    auto wake = std::chrono::steady_clock::now() + std::chrono::milliseconds(250);
    if (next_deadline_) {
      const auto wall_deadline = std::chrono::system_clock::time_point(std::chrono::seconds(*next_deadline_));
      const auto until = wall_deadline - std::chrono::system_clock::now();
      if (until < std::chrono::milliseconds(250)) {
        wake = std::chrono::steady_clock::now() + std::max(std::chrono::duration_cast<std::chrono::milliseconds>(until),
                                                           std::chrono::milliseconds(1));
      }
    }
    const auto before = next_deadline_;
    timer_cv_.wait_until(lock, wake, [&] { return stopping_ || next_deadline_ != before; });
  }
}

}  // namespace portcullis::runtime
