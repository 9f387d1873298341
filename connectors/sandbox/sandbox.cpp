#include "connectors/sandbox/sandbox.hpp"

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <utility>

#include "connectors/sandbox/db.hpp"

namespace portcullis::connectors {

namespace ip = portcullis::interpreter;

namespace sandbox_detail {

namespace {

// Every table is prefixed `sandbox_` and created only when absent: the
// runtime store owns the rest of the file and its schema_version, and
// never learns about these.
constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS sandbox_memberships (
  provider  TEXT NOT NULL,
  grp       TEXT NOT NULL,
  user      TEXT NOT NULL,
  added_at  INTEGER NOT NULL,
  PRIMARY KEY (provider, grp, user)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS sandbox_tickets (
  key         TEXT PRIMARY KEY,
  request_id  TEXT UNIQUE,  -- NULL: a named ticket another request is bound to
  summary     TEXT NOT NULL,
  requester   TEXT NOT NULL,
  status      TEXT NOT NULL,
  created_at  INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS sandbox_comments (
  ticket           TEXT NOT NULL,
  seq              INTEGER NOT NULL,
  text             TEXT NOT NULL,
  idempotency_key  TEXT NOT NULL UNIQUE,
  at               INTEGER NOT NULL,
  PRIMARY KEY (ticket, seq)
);

-- One row per approver a card went to (approver '' for a channel post).
CREATE TABLE IF NOT EXISTS sandbox_messages (
  id               INTEGER PRIMARY KEY,
  request_id       TEXT NOT NULL,
  step             INTEGER NOT NULL,
  approver         TEXT NOT NULL,
  text             TEXT NOT NULL,
  idempotency_key  TEXT NOT NULL,
  posted_at        INTEGER NOT NULL,
  updated_at       INTEGER NOT NULL,
  UNIQUE (idempotency_key, approver)
);
CREATE INDEX IF NOT EXISTS sandbox_messages_by_request ON sandbox_messages(request_id, id);

CREATE TABLE IF NOT EXISTS sandbox_notifications (
  id               INTEGER PRIMARY KEY,
  recipients       TEXT NOT NULL,  -- JSON array of emails
  message          TEXT NOT NULL,
  idempotency_key  TEXT NOT NULL UNIQUE,
  at               INTEGER NOT NULL
);

-- Keys of the writes that overwrite (card updates, ticket transitions):
-- a late retry of an older one must not undo a newer one.
CREATE TABLE IF NOT EXISTS sandbox_applied_keys (
  idempotency_key  TEXT PRIMARY KEY,
  what             TEXT NOT NULL,
  at               INTEGER NOT NULL
);

-- The directory file's content: people entries verbatim and in file order
-- (so rebuilding through Directory::from_json gives the same Directory),
-- and groups as JSON arrays of emails.
CREATE TABLE IF NOT EXISTS sandbox_people (
  position  INTEGER PRIMARY KEY,
  email     TEXT NOT NULL,
  entry     TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sandbox_groups (
  grp      TEXT PRIMARY KEY,
  members  TEXT NOT NULL
);

-- directory_generation moves on every change to the directory tables,
-- whoever makes it (the triggers catch edits by hand too), so snapshot()
-- rebuilds only when it moved.
CREATE TABLE IF NOT EXISTS sandbox_meta (
  name   TEXT PRIMARY KEY,
  value  INTEGER NOT NULL
);
INSERT OR IGNORE INTO sandbox_meta(name, value) VALUES ('directory_generation', 0);
CREATE TRIGGER IF NOT EXISTS sandbox_people_inserted AFTER INSERT ON sandbox_people
  BEGIN UPDATE sandbox_meta SET value = value + 1 WHERE name = 'directory_generation'; END;
CREATE TRIGGER IF NOT EXISTS sandbox_people_updated AFTER UPDATE ON sandbox_people
  BEGIN UPDATE sandbox_meta SET value = value + 1 WHERE name = 'directory_generation'; END;
CREATE TRIGGER IF NOT EXISTS sandbox_people_deleted AFTER DELETE ON sandbox_people
  BEGIN UPDATE sandbox_meta SET value = value + 1 WHERE name = 'directory_generation'; END;
CREATE TRIGGER IF NOT EXISTS sandbox_groups_inserted AFTER INSERT ON sandbox_groups
  BEGIN UPDATE sandbox_meta SET value = value + 1 WHERE name = 'directory_generation'; END;
CREATE TRIGGER IF NOT EXISTS sandbox_groups_updated AFTER UPDATE ON sandbox_groups
  BEGIN UPDATE sandbox_meta SET value = value + 1 WHERE name = 'directory_generation'; END;
CREATE TRIGGER IF NOT EXISTS sandbox_groups_deleted AFTER DELETE ON sandbox_groups
  BEGIN UPDATE sandbox_meta SET value = value + 1 WHERE name = 'directory_generation'; END;
)sql";

std::int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Joins the parts of a fault key; the unit separator cannot be confused
// with a character of a provider or group name.
constexpr char kFaultKeySeparator = '\x1f';

std::string group_fault_key(const std::string& provider, const std::string& group) {
  return std::string("group") + kFaultKeySeparator + provider + kFaultKeySeparator + group;
}

std::string service_fault_key(Sandbox::Service service) {
  const char* name = "?";
  switch (service) {
    case Sandbox::Service::tracker:
      name = "tracker";
      break;
    case Sandbox::Service::chat:
      name = "chat";
      break;
    case Sandbox::Service::notifier:
      name = "notifier";
      break;
  }
  return std::string("service") + kFaultKeySeparator + name;
}

// True when a write with this overwrite-style key already happened.
bool already_applied(Connection& c, const std::string& idempotency_key) {
  Statement q(c, "SELECT 1 FROM sandbox_applied_keys WHERE idempotency_key = ?");
  q.bind(idempotency_key);
  return q.step();
}

void record_applied(Connection& c, const std::string& idempotency_key, const char* what) {
  Statement(c, "INSERT INTO sandbox_applied_keys(idempotency_key, what, at) VALUES (?, ?, ?)")
      .bind(idempotency_key)
      .bind(what)
      .bind(now_seconds())
      .run();
}

// A connector call's write scope inside the batch transaction the Core
// runs it in: a savepoint, released by commit(), rolled back otherwise.
class CallTransaction {
 public:
  explicit CallTransaction(Connection& connection) : connection_(connection) { connection_.exec("SAVEPOINT sandbox_call"); }
  CallTransaction(const CallTransaction&) = delete;
  CallTransaction& operator=(const CallTransaction&) = delete;
  ~CallTransaction() {
    if (!done_) {
      sqlite3_exec(connection_.raw(), "ROLLBACK TO sandbox_call", nullptr, nullptr, nullptr);
      sqlite3_exec(connection_.raw(), "RELEASE sandbox_call", nullptr, nullptr, nullptr);
    }
  }
  void commit() {
    connection_.exec("RELEASE sandbox_call");
    done_ = true;
  }

 private:
  Connection& connection_;
  bool done_ = false;
};

}  // namespace

// The state every connector of one sandbox shares: the connection, the
// lock around it, injected faults and the cached directory. Connectors
// hold it by shared_ptr, so they stay valid after the Sandbox is gone.
class Core {
 public:
  // `reader` (may be null: then directory reads share `connection`) is a
  // second connection used only for directory snapshots, under its own
  // lock: the engine asks for the directory on every command and API read,
  // and those must not queue behind connector writes (which may be waiting
  // for the store's writer to finish its fsync).
  Core(std::unique_ptr<Connection> connection, std::unique_ptr<Connection> reader, const SandboxOptions& options)
      : connection_(std::move(connection)), reader_(std::move(reader)), latency_(options.latency) {}

  // One connector call: the simulated round trip, then (under the lock)
  // an injected fault if one is armed for `fault_key`, else `body`.
  // Whatever fails becomes an Outcome whose message starts with `what`.
  template <class Body>
  Outcome call(const std::string& fault_key, const std::string& what, Body&& body) {
    if (latency_.count() > 0) std::this_thread::sleep_for(latency_);
    Pending pending{&fault_key, &what, std::function<Outcome(Connection&)>(std::forward<Body>(body)), {}, false};
    std::unique_lock lock(queue_mutex_);
    queue_.push_back(&pending);
    for (;;) {
      if (pending.done) return std::move(pending.outcome);
      if (!leading_) break;
      queue_cv_.wait(lock);
    }
    // Lead: run what is queued (ours included), a batch at a time, until
    // our own call is done; then hand the lead to a waiter.
    leading_ = true;
    while (!pending.done) {
      std::vector<Pending*> batch;
      while (!queue_.empty() && batch.size() < kMaxBatch) {
        batch.push_back(queue_.front());
        queue_.pop_front();
      }
      lock.unlock();
      run_batch(batch);
      lock.lock();
      for (Pending* p : batch) p->done = true;
      queue_cv_.notify_all();
    }
    leading_ = false;
    queue_cv_.notify_all();
    return std::move(pending.outcome);
  }

  // Inspection and directory reads: no latency, no faults. `error` is set
  // on failure.
  template <class Body>
  bool locked(std::string& error, Body&& body) {
    try {
      std::lock_guard lock(mutex_);
      body(*connection_);
      return true;
    } catch (const SqlFailure& e) {
      error = e.message;
    } catch (const std::exception& e) {
      error = e.what();
    }
    return false;
  }

  void arm_fault(const std::string& key, Outcome::Kind kind, int count, std::optional<std::int64_t> retry_after) {
    std::lock_guard lock(mutex_);
    if (count == 0 || kind == Outcome::Kind::ok) {
      faults_.erase(key);
      return;
    }
    faults_[key] = Fault{kind, count, retry_after};
  }

  std::shared_ptr<const ip::Directory> snapshot() {
    std::unique_lock<std::mutex> lock;
    Connection* connection = nullptr;
    if (reader_) {
      lock = std::unique_lock(reader_mutex_);
      connection = reader_.get();
    } else {
      lock = std::unique_lock(mutex_);
      connection = connection_.get();
    }
    try {
      refresh_directory(*connection);
    } catch (const SqlFailure&) {
      // Keep serving the last good snapshot: the interface has no way to
      // report a failed read, and a stale directory beats none.
    } catch (const std::exception&) {
    }
    if (!directory_) directory_ = std::make_shared<const ip::Directory>();
    return directory_;
  }

 private:
  // Calls that arrive while another runs are applied together: one
  // BEGIN IMMEDIATE ... COMMIT for the batch, each call in its own
  // savepoint (see CallTransaction), so a failing call undoes only its own
  // writes and no call reports success unless the batch's COMMIT landed.
  // Fewer transactions means fewer hand-offs of the file's write lock
  // between these connectors and the store's writer.
  struct Pending {
    const std::string* fault_key;
    const std::string* what;
    std::function<Outcome(Connection&)> body;
    Outcome outcome;
    bool done;
  };
  static constexpr std::size_t kMaxBatch = 64;

  static Outcome failure_of(const SqlFailure& e, const std::string& what) {
    return e.transient() ? Outcome::transient_failure(what + ": " + e.message)
                         : Outcome::permanent_failure(what + ": " + e.message);
  }

  void run_batch(const std::vector<Pending*>& batch) {
    std::lock_guard lock(mutex_);
    Connection& c = *connection_;
    try {
      c.exec("BEGIN IMMEDIATE");
    } catch (const SqlFailure& e) {
      for (Pending* p : batch) p->outcome = failure_of(e, *p->what);
      return;
    }
    std::vector<Pending*> applied;  // ran in the transaction: their writes stand or fall with the COMMIT
    bool lost = false;              // SQLite rolled the whole transaction back
    for (Pending* p : batch) {
      if (lost) {
        p->outcome = Outcome::transient_failure(*p->what + ": the batch transaction was rolled back");
        continue;
      }
      if (auto injected = take_fault(*p->fault_key, *p->what)) {
        p->outcome = *injected;
        continue;
      }
      try {
        p->outcome = p->body(c);
      } catch (const SqlFailure& e) {
        p->outcome = failure_of(e, *p->what);
      } catch (const std::exception& e) {
        p->outcome = Outcome::permanent_failure(*p->what + ": " + e.what());
      }
      if (sqlite3_get_autocommit(c.raw()) != 0) {
        lost = true;
      } else {
        applied.push_back(p);
      }
    }
    if (lost) {
      for (Pending* p : applied) {
        if (p->outcome.ok()) p->outcome = Outcome::transient_failure(*p->what + ": the batch transaction was rolled back");
      }
      return;
    }
    try {
      c.exec("COMMIT");
    } catch (const SqlFailure& e) {
      sqlite3_exec(c.raw(), "ROLLBACK", nullptr, nullptr, nullptr);
      for (Pending* p : applied) {
        if (p->outcome.ok()) p->outcome = failure_of(e, *p->what);
      }
    }
  }

  std::mutex queue_mutex_;
  std::condition_variable queue_cv_;
  std::deque<Pending*> queue_;
  bool leading_ = false;

  struct Fault {
    Outcome::Kind kind;
    int remaining;  // < 0: until cleared
    std::optional<std::int64_t> retry_after;
  };

  std::optional<Outcome> take_fault(const std::string& key, const std::string& what) {
    if (key.empty()) return std::nullopt;
    auto it = faults_.find(key);
    if (it == faults_.end()) return std::nullopt;
    const Fault fault = it->second;
    if (fault.remaining > 0 && --it->second.remaining == 0) faults_.erase(it);
    if (fault.kind == Outcome::Kind::transient) {
      return Outcome::transient_failure(what + ": injected transient failure", fault.retry_after);
    }
    return Outcome::permanent_failure(what + ": injected permanent failure");
  }

  // Rebuilds the cached Directory when directory_generation moved. A
  // directory in the tables that from_json rejects (edited by hand) keeps
  // the last good snapshot.
  void refresh_directory(Connection& c) {
    ReadTransaction tx(c);
    std::int64_t generation = 0;
    {
      Statement q(c, "SELECT value FROM sandbox_meta WHERE name = 'directory_generation'");
      if (q.step()) generation = q.i64(0);
    }
    if (directory_ && generation == directory_generation_) return;

    nlohmann::json file = {{"people", nlohmann::json::array()}, {"groups", nlohmann::json::object()}};
    {
      Statement q(c, "SELECT entry FROM sandbox_people ORDER BY position");
      while (q.step()) file["people"].push_back(nlohmann::json::parse(q.text(0), nullptr, false));
    }
    {
      Statement q(c, "SELECT grp, members FROM sandbox_groups ORDER BY grp");
      while (q.step()) file["groups"][q.text(0)] = nlohmann::json::parse(q.text(1), nullptr, false);
    }
    directory_generation_ = generation;  // a bad directory is not re-parsed until it changes
    std::string error;
    if (auto directory = ip::Directory::from_json(file, error)) {
      directory_ = std::make_shared<const ip::Directory>(std::move(*directory));
    }
  }

  std::mutex mutex_;  // connection_ and faults_
  std::unique_ptr<Connection> connection_;
  // Taken alone, never together with mutex_: reader_, directory_ and
  // directory_generation_ (when reader_ is null those are under mutex_).
  std::mutex reader_mutex_;
  std::unique_ptr<Connection> reader_;
  const std::chrono::microseconds latency_;
  std::map<std::string, Fault> faults_;
  std::shared_ptr<const ip::Directory> directory_;
  std::int64_t directory_generation_ = -1;
};

namespace {

class SandboxGroupProvider final : public GroupProvider {
 public:
  SandboxGroupProvider(std::shared_ptr<Core> core, std::string name) : core_(std::move(core)), name_(std::move(name)) {}

  Outcome add_member(const std::string& group, const std::string& user,
                     const std::string& /*idempotency_key: membership is state*/) override {
    return core_->call(group_fault_key(name_, group), name_ + ": add " + user + " to " + group, [&](Connection& c) {
      if (auto bad = check_names(group, user)) return *bad;
      CallTransaction tx(c);
      Statement(c,
                "INSERT INTO sandbox_memberships(provider, grp, user, added_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT DO NOTHING")
          .bind(name_)
          .bind(group)
          .bind(user)
          .bind(now_seconds())
          .run();
      tx.commit();
      return Outcome::success();
    });
  }

  Outcome remove_member(const std::string& group, const std::string& user,
                        const std::string& /*idempotency_key: membership is state*/) override {
    return core_->call(group_fault_key(name_, group), name_ + ": remove " + user + " from " + group,
                       [&](Connection& c) {
                         if (auto bad = check_names(group, user)) return *bad;
                         CallTransaction tx(c);
                         Statement(c, "DELETE FROM sandbox_memberships WHERE provider = ? AND grp = ? AND user = ?")
                             .bind(name_)
                             .bind(group)
                             .bind(user)
                             .run();
                         tx.commit();
                         return Outcome::success();
                       });
  }

  std::vector<std::string> members(const std::string& group, Outcome& outcome) override {
    std::vector<std::string> users;
    outcome = core_->call(std::string(), name_ + ": list members of " + group, [&](Connection& c) {
      Statement q(c, "SELECT user FROM sandbox_memberships WHERE provider = ? AND grp = ? ORDER BY user");
      q.bind(name_).bind(group);
      while (q.step()) users.push_back(q.text(0));
      return Outcome::success();
    });
    if (!outcome.ok()) users.clear();
    return users;
  }

  // The sandbox knows people by email: the email is the id.
  std::string find_user(const std::string& email, Outcome& outcome) override {
    if (email.empty()) {
      outcome = Outcome::permanent_failure(name_ + ": the user is empty");
      return {};
    }
    outcome = Outcome::success();
    return email;
  }

 private:
  // A real provider answers 404 for these; retrying cannot help.
  std::optional<Outcome> check_names(const std::string& group, const std::string& user) const {
    if (group.empty()) return Outcome::permanent_failure(name_ + ": the group name is empty");
    if (user.empty()) return Outcome::permanent_failure(name_ + ": the user is empty");
    return std::nullopt;
  }

  std::shared_ptr<Core> core_;
  std::string name_;
};

class SandboxTracker final : public Tracker {
 public:
  explicit SandboxTracker(std::shared_ptr<Core> core) : core_(std::move(core)) {}

  Outcome ticket_for(const TicketSpec& spec, std::string& key) override {
    return core_->call(
        service_fault_key(Sandbox::Service::tracker), "tracker: ticket for " + spec.request_id, [&](Connection& c) {
          CallTransaction tx(c);
          std::string found =
              spec.existing_key.empty() ? ticket_of_request(c, spec.request_id) : ticket_named(c, spec.existing_key);
          if (found.empty()) {
            found = spec.existing_key.empty() ? next_key(c) : spec.existing_key;
            // Bound to the request unless the request already has a
            // ticket (request_id is UNIQUE).
            Statement(c,
                      "INSERT INTO sandbox_tickets(key, request_id, summary, requester, status, "
                      "created_at) VALUES (?, CASE WHEN EXISTS (SELECT 1 FROM sandbox_tickets WHERE "
                      "request_id = ?) THEN NULL ELSE ? END, ?, ?, 'Open', ?)")
                .bind(found)
                .bind(spec.request_id)
                .bind(spec.request_id)
                .bind(spec.summary)
                .bind(spec.requester)
                .bind(now_seconds())
                .run();
          }
          tx.commit();
          key = found;
          return Outcome::success();
        });
  }

  Outcome comment(const std::string& ticket_key, const std::string& text, const std::string& idempotency_key) override {
    return core_->call(
        service_fault_key(Sandbox::Service::tracker), "tracker: comment on " + ticket_key, [&](Connection& c) {
          CallTransaction tx(c);
          if (ticket_named(c, ticket_key).empty()) return no_such_ticket(ticket_key);
          {
            Statement q(c, "SELECT 1 FROM sandbox_comments WHERE idempotency_key = ?");
            q.bind(idempotency_key);
            if (q.step()) return Outcome::success();  // made before: nothing to do
          }
          Statement(c,
                    "INSERT INTO sandbox_comments(ticket, seq, text, idempotency_key, at) VALUES (?, "
                    "(SELECT COALESCE(MAX(seq), 0) + 1 FROM sandbox_comments WHERE ticket = ?), ?, ?, ?)")
              .bind(ticket_key)
              .bind(ticket_key)
              .bind(text)
              .bind(idempotency_key)
              .bind(now_seconds())
              .run();
          tx.commit();
          return Outcome::success();
        });
  }

  Outcome transition(const std::string& ticket_key, const std::string& status,
                     const std::string& idempotency_key) override {
    return core_->call(
        service_fault_key(Sandbox::Service::tracker), "tracker: move " + ticket_key + " to " + status,
        [&](Connection& c) {
          CallTransaction tx(c);
          if (ticket_named(c, ticket_key).empty()) return no_such_ticket(ticket_key);
          if (already_applied(c, idempotency_key)) return Outcome::success();
          Statement(c, "UPDATE sandbox_tickets SET status = ? WHERE key = ?").bind(status).bind(ticket_key).run();
          record_applied(c, idempotency_key, "transition");
          tx.commit();
          return Outcome::success();
        });
  }

 private:
  static Outcome no_such_ticket(const std::string& key) {
    return Outcome::permanent_failure("tracker: there is no ticket " + key);
  }

  // The key when the ticket exists, else "".
  static std::string ticket_named(Connection& c, const std::string& key) {
    Statement q(c, "SELECT key FROM sandbox_tickets WHERE key = ?");
    q.bind(key);
    return q.step() ? q.text(0) : std::string();
  }

  static std::string ticket_of_request(Connection& c, const std::string& request_id) {
    Statement q(c, "SELECT key FROM sandbox_tickets WHERE request_id = ?");
    q.bind(request_id);
    return q.step() ? q.text(0) : std::string();
  }

  // ACC-<n> past the highest number used, so a named "ACC-7" is never
  // handed out again.
  static std::string next_key(Connection& c) {
    Statement q(c,
                "SELECT COALESCE(MAX(CAST(substr(key, 5) AS INTEGER)), 0) + 1 FROM sandbox_tickets "
                "WHERE key GLOB 'ACC-[0-9]*'");
    q.step();
    return "ACC-" + std::to_string(q.i64(0));
  }

  std::shared_ptr<Core> core_;
};

class SandboxChat final : public Chat {
 public:
  explicit SandboxChat(std::shared_ptr<Core> core) : core_(std::move(core)) {}

  Outcome post_card(const CardPost& card, const std::string& idempotency_key) override {
    return core_->call(service_fault_key(Sandbox::Service::chat),
                       "chat: post card for " + card.request_id + " step " + std::to_string(card.step),
                       [&](Connection& c) {
                         CallTransaction tx(c);
                         {
                           Statement q(c, "SELECT 1 FROM sandbox_messages WHERE idempotency_key = ? LIMIT 1");
                           q.bind(idempotency_key);
                           if (q.step()) return Outcome::success();  // posted before
                         }
                         const std::int64_t now = now_seconds();
                         // No approvers: one post to the channel.
                         std::vector<std::string> recipients = card.approvers;
                         if (recipients.empty()) recipients.emplace_back();
                         for (const auto& approver : recipients) {
                           Statement(c,
                                     "INSERT INTO sandbox_messages(request_id, step, approver, text, idempotency_key, "
                                     "posted_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING")
                               .bind(card.request_id)
                               .bind(static_cast<std::int64_t>(card.step))
                               .bind(approver)
                               .bind(card.text)
                               .bind(idempotency_key)
                               .bind(now)
                               .bind(now)
                               .run();
                         }
                         tx.commit();
                         return Outcome::success();
                       });
  }

  Outcome update_card(const std::string& request_id, const std::string& text,
                      const std::string& idempotency_key) override {
    return core_->call(service_fault_key(Sandbox::Service::chat), "chat: update cards of " + request_id,
                       [&](Connection& c) {
                         CallTransaction tx(c);
                         if (already_applied(c, idempotency_key)) return Outcome::success();
                         Statement(c, "UPDATE sandbox_messages SET text = ?, updated_at = ? WHERE request_id = ?")
                             .bind(text)
                             .bind(now_seconds())
                             .bind(request_id)
                             .run();
                         record_applied(c, idempotency_key, "update_card");
                         tx.commit();
                         return Outcome::success();
                       });
  }

 private:
  std::shared_ptr<Core> core_;
};

class SandboxNotifier final : public Notifier {
 public:
  explicit SandboxNotifier(std::shared_ptr<Core> core) : core_(std::move(core)) {}

  Outcome notify(const std::vector<std::string>& to, const std::string& message,
                 const std::string& idempotency_key) override {
    return core_->call(service_fault_key(Sandbox::Service::notifier),
                       "notifier: notify " + std::to_string(to.size()) + " recipient(s)", [&](Connection& c) {
                         const std::string recipients = nlohmann::json(to).dump();
                         CallTransaction tx(c);
                         Statement(c,
                                   "INSERT INTO sandbox_notifications(recipients, message, idempotency_key, at) "
                                   "VALUES (?, ?, ?, ?) ON CONFLICT (idempotency_key) DO NOTHING")
                             .bind(recipients)
                             .bind(message)
                             .bind(idempotency_key)
                             .bind(now_seconds())
                             .run();
                         tx.commit();
                         return Outcome::success();
                       });
  }

 private:
  std::shared_ptr<Core> core_;
};

class SandboxDirectory final : public DirectorySource {
 public:
  explicit SandboxDirectory(std::shared_ptr<Core> core) : core_(std::move(core)) {}
  std::shared_ptr<const ip::Directory> snapshot() override { return core_->snapshot(); }

 private:
  std::shared_ptr<Core> core_;
};

}  // namespace
}  // namespace sandbox_detail

using sandbox_detail::Connection;
using sandbox_detail::SqlFailure;
using sandbox_detail::Statement;
using sandbox_detail::WriteTransaction;

std::string sandbox_file_for(const std::string& db_path) {
  constexpr std::string_view kSuffix = "-sandbox";
  // In a URI the file name ends where the query starts.
  if (db_path.rfind("file:", 0) == 0) {
    const auto query = db_path.find_first_of("?#");
    if (query != std::string::npos) {
      return db_path.substr(0, query) + std::string(kSuffix) + db_path.substr(query);
    }
  }
  return db_path + std::string(kSuffix);
}

std::unique_ptr<Sandbox> open_sandbox(const SandboxOptions& given, std::string& error) {
  SandboxOptions options = given;
  if (options.own_file) options.db_path = sandbox_file_for(options.db_path);
  auto connection = Connection::open(options.db_path, options.busy_timeout, error);
  if (!connection) return nullptr;
  try {
    // The store runs the file in WAL (the mode is stored in the file);
    // asking for it here too means whichever opens first sets it up.
    const std::string mode = connection->query_text("PRAGMA journal_mode=WAL");
    if (mode != "wal") {
      error = "cannot open sandbox database " + options.db_path + ": cannot switch it to WAL mode (journal_mode is " +
              mode + ")";
      return nullptr;
    }
    // The sandbox stands in for a remote system, whose durability is not
    // ours to guarantee: NORMAL skips the fsync per commit (a power loss
    // may drop the last sandbox writes, a process crash does not).
    connection->exec("PRAGMA synchronous=NORMAL");
    if (sqlite3_db_readonly(connection->raw(), "main") == 1) {
      error = "cannot open sandbox database " + options.db_path + ": the database is read-only";
      return nullptr;
    }
    WriteTransaction tx(*connection);
    connection->exec(sandbox_detail::kSchema);
    tx.commit();
  } catch (const SqlFailure& e) {
    error = "cannot open sandbox database " + options.db_path + ": " + e.message;
    return nullptr;
  }
  // A second connection for directory snapshots (WAL readers do not wait
  // for writers). Without one, snapshots share the write connection.
  std::string reader_error;
  auto reader = Connection::open(options.db_path, options.busy_timeout, reader_error);
  if (reader) {
    try {
      reader->exec("PRAGMA query_only=ON");
    } catch (const SqlFailure&) {
      reader.reset();
    }
  }
  auto core = std::make_shared<sandbox_detail::Core>(std::move(connection), std::move(reader), options);
  return std::unique_ptr<Sandbox>(new Sandbox(std::move(core)));
}

Sandbox::Sandbox(std::shared_ptr<sandbox_detail::Core> core) : core_(std::move(core)) {}
Sandbox::~Sandbox() = default;

ConnectorSet Sandbox::connectors(const std::vector<std::string>& provider_names) const {
  ConnectorSet set;
  for (const auto& name : provider_names) {
    set.providers[name] = std::make_shared<sandbox_detail::SandboxGroupProvider>(core_, name);
  }
  set.tracker = std::make_shared<sandbox_detail::SandboxTracker>(core_);
  set.chat = std::make_shared<sandbox_detail::SandboxChat>(core_);
  set.notifier = std::make_shared<sandbox_detail::SandboxNotifier>(core_);
  set.directory = std::make_shared<sandbox_detail::SandboxDirectory>(core_);
  return set;
}

bool Sandbox::load_directory(const nlohmann::json& directory_json, std::string& error) {
  std::string invalid;
  if (!ip::Directory::from_json(directory_json, invalid)) {
    error = invalid;
    return false;
  }
  std::string failure;
  const bool ok = core_->locked(failure, [&](Connection& c) {
    WriteTransaction tx(c);
    c.exec("DELETE FROM sandbox_people; DELETE FROM sandbox_groups;");
    if (directory_json.contains("people")) {
      std::int64_t position = 0;
      for (const auto& entry : directory_json["people"]) {
        Statement(c, "INSERT INTO sandbox_people(position, email, entry) VALUES (?, ?, ?)")
            .bind(position++)
            .bind(entry["email"].get<std::string>())
            .bind(entry.dump())
            .run();
      }
    }
    if (directory_json.contains("groups")) {
      for (const auto& [group, members] : directory_json["groups"].items()) {
        Statement(c, "INSERT INTO sandbox_groups(grp, members) VALUES (?, ?)").bind(group).bind(members.dump()).run();
      }
    }
    tx.commit();
  });
  if (!ok) error = "cannot store the sandbox directory: " + failure;
  return ok;
}

void Sandbox::fail_group(const std::string& provider, const std::string& group, Outcome::Kind kind, int count,
                         std::optional<std::int64_t> retry_after) {
  core_->arm_fault(sandbox_detail::group_fault_key(provider, group), kind, count, retry_after);
}

void Sandbox::fail_service(Service service, Outcome::Kind kind, int count, std::optional<std::int64_t> retry_after) {
  core_->arm_fault(sandbox_detail::service_fault_key(service), kind, count, retry_after);
}

std::vector<std::string> Sandbox::members(const std::string& provider, const std::string& group) const {
  std::vector<std::string> users;
  std::string error;
  const bool ok = core_->locked(error, [&](Connection& c) {
    Statement q(c, "SELECT user FROM sandbox_memberships WHERE provider = ? AND grp = ? ORDER BY user");
    q.bind(provider).bind(group);
    while (q.step()) users.push_back(q.text(0));
  });
  if (!ok) users.clear();
  return users;
}

namespace {

Sandbox::Ticket ticket_row(const Statement& q) {
  return Sandbox::Ticket{q.text(0), q.text(1), q.text(2), q.text(3), q.text(4), q.i64(5)};
}

}  // namespace

std::optional<Sandbox::Ticket> Sandbox::ticket_of(const std::string& request_id) const {
  std::optional<Ticket> ticket;
  std::string error;
  core_->locked(error, [&](Connection& c) {
    Statement q(c,
                "SELECT key, COALESCE(request_id, ''), summary, requester, status, created_at FROM sandbox_tickets "
                "WHERE request_id = ?");
    q.bind(request_id);
    if (q.step()) ticket = ticket_row(q);
  });
  return ticket;
}

std::vector<Sandbox::Comment> Sandbox::comments(const std::string& request_id) const {
  std::vector<Comment> out;
  std::string error;
  const bool ok = core_->locked(error, [&](Connection& c) {
    Statement q(c,
                "SELECT ticket, seq, text, idempotency_key, at FROM sandbox_comments WHERE ticket = "
                "(SELECT key FROM sandbox_tickets WHERE request_id = ?) ORDER BY seq");
    q.bind(request_id);
    while (q.step()) out.push_back(Comment{q.text(0), q.i64(1), q.text(2), q.text(3), q.i64(4)});
  });
  if (!ok) out.clear();
  return out;
}

std::vector<Sandbox::Message> Sandbox::messages(const std::string& request_id) const {
  std::vector<Message> out;
  std::string error;
  const bool ok = core_->locked(error, [&](Connection& c) {
    Statement q(c,
                "SELECT request_id, step, approver, text, idempotency_key, posted_at, updated_at FROM sandbox_messages "
                "WHERE request_id = ? ORDER BY id");
    q.bind(request_id);
    while (q.step()) {
      out.push_back(
          Message{q.text(0), static_cast<std::size_t>(q.i64(1)), q.text(2), q.text(3), q.text(4), q.i64(5), q.i64(6)});
    }
  });
  if (!ok) out.clear();
  return out;
}

std::vector<Sandbox::Notification> Sandbox::notifications() const {
  std::vector<Notification> out;
  std::string error;
  const bool ok = core_->locked(error, [&](Connection& c) {
    Statement q(c, "SELECT id, recipients, message, idempotency_key, at FROM sandbox_notifications ORDER BY id");
    while (q.step()) {
      Notification n{q.i64(0), {}, q.text(2), q.text(3), q.i64(4)};
      const auto recipients = nlohmann::json::parse(q.text(1), nullptr, false);
      if (recipients.is_array()) {
        for (const auto& r : recipients) {
          if (r.is_string()) n.recipients.push_back(r.get<std::string>());
        }
      }
      out.push_back(std::move(n));
    }
  });
  if (!ok) out.clear();
  return out;
}

}  // namespace portcullis::connectors
