#include "runtime/effect_executor.hpp"

#include <algorithm>
#include <cmath>
#include <random>

#include "interpreter/approval_card.hpp"

namespace portcullis::runtime {

namespace ip = interpreter;
using connectors::Outcome;

Time backoff_seconds(const ExecutorOptions& options, int attempts, std::optional<std::int64_t> retry_after,
                     double unit) {
  const double base = static_cast<double>(options.backoff_base.count()) / 1000.0;
  const double cap_limit = static_cast<double>(options.backoff_cap.count()) / 1000.0;
  const int exponent = std::clamp(attempts - 1, 0, 40);
  const double cap = std::min(cap_limit, base * std::ldexp(1.0, exponent));
  const double delay = cap / 2 + unit * (cap / 2);
  Time seconds = static_cast<Time>(std::ceil(delay));
  if (retry_after) seconds = std::max<Time>(seconds, *retry_after);
  return std::max<Time>(seconds, 1);
}

namespace {

std::size_t effect_kind_index(const ip::Effect& effect) {
  return std::visit(
      [](const auto& e) -> std::size_t {
        using E = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<E, ip::PostCardEffect>) return 0;
        else if constexpr (std::is_same_v<E, ip::UpdateCardEffect>) return 1;
        else if constexpr (std::is_same_v<E, ip::EvidenceEffect>) return 2;
        else if constexpr (std::is_same_v<E, ip::AddMembershipEffect>) return 3;
        else if constexpr (std::is_same_v<E, ip::RemoveMembershipEffect>) return 4;
        else if constexpr (std::is_same_v<E, ip::TicketStatusEffect>) return 6;
        else return 5;
      },
      effect);
}

std::string card_text(const ip::RequestState& state, const ip::PostCardEffect& post, const ip::Directory* directory) {
  std::string text = ip::render_card_text(ip::make_card(state.request, state.plan, directory));
  text += "\nrequest: " + state.id;
  if (post.step < state.plan.steps.size()) {
    text += "\ndecide now: step " + std::to_string(post.step + 1) + " of " + std::to_string(state.plan.steps.size());
  }
  return text;
}

}  // namespace

EffectExecutor::EffectExecutor(ExecutorOptions options, Store& store, const connectors::ConnectorSet& connectors,
                               const Clock& clock, Callbacks callbacks)
    : options_(std::move(options)), store_(store), connectors_(connectors), clock_(clock),
      callbacks_(std::move(callbacks)) {
  random_state_ = options_.jitter_seed != 0 ? options_.jitter_seed : (static_cast<std::uint64_t>(std::random_device{}()) << 32) ^ std::random_device{}();
  if (options_.workers == 0) options_.workers = 1;
}

EffectExecutor::~EffectExecutor() { stop(); }

void EffectExecutor::start() {
  std::lock_guard lock(mutex_);
  if (started_) return;
  started_ = true;
  stopping_ = false;
  // Rows this executor's previous run leased and never finished.
  (void)store_.release_outbox_leases(options_.owner);
  for (std::size_t i = 0; i < options_.workers; ++i) {
    workers_.push_back(std::make_unique<Worker>());
  }
  for (std::size_t i = 0; i < workers_.size(); ++i) {
    workers_[i]->thread = std::thread([this, i] { worker_loop(i); });
  }
  claimer_ = std::thread([this] { claim_loop(); });
}

void EffectExecutor::stop() {
  {
    std::lock_guard lock(mutex_);
    if (!started_) return;
    stopping_ = true;
  }
  claim_cv_.notify_all();
  if (claimer_.joinable()) claimer_.join();
  for (auto& worker : workers_) {
    {
      std::lock_guard lock(worker->mutex);
      worker->stopping = true;
    }
    worker->cv.notify_all();
  }
  for (auto& worker : workers_) {
    if (worker->thread.joinable()) worker->thread.join();
  }
  std::lock_guard lock(mutex_);
  workers_.clear();
  started_ = false;
}

void EffectExecutor::wake() {
  {
    std::lock_guard lock(mutex_);
    woken_ = true;
  }
  claim_cv_.notify_one();
}

std::size_t EffectExecutor::run_once() {
  auto rows = store_.claim_outbox(options_.owner, clock_.now(), options_.lease_seconds, options_.batch);
  if (!rows) return 0;
  for (const auto& row : *rows) run_row(row);
  return rows->size();
}

ExecutorStats EffectExecutor::stats() const {
  std::lock_guard lock(stats_mutex_);
  return stats_;
}

void EffectExecutor::claim_loop() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    auto rows = store_.claim_outbox(options_.owner, clock_.now(), options_.lease_seconds, options_.batch);
    std::vector<std::vector<OutboxRow>> handed(workers_.size());
    std::size_t count = 0;
    lock.lock();
    if (rows) {
      for (auto& row : *rows) {
        // A row this executor still holds came back because its lease ran
        // out while it waited in a queue: it is already on its way.
        if (!held_.insert(row.id).second) continue;
        ++count;
        handed[std::hash<std::string>{}(row.request_id) % workers_.size()].push_back(std::move(row));
      }
    }
    // Hand over without holding mutex_: a worker takes its own queue's lock
    // and then (to record a finished row) mutex_, never the other way round.
    lock.unlock();
    for (std::size_t i = 0; i < handed.size(); ++i) {
      if (handed[i].empty()) continue;
      Worker& worker = *workers_[i];
      {
        std::lock_guard worker_lock(worker.mutex);
        for (auto& row : handed[i]) worker.queue.push_back(std::move(row));
      }
      worker.cv.notify_one();
    }
    {
      std::lock_guard stats_lock(stats_mutex_);
      stats_.claimed += count;
    }
    lock.lock();
    // A full batch means more may be waiting: claim again at once.
    if (rows && rows->size() == options_.batch) continue;
    if (!woken_) claim_cv_.wait_for(lock, options_.idle_poll, [&] { return stopping_ || woken_; });
    woken_ = false;
  }
}

void EffectExecutor::worker_loop(std::size_t index) {
  Worker& worker = *workers_[index];
  for (;;) {
    OutboxRow row;
    {
      std::unique_lock lock(worker.mutex);
      worker.cv.wait(lock, [&] { return !worker.queue.empty() || worker.stopping; });
      if (worker.queue.empty()) return;
      row = std::move(worker.queue.front());
      worker.queue.pop_front();
    }
    run_row(row);
    std::lock_guard lock(mutex_);
    held_.erase(row.id);
  }
}

void EffectExecutor::record_latency(std::size_t kind, double seconds) {
  std::lock_guard lock(stats_mutex_);
  auto& k = stats_.kinds[kind];
  std::size_t bucket = 0;
  while (bucket < kLatencyBuckets.size() && seconds > kLatencyBuckets[bucket]) ++bucket;
  ++k.latency_buckets[bucket];
  k.latency_sum_seconds += seconds;
}

void EffectExecutor::run_row(const OutboxRow& row) {
  {
    std::lock_guard lock(stats_mutex_);
    ++stats_.in_flight;
  }
  const std::size_t kind = effect_kind_index(row.effect);
  const auto started = std::chrono::steady_clock::now();
  Outcome outcome = perform(row);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  record_latency(kind, seconds);

  const int attempts = row.attempts + 1;
  const bool give_up = !outcome.ok() && (outcome.kind == Outcome::Kind::permanent || attempts >= options_.max_attempts);
  const bool membership = kind == 3 || kind == 4;

  OutboxOutcome finish;
  if (outcome.ok()) {
    finish.kind = OutboxOutcome::Kind::done;
  } else if (!give_up) {
    double unit = 0;
    {
      std::lock_guard lock(random_mutex_);
      // splitmix64: a cheap, well-distributed draw for the jitter.
      std::uint64_t z = (random_state_ += 0x9E3779B97F4A7C15ull);
      z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
      z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
      z ^= z >> 31;
      unit = static_cast<double>(z >> 11) / static_cast<double>(1ull << 53);
    }
    finish.kind = OutboxOutcome::Kind::retry;
    finish.error = outcome.message;
    finish.next_attempt_at = clock_.now() + backoff_seconds(options_, attempts, outcome.retry_after, unit);
  } else {
    finish.kind = OutboxOutcome::Kind::dead;
    finish.error = outcome.message;
  }

  // Counted before the result is fed back, so whoever sees the request
  // move also sees the effect counted.
  {
    std::lock_guard lock(stats_mutex_);
    auto& k = stats_.kinds[kind];
    if (outcome.ok()) ++k.succeeded;
    else if (give_up) ++k.gave_up;
    else ++k.retried;
  }

  // Feed the result back before (a group change: together with) marking
  // the row: see the header.
  bool recorded = true;
  bool finished = false;  // marked together with the result
  if (membership && (outcome.ok() || give_up)) {
    ip::ProvisionResultEvent result;
    result.add = kind == 3;
    result.group = result.add ? std::get<ip::AddMembershipEffect>(row.effect).group
                              : std::get<ip::RemoveMembershipEffect>(row.effect).group;
    result.ok = outcome.ok();
    if (!outcome.ok()) {
      result.detail = outcome.message + (outcome.kind == Outcome::Kind::permanent
                                             ? ""
                                             : " (gave up after " + std::to_string(attempts) + " attempts)");
    }
    // The row is marked in the commit that records the result.
    recorded = callbacks_.provision_result(row.request_id, result, OutboxFinish{row.id, options_.owner, finish}).ok();
    finished = true;
  } else if (give_up) {
    recorded = callbacks_.gave_up(row.request_id, row.effect,
                                  outcome.message + " (after " + std::to_string(attempts) + " attempts)")
                   .ok();
  }
  if (recorded && !finished) {
    // Not waited for: the next row need not sit out this commit's fsync.
    // If the daemon dies before it lands, the row runs again after its
    // lease, harmlessly (idempotency key; a repeated group result is
    // recognised). A conflict means the lease ran out and the row was
    // claimed again; that run records the result.
    (void)store_.finish_outbox_async(row.id, options_.owner, finish, clock_.now());
  }
  std::lock_guard lock(stats_mutex_);
  --stats_.in_flight;
}

std::string EffectExecutor::ticket_key_for(const std::string& request_id, Outcome& outcome) {
  {
    std::lock_guard lock(ticket_mutex_);
    if (auto it = ticket_keys_.find(request_id); it != ticket_keys_.end()) return it->second;
  }
  auto state = callbacks_.load_request(request_id);
  if (!state) {
    outcome = Outcome::transient_failure("cannot read request " + request_id + ": " + state.error().message);
    return {};
  }
  connectors::TicketSpec spec;
  spec.request_id = request_id;
  spec.requester = state->request.requester;
  spec.summary = "Access request: " + state->request.requester + " -> " + state->request.app + " " + state->request.role;
  spec.existing_key = state->request.ticket;
  auto directory = callbacks_.directory ? callbacks_.directory() : nullptr;
  spec.description = ip::render_card_text(ip::make_card(state->request, state->plan, directory.get())) +
                     "\nrequest: " + request_id;
  std::string key;
  outcome = connectors_.tracker->ticket_for(spec, key);
  if (!outcome.ok()) return {};
  std::lock_guard lock(ticket_mutex_);
  // Bounded: the cache only saves a lookup, the tracker is the source.
  if (ticket_keys_.size() > 100'000) ticket_keys_.clear();
  ticket_keys_.emplace(request_id, key);
  return key;
}

Outcome EffectExecutor::perform(const OutboxRow& row) {
  const std::string& key = row.idempotency_key;
  return std::visit(
      [&](const auto& e) -> Outcome {
        using E = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<E, ip::AddMembershipEffect> || std::is_same_v<E, ip::RemoveMembershipEffect>) {
          auto it = connectors_.providers.find(e.group.provider);
          if (it == connectors_.providers.end() || !it->second) {
            return Outcome::permanent_failure("no connector for provider " + e.group.provider);
          }
          if constexpr (std::is_same_v<E, ip::AddMembershipEffect>) {
            return it->second->add_member(e.group.group, e.user, key);
          } else {
            return it->second->remove_member(e.group.group, e.user, key);
          }
        } else if constexpr (std::is_same_v<E, ip::EvidenceEffect>) {
          if (!connectors_.tracker) return Outcome::success();
          Outcome outcome;
          const std::string ticket = ticket_key_for(row.request_id, outcome);
          if (!outcome.ok()) return outcome;
          return connectors_.tracker->comment(ticket, e.text, key);
        } else if constexpr (std::is_same_v<E, ip::PostCardEffect>) {
          if (!connectors_.chat) return Outcome::success();
          auto state = callbacks_.load_request(row.request_id);
          if (!state) return Outcome::transient_failure("cannot read request " + row.request_id);
          auto directory = callbacks_.directory ? callbacks_.directory() : nullptr;
          connectors::CardPost card{row.request_id, e.step, e.approvers, card_text(*state, e, directory.get())};
          return connectors_.chat->post_card(card, key);
        } else if constexpr (std::is_same_v<E, ip::UpdateCardEffect>) {
          if (!connectors_.chat) return Outcome::success();
          return connectors_.chat->update_card(row.request_id, e.text, key);
        } else if constexpr (std::is_same_v<E, ip::TicketStatusEffect>) {
          if (!connectors_.tracker) return Outcome::success();
          Outcome outcome;
          const std::string ticket = ticket_key_for(row.request_id, outcome);
          if (!outcome.ok()) return outcome;
          return connectors_.tracker->transition(ticket, e.state, key);
        } else if constexpr (std::is_same_v<E, ip::NotifyEffect>) {
          if (!connectors_.notifier || e.to.empty()) return Outcome::success();
          return connectors_.notifier->notify(e.to, e.message, key);
        } else {
          // Timer effects never reach the outbox (see add_effects).
          return Outcome::permanent_failure("not an outbox effect: " + ip::describe_effect(e));
        }
      },
      row.effect);
}

}  // namespace portcullis::runtime
