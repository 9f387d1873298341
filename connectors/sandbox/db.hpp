#pragma once
// A thin SQLite wrapper private to the sandbox: one connection, cached
// prepared statements, a write-transaction guard. Failures are thrown as
// SqlFailure and never leave the library: the connector entry points turn
// them into Outcome values.
//
// Not thread-safe by itself: the caller holds the sandbox's mutex.

#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace portcullis::connectors::sandbox_detail {

struct SqlFailure {
  int code = SQLITE_ERROR;  // extended result code
  std::string message;

  // Another connection held the lock (past our busy time-out): a retry may
  // succeed. Anything else will fail again the same way.
  bool transient() const {
    const int primary = code & 0xff;
    return primary == SQLITE_BUSY || primary == SQLITE_LOCKED;
  }
};

class Connection {
 public:
  // nullptr on failure, with `error` naming `path` and SQLite's message.
  static std::unique_ptr<Connection> open(const std::string& path, std::chrono::milliseconds busy_timeout,
                                          std::string& error);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();

  void exec(const char* sql);
  // The first column of the first row as text ("" when there is none).
  std::string query_text(const char* sql);
  // A statement prepared once for the connection's lifetime, keyed by the
  // SQL literal's address (every cached SQL text is a string literal).
  sqlite3_stmt* cached(const char* sql);
  [[noreturn]] void fail(int rc, std::string_view what) const;
  sqlite3* raw() const { return db_; }

 private:
  Connection() = default;
  // Our busy handler: sleeps in short steps (SQLite's own sleeps grow to
  // tens of milliseconds), giving up once the time-out has passed.
  static int on_busy(void* self, int attempt);

  sqlite3* db_ = nullptr;
  std::chrono::milliseconds busy_timeout_{0};
  std::chrono::steady_clock::time_point busy_since_{};
  std::map<const char*, sqlite3_stmt*> cache_;
};

// One use of a cached statement: binds left to right, resets on scope exit.
class Statement {
 public:
  Statement(Connection& connection, const char* sql) : connection_(connection), stmt_(connection.cached(sql)) {}
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }

  Statement& bind(std::int64_t value) {
    check(sqlite3_bind_int64(stmt_, ++index_, value));
    return *this;
  }
  Statement& bind(std::string_view value) {
    check(sqlite3_bind_text(stmt_, ++index_, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT));
    return *this;
  }
  Statement& bind(const std::string& value) { return bind(std::string_view(value)); }
  Statement& bind(const char* value) { return bind(std::string_view(value)); }

  // True while there is a row.
  bool step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    connection_.fail(rc, "statement failed");
  }
  void run() {
    while (step()) {
    }
  }

  std::int64_t i64(int col) const { return sqlite3_column_int64(stmt_, col); }
  std::string text(int col) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
    if (!p) return {};
    return std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col)));
  }

 private:
  void check(int rc) {
    if (rc != SQLITE_OK) connection_.fail(rc, "cannot bind parameter");
  }

  Connection& connection_;
  sqlite3_stmt* stmt_;
  int index_ = 0;
};

// BEGIN IMMEDIATE on construction: the write lock is taken up front, so a
// transaction never has to upgrade from a read snapshot another writer has
// since moved past (which SQLite reports as BUSY without waiting). Rolls
// back unless commit() ran.
class WriteTransaction {
 public:
  explicit WriteTransaction(Connection& connection) : connection_(connection) { connection_.exec("BEGIN IMMEDIATE"); }
  WriteTransaction(const WriteTransaction&) = delete;
  WriteTransaction& operator=(const WriteTransaction&) = delete;
  ~WriteTransaction() {
    if (!done_) sqlite3_exec(connection_.raw(), "ROLLBACK", nullptr, nullptr, nullptr);
  }
  void commit() {
    connection_.exec("COMMIT");
    done_ = true;
  }

 private:
  Connection& connection_;
  bool done_ = false;
};

// A read transaction, so several SELECTs see one snapshot.
class ReadTransaction {
 public:
  explicit ReadTransaction(Connection& connection) : connection_(connection) { connection_.exec("BEGIN"); }
  ReadTransaction(const ReadTransaction&) = delete;
  ReadTransaction& operator=(const ReadTransaction&) = delete;
  ~ReadTransaction() { sqlite3_exec(connection_.raw(), "COMMIT", nullptr, nullptr, nullptr); }

 private:
  Connection& connection_;
};

}  // namespace portcullis::connectors::sandbox_detail
