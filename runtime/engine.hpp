#pragma once
// The engine: runs access requests through the compiled policy, durably.
//
// Every command (submit, approve, deny, cancel, revoke, renew, confirm,
// triage, a timer firing, a provisioning result) follows one path:
//   read the request -> interpreter::step() -> one Store commit holding the
//   new state, the event, the effects as outbox rows, the timer changes and
//   the audit entry -> only then are the effects run.
// A version conflict (another command moved the request first) re-reads and
// re-steps. An event the state machine refuses is still committed: its
// refusal is evidence, never silently dropped.
//
// Two kinds of background threads, started by start():
// - the timer loop keeps only the next deadline in memory (from the store
//   at start, and from each commit that sets an earlier one) and fires the
//   timers that fall due; timers that fell due while the daemon was down
//   fire at once.
// - the effect executor (effect_executor.hpp) runs outbox rows through the
//   connectors and feeds the results back as events.
//
// Commands are blocking (a commit waits for its fsync) and thread-safe:
// call them from any thread. Nothing here knows about HTTP.

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "connectors/connector.hpp"
#include "interpreter/model.hpp"
#include "interpreter/request_state.hpp"
#include "interpreter/state_machine.hpp"
#include "runtime/clock.hpp"
#include "runtime/effect_executor.hpp"
#include "runtime/store.hpp"

namespace portcullis::runtime {

struct EngineConfig {
  std::shared_ptr<Store> store;
  connectors::ConnectorSet connectors;
  interpreter::PolicyPtr policy;
  std::shared_ptr<const Clock> clock;
  ExecutorOptions executor;
};

// What a command did to a request.
struct CommandResult {
  interpreter::RequestState state;          // after the command
  std::optional<std::string> refusal;       // set when the event was refused
  bool duplicate = false;                   // a submit whose Idempotency-Key was seen before
};

class Engine {
 public:
  // Checks the configuration (store, clock and policy present; every
  // provider the policy grants groups in has a connector) and builds the
  // engine without starting threads. Errors: invalid, naming what is missing.
  static Result<std::unique_ptr<Engine>> create(EngineConfig config);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Starts the timer loop and the effect executor.
  void start();
  // Graceful: stops claiming new work, lets effects in flight finish and
  // record their results, and joins every thread. Outbox rows not yet run
  // stay in the store, so a restart resumes them. Idempotent.
  void stop();

  // ---- commands ------------------------------------------------------------
  // Resolves and starts a request. `idempotency_key`: a repeated submit
  // with the same key returns the first request with duplicate = true.
  Result<CommandResult> submit(interpreter::AccessRequest request, std::optional<std::string> idempotency_key);
  // Applies one event from a person (approve, deny, cancel, revoke, renew,
  // confirm). not_found for an unknown id.
  Result<CommandResult> act(const std::string& id, const interpreter::Event& event);
  // Maps a request awaiting triage to a catalog role (resolving its plan
  // for the original requester). invalid when the role is not in the
  // catalog.
  Result<CommandResult> triage(const std::string& id, const std::string& by, const std::string& app,
                               const std::string& role);

  // ---- reads -----------------------------------------------------------------
  Result<interpreter::RequestState> get(const std::string& id);
  // Waits until the request's status is one of `statuses` or it closes, or
  // until `timeout`; returns the state at that moment.
  Result<interpreter::RequestState> wait_for(const std::string& id, const std::set<interpreter::Status>& statuses,
                                             std::chrono::milliseconds timeout);
  Store& store() { return *store_; }
  const connectors::ConnectorSet& connectors() const { return connectors_; }
  std::shared_ptr<const interpreter::Directory> directory() const;
  const Clock& clock() const { return *clock_; }

  // ---- policy ----------------------------------------------------------------
  interpreter::PolicyPtr policy() const;
  // Serves `policy` from the next command on. The caller has checked it.
  // invalid (and the old policy keeps serving) when it grants groups in a
  // provider with no connector.
  Status replace_policy(interpreter::PolicyPtr policy);

  // ---- background work, callable directly by tests -------------------------------
  // Fires every timer due now; returns how many fired.
  std::size_t fire_due_timers();
  ExecutorStats executor_stats() const;
  EffectExecutor& executor() { return *executor_; }

  // Records the result of one group change (what the executor calls).
  // Harmless when repeated after a crash: a result for a membership that is
  // no longer pending is not applied twice.
  // `finish`: the executor's outbox row that produced the result, marked
  // finished in the same commit as the result (or, when nothing needs to
  // be committed, queued on its own); nothing is marked when this fails.
  Result<CommandResult> record_provision_result(const std::string& id, const interpreter::ProvisionResultEvent& e,
                                                std::optional<OutboxFinish> finish = std::nullopt);
  // Records in the audit log that an effect other than a group change was
  // given up after the retry budget.
  Status record_dead_effect(const std::string& id, const interpreter::Effect& effect, const std::string& error);

 private:
  explicit Engine(EngineConfig config);

  interpreter::StepContext context_for(const interpreter::RequestState& state, const interpreter::Event* event,
                                       const interpreter::Policy& policy, const interpreter::Directory* directory);
  // Reads, steps and commits one event, retrying version conflicts.
  // `finish`: an outbox row to mark finished with the commit (see
  // record_provision_result).
  Result<CommandResult> apply(const std::string& id, const interpreter::Event& event, const std::string& actor,
                              std::optional<DueTimer> fired_timer = std::nullopt,
                              const std::optional<OutboxFinish>& finish = std::nullopt);
  // The (app, role) pairs `requester` holds now: what conflict checks see.
  Result<std::vector<std::pair<std::string, std::string>>> current_grants(const std::string& requester);
  Result<CommitResult> commit_transition(const interpreter::RequestState& before, interpreter::Transition& t,
                                         const interpreter::Event& event, const std::string& actor,
                                         const std::optional<DueTimer>& fired_timer,
                                         const std::optional<OutboxFinish>& finish);
  void after_commit(const interpreter::RequestState& state, const Commit& commit);
  void notify_watchers(const interpreter::RequestState& state);
  // The state cache (see state_cache_).
  std::optional<interpreter::RequestState> cached_state(const std::string& id);
  void remember_state(const interpreter::RequestState& state);
  void forget_state(const std::string& id);
  // What the executor reads to build tickets and cards: the cached state
  // when there is one, else the store's.
  Result<interpreter::RequestState> load_for_effects(const std::string& id);
  void timer_loop();
  std::string new_request_id();

  std::shared_ptr<Store> store_;
  connectors::ConnectorSet connectors_;
  std::shared_ptr<const Clock> clock_;

  mutable std::mutex policy_mutex_;
  interpreter::PolicyPtr policy_;

  // wait_for(): waiters per request id.
  struct Waiter {
    std::condition_variable cv;
    interpreter::Status status = interpreter::Status::submitted;
    bool changed = false;
  };
  std::mutex watch_mutex_;
  std::unordered_multimap<std::string, Waiter*> watchers_;

  // The timer loop's one deadline.
  std::mutex timer_mutex_;
  std::condition_variable timer_cv_;
  std::optional<interpreter::Time> next_deadline_;
  bool stopping_ = false;
  std::thread timer_thread_;

  // The last state this engine committed for each request still in
  // flight (not active, not closed), so the next event of a request does
  // not re-read and re-decode the state it just wrote. Never trusted
  // alone: a commit from it names the version it read, and a stale entry
  // (another writer moved the request) fails with a conflict and is
  // dropped. At most kStateCacheLimit entries.
  static constexpr std::size_t kStateCacheLimit = 4096;
  std::mutex cache_mutex_;
  std::unordered_map<std::string, interpreter::RequestState> state_cache_;

  std::unique_ptr<EffectExecutor> executor_;
  bool started_ = false;
};

}  // namespace portcullis::runtime
