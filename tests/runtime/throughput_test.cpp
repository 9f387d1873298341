// Commit throughput with and without group commit. Disabled by default (it
// measures the disk, not correctness); run it with
//   runtime_tests --gtest_also_run_disabled_tests --gtest_filter='*Throughput*'
// Method: 8 threads each commit kCommits/8 new requests one after another
// (each thread waits for its commit, as a request handler would), on a
// fresh database file under /tmp; the wall time covers all commits. Each
// commit is a full submit: request row, event, 2 outbox rows, 1 timer, 1
// audit entry.

#include <chrono>
#include <cstdio>
#include <thread>

#include <gtest/gtest.h>

#include "runtime/codec.hpp"
#include "runtime/sqlite_store.hpp"
#include "runtime_test_support.hpp"

namespace portcullis::runtime {
namespace {

namespace ip = portcullis::interpreter;
using namespace portcullis::runtime::testing;

Commit submit(const ip::RequestState& base, const std::string& id, int i) {
  Commit c;
  c.state = base;
  c.state.id = id;
  c.event = codec::Json{{"type", "submit"}};
  add_effects(c, {ip::PostCardEffect{0, {"dana@acme.com"}}, ip::EvidenceEffect{"submitted"},
                  ip::ScheduleTimerEffect{ip::TimerKind::remind, 0, 5000}});
  c.audit = {AuditInput{"submitted", "sam@acme.com", "asked", codec::Json{{"i", i}}}};
  c.now = 1000;
  return c;
}

// threads == 0: one thread queues every commit with commit_async, then
// waits for all (the most a batch can hold).
double commits_per_second(std::size_t max_batch, SqliteOptions::Synchronous sync, int threads, int commits) {
  TempDb tmp;
  SqliteOptions options;
  options.path = tmp.path();
  options.max_batch = max_batch;
  options.synchronous = sync;
  auto store = open_sqlite_store(options);
  EXPECT_TRUE(store.ok());
  if (!store.ok()) return 0;
  const ip::RequestState base = sample_state();
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> workers;
  std::atomic<int> failures{0};
  if (threads == 0) {
    std::vector<std::future<Result<CommitResult>>> futures;
    for (int i = 0; i < commits; ++i) futures.push_back((*store)->commit_async(submit(base, "a-" + std::to_string(i), i)));
    for (auto& f : futures)
      if (!f.get().ok()) ++failures;
  }
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      for (int i = 0; i < commits / threads; ++i) {
        if (!(*store)->commit(submit(base, "t" + std::to_string(t) + "-" + std::to_string(i), i)).ok()) ++failures;
      }
    });
  }
  for (auto& w : workers) w.join();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_TRUE((*store)->verify_audit()->ok);
  return commits / seconds;
}

TEST(StoreThroughput, DISABLED_GroupCommitAgainstOneTransactionPerCommit) {
  constexpr int kThreads = 8;
  constexpr int kCommits = 2000;
  for (auto sync : {SqliteOptions::Synchronous::full, SqliteOptions::Synchronous::normal}) {
    const char* name = sync == SqliteOptions::Synchronous::full ? "FULL" : "NORMAL";
    const double batched = commits_per_second(256, sync, kThreads, kCommits);
    const double single = commits_per_second(1, sync, kThreads, kCommits);
    const double pipelined = commits_per_second(256, sync, 0, kCommits);
    std::printf("synchronous=%s, %d threads, %d commits: batched (max 256/txn) %.0f commits/s; one txn per commit %.0f "
                "commits/s; x%.1f; all %d queued at once with commit_async: %.0f commits/s\n",
                name, kThreads, kCommits, batched, single, batched / single, kCommits, pipelined);
  }
}

}  // namespace
}  // namespace portcullis::runtime
