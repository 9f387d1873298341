#include "tools/analyze/daemon_record.hpp"

#include <memory>

#include <sqlite3.h>

#include "runtime/codec.hpp"

namespace portcullis::analyze {

using runtime::ErrorCode;
using runtime::make_error;

runtime::Result<std::vector<interpreter::RequestState>> read_daemon_requests(const std::string& path) {
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr);
  std::unique_ptr<sqlite3, int (*)(sqlite3*)> db(raw, sqlite3_close);
  if (rc != SQLITE_OK) {
    return make_error(ErrorCode::io,
                      std::string("cannot open database: ") + (raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
  }
  sqlite3_busy_timeout(db.get(), 5000);
  sqlite3_stmt* raw_stmt = nullptr;
  if (sqlite3_prepare_v2(db.get(), "SELECT id, state_json FROM requests ORDER BY created_at, id", -1, &raw_stmt,
                         nullptr) != SQLITE_OK) {
    return make_error(ErrorCode::corrupt, "not a Portcullis database (cannot list its requests: " +
                                              std::string(sqlite3_errmsg(db.get())) + ")");
  }
  std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> stmt(raw_stmt, sqlite3_finalize);
  std::vector<interpreter::RequestState> out;
  int step = SQLITE_ROW;
  while ((step = sqlite3_step(stmt.get())) == SQLITE_ROW) {
    const auto* id = reinterpret_cast<const char*>(sqlite3_column_text(stmt.get(), 0));
    const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt.get(), 1));
    const std::string name = id ? id : "?";
    auto json = runtime::codec::parse(text ? text : "");
    if (!json) return make_error(ErrorCode::corrupt, "request " + name + ": " + json.error().message);
    auto state = runtime::codec::decode_state(*json);
    if (!state) return make_error(ErrorCode::corrupt, "request " + name + ": " + state.error().message);
    out.push_back(std::move(*state));
  }
  if (step != SQLITE_DONE) {
    return make_error(ErrorCode::io, "cannot list its requests: " + std::string(sqlite3_errmsg(db.get())));
  }
  return out;
}

}  // namespace portcullis::analyze
