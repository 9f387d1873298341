#include "runtime/sqlite_store.hpp"

#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "runtime/codec.hpp"
#include "runtime_test_support.hpp"

namespace portcullis::runtime {
namespace {

namespace ip = portcullis::interpreter;
using namespace portcullis::runtime::testing;

std::unique_ptr<Store> open_store(const std::string& path, std::size_t max_batch = 256) {
  SqliteOptions options;
  options.path = path;
  options.max_batch = max_batch;
  auto store = open_sqlite_store(options);
  EXPECT_TRUE(store.ok()) << (store.ok() ? "" : store.error().message);
  return store.ok() ? std::move(*store) : nullptr;
}

Commit create(const std::string& id, Time now, std::optional<std::string> key = std::nullopt,
              const std::string& requester = "sam@acme.com") {
  Commit c;
  c.state = sample_state(id);
  c.state.request.requester = requester;
  c.state.version = 1;
  c.state.created_at = now;
  c.state.updated_at = now;
  c.expected_version = 0;
  c.event = codec::Json{{"type", "submit"}, {"request", codec::encode_request(c.state.request)}};
  add_effects(c, {ip::PostCardEffect{0, {"dana@acme.com"}}, ip::ScheduleTimerEffect{ip::TimerKind::remind, 0, now + 100},
                  ip::EvidenceEffect{"submitted"}});
  c.audit = {AuditInput{"submitted", requester, "asked for figma editor", codec::Json{{"id", id}, {"n", 1}}}};
  c.idempotency_key = std::move(key);
  c.now = now;
  return c;
}

Commit approve(ip::RequestState state, Time now, const std::string& by = "dana@acme.com") {
  Commit c;
  c.expected_version = state.version;
  state.version += 1;
  state.status = ip::Status::active;
  state.active_at = now;
  state.expires_at = now + 3600;
  state.updated_at = now;
  c.state = std::move(state);
  c.event = codec::encode_event(ip::ApproveEvent{by});
  add_effects(c, {ip::AddMembershipEffect{sample_group(), c.state.request.requester},
                  ip::CancelTimerEffect{ip::TimerKind::remind},
                  ip::ScheduleTimerEffect{ip::TimerKind::expire, 0, now + 3600}});
  c.audit = {AuditInput{"approved", by, "approved", codec::Json::object()},
             AuditInput{"provisioning", "system", "adding to figma-editors", codec::Json{{"group", "figma-editors"}}}};
  c.now = now;
  return c;
}

// Raw access, the way an attacker or an operator with the file would.
struct Raw {
  explicit Raw(const std::string& path) { EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK); }
  ~Raw() { sqlite3_close(db); }
  int exec(const std::string& sql) { return sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr); }
  std::int64_t count(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
    std::int64_t n = -1;
    if (sqlite3_step(stmt) == SQLITE_ROW) n = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return n;
  }
  std::string text(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
    std::string out;
    if (sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_text(stmt, 0)) {
      out = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    }
    sqlite3_finalize(stmt);
    return out;
  }
  sqlite3* db = nullptr;
};

// ---- migrations -------------------------------------------------------------

TEST(SqliteStore, MigratesAFreshDatabaseAndReopensAnExistingOne) {
  TempDb tmp;
  {
    auto store = open_store(tmp.path());
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->commit(create("req-1", 1000)).ok());
  }
  {
    Raw raw(tmp.path());
    // One row per migration, each applied once.
    EXPECT_EQ(raw.count("SELECT COUNT(*) FROM schema_version"), sqlite_schema_version());
    EXPECT_EQ(raw.count("SELECT MAX(version) FROM schema_version"), sqlite_schema_version());
    EXPECT_EQ(raw.text("PRAGMA journal_mode"), "wal");
  }
  auto store = open_store(tmp.path());
  ASSERT_TRUE(store);
  auto got = store->get("req-1");
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_EQ(got->version, 1u);
  Raw raw(tmp.path());
  EXPECT_EQ(raw.count("SELECT COUNT(*) FROM schema_version"), sqlite_schema_version());  // nothing re-applied
}

TEST(SqliteStore, ConnectorStateIsDurableAndInsertOnlyWhenAsked) {
  TempDb tmp;
  {
    auto store = open_store(tmp.path());
    ASSERT_TRUE(store);
    auto missing = store->connector_state_get("jira.issue", "req-1");
    ASSERT_TRUE(missing.ok());
    EXPECT_FALSE(missing->has_value());
    auto first = store->connector_state_write("jira.issue", "req-1", "ACC-1", false, 1000);
    ASSERT_TRUE(first.ok());
    EXPECT_TRUE(*first);
    auto again = store->connector_state_write("jira.issue", "req-1", "ACC-2", false, 1001);
    ASSERT_TRUE(again.ok());
    EXPECT_FALSE(*again);  // insert-only keeps the first value
    auto replaced = store->connector_state_write("slack.message", "req-1", "[1]", true, 1002);
    ASSERT_TRUE(replaced.ok());
    ASSERT_TRUE(store->connector_state_write("slack.message", "req-1", "[1,2]", true, 1003).ok());
  }
  auto store = open_store(tmp.path());
  ASSERT_TRUE(store);
  EXPECT_EQ(store->connector_state_get("jira.issue", "req-1")->value_or(""), "ACC-1");
  EXPECT_EQ(store->connector_state_get("slack.message", "req-1")->value_or(""), "[1,2]");
  EXPECT_FALSE(store->connector_state_get("jira.issue", "req-2")->has_value());
}

TEST(SqliteStore, RefusesASchemaNewerThanTheBinary) {
  TempDb tmp;
  { ASSERT_TRUE(open_store(tmp.path())); }
  {
    Raw raw(tmp.path());
    ASSERT_EQ(raw.exec("INSERT INTO schema_version(version, applied_at) VALUES (99, 0)"), SQLITE_OK);
  }
  SqliteOptions options;
  options.path = tmp.path();
  auto store = open_sqlite_store(options);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code, ErrorCode::corrupt);
  EXPECT_NE(store.error().message.find("version 99, newer than this binary"), std::string::npos) << store.error().message;
}

TEST(SqliteStore, RefusesAFileThatIsNotADatabaseAndLeavesItAlone) {
  TempDb tmp;
  const std::string junk = "this is a spreadsheet, not a database\n";
  { std::ofstream(tmp.path()) << junk; }
  SqliteOptions options;
  options.path = tmp.path();
  auto store = open_sqlite_store(options);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code, ErrorCode::corrupt) << store.error().message;
  std::ifstream in(tmp.path());
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(content, junk);
}

// ---- commit and read back ------------------------------------------------------

TEST(SqliteStore, CommitsEverythingAndReadsItBack) {
  TempDb tmp;
  auto store = open_store(tmp.path());
  ASSERT_TRUE(store);
  const Commit first = create("req-1", 1000);
  auto r1 = store->commit(first);
  ASSERT_TRUE(r1.ok()) << r1.error().message;
  EXPECT_EQ(r1->request_id, "req-1");
  EXPECT_EQ(r1->version, 1u);
  EXPECT_FALSE(r1->duplicate);
  EXPECT_EQ(r1->last_audit_seq, 1);

  auto got = store->get("req-1");
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_EQ(codec::encode_state(*got).dump(), codec::encode_state(first.state).dump());

  auto outbox = store->pending_outbox(10);
  ASSERT_TRUE(outbox.ok());
  ASSERT_EQ(outbox->size(), 2u);  // the timer effect went to the timers table
  EXPECT_EQ((*outbox)[0].idempotency_key, "req-1/1/0");
  EXPECT_EQ((*outbox)[1].idempotency_key, "req-1/1/1");
  EXPECT_TRUE(std::holds_alternative<ip::PostCardEffect>((*outbox)[0].effect));
  EXPECT_TRUE(std::holds_alternative<ip::EvidenceEffect>((*outbox)[1].effect));

  auto r2 = store->commit(approve(*got, 1100));
  ASSERT_TRUE(r2.ok()) << r2.error().message;
  EXPECT_EQ(r2->version, 2u);
  EXPECT_EQ(r2->last_audit_seq, 3);

  auto events = store->events_of("req-1");
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[0]["type"], "submit");
  auto approve_event = codec::decode_event((*events)[1]);
  ASSERT_TRUE(approve_event.ok());
  EXPECT_EQ(std::get<ip::ApproveEvent>(*approve_event).by, "dana@acme.com");

  auto audit = store->audit_of("req-1");
  ASSERT_TRUE(audit.ok());
  ASSERT_EQ(audit->size(), 3u);
  EXPECT_EQ((*audit)[0].prev_hash, audit::kGenesisHash);
  EXPECT_EQ((*audit)[1].prev_hash, (*audit)[0].hash);
  EXPECT_EQ((*audit)[2].payload, "{\"group\":\"figma-editors\"}");
  auto head = store->audit_head();
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->seq, 3);
  EXPECT_EQ(head->hash, (*audit)[2].hash);

  auto grants = store->active_grants();
  ASSERT_TRUE(grants.ok());
  ASSERT_EQ(grants->size(), 1u);
  EXPECT_EQ((*grants)[0].request_id, "req-1");
  EXPECT_EQ((*grants)[0].expires_at, 1100 + 3600);

  auto verified = store->verify_audit();
  ASSERT_TRUE(verified.ok());
  EXPECT_TRUE(verified->ok) << verified->why;
  EXPECT_EQ(verified->checked, 3);

  auto missing = store->get("nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::not_found);
}

TEST(SqliteStore, ListsWithFiltersAndACursor) {
  TempDb tmp;
  auto store = open_store(tmp.path());
  ASSERT_TRUE(store);
  for (int i = 0; i < 25; ++i) {
    char id[16];
    std::snprintf(id, sizeof id, "req-%02d", i);
    ASSERT_TRUE(store->commit(create(id, 1000 + i, std::nullopt, i % 2 ? "odd@acme.com" : "even@acme.com")).ok());
  }
  ASSERT_TRUE(store->commit(approve(*store->get("req-03"), 2000)).ok());

  RequestFilter filter;
  filter.requester = "odd@acme.com";
  filter.limit = 5;
  std::vector<std::string> ids;
  for (int page = 0; page < 10; ++page) {
    auto r = store->list(filter);
    ASSERT_TRUE(r.ok()) << r.error().message;
    for (const auto& s : r->requests) ids.push_back(s.id);
    if (!r->next) break;
    filter.after = r->next;
  }
  ASSERT_EQ(ids.size(), 12u);
  EXPECT_EQ(ids.front(), "req-01");
  EXPECT_EQ(ids.back(), "req-23");

  RequestFilter active;
  active.status = ip::Status::active;
  active.app = "figma";
  auto r = store->list(active);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->requests.size(), 1u);
  EXPECT_EQ(r->requests[0].id, "req-03");
  EXPECT_FALSE(r->next);

  RequestFilter other_app;
  other_app.app = "gitlab";
  EXPECT_TRUE(store->list(other_app)->requests.empty());
}

// ---- concurrency control and idempotency ------------------------------------------

TEST(SqliteStore, AVersionConflictIsRejectedAndStoresNothing) {
  TempDb tmp;
  auto store = open_store(tmp.path());
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->commit(create("req-1", 1000)).ok());
  const auto v1 = *store->get("req-1");
  ASSERT_TRUE(store->commit(approve(v1, 1100, "dana@acme.com")).ok());
  const auto head_before = *store->audit_head();

  // A second writer that read version 1 too.
  auto stale = store->commit(approve(v1, 1200, "lee@acme.com"));
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.error().code, ErrorCode::conflict);
  EXPECT_NE(stale.error().message.find("is at version 2, the commit expected 1"), std::string::npos)
      << stale.error().message;

  EXPECT_EQ(store->get("req-1")->version, 2u);
  EXPECT_EQ(store->events_of("req-1")->size(), 2u);
  EXPECT_EQ(store->pending_outbox(100)->size(), 3u);
  EXPECT_EQ(store->audit_head()->seq, head_before.seq);
  EXPECT_EQ(store->audit_head()->hash, head_before.hash);
  EXPECT_EQ(store->next_timer()->value(), 1100 + 3600);  // the stale commit's timer is not there
  EXPECT_TRUE(store->verify_audit()->ok);

  // Creating an existing request is a conflict as well.
  auto again = store->commit(create("req-1", 1300));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::conflict);

  // Updating a request that does not exist.
  auto ghost = store->commit(approve(sample_state("ghost"), 1300));
  ASSERT_FALSE(ghost.ok());
  EXPECT_EQ(ghost.error().code, ErrorCode::not_found);
}

TEST(SqliteStore, ASubmitWithAnIdempotencyKeyNeverCreatesASecondRequest) {
  TempDb tmp;
  auto store = open_store(tmp.path());
  ASSERT_TRUE(store);
  auto first = store->commit(create("req-a", 1000, "key-123"));
  ASSERT_TRUE(first.ok());
  EXPECT_FALSE(first->duplicate);
  // The client retried after a timeout: a new id, the same key.
  auto second = store->commit(create("req-b", 1005, "key-123"));
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_TRUE(second->duplicate);
  EXPECT_EQ(second->request_id, "req-a");
  EXPECT_EQ(store->get("req-b").error().code, ErrorCode::not_found);
  EXPECT_EQ(store->list({})->requests.size(), 1u);
  EXPECT_EQ(store->audit_head()->seq, 1);

  // Concurrent retries with one key, queued together: still one request.
  std::vector<std::future<Result<CommitResult>>> futures;
  for (int i = 0; i < 20; ++i) futures.push_back(store->commit_async(create("req-c" + std::to_string(i), 2000, "key-456")));
  std::set<std::string> ids;
  int created = 0;
  for (auto& f : futures) {
    auto r = f.get();
    ASSERT_TRUE(r.ok()) << r.error().message;
    ids.insert(r->request_id);
    created += r->duplicate ? 0 : 1;
  }
  EXPECT_EQ(ids.size(), 1u);
  EXPECT_EQ(created, 1);
  EXPECT_EQ(store->list({})->requests.size(), 2u);

  // A key on an update is a caller bug.
  Commit bad = approve(*store->get("req-a"), 3000);
  bad.idempotency_key = "key-789";
  EXPECT_EQ(store->commit(bad).error().code, ErrorCode::invalid);
}

TEST(SqliteStore, ConcurrentCommitsFromEightThreadsAllLandWithAConsistentChain) {
  TempDb tmp;
  auto store = open_store(tmp.path());
  ASSERT_TRUE(store);
  constexpr int kThreads = 8;
  constexpr int kPerThread = 60;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string id = "t" + std::to_string(t) + "-" + std::to_string(i);
        auto created = store->commit(create(id, 1000 + i));
        if (!created.ok()) {
          ++failures;
          continue;
        }
        auto state = store->get(id);
        if (!state.ok() || !store->commit(approve(*state, 2000 + i)).ok()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  const auto expected_entries = kThreads * kPerThread * 3;
  auto verified = store->verify_audit();
  ASSERT_TRUE(verified.ok());
  EXPECT_TRUE(verified->ok) << verified->why;
  EXPECT_EQ(verified->checked, expected_entries);
  EXPECT_EQ(store->active_grants()->size(), std::size_t(kThreads * kPerThread));
  Raw raw(tmp.path());
  EXPECT_EQ(raw.count("SELECT COUNT(*) FROM events"), kThreads * kPerThread * 2);
  EXPECT_EQ(raw.count("SELECT COUNT(*) FROM outbox"), kThreads * kPerThread * 3);
}

TEST(SqliteStore, OneFailingCommitInABatchDoesNotUndoTheOthers) {
  TempDb tmp;
  auto store = open_store(tmp.path());
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->commit(create("base", 1000)).ok());
  const auto base = *store->get("base");
  std::vector<std::future<Result<CommitResult>>> futures;
  for (int i = 0; i < 50; ++i) {
    if (i % 5 == 0) {
      futures.push_back(store->commit_async(approve(base, 1100 + i)));  // only the first can win
    } else {
      futures.push_back(store->commit_async(create("r" + std::to_string(i), 1100 + i)));
    }
  }
  int ok = 0, conflicts = 0;
  for (auto& f : futures) {
    auto r = f.get();
    if (r.ok()) {
      ++ok;
    } else {
      EXPECT_EQ(r.error().code, ErrorCode::conflict);
      ++conflicts;
    }
  }
  EXPECT_EQ(ok, 41);
  EXPECT_EQ(conflicts, 9);
  EXPECT_EQ(store->list({})->requests.size(), 41u);
  auto verified = store->verify_audit();
  EXPECT_TRUE(verified->ok) << verified->why;
  EXPECT_EQ(verified->checked, 1 + 40 + 2);
}

// ---- bad input ---------------------------------------------------------------------

TEST(SqliteStore, BadInputIsRejectedAndStoresNothing) {
  TempDb tmp;
  auto store = open_store(tmp.path());
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->commit(create("good", 1000)).ok());

  Commit invalid_utf8 = create("bad-1", 1001);
  invalid_utf8.state.request.justification = "\xff\xfe not text";
  auto r = store->commit(invalid_utf8);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::invalid);

  Commit bad_payload = create("bad-2", 1002);
  bad_payload.audit[0].payload = codec::Json{{"x", std::string("\xc3")}};
  EXPECT_EQ(store->commit(bad_payload).error().code, ErrorCode::invalid);

  Commit no_id = create("", 1003);
  EXPECT_EQ(store->commit(no_id).error().code, ErrorCode::invalid);

  Commit same_version = approve(*store->get("good"), 1004);
  same_version.state.version = same_version.expected_version;  // effects without a new version
  EXPECT_EQ(store->commit(same_version).error().code, ErrorCode::invalid);

  Commit timer_in_outbox = create("bad-3", 1005);
  timer_in_outbox.effects.push_back(ip::ScheduleTimerEffect{ip::TimerKind::expire, 0, 5});
  EXPECT_EQ(store->commit(timer_in_outbox).error().code, ErrorCode::invalid);

  EXPECT_EQ(store->list({})->requests.size(), 1u);
  EXPECT_EQ(store->audit_head()->seq, 1);
  EXPECT_TRUE(store->verify_audit()->ok);
  Raw raw(tmp.path());
  EXPECT_EQ(raw.count("SELECT COUNT(*) FROM events"), 1);
  EXPECT_EQ(raw.count("SELECT COUNT(*) FROM outbox"), 2);
  EXPECT_EQ(raw.count("SELECT COUNT(*) FROM timers"), 1);
}

TEST(SqliteStore, AStoredRowThatNoLongerDecodesIsReportedNotThrown) {
  TempDb tmp;
  auto store = open_store(tmp.path());
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->commit(create("req-1", 1000)).ok());
  {
    Raw raw(tmp.path());
    ASSERT_EQ(raw.exec("UPDATE requests SET state_json = '{\"id\": 5}' WHERE id = 'req-1'"), SQLITE_OK);
    ASSERT_EQ(raw.exec("UPDATE outbox SET effect_json = 'not json' WHERE idempotency_key = 'req-1/1/0'"), SQLITE_OK);
  }
  auto got = store->get("req-1");
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code, ErrorCode::corrupt);
  EXPECT_EQ(got.error().message, "request req-1: state.id: expected a string");
  // The undecodable outbox row is parked as dead; the next one is claimed.
  auto claimed = store->claim_outbox("exec-1", 2000, 30, 10);
  ASSERT_TRUE(claimed.ok()) << claimed.error().message;
  ASSERT_EQ(claimed->size(), 1u);
  EXPECT_EQ((*claimed)[0].idempotency_key, "req-1/1/1");
  Raw raw(tmp.path());
  EXPECT_EQ(raw.text("SELECT status FROM outbox WHERE idempotency_key = 'req-1/1/0'"), "dead");
  EXPECT_NE(raw.text("SELECT last_error FROM outbox WHERE idempotency_key = 'req-1/1/0'").find("does not decode"),
            std::string::npos);
}

// ---- audit tampering ---------------------------------------------------------------

TEST(SqliteStore, TamperingWithTheAuditLogIsDetectedAndNamed) {
  TempDb tmp;
  auto store = open_store(tmp.path());
  ASSERT_TRUE(store);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(store->commit(create("req-" + std::to_string(i), 1000 + i)).ok());
  const auto head = *store->audit_head();
  ASSERT_EQ(head.seq, 4);

  Raw raw(tmp.path());
  // The triggers stop a casual UPDATE or DELETE...
  EXPECT_NE(raw.exec("UPDATE audit SET actor = 'mallory@acme.com' WHERE seq = 2"), SQLITE_OK);
  EXPECT_NE(raw.exec("DELETE FROM audit WHERE seq = 4"), SQLITE_OK);
  // ...and the chain catches whoever drops them first.
  ASSERT_EQ(raw.exec("DROP TRIGGER audit_no_update"), SQLITE_OK);
  ASSERT_EQ(raw.exec("DROP TRIGGER audit_no_delete"), SQLITE_OK);
  ASSERT_EQ(raw.exec("UPDATE audit SET actor = 'mallory@acme.com' WHERE seq = 2"), SQLITE_OK);

  auto verified = store->verify_audit();
  ASSERT_TRUE(verified.ok());
  EXPECT_FALSE(verified->ok);
  EXPECT_EQ(verified->first_bad_seq, 2);
  EXPECT_EQ(verified->checked, 1);
  EXPECT_EQ(verified->why, "hash does not match the entry's contents");

  // Recomputing that entry's hash moves the break to the next entry.
  const std::string e2_hash = raw.text("SELECT hash FROM audit WHERE seq = 2");
  audit::Entry forged;
  {
    auto all = store->audit_of("req-1");
    ASSERT_TRUE(all.ok());
    forged = (*all)[0];
  }
  ASSERT_EQ(raw.exec("UPDATE audit SET hash = '" + audit::compute_hash(forged.prev_hash, forged) + "' WHERE seq = 2"),
            SQLITE_OK);
  verified = store->verify_audit();
  EXPECT_EQ(verified->first_bad_seq, 3);
  EXPECT_EQ(verified->why, "prev_hash does not match the hash of entry 2");
  (void)e2_hash;

  // Removing the tail is only visible against a head kept elsewhere.
  TempDb tmp2;
  auto store2 = open_store(tmp2.path());
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(store2->commit(create("req-" + std::to_string(i), 1000 + i)).ok());
  const auto kept = *store2->audit_head();
  Raw raw2(tmp2.path());
  ASSERT_EQ(raw2.exec("DROP TRIGGER audit_no_delete"), SQLITE_OK);
  ASSERT_EQ(raw2.exec("DELETE FROM audit WHERE seq = 4"), SQLITE_OK);
  EXPECT_TRUE(store2->verify_audit()->ok);
  auto against_head = store2->verify_audit(kept);
  EXPECT_FALSE(against_head->ok);
  EXPECT_EQ(against_head->first_bad_seq, 4);
  // A gap in the middle is caught without it.
  ASSERT_EQ(raw2.exec("DELETE FROM audit WHERE seq = 2"), SQLITE_OK);
  auto gap = store2->verify_audit();
  EXPECT_FALSE(gap->ok);
  EXPECT_EQ(gap->first_bad_seq, 2);
  EXPECT_NE(gap->why.find("entry missing"), std::string::npos);
}

// ---- outbox ---------------------------------------------------------------------------

TEST(SqliteStore, OutboxClaimsAreLeasedAndACrashedExecutorsLeaseExpires) {
  TempDb tmp;
  auto store = open_store(tmp.path());
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->commit(create("req-1", 1000)).ok());  // two outbox rows

  auto a = store->claim_outbox("exec-a", 1000, 30, 10);
  ASSERT_TRUE(a.ok()) << a.error().message;
  ASSERT_EQ(a->size(), 2u);
  EXPECT_EQ((*a)[0].lease_until, 1030);
  // While the lease holds nobody else gets the rows.
  EXPECT_TRUE(store->claim_outbox("exec-b", 1010, 30, 10)->empty());
  // exec-a finishes one row and "crashes" with the other.
  ASSERT_TRUE(store->finish_outbox((*a)[0].id, "exec-a", {OutboxOutcome::Kind::done, "", 0}, 1005).ok());
  // After the lease, the other row comes back.
  auto b = store->claim_outbox("exec-b", 1031, 30, 10);
  ASSERT_TRUE(b.ok());
  ASSERT_EQ(b->size(), 1u);
  EXPECT_EQ((*b)[0].idempotency_key, "req-1/1/1");
  // The late executor may no longer report on it.
  auto late = store->finish_outbox((*a)[1].id, "exec-a", {OutboxOutcome::Kind::done, "", 0}, 1040);
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error().code, ErrorCode::conflict);
  // A retry releases the row until its next attempt.
  ASSERT_TRUE(store->finish_outbox((*b)[0].id, "exec-b", {OutboxOutcome::Kind::retry, "slack: 503", 1100}, 1041).ok());
  EXPECT_TRUE(store->claim_outbox("exec-b", 1099, 30, 10)->empty());
  auto c = store->claim_outbox("exec-c", 1100, 30, 10);
  ASSERT_EQ(c->size(), 1u);
  EXPECT_EQ((*c)[0].attempts, 1);
  EXPECT_EQ((*c)[0].last_error, "slack: 503");
  ASSERT_TRUE(store->finish_outbox((*c)[0].id, "exec-c", {OutboxOutcome::Kind::dead, "gave up", 0}, 1101).ok());
  EXPECT_TRUE(store->claim_outbox("exec-c", 99999, 30, 10)->empty());
  EXPECT_TRUE(store->pending_outbox(10)->empty());
  EXPECT_EQ(store->finish_outbox(12345, "exec-c", {}, 1).error().code, ErrorCode::not_found);
}

TEST(SqliteStore, ACommitMarksTheOutboxRowsItFinishesInTheSameTransaction) {
  TempDb tmp;
  auto store = open_store(tmp.path());
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->commit(create("req-1", 1000)).ok());  // two outbox rows
  auto claimed = store->claim_outbox("exec-a", 1000, 30, 10);
  ASSERT_TRUE(claimed.ok());
  ASSERT_EQ(claimed->size(), 2u);
  auto state = store->get("req-1");
  ASSERT_TRUE(state.ok());

  // A failing commit (a version conflict) marks nothing.
  Commit stale = approve(*state, 1010);
  stale.expected_version = 7;
  stale.state.version = 8;
  stale.finish_outbox.push_back(OutboxFinish{(*claimed)[0].id, "exec-a", {OutboxOutcome::Kind::done, "", 0}});
  ASSERT_EQ(store->commit(stale).error().code, ErrorCode::conflict);
  EXPECT_EQ(store->pending_outbox(10)->size(), 2u);

  // The result and the row's completion land together; a row leased to
  // someone else is left alone without failing the commit.
  Commit c = approve(*state, 1010);
  c.finish_outbox.push_back(OutboxFinish{(*claimed)[0].id, "exec-a", {OutboxOutcome::Kind::done, "", 0}});
  c.finish_outbox.push_back(OutboxFinish{(*claimed)[1].id, "exec-b", {OutboxOutcome::Kind::done, "", 0}});
  ASSERT_TRUE(store->commit(c).ok());
  auto pending = store->pending_outbox(10);
  ASSERT_TRUE(pending.ok());
  std::vector<std::string> keys;
  for (const auto& row : *pending) keys.push_back(row.idempotency_key);
  // The first row is done; the second (not exec-b's) and the new one wait.
  EXPECT_EQ(keys, (std::vector<std::string>{"req-1/1/1", "req-1/2/0"}));
  // Marking it alone afterwards is a conflict, as for any finished row.
  EXPECT_EQ(store->finish_outbox((*claimed)[0].id, "exec-a", {OutboxOutcome::Kind::done, "", 0}, 1011).error().code,
            ErrorCode::conflict);
}

// ---- timers ---------------------------------------------------------------------------

TEST(SqliteStore, TimersAreRowsWithTheNextDeadlineRebuiltAtStart) {
  TempDb tmp;
  {
    auto store = open_store(tmp.path());
    ASSERT_TRUE(store);
    EXPECT_FALSE(store->next_timer()->has_value());
    ASSERT_TRUE(store->commit(create("req-1", 1000)).ok());  // remind at 1100
    ASSERT_TRUE(store->commit(create("req-2", 1050)).ok());  // remind at 1150
    ASSERT_TRUE(store->commit(approve(*store->get("req-1"), 1060)).ok());  // cancels remind, expire at 4660
    EXPECT_EQ(store->next_timer()->value(), 1150);
    auto due = store->due_timers(1200, 10);
    ASSERT_TRUE(due.ok());
    ASSERT_EQ(due->size(), 1u);
    EXPECT_EQ((*due)[0].request_id, "req-2");
    EXPECT_EQ((*due)[0].kind, ip::TimerKind::remind);
    EXPECT_TRUE(store->due_timers(1149, 10)->empty());
  }
  auto store = open_store(tmp.path());
  EXPECT_EQ(store->next_timer()->value(), 1150);
  auto due = store->due_timers(5000, 10);
  ASSERT_EQ(due->size(), 2u);
  EXPECT_EQ((*due)[0].request_id, "req-2");
  EXPECT_EQ((*due)[1].request_id, "req-1");
  EXPECT_EQ((*due)[1].kind, ip::TimerKind::expire);
  EXPECT_EQ((*due)[1].due, 4660);
}

// ---- crashes and read-only files -------------------------------------------------------

TEST(SqliteStore, CommittedDataSurvivesAProcessKilledWithoutShutdown) {
  TempDb tmp;
  { ASSERT_TRUE(open_store(tmp.path())); }
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    SqliteOptions options;
    options.path = tmp.path();
    auto store = open_sqlite_store(options);
    if (!store.ok()) _exit(2);
    std::vector<std::future<Result<CommitResult>>> futures;
    for (int i = 0; i < 100; ++i) futures.push_back((*store)->commit_async(create("req-" + std::to_string(i), 1000)));
    for (auto& f : futures)
      if (!f.get().ok()) _exit(3);
    // Everything acknowledged; die without closing anything.
    std::raise(SIGKILL);
    _exit(4);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with " << WEXITSTATUS(status);
  EXPECT_EQ(WTERMSIG(status), SIGKILL);

  auto store = open_store(tmp.path());
  ASSERT_TRUE(store);
  EXPECT_EQ(store->list({})->requests.size(), 100u);
  auto verified = store->verify_audit();
  EXPECT_TRUE(verified->ok) << verified->why;
  EXPECT_EQ(verified->checked, 100);
  EXPECT_EQ(store->pending_outbox(1000)->size(), 200u);
  // The chain continues where it was.
  ASSERT_TRUE(store->commit(create("after", 2000)).ok());
  EXPECT_EQ(store->audit_head()->seq, 101);
  EXPECT_TRUE(store->verify_audit()->ok);
}

TEST(SqliteStore, AReadOnlyDatabaseGivesAClearErrorAndStaysIntact) {
  TempDb tmp;
  {
    auto store = open_store(tmp.path());
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->commit(create("req-1", 1000)).ok());
  }
  const auto size_before = std::filesystem::file_size(tmp.path());

  SqliteOptions options;
  options.path = "file:" + tmp.path() + "?mode=ro";
  auto ro = open_sqlite_store(options);
  ASSERT_FALSE(ro.ok());
  EXPECT_EQ(ro.error().code, ErrorCode::io);
  EXPECT_NE(ro.error().message.find("read-only"), std::string::npos) << ro.error().message;

  if (geteuid() != 0) {  // root ignores file modes
    ASSERT_EQ(chmod(tmp.path().c_str(), 0444), 0);
    options.path = tmp.path();
    auto perm = open_sqlite_store(options);
    ASSERT_FALSE(perm.ok());
    EXPECT_NE(perm.error().message.find("read-only"), std::string::npos) << perm.error().message;
    ASSERT_EQ(chmod(tmp.path().c_str(), 0644), 0);
  }

  EXPECT_EQ(std::filesystem::file_size(tmp.path()), size_before);
  auto store = open_store(tmp.path());
  ASSERT_TRUE(store);
  EXPECT_TRUE(store->get("req-1").ok());
  EXPECT_TRUE(store->verify_audit()->ok);
}

}  // namespace
}  // namespace portcullis::runtime
