#include "runtime/sqlite_store.hpp"

#include <sqlite3.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <utility>
#include <variant>

#include "runtime/codec.hpp"

namespace portcullis::runtime {

namespace ip = portcullis::interpreter;

namespace {

// ---- schema ----------------------------------------------------------------
// Migrations are append-only: never edit a shipped one, add the next.

struct Migration {
  int version;
  const char* sql;
};

constexpr Migration kMigrations[] = {
    {1, R"sql(
CREATE TABLE requests (
  id          TEXT PRIMARY KEY,
  version     INTEGER NOT NULL,
  status      TEXT NOT NULL,
  requester   TEXT NOT NULL,
  app         TEXT NOT NULL,
  role        TEXT NOT NULL,
  expires_at  INTEGER,
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL,
  state_json  TEXT NOT NULL
);
CREATE INDEX requests_by_status    ON requests(status, id);
CREATE INDEX requests_by_requester ON requests(requester, id);
CREATE INDEX requests_by_app       ON requests(app, id);
CREATE INDEX requests_active       ON requests(expires_at) WHERE status = 'active';

CREATE TABLE events (
  id          INTEGER PRIMARY KEY,
  request_id  TEXT NOT NULL REFERENCES requests(id),
  version     INTEGER NOT NULL,
  at          INTEGER NOT NULL,
  event_json  TEXT NOT NULL
);
CREATE INDEX events_by_request ON events(request_id, id);

CREATE TABLE outbox (
  id               INTEGER PRIMARY KEY,
  idempotency_key  TEXT NOT NULL UNIQUE,
  request_id       TEXT NOT NULL REFERENCES requests(id),
  version          INTEGER NOT NULL,
  idx              INTEGER NOT NULL,
  effect_json      TEXT NOT NULL,
  status           TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done', 'dead')),
  attempts         INTEGER NOT NULL DEFAULT 0,
  next_attempt_at  INTEGER NOT NULL,
  lease_owner      TEXT,
  lease_until      INTEGER NOT NULL DEFAULT 0,
  last_error       TEXT NOT NULL DEFAULT '',
  created_at       INTEGER NOT NULL,
  finished_at      INTEGER
);
CREATE INDEX outbox_pending ON outbox(next_attempt_at, id) WHERE status = 'pending';

CREATE TABLE timers (
  request_id  TEXT NOT NULL REFERENCES requests(id),
  kind        TEXT NOT NULL,
  step        INTEGER NOT NULL,
  due_at      INTEGER NOT NULL,
  PRIMARY KEY (request_id, kind)
) WITHOUT ROWID;
CREATE INDEX timers_by_due ON timers(due_at);

CREATE TABLE audit (
  seq         INTEGER PRIMARY KEY,
  request_id  TEXT NOT NULL,
  at          INTEGER NOT NULL,
  kind        TEXT NOT NULL,
  actor       TEXT NOT NULL,
  text        TEXT NOT NULL,
  payload     TEXT NOT NULL,
  prev_hash   TEXT NOT NULL,
  hash        TEXT NOT NULL
);
CREATE INDEX audit_by_request ON audit(request_id, seq);
-- Append-only for every writer that goes through SQL; the hash chain
-- catches anyone who drops these first.
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;

CREATE TABLE idempotency_keys (
  key         TEXT PRIMARY KEY,
  request_id  TEXT NOT NULL REFERENCES requests(id),
  created_at  INTEGER NOT NULL
);
)sql"},
    // Small records the remote connectors keep across restarts (the Jira
    // issue of a request, the Slack messages of its cards, webhook
    // deliveries already handled).
    {2, R"sql(
CREATE TABLE connector_state (
  scope       TEXT NOT NULL,
  key         TEXT NOT NULL,
  value       TEXT NOT NULL,
  updated_at  INTEGER NOT NULL,
  PRIMARY KEY (scope, key)
) WITHOUT ROWID;
)sql"},
};

constexpr int kLatestVersion = 2;

// ---- thin SQLite wrapper -----------------------------------------------------
// SqlError never leaves this file: jobs and reads convert it to an Error.

struct SqlError {
  ErrorCode code;
  std::string message;
};

class Db {
 public:
  Db() = default;
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;
  int busy_timeout_ms_ = 0;

  ~Db() {
    for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
    if (db_) sqlite3_close_v2(db_);
  }

  static constexpr int kReadWrite = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI;

  static std::unique_ptr<Db> open(const std::string& path, int busy_timeout_ms, int flags = kReadWrite) {
    auto db = std::make_unique<Db>();
    const int rc = sqlite3_open_v2(path.c_str(), &db->db_, flags, nullptr);
    if (rc != SQLITE_OK) {
      std::string message = db->db_ ? sqlite3_errmsg(db->db_) : sqlite3_errstr(rc);
      throw SqlError{ErrorCode::io, "cannot open database " + path + ": " + message};
    }
    sqlite3_extended_result_codes(db->db_, 1);
    // SQLite's own busy handler sleeps in growing steps of milliseconds;
    // another connection to this file (the sandbox connectors) holds the
    // write lock for far less than that, so wait in short steps instead.
    db->busy_timeout_ms_ = busy_timeout_ms;
    sqlite3_busy_handler(db->db_, &Db::on_busy, db.get());
    // Reads of the main file through a memory map instead of a pread per
    // page: every read transaction after another connection's commit
    // starts with an empty page cache. Writes still go through write()
    // and fsync as before, so durability is unchanged. Mapped pages count
    // in the daemon's resident memory, so the map is kept to 64 MB (the
    // hot part: indexes and recent rows).
    sqlite3_exec(db->db_, "PRAGMA mmap_size=67108864", nullptr, nullptr, nullptr);
    return db;
  }

  static int on_busy(void* self, int attempt) {
    constexpr int kStepMicros = 50;
    const auto* db = static_cast<const Db*>(self);
    if (static_cast<long long>(attempt) * kStepMicros >= static_cast<long long>(db->busy_timeout_ms_) * 1000) return 0;
    std::this_thread::sleep_for(std::chrono::microseconds(kStepMicros));
    return 1;
  }

  sqlite3* raw() const { return db_; }

  [[noreturn]] void fail(int rc, const std::string& what) const {
    const int primary = rc & 0xff;
    ErrorCode code = ErrorCode::io;
    if (primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB) code = ErrorCode::corrupt;
    if (primary == SQLITE_CONSTRAINT) code = ErrorCode::conflict;
    std::string message = what + ": " + sqlite3_errmsg(db_);
    if (primary == SQLITE_READONLY) message += " (the database file or its directory is read-only)";
    throw SqlError{code, message};
  }

  void exec(const char* sql) {
    char* err = nullptr;
    const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
    if (rc != SQLITE_OK) {
      std::string message = err ? err : sqlite3_errstr(rc);
      sqlite3_free(err);
      const int primary = rc & 0xff;
      ErrorCode code = primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB ? ErrorCode::corrupt : ErrorCode::io;
      if (primary == SQLITE_READONLY) message += " (the database file or its directory is read-only)";
      throw SqlError{code, message};
    }
  }

  // A prepared statement kept for the connection's lifetime, keyed by the
  // SQL text's address (all cached SQL is string literals).
  sqlite3_stmt* cached(const char* sql) {
    auto it = cache_.find(sql);
    if (it != cache_.end()) return it->second;
    sqlite3_stmt* stmt = prepare(sql);
    cache_.emplace(sql, stmt);
    return stmt;
  }

  sqlite3_stmt* prepare(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    const int rc = sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &stmt,
                                      nullptr);
    if (rc != SQLITE_OK) fail(rc, "cannot prepare statement");
    return stmt;
  }

  std::string pragma_text(const char* sql) {
    Db& self = *this;
    sqlite3_stmt* stmt = self.prepare(sql);
    std::string value;
    const int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW && sqlite3_column_text(stmt, 0)) value = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    sqlite3_finalize(stmt);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) fail(rc, sql);
    return value;
  }

  int changes() const { return sqlite3_changes(db_); }

 private:
  sqlite3* db_ = nullptr;
  std::map<const char*, sqlite3_stmt*> cache_;
};

// One use of a statement: binds left to right, resets on destruction.
class Query {
 public:
  Query(Db& db, const char* sql) : db_(db), stmt_(db.cached(sql)), owned_(false) {}
  Query(Db& db, const std::string& sql, bool /*uncached*/) : db_(db), stmt_(db.prepare(sql)), owned_(true) {}
  Query(const Query&) = delete;
  Query& operator=(const Query&) = delete;
  ~Query() {
    if (owned_) {
      sqlite3_finalize(stmt_);
    } else {
      sqlite3_reset(stmt_);
      sqlite3_clear_bindings(stmt_);
    }
  }

  Query& bind(std::int64_t v) {
    check(sqlite3_bind_int64(stmt_, ++index_, v));
    return *this;
  }
  Query& bind(std::string_view v) {
    check(sqlite3_bind_text(stmt_, ++index_, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT));
    return *this;
  }
  Query& bind(const std::string& v) { return bind(std::string_view(v)); }
  Query& bind(const char* v) { return bind(std::string_view(v)); }
  Query& bind(const std::optional<std::int64_t>& v) {
    if (v) return bind(*v);
    check(sqlite3_bind_null(stmt_, ++index_));
    return *this;
  }

  // True while there is a row.
  bool step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    db_.fail(rc, "statement failed");
  }
  void run() {
    while (step()) {
    }
  }

  bool null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  std::int64_t i64(int col) const { return sqlite3_column_int64(stmt_, col); }
  std::optional<std::int64_t> opt_i64(int col) const {
    if (null(col)) return std::nullopt;
    return i64(col);
  }
  std::string text(int col) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
    if (!p) return {};
    return std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col)));
  }

 private:
  void check(int rc) {
    if (rc != SQLITE_OK) db_.fail(rc, "cannot bind parameter");
  }

  Db& db_;
  sqlite3_stmt* stmt_;
  bool owned_;
  int index_ = 0;
};

void configure_writer(Db& db, SqliteOptions::Synchronous sync) {
  const std::string mode = db.pragma_text("PRAGMA journal_mode=WAL");
  if (mode != "wal") throw SqlError{ErrorCode::io, "cannot switch the database to WAL mode (journal_mode is " + mode + ")"};
  db.exec(sync == SqliteOptions::Synchronous::full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
  db.exec("PRAGMA foreign_keys=ON");
  if (sqlite3_db_readonly(db.raw(), "main") == 1) {
    throw SqlError{ErrorCode::io, "the database is read-only (file permissions or a read-only open mode); "
                                  "the store needs to write"};
  }
}

void migrate(Db& db) {
  db.exec("BEGIN IMMEDIATE");
  try {
    db.exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)");
    int current = 0;
    {
      Query q(db, "SELECT COALESCE(MAX(version), 0) FROM schema_version");
      if (q.step()) current = static_cast<int>(q.i64(0));
    }
    if (current > kLatestVersion) {
      throw SqlError{ErrorCode::corrupt, "the database schema is version " + std::to_string(current) +
                                             ", newer than this binary (" + std::to_string(kLatestVersion) + ")"};
    }
    for (const auto& m : kMigrations) {
      if (m.version <= current) continue;
      db.exec(m.sql);
      Query(db, "INSERT INTO schema_version(version, applied_at) VALUES (?, strftime('%s','now'))").bind(std::int64_t(m.version)).run();
    }
    db.exec("COMMIT");
  } catch (...) {
    sqlite3_exec(db.raw(), "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

std::string dump(const Json& json) {
  // Throws type_error on invalid UTF-8: the caller turns it into `invalid`.
  return json.dump();
}

Error to_error(const SqlError& e) { return make_error(e.code, e.message); }

// Runs `body`, converting whatever it throws into an Error.
template <class T, class F>
Result<T> guarded(F&& body) {
  try {
    return body();
  } catch (const SqlError& e) {
    return to_error(e);
  } catch (const nlohmann::json::exception& e) {
    return make_error(ErrorCode::invalid, std::string("cannot encode as JSON: ") + e.what());
  } catch (const std::bad_alloc&) {
    return make_error(ErrorCode::io, "out of memory");
  } catch (const std::exception& e) {
    return make_error(ErrorCode::io, e.what());
  }
}

OutboxRow outbox_row(const Query& q, int first_col) {
  // Columns: id, idempotency_key, request_id, version, idx, effect_json,
  // attempts, last_error, lease_until.
  OutboxRow row;
  row.id = q.i64(first_col + 0);
  row.idempotency_key = q.text(first_col + 1);
  row.request_id = q.text(first_col + 2);
  row.version = static_cast<std::uint64_t>(q.i64(first_col + 3));
  row.index = static_cast<std::size_t>(q.i64(first_col + 4));
  row.attempts = static_cast<int>(q.i64(first_col + 6));
  row.last_error = q.text(first_col + 7);
  row.lease_until = q.i64(first_col + 8);
  return row;
}

constexpr const char* kOutboxColumns =
    "id, idempotency_key, request_id, version, idx, effect_json, attempts, last_error, lease_until";

Result<ip::Effect> decode_stored_effect(const std::string& text) {
  auto json = codec::parse(text);
  if (!json) return json.error();
  return codec::decode_effect(*json);
}

audit::Entry audit_row(const Query& q) {
  audit::Entry e;
  e.seq = q.i64(0);
  e.request_id = q.text(1);
  e.at = q.i64(2);
  e.kind = q.text(3);
  e.actor = q.text(4);
  e.text = q.text(5);
  e.payload = q.text(6);
  e.prev_hash = q.text(7);
  e.hash = q.text(8);
  return e;
}

// Walks the whole audit table in seq order (one SELECT: one snapshot).
Result<AuditVerification> verify_chain(Db& db, const std::optional<AuditHead>& expected) {
  Query q(db, "SELECT seq, request_id, at, kind, actor, text, payload, prev_hash, hash FROM audit ORDER BY seq");
  audit::ChainVerifier verifier;
  AuditVerification out;
  while (q.step()) {
    const audit::Entry entry = audit_row(q);
    if (!verifier.check(entry)) break;
    if (expected && entry.seq == expected->seq && entry.hash != expected->hash) {
      out.ok = false;
      out.checked = verifier.checked() - 1;
      out.first_bad_seq = entry.seq;
      out.why = "hash differs from the head kept outside (" + expected->hash + ")";
      return out;
    }
  }
  out.checked = verifier.checked();
  if (const auto& p = verifier.problem()) {
    out.ok = false;
    out.first_bad_seq = p->seq;
    out.why = p->why;
    return out;
  }
  if (expected && verifier.last_seq() < expected->seq) {
    out.ok = false;
    out.first_bad_seq = verifier.last_seq() + 1;
    out.why = "chain ends at entry " + std::to_string(verifier.last_seq()) + " but the head kept outside is entry " +
              std::to_string(expected->seq) + ": entries were removed";
    return out;
  }
  out.head = AuditHead{verifier.last_seq(), verifier.head()};
  return out;
}

// ---- the writer --------------------------------------------------------------

class Writer;

// One queued write. apply() runs inside its own savepoint on the writer
// thread; finish() runs after the batch's COMMIT (or its failure).
class Job {
 public:
  virtual ~Job() = default;
  virtual bool apply(Writer& writer) = 0;  // false: roll this job back
  virtual void finish(const std::optional<Error>& batch_error) = 0;
};

template <class T>
class TypedJob final : public Job {
 public:
  explicit TypedJob(std::function<Result<T>(Writer&)> body) : body_(std::move(body)) {}
  std::future<Result<T>> future() { return promise_.get_future(); }

  bool apply(Writer& writer) override {
    result_.emplace(guarded<T>([&] { return body_(writer); }));
    return result_->ok();
  }
  void finish(const std::optional<Error>& batch_error) override {
    if (batch_error && (!result_ || result_->ok())) {
      promise_.set_value(*batch_error);
    } else if (!result_) {
      promise_.set_value(make_error(ErrorCode::io, "write not applied"));
    } else {
      promise_.set_value(std::move(*result_));
    }
  }

 private:
  std::function<Result<T>(Writer&)> body_;
  std::optional<Result<T>> result_;
  std::promise<Result<T>> promise_;
};

class Writer {
 public:
  Writer(std::unique_ptr<Db> db, std::size_t max_batch) : db_(std::move(db)), max_batch_(max_batch ? max_batch : 1) {
    load_head();
    thread_ = std::thread([this] { loop(); });
  }
  ~Writer() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

  // Queues a job; returns false once the writer is stopping.
  bool submit(std::unique_ptr<Job> job) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return false;
      queue_.push_back(std::move(job));
    }
    cv_.notify_one();
    return true;
  }

  Db& db() { return *db_; }
  AuditHead& head() { return head_; }

 private:
  void load_head() {
    Query q(*db_, "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1");
    head_ = AuditHead{};
    if (q.step()) head_ = AuditHead{q.i64(0), q.text(1)};
  }

  void loop() {
    for (;;) {
      std::vector<std::unique_ptr<Job>> batch;
      {
        std::unique_lock lock(mutex_);
        cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stopping, and everything queued is done
        while (!queue_.empty() && batch.size() < max_batch_) {
          batch.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
      }
      run(batch);
    }
  }

  void run(std::vector<std::unique_ptr<Job>>& batch) {
    std::optional<Error> batch_error;
    const AuditHead batch_head = head_;
    try {
      db_->exec("BEGIN IMMEDIATE");
      try {
        for (auto& job : batch) {
          db_->exec("SAVEPOINT job");
          const AuditHead before = head_;
          if (!job->apply(*this)) {
            db_->exec("ROLLBACK TO job");
            head_ = before;
          }
          db_->exec("RELEASE job");
        }
        db_->exec("COMMIT");
      } catch (...) {
        sqlite3_exec(db_->raw(), "ROLLBACK", nullptr, nullptr, nullptr);
        throw;
      }
    } catch (const SqlError& e) {
      batch_error = to_error(e);
    } catch (const std::exception& e) {
      batch_error = make_error(ErrorCode::io, e.what());
    }
    if (batch_error) {
      head_ = batch_head;
      try {
        load_head();
      } catch (const SqlError&) {
        head_ = batch_head;
      }
    }
    for (auto& job : batch) job->finish(batch_error);
  }

  std::unique_ptr<Db> db_;
  std::size_t max_batch_;
  AuditHead head_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<Job>> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

// ---- write bodies (writer thread, inside a savepoint) -------------------------

// True when outbox row `id` is pending and leased to `owner`.
bool outbox_lease_holder(Db& db, std::int64_t id, const std::string& owner) {
  Query q(db, "SELECT status, lease_owner FROM outbox WHERE id = ?");
  q.bind(id);
  return q.step() && q.text(0) == "pending" && !q.null(1) && q.text(1) == owner;
}

// Records an executor's outcome on a row whose lease the caller checked.
void mark_outbox(Db& db, std::int64_t id, const OutboxOutcome& o, Time now) {
  switch (o.kind) {
    case OutboxOutcome::Kind::done:
      Query(db, "UPDATE outbox SET status = 'done', lease_owner = NULL, finished_at = ? WHERE id = ?").bind(now).bind(id).run();
      break;
    case OutboxOutcome::Kind::retry:
      Query(db,
            "UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?, lease_owner = NULL, "
            "lease_until = 0 WHERE id = ?")
          .bind(o.error).bind(o.next_attempt_at).bind(id)
          .run();
      break;
    case OutboxOutcome::Kind::dead:
      Query(db,
            "UPDATE outbox SET status = 'dead', attempts = attempts + 1, last_error = ?, lease_owner = NULL, "
            "finished_at = ? WHERE id = ?")
          .bind(o.error).bind(now).bind(id)
          .run();
      break;
  }
}

// A Commit with its JSON texts encoded on the caller's thread: encoding the
// whole state is most of a commit's CPU, and the writer thread is the one
// every commit waits for.
struct EncodedCommit {
  Commit commit;
  std::string state_json;
  std::string event_json;
  std::vector<std::string> effects;
  std::vector<std::string> payloads;
};

Result<EncodedCommit> encode_commit(Commit c) {
  return guarded<EncodedCommit>([&] {
    EncodedCommit e;
    e.state_json = dump(codec::encode_state(c.state));
    e.event_json = dump(c.event);
    e.effects.reserve(c.effects.size());
    for (const auto& effect : c.effects) {
      // Timer effects are refused by apply_commit; it reports them.
      if (std::holds_alternative<ip::ScheduleTimerEffect>(effect) || std::holds_alternative<ip::CancelTimerEffect>(effect)) {
        e.effects.emplace_back();
        continue;
      }
      e.effects.push_back(dump(codec::encode_effect(effect)));
    }
    e.payloads.reserve(c.audit.size());
    for (const auto& a : c.audit) e.payloads.push_back(dump(a.payload));
    e.commit = std::move(c);
    return e;
  });
}

Result<CommitResult> apply_commit(Writer& w, const EncodedCommit& encoded) {
  Db& db = w.db();
  const Commit& c = encoded.commit;
  const ip::RequestState& s = c.state;
  if (s.id.empty()) return make_error(ErrorCode::invalid, "commit: state.id is empty");
  if (c.idempotency_key && c.expected_version != 0) {
    return make_error(ErrorCode::invalid, "commit: an idempotency key is only valid when creating a request");
  }
  if (c.idempotency_key && c.idempotency_key->empty()) return make_error(ErrorCode::invalid, "commit: empty idempotency key");
  if (s.version < c.expected_version || (s.version == c.expected_version && !c.effects.empty()) ||
      (c.expected_version == 0 && s.version == 0)) {
    return make_error(ErrorCode::invalid, "commit: state.version " + std::to_string(s.version) +
                                              " must be above expected_version " + std::to_string(c.expected_version) +
                                              " (at least equal when no effects are emitted; at least 1 for a new request)");
  }
  for (const auto& e : c.effects) {
    if (std::holds_alternative<ip::ScheduleTimerEffect>(e) || std::holds_alternative<ip::CancelTimerEffect>(e)) {
      return make_error(ErrorCode::invalid, "commit: timer effects go in Commit::timers (see add_effects)");
    }
  }

  if (c.idempotency_key) {
    Query q(db, "SELECT k.request_id, r.version FROM idempotency_keys k JOIN requests r ON r.id = k.request_id WHERE k.key = ?");
    q.bind(*c.idempotency_key);
    if (q.step()) return CommitResult{q.text(0), static_cast<std::uint64_t>(q.i64(1)), true, 0};
  }

  // Encoded before it was queued: input that cannot be stored failed
  // before any row was touched.
  const std::string& state_json = encoded.state_json;
  const std::string& event_json = encoded.event_json;
  const std::vector<std::string>& effects = encoded.effects;
  const std::vector<std::string>& payloads = encoded.payloads;

  const auto version = static_cast<std::int64_t>(s.version);
  const std::string status(ip::status_name(s.status));
  std::optional<std::int64_t> expires;
  if (s.expires_at) expires = *s.expires_at;

  if (c.expected_version == 0) {
    {
      Query q(db, "SELECT version FROM requests WHERE id = ?");
      q.bind(s.id);
      if (q.step()) {
        return make_error(ErrorCode::conflict, "request " + s.id + " already exists (version " +
                                                   std::to_string(q.i64(0)) + ")");
      }
    }
    Query(db,
          "INSERT INTO requests(id, version, status, requester, app, role, expires_at, created_at, updated_at, "
          "state_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
        .bind(s.id).bind(version).bind(status).bind(s.request.requester).bind(s.request.app).bind(s.request.role)
        .bind(expires).bind(s.created_at).bind(s.updated_at).bind(state_json)
        .run();
  } else {
    Query(db,
          "UPDATE requests SET version = ?, status = ?, requester = ?, app = ?, role = ?, expires_at = ?, "
          "updated_at = ?, state_json = ? WHERE id = ? AND version = ?")
        .bind(version).bind(status).bind(s.request.requester).bind(s.request.app).bind(s.request.role).bind(expires)
        .bind(s.updated_at).bind(state_json).bind(s.id).bind(static_cast<std::int64_t>(c.expected_version))
        .run();
    if (db.changes() == 0) {
      Query q(db, "SELECT version FROM requests WHERE id = ?");
      q.bind(s.id);
      if (!q.step()) return make_error(ErrorCode::not_found, "no request " + s.id);
      return make_error(ErrorCode::conflict, "request " + s.id + " is at version " + std::to_string(q.i64(0)) +
                                                 ", the commit expected " + std::to_string(c.expected_version));
    }
  }

  Query(db, "INSERT INTO events(request_id, version, at, event_json) VALUES (?, ?, ?, ?)")
      .bind(s.id).bind(version).bind(c.now).bind(event_json)
      .run();

  for (std::size_t i = 0; i < effects.size(); ++i) {
    const std::string key = s.id + "/" + std::to_string(s.version) + "/" + std::to_string(i);
    {
      Query q(db, "SELECT 1 FROM outbox WHERE idempotency_key = ?");
      q.bind(key);
      if (q.step()) return make_error(ErrorCode::conflict, "outbox key " + key + " already used");
    }
    Query(db,
          "INSERT INTO outbox(idempotency_key, request_id, version, idx, effect_json, next_attempt_at, created_at) "
          "VALUES (?, ?, ?, ?, ?, ?, ?)")
        .bind(key).bind(s.id).bind(version).bind(static_cast<std::int64_t>(i)).bind(effects[i]).bind(c.now).bind(c.now)
        .run();
  }

  for (const auto& t : c.timers) {
    const std::string kind(codec::timer_key(t.kind));
    if (t.due) {
      Query(db,
            "INSERT INTO timers(request_id, kind, step, due_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(request_id, kind) DO UPDATE SET step = excluded.step, due_at = excluded.due_at")
          .bind(s.id).bind(kind).bind(static_cast<std::int64_t>(t.step)).bind(*t.due)
          .run();
    } else {
      if (t.only_if_due) {
        Query(db, "DELETE FROM timers WHERE request_id = ? AND kind = ? AND step = ? AND due_at = ?")
            .bind(s.id).bind(kind).bind(static_cast<std::int64_t>(t.step)).bind(*t.only_if_due)
            .run();
      } else {
        Query(db, "DELETE FROM timers WHERE request_id = ? AND kind = ?").bind(s.id).bind(kind).run();
      }
    }
  }

  AuditHead& head = w.head();
  for (std::size_t i = 0; i < c.audit.size(); ++i) {
    audit::Entry e;
    e.seq = head.seq + 1;
    e.request_id = s.id;
    e.at = c.now;
    e.kind = c.audit[i].kind;
    e.actor = c.audit[i].actor;
    e.text = c.audit[i].text;
    e.payload = payloads[i];
    e.prev_hash = head.hash;
    e.hash = audit::compute_hash(e.prev_hash, e);
    Query(db,
          "INSERT INTO audit(seq, request_id, at, kind, actor, text, payload, prev_hash, hash) "
          "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
        .bind(e.seq).bind(e.request_id).bind(e.at).bind(e.kind).bind(e.actor).bind(e.text).bind(e.payload)
        .bind(e.prev_hash).bind(e.hash)
        .run();
    head = AuditHead{e.seq, e.hash};
  }

  if (c.idempotency_key) {
    Query(db, "INSERT INTO idempotency_keys(key, request_id, created_at) VALUES (?, ?, ?)")
        .bind(*c.idempotency_key).bind(s.id).bind(c.now)
        .run();
  }

  for (const auto& f : c.finish_outbox) {
    if (outbox_lease_holder(db, f.id, f.owner)) mark_outbox(db, f.id, f.outcome, c.now);
  }

  return CommitResult{s.id, s.version, false, c.audit.empty() ? 0 : head.seq};
}

Result<std::vector<OutboxRow>> apply_claim(Writer& w, const std::string& owner, Time now, Time lease_seconds,
                                           std::size_t limit) {
  Db& db = w.db();
  if (owner.empty()) return make_error(ErrorCode::invalid, "claim_outbox: empty owner");
  if (lease_seconds <= 0) return make_error(ErrorCode::invalid, "claim_outbox: lease must be positive");
  std::vector<OutboxRow> rows;
  std::vector<std::pair<std::int64_t, std::string>> undecodable;
  {
    static const std::string sql = std::string("SELECT ") + kOutboxColumns +
                                   " FROM outbox WHERE status = 'pending' AND next_attempt_at <= ? AND lease_until <= ? "
                                   "ORDER BY id LIMIT ?";
    Query q(db, sql.c_str());
    q.bind(now).bind(now).bind(static_cast<std::int64_t>(limit));
    while (q.step()) {
      OutboxRow row = outbox_row(q, 0);
      auto effect = decode_stored_effect(q.text(5));
      if (!effect) {
        undecodable.emplace_back(row.id, effect.error().message);
        continue;
      }
      row.effect = std::move(*effect);
      rows.push_back(std::move(row));
    }
  }
  // A row that no longer decodes can never run: park it as dead with the
  // reason instead of failing every claim after it. The row itself stays.
  for (const auto& [id, why] : undecodable) {
    Query(db, "UPDATE outbox SET status = 'dead', last_error = ?, finished_at = ? WHERE id = ?")
        .bind("stored effect does not decode: " + why).bind(now).bind(id)
        .run();
  }
  for (auto& row : rows) {
    row.lease_until = now + lease_seconds;
    Query(db, "UPDATE outbox SET lease_owner = ?, lease_until = ? WHERE id = ?").bind(owner).bind(row.lease_until).bind(row.id).run();
  }
  return rows;
}

Result<std::monostate> apply_finish(Writer& w, std::int64_t id, const std::string& owner, const OutboxOutcome& o,
                                    Time now) {
  Db& db = w.db();
  {
    Query q(db, "SELECT status, lease_owner FROM outbox WHERE id = ?");
    q.bind(id);
    if (!q.step()) return make_error(ErrorCode::not_found, "no outbox row " + std::to_string(id));
    if (q.text(0) != "pending") return make_error(ErrorCode::conflict, "outbox row " + std::to_string(id) + " is already " + q.text(0));
    if (q.null(1) || q.text(1) != owner) {
      return make_error(ErrorCode::conflict, "outbox row " + std::to_string(id) + " is not leased to " + owner);
    }
  }
  mark_outbox(db, id, o, now);
  return std::monostate{};
}

// ---- the store ---------------------------------------------------------------

class SqliteStore final : public Store {
 public:
  SqliteStore(SqliteOptions options, std::unique_ptr<Db> writer_db)
      : options_(std::move(options)), writer_(std::move(writer_db), options_.max_batch) {}

  std::future<Result<CommitResult>> commit_async(Commit commit) override {
    auto encoded = encode_commit(std::move(commit));
    if (!encoded) {
      std::promise<Result<CommitResult>> failed;
      failed.set_value(encoded.error());
      return failed.get_future();
    }
    return enqueue<CommitResult>([e = std::move(*encoded)](Writer& w) { return apply_commit(w, e); });
  }

  Result<std::vector<OutboxRow>> claim_outbox(const std::string& owner, Time now, Time lease_seconds,
                                              std::size_t limit) override {
    return enqueue<std::vector<OutboxRow>>(
               [=](Writer& w) { return apply_claim(w, owner, now, lease_seconds, limit); })
        .get();
  }

  Result<std::int64_t> release_outbox_leases(const std::string& owner) override {
    return enqueue<std::int64_t>([owner](Writer& w) -> Result<std::int64_t> {
             Query(w.db(), "UPDATE outbox SET lease_owner = NULL, lease_until = 0 WHERE status = 'pending' AND lease_owner = ?")
                 .bind(owner)
                 .run();
             return static_cast<std::int64_t>(w.db().changes());
           })
        .get();
  }

  std::future<Status> finish_outbox_async(std::int64_t id, const std::string& owner, const OutboxOutcome& outcome,
                                          Time now) override {
    auto finished = std::make_shared<std::future<Result<std::monostate>>>(
        enqueue<std::monostate>([=](Writer& w) { return apply_finish(w, id, owner, outcome, now); }));
    // Deferred: the conversion runs only if the caller asks for the result.
    return std::async(std::launch::deferred, [finished]() -> Status {
      auto r = finished->get();
      if (!r) return r.error();
      return {};
    });
  }

  Status finish_outbox(std::int64_t id, const std::string& owner, const OutboxOutcome& outcome, Time now) override {
    auto r = enqueue<std::monostate>([=](Writer& w) { return apply_finish(w, id, owner, outcome, now); }).get();
    if (!r) return r.error();
    return {};
  }

  Result<ip::RequestState> get(const std::string& id) override {
    return read<ip::RequestState>([&](Db& db) -> Result<ip::RequestState> {
      Query q(db, "SELECT state_json FROM requests WHERE id = ?");
      q.bind(id);
      if (!q.step()) return make_error(ErrorCode::not_found, "no request " + id);
      return decode_stored_state(id, q.text(0));
    });
  }

  Result<RequestPage> list(const RequestFilter& f) override {
    return read<RequestPage>([&](Db& db) -> Result<RequestPage> {
      const std::size_t limit = std::min<std::size_t>(f.limit == 0 ? 1 : f.limit, 1000);
      std::string sql = "SELECT id, state_json FROM requests WHERE 1 = 1";
      std::string status;
      if (f.status) {
        sql += " AND status = ?";
        status = std::string(ip::status_name(*f.status));
      }
      if (f.requester) sql += " AND requester = ?";
      if (f.app) sql += " AND app = ?";
      if (f.after) sql += " AND id > ?";
      sql += " ORDER BY id LIMIT ?";
      Query q(db, sql, true);
      if (f.status) q.bind(status);
      if (f.requester) q.bind(*f.requester);
      if (f.app) q.bind(*f.app);
      if (f.after) q.bind(*f.after);
      q.bind(static_cast<std::int64_t>(limit + 1));
      RequestPage page;
      while (q.step()) {
        if (page.requests.size() == limit) {
          page.next = page.requests.back().id;
          break;
        }
        auto state = decode_stored_state(q.text(0), q.text(1));
        if (!state) return state.error();
        page.requests.push_back(std::move(*state));
      }
      return page;
    });
  }

  // Grants are ordered by (permanent last, expiry, id); the cursor is
  // "<expiry>:<id>" or "permanent:<id>" of the last grant of a page.
  Result<GrantPage> active_grants(const GrantFilter& f) override {
    return read<GrantPage>([&](Db& db) -> Result<GrantPage> {
      const std::size_t limit = std::min<std::size_t>(f.limit == 0 ? 1 : f.limit, 1000);
      struct Cursor {
        std::optional<Time> expires;  // nullopt: in the permanent part
        std::string id;
      };
      std::optional<Cursor> after;
      if (f.after) {
        const auto colon = f.after->find(':');
        if (colon == std::string::npos) return make_error(ErrorCode::invalid, "after: not a grants cursor");
        const std::string head = f.after->substr(0, colon);
        Cursor c{std::nullopt, f.after->substr(colon + 1)};
        if (head != "permanent") {
          try {
            std::size_t used = 0;
            c.expires = std::stoll(head, &used);
            if (used != head.size()) throw std::invalid_argument(head);
          } catch (const std::exception&) {
            return make_error(ErrorCode::invalid, "after: not a grants cursor");
          }
        }
        after = std::move(c);
      }
      auto grant_of = [](Query& q) {
        return Grant{q.text(0), ip::Status::active, q.text(1), q.text(2), q.text(3), q.opt_i64(4)};
      };
      auto comes_after = [&](const Grant& g) {
        if (!after) return true;
        if (after->expires) {
          if (!g.expires_at) return true;
          return *g.expires_at > *after->expires || (*g.expires_at == *after->expires && g.request_id > after->id);
        }
        return !g.expires_at && g.request_id > after->id;
      };
      std::vector<Grant> rows;
      if (f.requester) {
        // One person holds few grants: read them by the requester index and
        // order them here.
        Query q(db,
                "SELECT id, requester, app, role, expires_at FROM requests WHERE requester = ? AND status = 'active'");
        q.bind(*f.requester);
        while (q.step()) rows.push_back(grant_of(q));
        std::sort(rows.begin(), rows.end(), [](const Grant& a, const Grant& b) {
          if (a.expires_at.has_value() != b.expires_at.has_value()) return a.expires_at.has_value();
          if (a.expires_at != b.expires_at) return *a.expires_at < *b.expires_at;
          return a.request_id < b.request_id;
        });
        std::erase_if(rows, [&](const Grant& g) { return !comes_after(g); });
        if (rows.size() > limit + 1) rows.resize(limit + 1);
      } else {
        // Time-bound grants by the expiry index (named: the planner would
        // rather sort every active row from the status index), then
        // permanent ones by id.
        if (!after || after->expires) {
          std::string sql =
              "SELECT id, requester, app, role, expires_at FROM requests INDEXED BY requests_active "
              "WHERE status = 'active' AND expires_at IS NOT NULL";
          // A range on the expiry index, then the ties after the cursor's id.
          if (after) sql += " AND expires_at >= ? AND (expires_at > ? OR id > ?)";
          sql += " ORDER BY expires_at, id LIMIT ?";
          Query q(db, sql, true);
          if (after) q.bind(*after->expires).bind(*after->expires).bind(after->id);
          q.bind(static_cast<std::int64_t>(limit + 1));
          while (q.step()) rows.push_back(grant_of(q));
        }
        if (rows.size() <= limit) {
          std::string sql =
              "SELECT id, requester, app, role, expires_at FROM requests WHERE status = 'active' AND expires_at IS NULL";
          const bool within_permanent = after && !after->expires;
          if (within_permanent) sql += " AND id > ?";
          sql += " ORDER BY id LIMIT ?";
          Query q(db, sql, true);
          if (within_permanent) q.bind(after->id);
          q.bind(static_cast<std::int64_t>(limit + 1 - rows.size()));
          while (q.step()) rows.push_back(grant_of(q));
        }
      }
      GrantPage page;
      if (rows.size() > limit) {
        rows.resize(limit);
        const Grant& last = rows.back();
        page.next = (last.expires_at ? std::to_string(*last.expires_at) : std::string("permanent")) + ":" + last.request_id;
      }
      page.grants = std::move(rows);
      return page;
    });
  }

  Result<std::vector<Grant>> holdings_of(const std::string& requester) override {
    return read<std::vector<Grant>>([&](Db& db) -> Result<std::vector<Grant>> {
      Query q(db,
              "SELECT id, status, requester, app, role, expires_at FROM requests WHERE requester = ? "
              "AND status IN ('active', 'provisioning', 'awaiting_fulfilment') ORDER BY id");
      q.bind(requester);
      std::vector<Grant> out;
      while (q.step()) {
        auto status = ip::status_from_name(q.text(1));
        if (!status) return make_error(ErrorCode::corrupt, "request " + q.text(0) + " has unknown status " + q.text(1));
        out.push_back(Grant{q.text(0), *status, q.text(2), q.text(3), q.text(4), q.opt_i64(5)});
      }
      return out;
    });
  }

  Result<std::vector<OutboxRow>> pending_outbox(std::size_t limit) override {
    return read<std::vector<OutboxRow>>([&](Db& db) -> Result<std::vector<OutboxRow>> {
      static const std::string sql =
          std::string("SELECT ") + kOutboxColumns + " FROM outbox WHERE status = 'pending' ORDER BY id LIMIT ?";
      Query q(db, sql.c_str());
      q.bind(static_cast<std::int64_t>(limit));
      std::vector<OutboxRow> out;
      while (q.step()) {
        OutboxRow row = outbox_row(q, 0);
        auto effect = decode_stored_effect(q.text(5));
        if (!effect) {
          return make_error(ErrorCode::corrupt, "outbox row " + std::to_string(row.id) + ": " + effect.error().message);
        }
        row.effect = std::move(*effect);
        out.push_back(std::move(row));
      }
      return out;
    });
  }

  Result<std::vector<DueTimer>> due_timers(Time now, std::size_t limit) override {
    return read<std::vector<DueTimer>>([&](Db& db) -> Result<std::vector<DueTimer>> {
      Query q(db, "SELECT request_id, kind, step, due_at FROM timers WHERE due_at <= ? ORDER BY due_at, request_id, kind LIMIT ?");
      q.bind(now).bind(static_cast<std::int64_t>(limit));
      std::vector<DueTimer> out;
      while (q.step()) {
        auto kind = codec::timer_from_key(q.text(1));
        if (!kind) return make_error(ErrorCode::corrupt, "timer of request " + q.text(0) + " has unknown kind " + q.text(1));
        out.push_back(DueTimer{q.text(0), *kind, static_cast<std::size_t>(q.i64(2)), q.i64(3)});
      }
      return out;
    });
  }

  Result<std::optional<std::string>> connector_state_get(const std::string& scope, const std::string& key) override {
    return read<std::optional<std::string>>([&](Db& db) -> Result<std::optional<std::string>> {
      Query q(db, "SELECT value FROM connector_state WHERE scope = ? AND key = ?");
      q.bind(scope).bind(key);
      if (!q.step()) return std::optional<std::string>{};
      return std::optional<std::string>(q.text(0));
    });
  }

  Result<bool> connector_state_write(const std::string& scope, const std::string& key, const std::string& value,
                                     bool replace, Time now) override {
    return enqueue<bool>([=](Writer& w) -> Result<bool> {
             Query(w.db(), replace ? "INSERT INTO connector_state(scope, key, value, updated_at) VALUES (?, ?, ?, ?) "
                                     "ON CONFLICT(scope, key) DO UPDATE SET value = excluded.value, "
                                     "updated_at = excluded.updated_at"
                                   : "INSERT OR IGNORE INTO connector_state(scope, key, value, updated_at) "
                                     "VALUES (?, ?, ?, ?)")
                 .bind(scope)
                 .bind(key)
                 .bind(value)
                 .bind(now)
                 .run();
             return w.db().changes() == 1;
           })
        .get();
  }

  Result<std::optional<Time>> next_timer() override {
    return read<std::optional<Time>>([&](Db& db) -> Result<std::optional<Time>> {
      Query q(db, "SELECT MIN(due_at) FROM timers");
      if (!q.step()) return std::optional<Time>{};
      return q.opt_i64(0);
    });
  }

  Result<StoreStats> stats() override {
    return read<StoreStats>([&](Db& db) -> Result<StoreStats> {
      StoreStats out;
      {
        Query q(db, "SELECT status, COUNT(*) FROM requests GROUP BY status ORDER BY status");
        while (q.step()) {
          auto status = ip::status_from_name(q.text(0));
          if (!status) return make_error(ErrorCode::corrupt, "a request has unknown status " + q.text(0));
          out.requests_by_status.emplace_back(*status, q.i64(1));
        }
      }
      {
        Query q(db, "SELECT COUNT(*) FROM outbox WHERE status = 'pending'");
        if (q.step()) out.outbox_pending = q.i64(0);
      }
      {
        Query q(db, "SELECT COUNT(*) FROM outbox WHERE status = 'dead'");
        if (q.step()) out.outbox_dead = q.i64(0);
      }
      {
        Query q(db, "SELECT MIN(due_at) FROM timers WHERE kind = 'expire'");
        if (q.step()) out.next_expiry = q.opt_i64(0);
      }
      {
        Query q(db, "SELECT MIN(due_at) FROM timers");
        if (q.step()) out.next_timer = q.opt_i64(0);
      }
      return out;
    });
  }

  Result<std::vector<Json>> events_of(const std::string& request_id) override {
    return read<std::vector<Json>>([&](Db& db) -> Result<std::vector<Json>> {
      Query q(db, "SELECT id, event_json FROM events WHERE request_id = ? ORDER BY id");
      q.bind(request_id);
      std::vector<Json> out;
      while (q.step()) {
        auto json = codec::parse(q.text(1));
        if (!json) return make_error(ErrorCode::corrupt, "event " + q.text(0) + ": " + json.error().message);
        out.push_back(std::move(*json));
      }
      return out;
    });
  }

  Result<std::vector<audit::Entry>> audit_of(const std::string& request_id) override {
    return read<std::vector<audit::Entry>>([&](Db& db) -> Result<std::vector<audit::Entry>> {
      Query q(db,
              "SELECT seq, request_id, at, kind, actor, text, payload, prev_hash, hash FROM audit "
              "WHERE request_id = ? ORDER BY seq");
      q.bind(request_id);
      std::vector<audit::Entry> out;
      while (q.step()) out.push_back(audit_row(q));
      return out;
    });
  }

  Result<AuditHead> audit_head() override {
    return read<AuditHead>([&](Db& db) -> Result<AuditHead> {
      Query q(db, "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1");
      if (!q.step()) return AuditHead{};
      return AuditHead{q.i64(0), q.text(1)};
    });
  }

  Result<AuditVerification> verify_audit(const std::optional<AuditHead>& expected) override {
    return read<AuditVerification>([&](Db& db) { return verify_chain(db, expected); });
  }

 private:
  static Result<ip::RequestState> decode_stored_state(const std::string& id, const std::string& text) {
    auto json = codec::parse(text);
    if (!json) return make_error(ErrorCode::corrupt, "request " + id + ": " + json.error().message);
    auto state = codec::decode_state(*json);
    if (!state) return make_error(ErrorCode::corrupt, "request " + id + ": " + state.error().message);
    return state;
  }

  template <class T>
  std::future<Result<T>> enqueue(std::function<Result<T>(Writer&)> body) {
    auto job = std::make_unique<TypedJob<T>>(std::move(body));
    auto future = job->future();
    if (!writer_.submit(std::move(job))) {
      std::promise<Result<T>> closed;
      closed.set_value(make_error(ErrorCode::closed, "the store is shutting down"));
      return closed.get_future();
    }
    return future;
  }

  // Runs `body` on a pooled read connection.
  template <class T, class F>
  Result<T> read(F&& body) {
    std::unique_ptr<Db> db;
    {
      std::lock_guard lock(pool_mutex_);
      if (!pool_.empty()) {
        db = std::move(pool_.back());
        pool_.pop_back();
      }
    }
    Result<T> result = guarded<T>([&]() -> Result<T> {
      if (!db) {
        db = Db::open(options_.path, options_.busy_timeout_ms);
        db->exec("PRAGMA query_only=ON");
      }
      return body(*db);
    });
    if (db) {
      std::lock_guard lock(pool_mutex_);
      if (pool_.size() < kMaxPooledReaders) pool_.push_back(std::move(db));
    }
    return result;
  }

  static constexpr std::size_t kMaxPooledReaders = 8;

  SqliteOptions options_;
  // Destroyed before the pool: the writer drains its queue first.
  std::mutex pool_mutex_;
  std::vector<std::unique_ptr<Db>> pool_;
  Writer writer_;
};

}  // namespace

int sqlite_schema_version() { return kLatestVersion; }

Result<AuditVerification> verify_sqlite_audit(const std::string& path, const std::optional<AuditHead>& expected_head) {
  return guarded<AuditVerification>([&]() -> Result<AuditVerification> {
    if (path.empty()) return make_error(ErrorCode::invalid, "no database path");
    // Plain read-only open: no URI parsing of the path, no create, no
    // pragma or migration that would write.
    auto db = Db::open(path, 5000, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX);
    {
      Query q(*db, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN ('audit', 'schema_version')");
      if (!q.step() || q.i64(0) != 2) {
        return make_error(ErrorCode::corrupt, path + " is not a Portcullis database (no audit table)");
      }
    }
    return verify_chain(*db, expected_head);
  });
}

Result<StoredRequestEvidence> read_sqlite_request_evidence(const std::string& path, const std::string& request_id) {
  return guarded<StoredRequestEvidence>([&]() -> Result<StoredRequestEvidence> {
    if (path.empty()) return make_error(ErrorCode::invalid, "no database path");
    // Same read-only open as verify_sqlite_audit: nothing here may write.
    auto db = Db::open(path, 5000, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX);
    {
      Query q(*db, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN ('requests', 'audit', 'schema_version')");
      if (!q.step() || q.i64(0) != 3) {
        return make_error(ErrorCode::corrupt, path + " is not a Portcullis database (no requests or audit table)");
      }
    }
    // One read transaction: the state, its events and its audit entries
    // come from the same commit, never from either side of a later one.
    db->exec("BEGIN");
    StoredRequestEvidence out;
    {
      Query q(*db, "SELECT state_json FROM requests WHERE id = ?");
      q.bind(request_id);
      if (!q.step()) return make_error(ErrorCode::not_found, "no request " + request_id);
      auto json = codec::parse(q.text(0));
      if (!json) return make_error(ErrorCode::corrupt, "request " + request_id + ": " + json.error().message);
      auto state = codec::decode_state(*json);
      if (!state) return make_error(ErrorCode::corrupt, "request " + request_id + ": " + state.error().message);
      out.state = std::move(*state);
    }
    {
      Query q(*db, "SELECT id, event_json FROM events WHERE request_id = ? ORDER BY id");
      q.bind(request_id);
      while (q.step()) {
        auto json = codec::parse(q.text(1));
        if (!json) return make_error(ErrorCode::corrupt, "event " + q.text(0) + ": " + json.error().message);
        out.events.push_back(std::move(*json));
      }
    }
    {
      Query q(*db,
              "SELECT seq, request_id, at, kind, actor, text, payload, prev_hash, hash FROM audit "
              "WHERE request_id = ? ORDER BY seq");
      q.bind(request_id);
      while (q.step()) out.audit.push_back(audit_row(q));
    }
    auto chain = verify_chain(*db, std::nullopt);
    if (!chain) return chain.error();
    out.chain = std::move(*chain);
    return out;  // the read transaction ends when the connection closes
  });
}

Result<std::unique_ptr<Store>> open_sqlite_store(const SqliteOptions& options) {
  return guarded<std::unique_ptr<Store>>([&]() -> Result<std::unique_ptr<Store>> {
    if (options.path.empty()) return make_error(ErrorCode::invalid, "open_sqlite_store: empty path");
    auto db = Db::open(options.path, options.busy_timeout_ms);
    // Fail fast on a file that is not a database, before any pragma writes.
    db->pragma_text("PRAGMA schema_version");
    configure_writer(*db, options.synchronous);
    migrate(*db);
    return std::unique_ptr<Store>(std::make_unique<SqliteStore>(options, std::move(db)));
  });
}

}  // namespace portcullis::runtime
