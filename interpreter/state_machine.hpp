#pragma once
// The per-request state machine: pure functions of state, event and time.
//
// submit() starts a request from its resolved plan; step() applies one
// event. Each returns the new state and the effects the runtime must
// perform (post a card, write evidence, add or remove one membership,
// schedule a timer, notify someone). Neither reads a clock, touches the
// network or the disk, or keeps hidden state: replaying the same events at
// the same times gives the same states and effects.
//
// An event the request does not allow (an approval by someone not
// eligible, by the requester, twice by the same person, after the request
// closed) is refused: the state is unchanged, `refusal` says why, and an
// evidence effect records the attempt, so nothing is silently dropped.

#include <set>
#include <string>
#include <vector>

#include "interpreter/request_state.hpp"

namespace portcullis::interpreter {

struct StepContext {
  Time now = 0;
  // Groups ("provider/group" keys) that other active grants of the same
  // user still need: expiring or revoking this request must not remove
  // them.
  std::set<std::string> held_elsewhere;
  // People allowed to revoke, cancel for others, and confirm manual
  // fulfilment besides the plan's approvers (IT triage, the app owner).
  std::vector<std::string> administrators;
};

struct Transition {
  RequestState state;
  std::vector<Effect> effects;
  std::optional<std::string> refusal;  // set when the event was refused
  bool ignored = false;  // a stale timer: nothing happened, nothing to record
};

Transition submit(std::string id, AccessRequest request, Plan plan, const StepContext& context);

Transition step(const RequestState& state, const Event& event, const StepContext& context);

}  // namespace portcullis::interpreter
