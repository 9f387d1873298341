#pragma once
// The sandbox: every interface of connectors/connector.hpp, kept inside the
// daemon's own SQLite file, so the demo and the tests run end to end with no
// credentials and no network.
//
// Contract
// - open_sandbox() opens its OWN connection to the file the runtime store
//   uses, or with SandboxOptions::own_file to a file of its own next to it
//   (creating the file when absent), switches it to WAL (the store's mode,
//   persistent in the file), and creates the `sandbox_*` tables with
//   CREATE TABLE IF NOT EXISTS. It never touches the store's tables or its
//   schema_version, so the two never collide. Errors name the file and
//   carry SQLite's message; nothing throws.
// - Each connector call is one short transaction on that connection
//   (BEGIN IMMEDIATE for writes). Calls from several threads are
//   serialised by a mutex; the connectors handed out share the connection
//   and keep it alive after the Sandbox object is gone.
// - Idempotency as connector.hpp asks: a comment, notification, card post,
//   card update or transition whose idempotency key was already applied
//   changes nothing; adding a member who is one, or removing one who is
//   not, succeeds without change (memberships are state, like the real
//   providers; their keys are not recorded).
// - Outcome kinds: SQLITE_BUSY / SQLITE_LOCKED (another connection held the
//   write lock past the busy time-out) are transient; every other SQLite
//   error is permanent; so is naming a ticket that does not exist.
// - Failures can be injected per group (add/remove) and per service
//   (tracker, chat, notifier): the next `count` calls fail with the given
//   kind without changing anything.
// - The directory (people and groups, used for managers and approver
//   pools) is kept apart from provider memberships: loading a directory
//   never adds anyone to a provider group.

#include <chrono>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "connectors/connector.hpp"

namespace portcullis::connectors {

struct SandboxOptions {
  // A file path, or an SQLite URI ("file:..."): the same string the store
  // is opened with.
  std::string db_path;
  // false: the sandbox tables live in db_path itself, beside the store's.
  // true: they live in a file of their own next to it,
  // sandbox_file_for(db_path) ("<db_path>-sandbox"), so connector calls
  // never wait for the store's write lock nor the store for theirs (one
  // SQLite file has one writer at a time). Every opener of one database
  // must choose the same.
  bool own_file = false;
  // Slept at the start of every connector call, outside the lock, to
  // stand in for a remote system's round trip. 0: no delay.
  std::chrono::microseconds latency{0};
  // How long a call waits for another connection's write lock before it
  // fails as transient.
  std::chrono::milliseconds busy_timeout{2000};
};

namespace sandbox_detail {
class Core;
}

class Sandbox {
 public:
  // What the inspection helpers return: plain copies of the rows.
  struct Ticket {
    std::string key;         // "ACC-1", or the key a requester named
    std::string request_id;  // empty when the ticket is not bound to one
    std::string summary;
    std::string requester;
    std::string status;           // "Open" until transition()
    std::int64_t created_at = 0;  // unix seconds
  };
  struct Comment {
    std::string ticket;
    std::int64_t seq = 0;  // 1, 2, ... per ticket
    std::string text;
    std::string idempotency_key;
    std::int64_t at = 0;
  };
  struct Message {
    std::string request_id;
    std::size_t step = 0;
    std::string approver;  // empty: a channel post (a card with no approvers)
    std::string text;
    std::string idempotency_key;  // of the post_card call
    std::int64_t posted_at = 0;
    std::int64_t updated_at = 0;
  };
  struct Notification {
    std::int64_t id = 0;
    std::vector<std::string> recipients;
    std::string message;
    std::string idempotency_key;
    std::int64_t at = 0;
  };
  enum class Service { tracker, chat, notifier };

  ~Sandbox();
  Sandbox(const Sandbox&) = delete;
  Sandbox& operator=(const Sandbox&) = delete;

  // The connectors: one GroupProvider per name (the provider names the
  // policy uses, "sandbox.okta"), plus tracker, chat, notifier and
  // directory. All share this sandbox's connection.
  ConnectorSet connectors(const std::vector<std::string>& provider_names) const;

  // Replaces the sandbox directory with a directory file's content (the
  // format Directory::from_json parses). Invalid input changes nothing and
  // sets `error` to from_json's message; so does an SQLite failure.
  bool load_directory(const nlohmann::json& directory_json, std::string& error);

  // Failure injection. The next `count` add_member/remove_member calls on
  // (provider, group) fail with `kind` (count < 0: every call, until
  // cleared). count == 0 or kind == ok clears. `retry_after` is passed
  // through on transient failures. members() is never affected.
  void fail_group(const std::string& provider, const std::string& group, Outcome::Kind kind, int count,
                  std::optional<std::int64_t> retry_after = std::nullopt);
  // The same for every call of one service (tracker: ticket_for, comment,
  // transition; chat: post_card, update_card; notifier: notify).
  void fail_service(Service service, Outcome::Kind kind, int count,
                    std::optional<std::int64_t> retry_after = std::nullopt);

  // Inspection for the demo and the tests. They read the file as it is
  // now (including writes by other connections); on an SQLite failure they
  // return what is empty / nullopt.
  std::vector<std::string> members(const std::string& provider, const std::string& group) const;  // sorted
  std::optional<Ticket> ticket_of(const std::string& request_id) const;
  // The comments on the request's ticket, in the order they were made.
  std::vector<Comment> comments(const std::string& request_id) const;
  // The request's card messages, in the order they were posted.
  std::vector<Message> messages(const std::string& request_id) const;
  // Every notification, oldest first.
  std::vector<Notification> notifications() const;

 private:
  friend std::unique_ptr<Sandbox> open_sandbox(const SandboxOptions& options, std::string& error);
  explicit Sandbox(std::shared_ptr<sandbox_detail::Core> core);
  std::shared_ptr<sandbox_detail::Core> core_;
};

// The file the sandbox of the database at `db_path` uses with own_file:
// "<db_path>-sandbox" (inserted before the query of a "file:" URI).
std::string sandbox_file_for(const std::string& db_path);

// Opens (or creates) the sandbox tables in the file at options.db_path (or
// its sandbox_file_for() with own_file). nullptr on failure, with `error`
// naming the file and SQLite's message.
std::unique_ptr<Sandbox> open_sandbox(const SandboxOptions& options, std::string& error);

}  // namespace portcullis::connectors
