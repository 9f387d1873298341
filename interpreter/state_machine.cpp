#include "interpreter/state_machine.hpp"

#include <algorithm>
#include <string_view>

namespace portcullis::interpreter {
namespace {

bool contains(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

std::string format_time(Time t) {
  // RFC 3339 in UTC, computed without the C library's time zone state.
  std::int64_t days = t / 86400;
  std::int64_t rem = t % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  // Howard Hinnant's civil-from-days.
  days += 719468;
  const std::int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const auto doe = static_cast<unsigned>(days - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%04lld-%02u-%02uT%02lld:%02lld:%02lldZ", static_cast<long long>(y + (m <= 2)),
                m, d, static_cast<long long>(rem / 3600), static_cast<long long>(rem % 3600 / 60),
                static_cast<long long>(rem % 60));
  return buffer;
}

std::string format_seconds(Seconds s) { return dsl::ast::format_duration(s); }

// "<prefix><requester> asks for app.role for 8h because ..." built in one
// buffer: it is on every request's first step.
std::string describe_request(std::string_view prefix, const AccessRequest& request, const Plan& plan) {
  const bool has_duration = plan.outcome != Outcome::triage && plan.outcome != Outcome::rejected;
  const std::string duration = has_duration && plan.duration ? format_seconds(*plan.duration) : std::string();
  std::string out;
  out.reserve(prefix.size() + request.requester.size() + request.app.size() + request.role.size() +
              request.justification.size() + request.ticket.size() + duration.size() + 48);
  out += prefix;
  out += request.requester;
  out += " asks for ";
  out += request.app;
  out += '.';
  out += request.role;
  if (has_duration) {
    if (plan.duration) {
      out += " for ";
      out += duration;
    } else {
      out += " permanently";
    }
  }
  if (!request.justification.empty()) {
    out += " because \"";
    out += request.justification;
    out += '"';
  }
  if (!request.ticket.empty()) {
    out += " (ticket ";
    out += request.ticket;
    out += ')';
  }
  return out;
}

std::string describe_request(const AccessRequest& request, const Plan& plan) { return describe_request({}, request, plan); }

class Machine {
 public:
  Machine(const RequestState& state, const StepContext& context) : original_(state), context_(context) {
    t_.state = state;
  }

  // For a new request: there is no earlier state to refuse back to.
  Machine(RequestState&& initial, const StepContext& context) : original_(t_.state), context_(context) {
    t_.state = std::move(initial);
  }

  Transition submit() {
    RequestState& s = t_.state;
    s.created_at = s.updated_at = now();
    s.approvals.assign(s.plan.steps.size(), {});
    s.escalated.assign(s.plan.steps.size(), false);
    // A first step emits at most six effects (evidence, card, timers or
    // memberships, notification): one allocation instead of three growths.
    t_.effects.reserve(6);
    evidence(describe_request("requested: ", s.request, s.plan));
    follow_plan();
    return finish();
  }

  Transition apply(const Event& event) {
    if (is_closed(original_.status)) {
      if (std::holds_alternative<TimerEvent>(event)) return ignore();
      return refuse("the request is already " + std::string(status_name(original_.status)));
    }
    return std::visit([this](const auto& e) { return on(e); }, event);
  }

 private:
  Time now() const { return context_.now; }
  RequestState& state() { return t_.state; }

  void effect(Effect e) { t_.effects.push_back(std::move(e)); }
  void evidence(std::string text) { effect(EvidenceEffect{std::move(text)}); }

  Transition finish() {
    t_.state.updated_at = now();
    ++t_.state.version;
    return std::move(t_);
  }

  Transition refuse(std::string reason) {
    Transition refused;
    refused.state = original_;
    refused.refusal = reason;
    refused.effects.push_back(EvidenceEffect{"refused: " + reason});
    return refused;
  }

  Transition ignore() {
    Transition ignored;
    ignored.state = original_;
    ignored.ignored = true;
    return ignored;
  }

  // ---- plan outcomes ----------------------------------------------------

  void follow_plan() {
    RequestState& s = state();
    switch (s.plan.outcome) {
      case Outcome::rejected:
      case Outcome::denied:
        close(Status::denied, "policy", s.plan.denial);
        return;
      case Outcome::triage:
        s.status = Status::awaiting_triage;
        enter_step(0);
        return;
      case Outcome::auto_approved:
        evidence("approved automatically by the policy");
        approved();
        return;
      case Outcome::approval:
        s.status = Status::awaiting_approval;
        enter_step(0);
        return;
    }
  }

  const std::vector<std::string>& eligible(std::size_t step) const {
    const PlanStep& planned = t_.state.plan.steps[step];
    if (step < t_.state.escalated.size() && t_.state.escalated[step] && !planned.escalate_to.empty()) {
      return planned.escalate_to;
    }
    return planned.eligible;
  }

  bool may_decide(std::size_t step, const std::string& person) const {
    const PlanStep& planned = t_.state.plan.steps[step];
    if (contains(planned.eligible, person)) return true;
    return step < t_.state.escalated.size() && t_.state.escalated[step] && contains(planned.escalate_to, person);
  }

  void enter_step(std::size_t k) {
    RequestState& s = state();
    if (k >= s.plan.steps.size()) {
      close(Status::denied, "policy", "the route has no approver");
      return;
    }
    s.step = k;
    const PlanStep& planned = s.plan.steps[k];
    if (planned.eligible_known && planned.eligible.empty() && planned.escalate_to.empty()) {
      close(Status::denied, "policy", "nobody but the requester can approve step " + std::to_string(k + 1));
      return;
    }
    // "waiting for step 1 of 2: <who> (<why>)", in one buffer.
    std::string text;
    text.reserve(48 + planned.who.size() + planned.why.size());
    text += "waiting for ";
    if (s.status == Status::awaiting_triage) {
      text += "triage";
    } else {
      text += "step ";
      text += std::to_string(k + 1);
      text += " of ";
      text += std::to_string(s.plan.steps.size());
    }
    text += ": ";
    text += planned.who;
    if (!planned.why.empty()) {
      text += " (";
      text += planned.why;
      text += ')';
    }
    evidence(std::move(text));
    effect(PostCardEffect{k, planned.eligible});
    if (planned.remind_after) effect(ScheduleTimerEffect{TimerKind::remind, k, now() + *planned.remind_after});
    if (planned.escalate_after && !planned.escalate_to.empty()) {
      effect(ScheduleTimerEffect{TimerKind::escalate, k, now() + *planned.escalate_after});
    }
  }

  void cancel_step_timers() {
    effect(CancelTimerEffect{TimerKind::remind});
    effect(CancelTimerEffect{TimerKind::escalate});
  }

  void approved() {
    RequestState& s = state();
    s.status = Status::approved;
    s.approved_at = now();
    effect(UpdateCardEffect{"approved"});
    if (s.plan.manual) {
      s.status = Status::awaiting_fulfilment;
      evidence("waiting for manual fulfilment: " + *s.plan.manual);
      effect(NotifyEffect{context_.administrators, "please set up " + s.request.app + "." + s.request.role + " for " +
                                                       s.request.requester + ": " + *s.plan.manual});
      return;
    }
    s.status = Status::provisioning;
    s.memberships.clear();
    for (const auto& group : s.plan.groups) {
      s.memberships.push_back(Membership{group, Membership::State::pending_add, {}});
      effect(AddMembershipEffect{group, s.request.requester});
    }
    if (s.memberships.empty()) activate();
  }

  void activate() {
    RequestState& s = state();
    s.status = Status::active;
    s.active_at = now();
    if (s.plan.duration) {
      s.expires_at = now() + *s.plan.duration;
      effect(ScheduleTimerEffect{TimerKind::expire, 0, *s.expires_at});
      schedule_expiry_warning();
      evidence("access active until " + format_time(*s.expires_at));
    } else {
      s.expires_at.reset();
      evidence("access active, permanent until revoked");
    }
    effect(UpdateCardEffect{"active"});
    effect(NotifyEffect{{s.request.requester}, "your access to " + s.request.app + "." + s.request.role + " is active" +
                                                   (s.expires_at ? " until " + format_time(*s.expires_at) : "")});
  }

  // A quarter of the time left before the expiry, at most a day ahead;
  // none when that is under five minutes (nobody could act on it).
  void schedule_expiry_warning() {
    const RequestState& s = state();
    if (!s.expires_at || *s.expires_at <= now()) return;
    constexpr Seconds kMostAhead = 24 * 3600;
    constexpr Seconds kLeastAhead = 5 * 60;
    const Seconds ahead = std::min<Seconds>(kMostAhead, (*s.expires_at - now()) / 4);
    if (ahead < kLeastAhead) return;
    effect(ScheduleTimerEffect{TimerKind::expiry_warning, 0, *s.expires_at - ahead});
  }

  // Starts removing what this request granted; ends in `closing`.
  void begin_removal(Status closing, const std::string& by, const std::string& reason) {
    RequestState& s = state();
    s.closing = closing;
    s.closed_by = by;
    s.closing_reason = reason;
    s.status = Status::deprovisioning;
    s.renewal.reset();
    effect(CancelTimerEffect{TimerKind::expire});
    effect(CancelTimerEffect{TimerKind::expiry_warning});
    if (s.plan.manual && s.memberships.empty()) {
      evidence("waiting for manual removal: " + *s.plan.manual);
      effect(NotifyEffect{context_.administrators, "please remove " + s.request.app + "." + s.request.role + " from " +
                                                       s.request.requester + " (" + reason + ")"});
      return;
    }
    for (auto& m : s.memberships) {
      if (m.state != Membership::State::added && m.state != Membership::State::pending_add) continue;
      if (m.state == Membership::State::added && context_.held_elsewhere.count(m.group.key())) {
        m.state = Membership::State::kept;
        m.detail = "another active grant still needs it";
        evidence("kept " + s.request.requester + " in " + m.group.provider + " group " + m.group.group +
                 ": another active grant still needs it");
        continue;
      }
      if (m.state == Membership::State::added) {
        m.state = Membership::State::pending_remove;
        effect(RemoveMembershipEffect{m.group, s.request.requester});
      }
      // pending_add: removed when its addition reports back.
    }
    maybe_finish_removal();
  }

  void maybe_finish_removal() {
    RequestState& s = state();
    const bool busy = std::any_of(s.memberships.begin(), s.memberships.end(), [](const Membership& m) {
      return m.state == Membership::State::pending_remove || m.state == Membership::State::pending_add;
    });
    if (!busy) close(s.closing, s.closed_by, s.closing_reason);
  }

  void close(Status final, const std::string& by, const std::string& reason) {
    RequestState& s = state();
    s.status = final;
    s.closed_at = now();
    s.closed_by = by;
    s.closing_reason = reason;
    s.renewal.reset();
    std::string text = std::string(status_name(final));
    if (!by.empty() && by != "policy") text += " by " + by;
    if (!reason.empty()) text += ": " + reason;
    evidence(text);
    effect(UpdateCardEffect{text});
    effect(NotifyEffect{{s.request.requester}, "your request for " + s.request.app + "." + s.request.role + " is " + text});
  }

  // ---- events -----------------------------------------------------------

  Transition on(const ApproveEvent& e) {
    RequestState& s = state();
    if (e.by == s.request.requester) return refuse(e.by + " cannot approve their own request");
    if (s.status == Status::active && s.renewal) return approve_renewal(e.by);
    if (s.status == Status::awaiting_triage) {
      return refuse("a request outside the catalog is triaged (mapped to a role), not approved");
    }
    if (s.status != Status::awaiting_approval) {
      return refuse("the request is " + std::string(status_name(s.status)) + ", not awaiting approval");
    }
    for (std::size_t k = 0; k < s.approvals.size(); ++k) {
      for (const auto& a : s.approvals[k]) {
        if (a.by == e.by) return refuse(e.by + " already approved this request (step " + std::to_string(k + 1) + ")");
      }
    }
    const PlanStep& planned = s.plan.steps[s.step];
    if (!may_decide(s.step, e.by)) {
      // An unknown group does not shut out the people the step escalated to.
      if (!planned.eligible_known) {
        return refuse("the directory does not say who is " + planned.who + ", so " + e.by + " cannot be verified");
      }
      return refuse(e.by + " is not an approver of step " + std::to_string(s.step + 1) + " (" + planned.who + ")");
    }
    s.approvals[s.step].push_back(Approval{e.by, now()});
    const auto have = s.approvals[s.step].size();
    evidence("approved by " + e.by + " (step " + std::to_string(s.step + 1) + " of " +
             std::to_string(s.plan.steps.size()) + ", " + std::to_string(have) + " of " +
             std::to_string(planned.quorum) + ")");
    if (static_cast<int>(have) < planned.quorum) return finish();
    cancel_step_timers();
    if (s.step + 1 < s.plan.steps.size()) {
      enter_step(s.step + 1);
    } else {
      approved();
    }
    return finish();
  }

  Transition approve_renewal(const std::string& by) {
    RequestState& s = state();
    PendingRenewal& r = *s.renewal;
    for (const auto& step : r.approvals) {
      for (const auto& a : step) {
        if (a.by == by) return refuse(by + " already approved this renewal");
      }
    }
    if (!may_decide(r.step, by)) {
      return refuse(by + " is not an approver of renewal step " + std::to_string(r.step + 1));
    }
    r.approvals[r.step].push_back(Approval{by, now()});
    evidence("renewal approved by " + by);
    if (static_cast<int>(r.approvals[r.step].size()) < s.plan.steps[r.step].quorum) return finish();
    if (r.step + 1 < s.plan.steps.size()) {
      ++r.step;
      effect(PostCardEffect{r.step, s.plan.steps[r.step].eligible});
      return finish();
    }
    apply_renewal();
    return finish();
  }

  void apply_renewal() {
    RequestState& s = state();
    const Seconds duration = s.renewal->duration;
    const Time base = std::max(s.expires_at.value_or(now()), now());
    s.expires_at = base + duration;
    ++s.renewals;
    s.renewal.reset();
    effect(CancelTimerEffect{TimerKind::expire});
    effect(ScheduleTimerEffect{TimerKind::expire, 0, *s.expires_at});
    effect(CancelTimerEffect{TimerKind::expiry_warning});
    schedule_expiry_warning();
    evidence("renewal " + std::to_string(s.renewals) + " approved: access now expires at " + format_time(*s.expires_at));
    effect(NotifyEffect{{s.request.requester}, "your access to " + s.request.app + "." + s.request.role +
                                                   " is renewed until " + format_time(*s.expires_at)});
  }

  Transition on(const DenyEvent& e) {
    RequestState& s = state();
    if (e.by == s.request.requester) return refuse(e.by + " cannot decide their own request; cancel it instead");
    if (s.status == Status::active && s.renewal) {
      if (!may_decide(s.renewal->step, e.by)) return refuse(e.by + " is not an approver of this renewal");
      s.renewal.reset();
      evidence("renewal denied by " + e.by + (e.reason.empty() ? "" : ": " + e.reason));
      effect(NotifyEffect{{s.request.requester}, "your renewal was denied by " + e.by});
      return finish();
    }
    if (s.status != Status::awaiting_approval && s.status != Status::awaiting_triage) {
      return refuse("the request is " + std::string(status_name(s.status)) + ", not awaiting a decision");
    }
    if (!may_decide(s.step, e.by)) {
      return refuse(e.by + " is not an approver of step " + std::to_string(s.step + 1) + " (" +
                    s.plan.steps[s.step].who + ")");
    }
    cancel_step_timers();
    close(Status::denied, e.by, e.reason);
    return finish();
  }

  Transition on(const CancelEvent& e) {
    RequestState& s = state();
    if (e.by != s.request.requester && !contains(context_.administrators, e.by)) {
      return refuse(e.by + " may not cancel " + s.request.requester + "'s request");
    }
    switch (s.status) {
      case Status::submitted:
      case Status::awaiting_triage:
      case Status::awaiting_approval:
      case Status::awaiting_fulfilment:
        cancel_step_timers();
        close(Status::cancelled, e.by, "");
        return finish();
      default:
        return refuse("a request that is " + std::string(status_name(s.status)) + " cannot be cancelled" +
                      (s.status == Status::active ? "; revoke the access instead" : ""));
    }
  }

  bool may_administer(const std::string& person) const {
    if (contains(context_.administrators, person)) return true;
    for (std::size_t k = 0; k < t_.state.plan.steps.size(); ++k) {
      if (may_decide(k, person)) return true;
    }
    return false;
  }

  Transition on(const RevokeEvent& e) {
    RequestState& s = state();
    if (s.status != Status::active && s.status != Status::provisioning) {
      return refuse("only active access can be revoked; the request is " + std::string(status_name(s.status)));
    }
    if (e.by != s.request.requester && !may_administer(e.by)) {
      return refuse(e.by + " may not revoke " + s.request.requester + "'s access");
    }
    begin_removal(Status::revoked, e.by, e.reason);
    return finish();
  }

  Transition on(const TimerEvent& e) {
    RequestState& s = state();
    switch (e.kind) {
      case TimerKind::remind: {
        if ((s.status != Status::awaiting_approval && s.status != Status::awaiting_triage) || s.step != e.step) {
          return ignore();
        }
        const PlanStep& planned = s.plan.steps[s.step];
        std::vector<std::string> waiting;
        for (const auto& person : eligible(s.step)) {
          const auto& done = s.approvals[s.step];
          if (std::none_of(done.begin(), done.end(), [&](const Approval& a) { return a.by == person; })) {
            waiting.push_back(person);
          }
        }
        evidence("reminder sent to " + (waiting.empty() ? planned.who : join(waiting)));
        effect(NotifyEffect{waiting, "reminder: " + describe_request(s.request, s.plan) + " awaits your decision"});
        if (planned.remind_after) effect(ScheduleTimerEffect{TimerKind::remind, s.step, now() + *planned.remind_after});
        return finish();
      }
      case TimerKind::escalate: {
        if ((s.status != Status::awaiting_approval && s.status != Status::awaiting_triage) || s.step != e.step ||
            s.escalated[s.step]) {
          return ignore();
        }
        const PlanStep& planned = s.plan.steps[s.step];
        s.escalated[s.step] = true;
        evidence("escalated to " + planned.escalate_who + " after waiting " +
                 format_seconds(planned.escalate_after.value_or(0)));
        effect(PostCardEffect{s.step, planned.escalate_to});
        effect(NotifyEffect{planned.escalate_to, "escalated: " + describe_request(s.request, s.plan)});
        return finish();
      }
      case TimerKind::expiry_warning: {
        if (s.status != Status::active || !s.expires_at || *s.expires_at <= now()) return ignore();
        evidence("told " + s.request.requester + " that access expires at " + format_time(*s.expires_at));
        effect(NotifyEffect{{s.request.requester}, "your access to " + s.request.app + "." + s.request.role +
                                                       " expires at " + format_time(*s.expires_at) +
                                                       "; ask for a renewal if you still need it"});
        return finish();
      }
      case TimerKind::expire: {
        if (s.status != Status::active || !s.expires_at || *s.expires_at > now()) return ignore();
        evidence("expired at " + format_time(*s.expires_at));
        begin_removal(Status::expired, "policy", "time-bound access ended");
        return finish();
      }
    }
    return ignore();
  }

  Transition on(const ProvisionResultEvent& e) {
    RequestState& s = state();
    auto it = std::find_if(s.memberships.begin(), s.memberships.end(),
                           [&](const Membership& m) { return m.group == e.group; });
    if (it == s.memberships.end()) return refuse("this request does not grant " + e.group.key());
    Membership& m = *it;
    const std::string where = e.group.provider + " group " + e.group.group;
    if (e.add) {
      if (m.state != Membership::State::pending_add) return refuse("no addition to " + where + " is pending");
      if (!e.ok) {
        m.state = Membership::State::add_failed;
        m.detail = e.detail;
        evidence("provisioning failed for " + where + ": " + e.detail);
        effect(NotifyEffect{context_.administrators, "provisioning failed for " + s.request.requester + " in " + where +
                                                         ": " + e.detail});
        if (s.status == Status::provisioning) {
          // No partial access: take back what was added.
          begin_removal(Status::failed, "policy", "provisioning failed for " + where + ": " + e.detail);
        } else {
          maybe_finish_removal();
        }
        return finish();
      }
      m.state = Membership::State::added;
      evidence("added " + s.request.requester + " to " + where);
      if (s.status == Status::deprovisioning) {
        // Added after the request was revoked or failed: remove it again.
        if (context_.held_elsewhere.count(m.group.key())) {
          m.state = Membership::State::kept;
          m.detail = "another active grant still needs it";
        } else {
          m.state = Membership::State::pending_remove;
          effect(RemoveMembershipEffect{m.group, s.request.requester});
        }
        maybe_finish_removal();
        return finish();
      }
      const bool all = std::all_of(s.memberships.begin(), s.memberships.end(),
                                   [](const Membership& x) { return x.state == Membership::State::added; });
      if (all) activate();
      return finish();
    }
    if (m.state != Membership::State::pending_remove) return refuse("no removal from " + where + " is pending");
    if (!e.ok) {
      m.state = Membership::State::remove_failed;
      m.detail = e.detail;
      evidence("removal failed for " + where + ": " + e.detail);
      effect(NotifyEffect{context_.administrators, "could not remove " + s.request.requester + " from " + where + ": " +
                                                       e.detail + "; remove it by hand"});
      // Other removals may still be in flight: close once they report back.
      s.closing = Status::failed;
      s.closed_by = "policy";
      s.closing_reason = "could not remove " + where + ": " + e.detail;
      maybe_finish_removal();
      return finish();
    }
    m.state = Membership::State::removed;
    evidence("removed " + s.request.requester + " from " + where);
    maybe_finish_removal();
    return finish();
  }

  Transition on(const FulfilmentEvent& e) {
    RequestState& s = state();
    if (e.by == s.request.requester) return refuse(e.by + " cannot fulfil their own request");
    if (!may_administer(e.by)) return refuse(e.by + " may not confirm fulfilment of this request");
    if (s.status == Status::awaiting_fulfilment) {
      evidence("set up by hand, confirmed by " + e.by);
      activate();
      return finish();
    }
    if (s.status == Status::deprovisioning && s.plan.manual && s.memberships.empty()) {
      evidence("removed by hand, confirmed by " + e.by);
      close(s.closing, s.closed_by, s.closing_reason);
      return finish();
    }
    return refuse("nothing awaits manual fulfilment; the request is " + std::string(status_name(s.status)));
  }

  Transition on(const RenewEvent& e) {
    RequestState& s = state();
    if (s.status != Status::active) return refuse("only active access can be renewed");
    if (e.by != s.request.requester) return refuse("only the requester can ask to renew");
    if (!s.expires_at || !s.plan.duration) return refuse("permanent access needs no renewal");
    if (s.renewal) return refuse("a renewal is already waiting for approval");
    if (s.plan.max_renewals && s.renewals >= *s.plan.max_renewals) {
      return refuse("the renewal limit (" + std::to_string(*s.plan.max_renewals) + ") is reached; file a new request");
    }
    const Seconds duration = e.duration.value_or(*s.plan.duration);
    if (duration <= 0 || duration > *s.plan.duration) {
      return refuse("a renewal can extend by at most the approved duration " + format_seconds(*s.plan.duration));
    }
    s.renewal = PendingRenewal{e.by, duration, now(), 0, std::vector<std::vector<Approval>>(s.plan.steps.size())};
    evidence("renewal requested by " + e.by + " for " + format_seconds(duration));
    if (s.plan.steps.empty()) {
      apply_renewal();
    } else {
      effect(PostCardEffect{0, s.plan.steps[0].eligible});
    }
    return finish();
  }

  Transition on(const TriageEvent& e) {
    RequestState& s = state();
    if (s.status != Status::awaiting_triage) return refuse("the request is not awaiting triage");
    if (e.by == s.request.requester) return refuse(e.by + " cannot triage their own request");
    if (e.mapped.requester != s.request.requester) {
      return refuse("triage maps the request to a role; it cannot change the requester (" + s.request.requester +
                    ") to " + e.mapped.requester);
    }
    if (!may_decide(s.step, e.by)) return refuse(e.by + " is not a triager (" + s.plan.steps[s.step].who + ")");
    if (e.plan.outcome == Outcome::triage) {
      return refuse(e.mapped.app + "." + e.mapped.role + " is not in the catalog either");
    }
    cancel_step_timers();
    evidence("triaged by " + e.by + " as " + e.mapped.app + "." + e.mapped.role);
    s.request = e.mapped;
    s.plan = e.plan;
    s.step = 0;
    s.approvals.assign(s.plan.steps.size(), {});
    s.escalated.assign(s.plan.steps.size(), false);
    follow_plan();
    return finish();
  }

  const RequestState& original_;
  const StepContext& context_;
  Transition t_;
};

}  // namespace

std::string_view status_name(Status status) {
  switch (status) {
    case Status::submitted: return "submitted";
    case Status::awaiting_triage: return "awaiting_triage";
    case Status::awaiting_approval: return "awaiting_approval";
    case Status::approved: return "approved";
    case Status::provisioning: return "provisioning";
    case Status::active: return "active";
    case Status::awaiting_fulfilment: return "awaiting_fulfilment";
    case Status::deprovisioning: return "deprovisioning";
    case Status::expired: return "expired";
    case Status::revoked: return "revoked";
    case Status::denied: return "denied";
    case Status::cancelled: return "cancelled";
    case Status::failed: return "failed";
  }
  return "unknown";
}

std::optional<Status> status_from_name(std::string_view name) {
  for (int i = 0; i <= static_cast<int>(Status::failed); ++i) {
    if (status_name(static_cast<Status>(i)) == name) return static_cast<Status>(i);
  }
  return std::nullopt;
}

bool is_closed(Status status) {
  return status == Status::expired || status == Status::revoked || status == Status::denied ||
         status == Status::cancelled || status == Status::failed;
}

std::string_view membership_state_name(Membership::State state) {
  switch (state) {
    case Membership::State::pending_add: return "pending_add";
    case Membership::State::added: return "added";
    case Membership::State::add_failed: return "add_failed";
    case Membership::State::pending_remove: return "pending_remove";
    case Membership::State::removed: return "removed";
    case Membership::State::kept: return "kept";
    case Membership::State::remove_failed: return "remove_failed";
  }
  return "unknown";
}

std::string_view timer_name(TimerKind kind) {
  switch (kind) {
    case TimerKind::remind: return "remind";
    case TimerKind::escalate: return "escalate";
    case TimerKind::expire: return "expire";
    case TimerKind::expiry_warning: return "expiry_warning";
  }
  return "unknown";
}

std::string describe_event(const Event& event) {
  struct Visitor {
    std::string operator()(const ApproveEvent& e) const { return "approve by " + e.by; }
    std::string operator()(const DenyEvent& e) const { return "deny by " + e.by + (e.reason.empty() ? "" : ": " + e.reason); }
    std::string operator()(const CancelEvent& e) const { return "cancel by " + e.by; }
    std::string operator()(const RevokeEvent& e) const { return "revoke by " + e.by + (e.reason.empty() ? "" : ": " + e.reason); }
    std::string operator()(const TimerEvent& e) const {
      return std::string(timer_name(e.kind)) + " timer (step " + std::to_string(e.step + 1) + ")";
    }
    std::string operator()(const ProvisionResultEvent& e) const {
      return std::string(e.add ? "add " : "remove ") + e.group.key() + (e.ok ? ": ok" : ": failed: " + e.detail);
    }
    std::string operator()(const FulfilmentEvent& e) const { return "manual fulfilment confirmed by " + e.by; }
    std::string operator()(const RenewEvent& e) const { return "renewal requested by " + e.by; }
    std::string operator()(const TriageEvent& e) const {
      return "triaged by " + e.by + " as " + e.mapped.app + "." + e.mapped.role;
    }
  };
  return std::visit(Visitor{}, event);
}

std::string describe_effect(const Effect& effect) {
  struct Visitor {
    std::string operator()(const PostCardEffect& e) const {
      return "post card (step " + std::to_string(e.step + 1) + ") to " + join(e.approvers);
    }
    std::string operator()(const UpdateCardEffect& e) const { return "update card: " + e.text; }
    std::string operator()(const EvidenceEffect& e) const { return "evidence: " + e.text; }
    std::string operator()(const AddMembershipEffect& e) const { return "add " + e.user + " to " + e.group.key(); }
    std::string operator()(const RemoveMembershipEffect& e) const { return "remove " + e.user + " from " + e.group.key(); }
    std::string operator()(const ScheduleTimerEffect& e) const {
      return "schedule " + std::string(timer_name(e.kind)) + " at " + format_time(e.at);
    }
    std::string operator()(const CancelTimerEffect& e) const { return "cancel " + std::string(timer_name(e.kind)) + " timer"; }
    std::string operator()(const NotifyEffect& e) const { return "notify " + join(e.to) + ": " + e.message; }
    std::string operator()(const TicketStatusEffect& e) const { return "move the ticket to " + e.state; }
  };
  return std::visit(Visitor{}, effect);
}

Transition submit(std::string id, AccessRequest request, Plan plan, const StepContext& context) {
  RequestState initial;
  initial.id = std::move(id);
  initial.request = std::move(request);
  initial.plan = std::move(plan);
  return Machine(std::move(initial), context).submit();
}

Transition step(const RequestState& state, const Event& event, const StepContext& context) {
  return Machine(state, context).apply(event);
}

}  // namespace portcullis::interpreter
