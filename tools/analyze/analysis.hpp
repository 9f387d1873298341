#pragma once
// The figures of `portcullis analyze` (docs/cli.md, "Analyzing a ticket
// history"): what a history of access tickets and the daemon's own record
// say about a policy.
//
// analyze() is pure: it takes the compiled policy, the tickets (see
// tickets.hpp), optionally the daemon's requests (daemon_record.hpp) and
// the time "now", and returns plain data that render.hpp prints as text,
// JSON or HTML. It never fails; an empty history gives zero counts and
// zero shares.
//
// The rules, as documented:
//  - A ticket's bucket is its role's effective bucket in the policy; an app
//    or role not in the catalog is "unknown". Shares are of all tickets.
//  - A role is group-mapped when it grants groups, manual when the policy
//    says `manual "..."`.
//  - A privileged ticket is "without expiry" when its role's effective
//    settings allow a permanent grant (no `expiry: required` and a
//    duration rule that accepts `permanent`), or when the export carries an
//    expiry column/key and this ticket's is empty ("never", "permanent").
//    Its share is of all tickets.
//  - Flags: routine share > 60% -> "automation_opportunity"; privileged
//    without expiry > 20% -> "standing_privilege".
//  - The history spans from the first to the last "created" date, in
//    months of 30.44 days, at least one month. Per-month rates divide by it.
//  - "Automate first": catalog apps whose group-mapped requests exceed 10
//    per month, most requested first.
//  - Daemon figures: a request is fully automated when its plan was
//    auto-approved, no approval was recorded and its role is not manual
//    (share of every request in the database). Time to access is
//    active_at - created_at, per plan bucket, median and p90 by nearest
//    rank. Waiting approvals: requests awaiting approval or triage, oldest
//    first, at most 10.

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "interpreter/model.hpp"
#include "interpreter/request_state.hpp"
#include "tools/analyze/tickets.hpp"

namespace portcullis::analyze {

inline constexpr double kRoutineThreshold = 0.60;
inline constexpr double kStandingPrivilegeThreshold = 0.20;
inline constexpr double kAutomateFirstPerMonth = 10.0;
inline constexpr std::size_t kTopApps = 20;
inline constexpr std::size_t kWaitingShown = 10;

struct BucketFigure {
  std::string bucket;
  std::size_t requests = 0;
  double share = 0;  // of all tickets, 0..1
};

struct Flag {
  std::string code;  // automation_opportunity | standing_privilege
  bool raised = false;
  double share = 0;
  double threshold = 0;
  std::string message;
};

struct AppFigure {
  std::string app;
  std::string title;  // the policy's title; the app name when not in the catalog
  bool in_catalog = false;
  std::size_t requests = 0;
  double per_month = 0;
  std::size_t group_mapped_requests = 0;
  double group_mapped_per_month = 0;
};

struct ManualRoleFigure {
  std::string app;
  std::string role;
  std::string how;  // the policy's `manual "..."` text
  std::size_t requests = 0;
};

struct LatencyFigure {
  std::string bucket;
  std::size_t requests = 0;
  interpreter::Seconds median = 0;
  interpreter::Seconds p90 = 0;
};

struct WaitingFigure {
  std::string id;
  std::string requester;
  std::string app;
  std::string role;
  std::string bucket;
  std::string status;
  std::string waiting_on;  // the current step's approvers, or "IT triage"
  Time submitted_at = 0;
  interpreter::Seconds waiting = 0;  // now - submitted_at
};

struct DaemonFigures {
  std::size_t requests = 0;
  std::size_t fully_automated = 0;
  double automated_share = 0;
  std::vector<LatencyFigure> time_to_access;  // buckets in standard order
  std::vector<WaitingFigure> waiting;
};

struct Analysis {
  Time now = 0;
  std::size_t tickets = 0;
  std::optional<Time> first_created;
  std::optional<Time> last_created;
  double months = 1;
  std::vector<BucketFigure> buckets;  // routine, sensitive, privileged, unknown, then others by name
  std::size_t privileged_without_expiry = 0;
  double privileged_without_expiry_share = 0;
  std::vector<Flag> flags;
  std::vector<AppFigure> automate_first;
  std::vector<ManualRoleFigure> manual_roles;  // most requested first
  std::vector<AppFigure> top_apps;             // at most 20, most requested first
  std::optional<DaemonFigures> daemon;
};

// The bucket a ticket lands in, "unknown" outside the catalog.
std::string ticket_bucket(const interpreter::Policy& policy, const Ticket& ticket);

Analysis analyze(const interpreter::Policy& policy, const std::vector<Ticket>& tickets,
                 const std::optional<std::vector<interpreter::RequestState>>& daemon, Time now);

}  // namespace portcullis::analyze
