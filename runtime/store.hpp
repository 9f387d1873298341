#pragma once
// The durable store behind the runtime: requests, the events that moved
// them, the effects they emitted (the outbox), timers and the audit chain.
//
// Store is an interface. SqliteStore (sqlite_store.hpp) is the embedded
// default; a PostgreSQL store for several daemon replicas sharing one
// database implements the same contract later. Nothing here names a SQL
// dialect.
//
// Contract
// - Every call returns a value; errors come back as Result errors (see
//   result.hpp for the codes), never as exceptions.
// - A Commit is atomic and durable when its result arrives: the request's
//   new state, its event, its outbox rows, its timer changes and its audit
//   entries are stored together or not at all. The runtime runs no effect
//   before the commit that emitted it has returned ok.
// - Optimistic concurrency: a Commit names the version it read
//   (`expected_version`, 0 for a new request). If the stored version
//   differs the commit fails with ErrorCode::conflict and stores nothing;
//   the caller re-reads, re-steps and retries.
// - Commits from many threads may be grouped into one transaction by the
//   implementation; each caller still gets its own result, and one failing
//   commit never undoes another.
// - Outbox rows carry the idempotency key "<request id>/<version>/<index>"
//   (index: position in Commit::effects). Executors pass it to the remote
//   system so that re-running an effect after a crash is harmless.
// - The audit chain (audit.hpp) is extended inside the same transaction as
//   the state change it describes; sequence numbers have no gaps.
//
// Threads: every method may be called from any thread concurrently.
// Destroying the store finishes the commits already queued and fulfils
// their futures first; futures stay valid after the store is gone.

#include <cstdint>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "interpreter/request_state.hpp"
#include "runtime/audit.hpp"
#include "runtime/result.hpp"

namespace portcullis::runtime {

using Json = nlohmann::json;
using Time = interpreter::Time;

// Set or cancel one timer of one request. A request has at most one timer
// of each kind: setting replaces it.
struct TimerChange {
  interpreter::TimerKind kind = interpreter::TimerKind::expire;
  std::size_t step = 0;      // the approval step it was set for
  std::optional<Time> due;   // nullopt: cancel
  // With a cancel: remove the timer only if it is still the one that fell
  // due at this time for `step`. A timer that fired is cancelled this way,
  // so a timer replaced by a concurrent transition since is kept.
  std::optional<Time> only_if_due;
};

struct AuditInput {
  std::string kind;    // "submitted", "approved", "refused", ...
  std::string actor;   // who caused it
  std::string text;    // one human line
  Json payload = Json::object();
};

// What happened when an executor ran one outbox row.
struct OutboxOutcome {
  enum class Kind { done, retry, dead };
  Kind kind = Kind::done;
  std::string error;          // for retry and dead
  Time next_attempt_at = 0;   // for retry
};

// One claimed outbox row to mark finished inside a Commit (see
// Commit::finish_outbox).
struct OutboxFinish {
  std::int64_t id = 0;
  std::string owner;  // the lease owner that claimed it
  OutboxOutcome outcome;
};

struct Commit {
  // The request's state after the transition. state.id names the request.
  interpreter::RequestState state;
  // The version the caller read; 0 creates the request (it must not exist).
  // state.version must be greater than expected_version when `effects` is
  // not empty (a refused event keeps the version: bump it before recording
  // the refusal's evidence), and at least expected_version otherwise.
  std::uint64_t expected_version = 0;
  // What caused the transition, as stored in the events table (the
  // runtime uses codec::encode_event, or {"type":"submit",...}).
  Json event = Json::object();
  // Effects for the executor, stored as outbox rows in this order.
  // Timer effects do not belong here: see add_effects().
  std::vector<interpreter::Effect> effects;
  std::vector<TimerChange> timers;
  std::vector<AuditInput> audit;
  // Only with expected_version == 0: if a request was already created with
  // this key, nothing is stored and the result names that request.
  std::optional<std::string> idempotency_key;
  Time now = 0;  // recorded as the commit time (events, audit, outbox)
  // Outbox rows this transition finishes (the executor's row whose result
  // the event records), marked as finish_outbox() would, in the same
  // transaction: the result and the row's completion land together or not
  // at all. A row that is no longer pending or no longer leased to `owner`
  // is left as it is (whoever holds it now records it); that never fails
  // the commit.
  std::vector<OutboxFinish> finish_outbox;
};

// Splits a transition's effects: timer schedules/cancellations become
// TimerChanges, everything else goes to the outbox, in order.
void add_effects(Commit& commit, const std::vector<interpreter::Effect>& effects);

struct CommitResult {
  std::string request_id;   // for a duplicate submit: the existing request
  std::uint64_t version = 0;
  bool duplicate = false;   // the idempotency key was seen before; nothing stored
  std::int64_t last_audit_seq = 0;  // 0 when no audit entry was written
};

struct RequestFilter {
  std::optional<interpreter::Status> status;
  std::optional<std::string> requester;
  std::optional<std::string> app;
  std::size_t limit = 100;  // at most 1000
  std::optional<std::string> after;  // cursor: the last id of the previous page
};

struct RequestPage {
  std::vector<interpreter::RequestState> requests;  // ordered by id
  std::optional<std::string> next;  // pass as `after` for the next page; nullopt at the end
};

struct Grant {
  std::string request_id;
  interpreter::Status status = interpreter::Status::active;
  std::string requester;
  std::string app;
  std::string role;
  std::optional<Time> expires_at;  // nullopt: permanent
};

struct GrantFilter {
  std::optional<std::string> requester;
  std::size_t limit = 100;  // at most 1000
  // Cursor: the `next` of the previous page.
  std::optional<std::string> after;
};

struct GrantPage {
  std::vector<Grant> grants;
  std::optional<std::string> next;  // nullopt at the end
};

struct OutboxRow {
  std::int64_t id = 0;
  std::string idempotency_key;  // "<request id>/<version>/<index>"
  std::string request_id;
  std::uint64_t version = 0;
  std::size_t index = 0;
  interpreter::Effect effect;
  int attempts = 0;             // failed attempts so far
  std::string last_error;
  Time lease_until = 0;
};

struct DueTimer {
  std::string request_id;
  interpreter::TimerKind kind = interpreter::TimerKind::expire;
  std::size_t step = 0;
  Time due = 0;
};

// What the daemon's /metrics and start-up report need, in one read.
struct StoreStats {
  std::vector<std::pair<interpreter::Status, std::int64_t>> requests_by_status;  // only non-zero counts
  std::int64_t outbox_pending = 0;  // not yet done or dead
  std::int64_t outbox_dead = 0;     // gave up after the retry budget
  std::optional<Time> next_expiry;  // the earliest expiry timer
  std::optional<Time> next_timer;   // the earliest timer of any kind
};

struct AuditHead {
  std::int64_t seq = 0;  // 0: empty chain
  std::string hash = std::string(audit::kGenesisHash);
};

struct AuditVerification {
  bool ok = true;
  std::int64_t checked = 0;         // entries verified before the first problem
  std::int64_t first_bad_seq = 0;   // when !ok
  std::string why;                  // when !ok
  AuditHead head;                   // the verified head (when ok)
};

class Store {
 public:
  virtual ~Store() = default;

  // ---- writes (atomic, durable when the result is ready) ----------------
  virtual std::future<Result<CommitResult>> commit_async(Commit commit) = 0;
  Result<CommitResult> commit(Commit c) { return commit_async(std::move(c)).get(); }

  // Leases up to `limit` pending rows whose next attempt is due and whose
  // lease (if any) has expired, for `lease_seconds`, to `owner`. A crashed
  // executor's rows come back once its lease runs out. Ordered by id.
  virtual Result<std::vector<OutboxRow>> claim_outbox(const std::string& owner, Time now, Time lease_seconds,
                                                      std::size_t limit) = 0;
  // Frees the leases `owner` holds, so its rows can be claimed at once.
  // An executor calls it when it starts: the rows its previous run leased
  // and never finished (it crashed) would otherwise wait out their lease.
  // Owner names must therefore be unique per running executor. Returns how
  // many rows were freed.
  virtual Result<std::int64_t> release_outbox_leases(const std::string& owner) = 0;
  // Records the outcome of one claimed row. Fails with `conflict` if `owner`
  // no longer holds the lease (it expired and someone else claimed it).
  // retry: attempts+1, released until next_attempt_at. dead: attempts+1,
  // never claimed again. done: never claimed again.
  virtual Status finish_outbox(std::int64_t id, const std::string& owner, const OutboxOutcome& outcome, Time now) = 0;
  // The same, queued: the caller need not wait for the commit. An executor
  // that does not wait accepts that a crash before the commit lands re-runs
  // the (idempotent) effect once its lease expires.
  virtual std::future<Status> finish_outbox_async(std::int64_t id, const std::string& owner,
                                                  const OutboxOutcome& outcome, Time now) = 0;

  // ---- reads (see the last committed data) -------------------------------
  // not_found when there is no such request.
  virtual Result<interpreter::RequestState> get(const std::string& id) = 0;
  virtual Result<RequestPage> list(const RequestFilter& filter) = 0;
  // Requests in status active, ordered by expiry (permanent ones last),
  // then id, a page at a time.
  virtual Result<GrantPage> active_grants(const GrantFilter& filter) = 0;
  // Every active grant at once: for tests and small stores only.
  Result<std::vector<Grant>> active_grants() {
    std::vector<Grant> all;
    GrantFilter filter;
    filter.limit = 1000;
    for (;;) {
      auto page = active_grants(filter);
      if (!page) return page.error();
      all.insert(all.end(), page->grants.begin(), page->grants.end());
      if (!page->next) return all;
      filter.after = page->next;
    }
  }
  // One person's requests that hold or are acquiring access (status active,
  // provisioning or awaiting_fulfilment), without decoding their state:
  // what conflict checks and overlapping-grant removal need.
  virtual Result<std::vector<Grant>> holdings_of(const std::string& requester) = 0;
  // Pending outbox rows (claimed or not), for inspection.
  virtual Result<std::vector<OutboxRow>> pending_outbox(std::size_t limit) = 0;
  // Timers due at or before `now`, earliest first.
  virtual Result<std::vector<DueTimer>> due_timers(Time now, std::size_t limit) = 0;
  // The earliest timer, nullopt when none: the one deadline the daemon keeps
  // in memory, rebuilt from here at start.
  virtual Result<std::optional<Time>> next_timer() = 0;
  virtual Result<StoreStats> stats() = 0;
  // The remote connectors' small durable records (connectors::ConnectorState).
  virtual Result<std::optional<std::string>> connector_state_get(const std::string& scope, const std::string& key) = 0;
  // Writes one record durably. replace=false inserts only when absent.
  // True when a row was written.
  virtual Result<bool> connector_state_write(const std::string& scope, const std::string& key,
                                             const std::string& value, bool replace, Time now) = 0;
  // The events of one request as committed, oldest first.
  virtual Result<std::vector<Json>> events_of(const std::string& request_id) = 0;
  virtual Result<std::vector<audit::Entry>> audit_of(const std::string& request_id) = 0;
  virtual Result<AuditHead> audit_head() = 0;
  // Recomputes the whole chain in seq order. If `expected_head` (a head
  // kept elsewhere) is given, the chain must contain it at its seq and the
  // stored chain must not be shorter (truncation).
  virtual Result<AuditVerification> verify_audit(const std::optional<AuditHead>& expected_head = std::nullopt) = 0;
};

}  // namespace portcullis::runtime
