#pragma once
// The interfaces between the runtime and the systems it changes: identity
// providers (group membership), the ticket tracker (evidence), chat
// (approval cards) and notifications, plus where directory data comes from.
//
// Contract
// - Every call is synchronous and returns an Outcome; nothing throws.
//   The runtime's effect executor calls them from its own threads, never
//   from an HTTP handler, and retries transient failures with backoff.
// - Every write carries an idempotency key ("<request id>/<version>/<index>",
//   the outbox row's key). Repeating a call with the same key, or adding a
//   member who already is one, or removing one who is not, succeeds without
//   changing anything: a retry after a crash cannot double-apply.
// - transient: a retry may succeed (time-out, 5xx, 429). `retry_after`
//   carries the system's Retry-After when it sent one. permanent: retrying
//   cannot help (unknown group, 4xx other than 429); the executor gives up
//   at once.
// - Implementations are safe to call from several threads at once.
//
// connectors/sandbox/ implements every interface inside the daemon's own
// SQLite file, for demos and tests with no credentials.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "interpreter/directory.hpp"

namespace portcullis::connectors {

struct Outcome {
  enum class Kind { ok, transient, permanent };
  Kind kind = Kind::ok;
  std::string message;                      // why it failed; empty when ok
  std::optional<std::int64_t> retry_after;  // seconds, from the remote system

  bool ok() const { return kind == Kind::ok; }
  static Outcome success() { return {}; }
  static Outcome transient_failure(std::string message, std::optional<std::int64_t> retry_after = std::nullopt) {
    return {Kind::transient, std::move(message), retry_after};
  }
  static Outcome permanent_failure(std::string message) { return {Kind::permanent, std::move(message), std::nullopt}; }
};

// One identity provider as the policy names it ("sandbox.okta", "okta.main").
class GroupProvider {
 public:
  virtual ~GroupProvider() = default;
  virtual Outcome add_member(const std::string& group, const std::string& user,
                             const std::string& idempotency_key) = 0;
  virtual Outcome remove_member(const std::string& group, const std::string& user,
                                const std::string& idempotency_key) = 0;
  // The group's members (emails), sorted. `outcome` says whether the list
  // could be read; on failure the returned list is empty.
  virtual std::vector<std::string> members(const std::string& group, Outcome& outcome) = 0;
  // The provider's own id for the person with this email (Okta user id,
  // Entra object id, ...). permanent when the provider has no such user.
  virtual std::string find_user(const std::string& email, Outcome& outcome) = 0;
};

// The ticket that carries one request's evidence.
struct TicketSpec {
  std::string request_id;
  std::string summary;       // "Access request: alice@acme.com -> Figma editor"
  std::string requester;
  std::string existing_key;  // a ticket the requester named; empty: open one
  // The approval card as plain text, one line per fact; lines starting
  // with "- " are list items. Trackers render it as the ticket's
  // description (Jira: Atlassian Document Format).
  std::string description;
};

class Tracker {
 public:
  virtual ~Tracker() = default;
  // The ticket key for the request: `existing_key` when given, else the
  // ticket opened for this request id before, else a new one. Idempotent
  // per request id.
  virtual Outcome ticket_for(const TicketSpec& spec, std::string& key) = 0;
  virtual Outcome comment(const std::string& ticket_key, const std::string& text,
                          const std::string& idempotency_key) = 0;
  // Moves the ticket to a workflow status ("Approved", "Done", "Declined").
  virtual Outcome transition(const std::string& ticket_key, const std::string& status,
                             const std::string& idempotency_key) = 0;
};

struct CardPost {
  std::string request_id;
  std::size_t step = 0;
  std::vector<std::string> approvers;  // emails of who may decide now
  std::string text;                    // the approval card, rendered
};

class Chat {
 public:
  virtual ~Chat() = default;
  // Posts the card for one step of a request (one message per approver or
  // per channel, as the system does it). Re-posting the same step with the
  // same key changes nothing.
  virtual Outcome post_card(const CardPost& card, const std::string& idempotency_key) = 0;
  // Replaces the text of every card posted for the request.
  virtual Outcome update_card(const std::string& request_id, const std::string& text,
                              const std::string& idempotency_key) = 0;
};

class Notifier {
 public:
  virtual ~Notifier() = default;
  virtual Outcome notify(const std::vector<std::string>& to, const std::string& message,
                         const std::string& idempotency_key) = 0;
};

// Small durable records the remote connectors keep between calls and
// across restarts: the Jira issue opened for a request, the Slack messages
// posted for it, webhook deliveries already handled. `scope` separates the
// users ("jira.issue", "slack.message", ...). The daemon keeps them in its
// store; tests use MemoryConnectorState. Thread-safe.
class ConnectorState {
 public:
  virtual ~ConnectorState() = default;
  // The value, or nullopt when absent (outcome ok) or unreadable (outcome
  // transient).
  virtual std::optional<std::string> get(const std::string& scope, const std::string& key, Outcome& outcome) = 0;
  // Inserts or replaces.
  virtual Outcome put(const std::string& scope, const std::string& key, const std::string& value) = 0;
  // Inserts only when absent: true when this call inserted it, false when
  // it was there already (a replayed webhook delivery).
  virtual bool insert_if_absent(const std::string& scope, const std::string& key, const std::string& value,
                                Outcome& outcome) = 0;
};

// Where people, managers and group members come from.
class DirectorySource {
 public:
  virtual ~DirectorySource() = default;
  // A consistent snapshot; the runtime keeps it for one decision.
  virtual std::shared_ptr<const interpreter::Directory> snapshot() = 0;
};

// Everything the runtime talks to. `providers` is keyed by the provider
// name the policy uses (GroupRef::provider).
struct ConnectorSet {
  std::map<std::string, std::shared_ptr<GroupProvider>> providers;
  std::shared_ptr<Tracker> tracker;
  std::shared_ptr<Chat> chat;
  std::shared_ptr<Notifier> notifier;
  std::shared_ptr<DirectorySource> directory;
};

}  // namespace portcullis::connectors
