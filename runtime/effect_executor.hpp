#pragma once
// Runs the effects a commit put in the outbox, through the connectors.
//
// - A claimer thread leases batches of due outbox rows from the store and
//   hands each to a worker chosen by its request id, so one request's
//   effects run one after another in the order they were emitted (the
//   ticket's evidence reads in order; an add never overtakes the removal
//   emitted after it).
// - Each call passes the row's idempotency key to the connector, so running
//   a row again after a crash (its lease ran out before it was marked done)
//   changes nothing remotely.
// - A transient failure is retried with exponential backoff and full
//   jitter, never sooner than the system's Retry-After; a permanent failure
//   or the end of the retry budget gives up. A group change that gives up
//   is reported to the request as a failed provisioning result (the state
//   machine then fails the request, takes back partial access and tells
//   IT); any other effect that gives up is recorded in the audit log.
// - Results of group changes are fed back as events through
//   `Callbacks::provision_result`, which marks the row in the same commit
//   as the result: a crash before that commit re-runs the (idempotent)
//   change, and a repeated result is recognised and not applied twice.

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "connectors/connector.hpp"
#include "runtime/clock.hpp"
#include "runtime/store.hpp"

namespace portcullis::runtime {

struct ExecutorOptions {
  // Lease owner recorded on claimed rows; unique per running executor (one
  // daemon per database today; replicas will need one name each).
  std::string owner = "executor";
  std::size_t workers = 16;  // connector calls wait on remote systems
  std::size_t batch = 256;
  Time lease_seconds = 120;  // a crashed executor's rows come back after this
  int max_attempts = 8;      // the first attempt included
  std::chrono::milliseconds backoff_base{1000};
  std::chrono::milliseconds backoff_cap{300'000};
  std::chrono::milliseconds idle_poll{200};  // how often to look for rows due for retry
  std::uint64_t jitter_seed = 0;             // 0: seeded from std::random_device
};

// Seconds until the next attempt after `attempts` failed ones: a uniform
// draw from [cap/2, cap] with cap = min(backoff_cap, base * 2^(attempts-1)),
// at least `retry_after` when the system sent one, and at least one second
// (outbox times are whole seconds). `unit` is a uniform draw from [0, 1).
Time backoff_seconds(const ExecutorOptions& options, int attempts, std::optional<std::int64_t> retry_after,
                     double unit);

// Effect kinds as metric labels: post_card, update_card, evidence,
// add_membership, remove_membership, notify, ticket_status.
inline constexpr std::array<std::string_view, 7> kEffectKinds{
    "post_card", "update_card", "evidence", "add_membership", "remove_membership", "notify", "ticket_status"};
// Upper bounds (seconds) of the effect latency histogram buckets.
inline constexpr std::array<double, 12> kLatencyBuckets{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                         0.1,   0.25,   0.5,   1.0,  2.5,   10.0};

struct ExecutorStats {
  struct PerKind {
    std::uint64_t succeeded = 0;
    std::uint64_t retried = 0;  // transient failures that will be tried again
    std::uint64_t gave_up = 0;
    std::array<std::uint64_t, kLatencyBuckets.size() + 1> latency_buckets{};  // last: +Inf
    double latency_sum_seconds = 0;
  };
  std::array<PerKind, kEffectKinds.size()> kinds{};
  std::uint64_t claimed = 0;
  std::uint64_t in_flight = 0;
};

class EffectExecutor {
 public:
  struct Callbacks {
    std::function<Result<interpreter::RequestState>(const std::string& id)> load_request;
    // Records the result and marks `finish` (the row) in the same commit;
    // ok means both landed (or the result was recorded before and the row
    // is marked on its own).
    std::function<Status(const std::string& id, const interpreter::ProvisionResultEvent& result,
                         const OutboxFinish& finish)>
        provision_result;
    std::function<Status(const std::string& id, const interpreter::Effect& effect, const std::string& error)> gave_up;
    std::function<std::shared_ptr<const interpreter::Directory>()> directory;
  };

  EffectExecutor(ExecutorOptions options, Store& store, const connectors::ConnectorSet& connectors, const Clock& clock,
                 Callbacks callbacks);
  ~EffectExecutor();
  EffectExecutor(const EffectExecutor&) = delete;
  EffectExecutor& operator=(const EffectExecutor&) = delete;

  void start();
  // Stops claiming; rows already handed to workers run to the end. Joins.
  void stop();
  // New rows were committed: look now instead of at the next poll.
  void wake();
  // Claims one batch and runs it on the calling thread, in order. For tests
  // and the simulator; do not mix with start(). Returns the rows run.
  std::size_t run_once();

  ExecutorStats stats() const;

 private:
  void claim_loop();
  void worker_loop(std::size_t index);
  void run_row(const OutboxRow& row);
  connectors::Outcome perform(const OutboxRow& row);
  std::string ticket_key_for(const std::string& request_id, connectors::Outcome& outcome);
  void record_latency(std::size_t kind, double seconds);

  ExecutorOptions options_;
  Store& store_;
  const connectors::ConnectorSet& connectors_;
  const Clock& clock_;
  Callbacks callbacks_;

  std::mutex mutex_;
  std::condition_variable claim_cv_;
  bool woken_ = false;
  bool stopping_ = false;
  std::set<std::int64_t> held_;  // rows claimed and not finished: never claimed twice by this executor
  struct Worker {
    std::mutex mutex;
    std::condition_variable cv;
    std::deque<OutboxRow> queue;
    bool stopping = false;  // set under `mutex`: drain the queue, then end
    std::thread thread;
  };
  std::vector<std::unique_ptr<Worker>> workers_;
  std::thread claimer_;
  bool started_ = false;

  std::mutex ticket_mutex_;
  std::unordered_map<std::string, std::string> ticket_keys_;

  mutable std::mutex stats_mutex_;
  ExecutorStats stats_;
  std::mutex random_mutex_;
  std::uint64_t random_state_ = 0;
};

}  // namespace portcullis::runtime
