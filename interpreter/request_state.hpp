#pragma once
// The state of one access request, the events that move it, and the
// effects a transition asks the runtime to perform. Plain data: the state
// machine (state_machine.hpp) is a pure function over these types.

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "interpreter/route.hpp"

namespace portcullis::interpreter {

enum class Status {
  submitted,
  awaiting_triage,      // not in the catalog: IT maps it to a role or denies it
  awaiting_approval,    // at step `RequestState::step`
  approved,
  provisioning,         // group additions in flight
  active,
  awaiting_fulfilment,  // a manual role: a person sets it up and confirms
  deprovisioning,       // removals in flight (expiry, revocation, failure)
  expired,
  revoked,
  denied,
  cancelled,
  failed,
};

std::string_view status_name(Status status);
std::optional<Status> status_from_name(std::string_view name);
// Final states: nothing moves the request any more.
bool is_closed(Status status);

struct Approval {
  std::string by;
  Time at = 0;
};

// One group membership this request asked for, and how it stands.
struct Membership {
  enum class State { pending_add, added, add_failed, pending_remove, removed, kept, remove_failed };
  GroupRef group;
  State state = State::pending_add;
  std::string detail;  // the provider's error, or why it was kept
};

std::string_view membership_state_name(Membership::State state);

// A renewal asked for while the grant is active: approved through the same
// steps as the original request, never silently.
struct PendingRenewal {
  std::string requested_by;
  Seconds duration = 0;
  Time requested_at = 0;
  std::size_t step = 0;
  std::vector<std::vector<Approval>> approvals;  // per step
};

struct RequestState {
  std::string id;
  AccessRequest request;
  Plan plan;
  Status status = Status::submitted;
  std::size_t step = 0;                          // current approval step
  std::vector<std::vector<Approval>> approvals;  // per step of the plan
  std::vector<bool> escalated;                   // per step: escalation fired
  std::vector<Membership> memberships;
  Time created_at = 0;
  Time updated_at = 0;
  std::optional<Time> approved_at;
  std::optional<Time> active_at;
  std::optional<Time> expires_at;  // absent for permanent grants
  std::optional<Time> closed_at;
  int renewals = 0;
  std::optional<PendingRenewal> renewal;
  Status closing = Status::expired;  // where deprovisioning ends
  std::string closed_by;
  std::string closing_reason;
  std::uint64_t version = 0;  // bumped by every transition
};

// ---- events ------------------------------------------------------------

struct ApproveEvent {
  std::string by;
};
struct DenyEvent {
  std::string by;
  std::string reason;
};
struct CancelEvent {
  std::string by;
};
struct RevokeEvent {
  std::string by;
  std::string reason;
};
// expiry_warning: the requester is told ahead of the expiry (a quarter of
// the granted time before it, at most a day), so a renewal can be asked for.
enum class TimerKind { remind, escalate, expire, expiry_warning };
std::string_view timer_name(TimerKind kind);
struct TimerEvent {
  TimerKind kind = TimerKind::expire;
  std::size_t step = 0;  // the approval step the timer was set for
};
struct ProvisionResultEvent {
  GroupRef group;
  bool add = true;  // false: a removal
  bool ok = true;
  std::string detail;  // error message when !ok
};
struct FulfilmentEvent {
  std::string by;  // confirms the manual set-up (or removal) was done
};
struct RenewEvent {
  std::string by;
  std::optional<Seconds> duration;  // default: the plan's duration
};
// IT triage maps a request outside the catalog to a catalog role: the
// runtime resolves the new role and passes its plan.
struct TriageEvent {
  std::string by;
  AccessRequest mapped;
  Plan plan;
};

using Event = std::variant<ApproveEvent, DenyEvent, CancelEvent, RevokeEvent, TimerEvent, ProvisionResultEvent,
                           FulfilmentEvent, RenewEvent, TriageEvent>;

std::string describe_event(const Event& event);

// ---- effects -----------------------------------------------------------

// Post (or re-post) the approval card to the people who may decide now.
struct PostCardEffect {
  std::size_t step = 0;
  std::vector<std::string> approvers;
};
// Replace the card with the decision or the new status.
struct UpdateCardEffect {
  std::string text;
};
// A line of evidence on the ticket and in the audit log.
struct EvidenceEffect {
  std::string text;
};
struct AddMembershipEffect {
  GroupRef group;
  std::string user;
};
struct RemoveMembershipEffect {
  GroupRef group;
  std::string user;
};
struct ScheduleTimerEffect {
  TimerKind kind = TimerKind::expire;
  std::size_t step = 0;
  Time at = 0;
};
struct CancelTimerEffect {
  TimerKind kind = TimerKind::expire;
};
struct NotifyEffect {
  std::vector<std::string> to;
  std::string message;
};

// Move the request's ticket to the tracker's status for this request state
// ("approved", "denied", "active", "expired", ...); the tracker maps state
// names to its own workflow and ignores states it has no status for.
struct TicketStatusEffect {
  std::string state;
};

using Effect = std::variant<PostCardEffect, UpdateCardEffect, EvidenceEffect, AddMembershipEffect,
                            RemoveMembershipEffect, ScheduleTimerEffect, CancelTimerEffect, NotifyEffect,
                            TicketStatusEffect>;

std::string describe_effect(const Effect& effect);

}  // namespace portcullis::interpreter
