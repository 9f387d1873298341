#include "connectors/sandbox/db.hpp"

#include <thread>

namespace portcullis::connectors::sandbox_detail {

namespace {

// Short enough that a call waiting on the store's writer (which holds the
// write lock only for its batch and fsync) resumes right after it is done.
constexpr std::chrono::microseconds kBusyStep{100};

}  // namespace

std::unique_ptr<Connection> Connection::open(const std::string& path, std::chrono::milliseconds busy_timeout,
                                             std::string& error) {
  std::unique_ptr<Connection> connection(new Connection());
  // NOMUTEX: the sandbox serialises every use of the connection itself.
  constexpr int kFlags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI;
  const int rc = sqlite3_open_v2(path.c_str(), &connection->db_, kFlags, nullptr);
  if (rc != SQLITE_OK) {
    error = "cannot open sandbox database " + path + ": " +
            (connection->db_ ? sqlite3_errmsg(connection->db_) : sqlite3_errstr(rc));
    return nullptr;
  }
  sqlite3_extended_result_codes(connection->db_, 1);
  // sqlite3_busy_timeout() (PRAGMA busy_timeout) and sqlite3_busy_handler()
  // replace each other, so the time-out lives in our handler.
  connection->busy_timeout_ = busy_timeout;
  sqlite3_busy_handler(connection->db_, &Connection::on_busy, connection.get());
  return connection;
}

Connection::~Connection() {
  for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
  if (db_) sqlite3_close_v2(db_);
}

int Connection::on_busy(void* self, int attempt) {
  auto* connection = static_cast<Connection*>(self);
  const auto now = std::chrono::steady_clock::now();
  if (attempt == 0) connection->busy_since_ = now;
  if (now - connection->busy_since_ >= connection->busy_timeout_) return 0;  // give up: SQLITE_BUSY
  std::this_thread::sleep_for(kBusyStep);
  return 1;
}

void Connection::fail(int rc, std::string_view what) const {
  std::string message(what);
  message += ": ";
  message += sqlite3_errmsg(db_);
  if ((rc & 0xff) == SQLITE_READONLY) message += " (the database file or its directory is read-only)";
  throw SqlFailure{rc, std::move(message)};
}

void Connection::exec(const char* sql) {
  char* err = nullptr;
  const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string message = err ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    throw SqlFailure{rc, std::move(message)};
  }
}

std::string Connection::query_text(const char* sql) {
  Statement statement(*this, sql);
  return statement.step() ? statement.text(0) : std::string();
}

sqlite3_stmt* Connection::cached(const char* sql) {
  if (auto it = cache_.find(sql); it != cache_.end()) return it->second;
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) fail(rc, "cannot prepare statement");
  cache_.emplace(sql, stmt);
  return stmt;
}

}  // namespace portcullis::connectors::sandbox_detail
