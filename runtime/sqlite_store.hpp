#pragma once
// The embedded Store: one SQLite database file in WAL mode.
//
// - open_sqlite_store() opens (or creates) the file, sets the pragmas
//   (journal_mode=WAL, synchronous=FULL by default, busy_timeout,
//   foreign_keys=ON), applies the schema migrations the file lacks inside
//   one transaction, and refuses a file that is read-only or whose schema
//   is newer than this binary. Nothing is written on failure.
// - Writes (commits, outbox claims and outcomes) go through one writer
//   thread that owns the only writing connection. It takes up to
//   `max_batch` queued writes at a time and applies them in one
//   transaction, each inside its own SAVEPOINT: a write that fails (a
//   version conflict, bad input) is rolled back alone and the others
//   commit. One fsync then makes the whole batch durable, and every
//   caller's future is fulfilled after that COMMIT returns. commit_async()
//   encodes a commit's JSON on the calling thread before queueing it, so
//   the one writer thread spends its time on SQL and the sync only.
// - Reads use a small pool of separate connections; WAL lets them read the
//   last committed state while the writer writes.
//
// All SQL dialect details of the runtime live in sqlite_store.cpp.
// docs/storage.md describes the schema and what each synchronous mode
// survives.

#include <memory>
#include <string>

#include "runtime/store.hpp"

namespace portcullis::runtime {

struct SqliteOptions {
  // A file path, or an SQLite URI starting with "file:" (e.g.
  // "file:/var/lib/portcullis/state.db?mode=ro", which open refuses as
  // read-only).
  std::string path;
  // Most writes per transaction. 1 gives one transaction (and one fsync)
  // per commit: the baseline the benchmark compares with.
  std::size_t max_batch = 256;
  int busy_timeout_ms = 5000;
  enum class Synchronous { full, normal };
  // FULL: a commit whose result is ok survives power loss. NORMAL (WAL):
  // survives a process crash but the last commits may be lost on power
  // loss. See docs/storage.md before changing it.
  Synchronous synchronous = Synchronous::full;
};

// The schema version this binary writes (the highest migration it knows).
int sqlite_schema_version();

// Opens the store. Errors: io (cannot open, read-only file, disk full),
// corrupt (not a database, or a schema newer than this binary).
Result<std::unique_ptr<Store>> open_sqlite_store(const SqliteOptions& options);

// Verifies the audit chain of the database at `path` without writing to it
// (opened read-only, no migration): what `portcullis audit verify` runs.
// Errors: io (cannot open), corrupt (not a Portcullis database).
Result<AuditVerification> verify_sqlite_audit(const std::string& path,
                                              const std::optional<AuditHead>& expected_head = std::nullopt);

// Everything stored about one request, read in one snapshot.
struct StoredRequestEvidence {
  interpreter::RequestState state;
  std::vector<Json> events;          // as committed, oldest first
  std::vector<audit::Entry> audit;   // the request's entries, in seq order
  AuditVerification chain;           // the whole chain, verified in the same snapshot
};

// Reads one request's state, events and audit entries from the database at
// `path` without writing to it (opened read-only, no migration), and
// verifies the whole chain in the same read transaction: what `portcullis
// audit export` runs. Errors: io (cannot open), corrupt (not a Portcullis
// database, or the stored state does not decode), not_found (no such
// request).
Result<StoredRequestEvidence> read_sqlite_request_evidence(const std::string& path, const std::string& request_id);

}  // namespace portcullis::runtime
