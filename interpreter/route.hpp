#pragma once
// Route resolution: what the policy decides for one access request.
//
// resolve() is a pure function of the compiled policy, the request, what
// the directory says, and the time: the same inputs give the same Plan.
// A Plan says whether the request is denied, rejected as invalid, sent to
// triage, approved at once, or needs a sequence of approval steps; which
// groups it grants and for how long; and which policy lines decided each of
// these.

#include <cstddef>
#include <optional>
#include <string_view>
#include <string>
#include <utility>
#include <vector>

#include "interpreter/directory.hpp"
#include "interpreter/model.hpp"

namespace portcullis::interpreter {

using Time = std::int64_t;  // seconds since the Unix epoch, UTC

struct AccessRequest {
  std::string requester;  // email
  std::string app;
  std::string role;
  std::optional<Seconds> duration;  // what was asked for; nullopt: the default
  bool permanent = false;           // asked explicitly for no expiry
  std::string justification;
  std::string ticket;
};

// What the resolver knows beyond the policy.
struct Facts {
  const Directory* directory = nullptr;  // may be null: nothing is known
  // Roles the requester already holds, as (app, role).
  std::vector<std::pair<std::string, std::string>> current_grants;
};

// A policy line behind a decision.
struct Reason {
  std::string text;
  Span span;
};

struct PlanStep {
  int quorum = 1;
  Approver source;  // the approver as the policy wrote it (before any escalation)
  // Who may approve, the requester excluded. Empty with `eligible_known`
  // false when the directory does not know the group: nobody can approve
  // until it does.
  std::vector<std::string> eligible;
  bool eligible_known = true;
  std::string who;  // "the app owner (dana@acme.com)", "2 of group platform-leads"
  std::string why;  // why these people: "owner of app Figma", "security on call"
  std::optional<Seconds> remind_after;
  std::optional<Seconds> escalate_after;
  std::vector<std::string> escalate_to;  // eligible after escalation (requester excluded)
  std::string escalate_who;
  Span span;
};

enum class Outcome {
  approval,       // steps must approve
  auto_approved,  // nobody needs to approve
  denied,         // the policy refuses (a `deny` route or a conflict)
  rejected,       // the request itself is invalid (missing field, duration)
  triage,         // not in the catalog: IT maps it to a role or denies it
};

std::string_view outcome_name(Outcome outcome);

struct Plan {
  Outcome outcome = Outcome::rejected;
  std::string app;
  std::string role;
  std::string app_title;
  std::string bucket;
  std::vector<PlanStep> steps;
  std::optional<Seconds> duration;  // nullopt: permanent
  std::vector<GroupRef> groups;
  std::optional<std::string> manual;  // fulfilled by a person, not by groups
  std::optional<int> max_renewals;
  bool expiry_required = false;
  std::string denial;  // why, for denied and rejected
  std::vector<Reason> reasons;
};

Plan resolve(const Policy& policy, const AccessRequest& request, const Facts& facts, Time now);

// resolve() without the roles' plan blocks (the cache-friendly copies
// resolve() reads first): the reference the plan-block path must agree
// with, field for field. For tests.
Plan resolve_without_plan_blocks(const Policy& policy, const AccessRequest& request, const Facts& facts, Time now);

// Phrases, once per policy load, the parts of `app`'s plans that do not
// depend on the request: its roles' opening reasons, default-duration
// reasons, and the who/why texts of route steps and escalations whose
// approver is not requester-dependent (Step::phrased, Escalation::who,
// Role::bucket_reason ...). resolve() copies these instead of building them
// per request; the texts are exactly those it would build. Called by the
// policy compiler after the pools are in `policy`; not for other callers.
void prepare_plan_texts(const Policy& policy, App& app);

// Appends to `arena` the plan block of `role` (of `app`): one contiguous,
// read-only copy of what resolve() reads for the role on its common paths
// (texts, groups, route, spans as source indexes), 64-byte aligned within
// the buffer. Returns its offset and size, or nullopt when the role needs
// something the block does not hold (people approvers, more than a few
// groups or steps, ...): resolve() then reads the Role as before. Called by
// the policy compiler after prepare_plan_texts; not for other callers.
std::optional<std::pair<std::size_t, std::size_t>> append_role_plan(const Policy& policy, const App& app,
                                                                    const Role& role, std::vector<std::byte>& arena);

// Whether the block at `plan` is that of role `role` of app `app`.
bool role_plan_names_match(const std::byte* plan, std::string_view app, std::string_view role);

// The eligible approvers of one approver reference for `requester`'s
// request on `app` (may be null), requester excluded. nullopt when the
// directory cannot say (unknown group or person). Exposed for re-checking
// approvals at run time and for reviews.
std::optional<std::vector<std::string>> eligible_approvers(const Policy& policy, const Approver& approver,
                                                           const App* app, const std::string& requester,
                                                           const Directory* directory);

// Who administers a request besides its approvers (StepContext::
// administrators): the approvers of the `unknown` bucket's route (IT
// triage) and the owner of the requested app. May revoke, cancel, confirm
// manual fulfilment and triage. Unknown groups or people add nobody.
std::vector<std::string> request_administrators(const Policy& policy, const AccessRequest& request,
                                                const Directory* directory);

}  // namespace portcullis::interpreter
