#include "runtime/codec.hpp"

#include <array>
#include <limits>
#include <memory>
#include <utility>

namespace portcullis::runtime::codec {

namespace ip = portcullis::interpreter;

namespace {

// ---- enum tables ---------------------------------------------------------

template <class E>
struct Key {
  E value;
  std::string_view name;
};

constexpr std::array<Key<ip::Outcome>, 5> kOutcomes{{
    {ip::Outcome::approval, "approval"},
    {ip::Outcome::auto_approved, "auto_approved"},
    {ip::Outcome::denied, "denied"},
    {ip::Outcome::rejected, "rejected"},
    {ip::Outcome::triage, "triage"},
}};

constexpr std::array<Key<ip::Approver::Kind>, 8> kApproverKinds{{
    {ip::Approver::Kind::automatic, "automatic"},
    {ip::Approver::Kind::manager, "manager"},
    {ip::Approver::Kind::app_owner, "app_owner"},
    {ip::Approver::Kind::person, "person"},
    {ip::Approver::Kind::group, "group"},
    {ip::Approver::Kind::people, "people"},
    {ip::Approver::Kind::pool, "pool"},
    {ip::Approver::Kind::deny, "deny"},
}};

constexpr std::array<Key<ip::Membership::State>, 7> kMembershipStates{{
    {ip::Membership::State::pending_add, "pending_add"},
    {ip::Membership::State::added, "added"},
    {ip::Membership::State::add_failed, "add_failed"},
    {ip::Membership::State::pending_remove, "pending_remove"},
    {ip::Membership::State::removed, "removed"},
    {ip::Membership::State::kept, "kept"},
    {ip::Membership::State::remove_failed, "remove_failed"},
}};

constexpr std::array<Key<ip::TimerKind>, 4> kTimerKinds{{
    {ip::TimerKind::remind, "remind"},
    {ip::TimerKind::escalate, "escalate"},
    {ip::TimerKind::expire, "expire"},
    {ip::TimerKind::expiry_warning, "expiry_warning"},
}};

template <class E, std::size_t N>
std::string_view key_of(const std::array<Key<E>, N>& table, E value) {
  for (const auto& k : table)
    if (k.value == value) return k.name;
  return "unknown";
}

template <class E, std::size_t N>
std::optional<E> value_of(const std::array<Key<E>, N>& table, std::string_view name) {
  for (const auto& k : table)
    if (k.name == name) return k.value;
  return std::nullopt;
}

// ---- decoding helpers ----------------------------------------------------
// Exceptions stay inside this file: every public decode_* converts a
// DecodeError (and any nlohmann exception) into an Error value.

struct DecodeError {
  std::string message;
};

class In {
 public:
  In(const Json& json, std::string path) : json_(json), path_(std::move(path)) {}

  const Json& json() const { return json_; }
  const std::string& path() const { return path_; }

  [[noreturn]] void fail(const std::string& what) const { throw DecodeError{path_ + ": " + what}; }

  void expect_object() const {
    if (!json_.is_object()) fail("expected an object");
  }

  In field(std::string_view key) const {
    expect_object();
    auto it = json_.find(key);
    if (it == json_.end()) throw DecodeError{path_ + "." + std::string(key) + ": missing"};
    return In(*it, path_ + "." + std::string(key));
  }

  // Absent or null: nullopt.
  std::optional<In> optional(std::string_view key) const {
    expect_object();
    auto it = json_.find(key);
    if (it == json_.end() || it->is_null()) return std::nullopt;
    return In(*it, path_ + "." + std::string(key));
  }

  std::string str() const {
    if (!json_.is_string()) fail("expected a string");
    return json_.get<std::string>();
  }
  bool boolean() const {
    if (!json_.is_boolean()) fail("expected true or false");
    return json_.get<bool>();
  }
  std::int64_t i64() const {
    if (!json_.is_number_integer()) fail("expected an integer");
    if (json_.is_number_unsigned() && json_.get<std::uint64_t>() > std::uint64_t(std::numeric_limits<std::int64_t>::max()))
      fail("integer out of range");
    return json_.get<std::int64_t>();
  }
  std::uint64_t u64() const {
    if (!json_.is_number_integer()) fail("expected an integer");
    if (!json_.is_number_unsigned() && json_.get<std::int64_t>() < 0) fail("expected a non-negative integer");
    return json_.get<std::uint64_t>();
  }
  std::uint32_t u32() const {
    const auto v = u64();
    if (v > std::numeric_limits<std::uint32_t>::max()) fail("integer out of range");
    return static_cast<std::uint32_t>(v);
  }
  int i32() const {
    const auto v = i64();
    if (v < std::numeric_limits<int>::min() || v > std::numeric_limits<int>::max()) fail("integer out of range");
    return static_cast<int>(v);
  }
  std::size_t size() const { return static_cast<std::size_t>(u64()); }

  template <class F>
  auto array(F&& each) const {
    if (!json_.is_array()) fail("expected an array");
    std::vector<decltype(each(std::declval<const In&>()))> out;
    out.reserve(json_.size());
    for (std::size_t i = 0; i < json_.size(); ++i) out.push_back(each(In(json_[i], path_ + "[" + std::to_string(i) + "]")));
    return out;
  }

  template <class E, std::size_t N>
  E enumeration(const std::array<Key<E>, N>& table) const {
    const std::string name = str();
    if (auto v = value_of(table, name)) return *v;
    fail("unknown value \"" + name + "\"");
  }

 private:
  const Json& json_;
  std::string path_;
};

template <class T>
Json opt(const std::optional<T>& value) {
  return value ? Json(*value) : Json(nullptr);
}

template <class T, class F>
std::optional<T> opt_in(const In& in, std::string_view key, F&& read) {
  if (auto f = in.optional(key)) return read(*f);
  return std::nullopt;
}

template <class T, class Decode>
Result<T> guarded(const Json& json, const char* root, Decode&& decode) {
  try {
    return decode(In(json, root));
  } catch (const DecodeError& e) {
    return make_error(ErrorCode::invalid, e.message);
  } catch (const std::exception& e) {
    return make_error(ErrorCode::invalid, std::string(root) + ": " + e.what());
  }
}

// ---- per type ------------------------------------------------------------

ip::Span span_in(const In& in) {
  if (in.json().is_null()) return {};
  std::string file = in.field("file").str();
  std::string text = in.field("text").str();
  const auto line = in.field("line").u32();
  const auto column = in.field("column").u32();
  const auto length = text.size();
  if (length > std::numeric_limits<std::uint32_t>::max()) in.fail("span text too long");
  ip::Span span;
  span.file = std::make_shared<const dsl::SourceFile>(std::move(file), std::move(text));
  span.begin = 0;
  span.end = static_cast<std::uint32_t>(length);
  span.line = line;
  span.column = column;
  return span;
}

ip::GroupRef group_in(const In& in) {
  ip::GroupRef g;
  g.provider = in.field("provider").str();
  g.kind = in.field("kind").str();
  g.group = in.field("group").str();
  g.span = span_in(in.field("span"));
  return g;
}

ip::Approver approver_in(const In& in) {
  ip::Approver a;
  a.kind = in.field("kind").enumeration(kApproverKinds);
  a.name = in.field("name").str();
  a.people = in.field("people").array([](const In& p) {
    dsl::ast::StringLit lit;
    lit.value = p.field("value").str();
    lit.span = span_in(p.field("span"));
    return lit;
  });
  a.span = span_in(in.field("span"));
  return a;
}

std::vector<std::string> strings_in(const In& in) {
  return in.array([](const In& s) { return s.str(); });
}

Json strings(const std::vector<std::string>& v) { return Json(v); }

ip::AccessRequest request_in(const In& in) {
  ip::AccessRequest r;
  r.requester = in.field("requester").str();
  r.app = in.field("app").str();
  r.role = in.field("role").str();
  r.duration = opt_in<ip::Seconds>(in, "duration", [](const In& d) { return d.i64(); });
  r.permanent = in.field("permanent").boolean();
  r.justification = in.field("justification").str();
  r.ticket = in.field("ticket").str();
  return r;
}

ip::PlanStep step_in(const In& in) {
  ip::PlanStep s;
  s.quorum = in.field("quorum").i32();
  s.source = approver_in(in.field("source"));
  s.eligible = strings_in(in.field("eligible"));
  s.eligible_known = in.field("eligible_known").boolean();
  s.who = in.field("who").str();
  s.why = in.field("why").str();
  s.remind_after = opt_in<ip::Seconds>(in, "remind_after", [](const In& d) { return d.i64(); });
  s.escalate_after = opt_in<ip::Seconds>(in, "escalate_after", [](const In& d) { return d.i64(); });
  s.escalate_to = strings_in(in.field("escalate_to"));
  s.escalate_who = in.field("escalate_who").str();
  s.span = span_in(in.field("span"));
  return s;
}

ip::Plan plan_in(const In& in) {
  ip::Plan p;
  p.outcome = in.field("outcome").enumeration(kOutcomes);
  p.app = in.field("app").str();
  p.role = in.field("role").str();
  p.app_title = in.field("app_title").str();
  p.bucket = in.field("bucket").str();
  p.steps = in.field("steps").array(step_in);
  p.duration = opt_in<ip::Seconds>(in, "duration", [](const In& d) { return d.i64(); });
  p.groups = in.field("groups").array(group_in);
  p.manual = opt_in<std::string>(in, "manual", [](const In& d) { return d.str(); });
  p.max_renewals = opt_in<int>(in, "max_renewals", [](const In& d) { return d.i32(); });
  p.expiry_required = in.field("expiry_required").boolean();
  p.denial = in.field("denial").str();
  p.reasons = in.field("reasons").array([](const In& r) {
    ip::Reason reason;
    reason.text = r.field("text").str();
    reason.span = span_in(r.field("span"));
    return reason;
  });
  return p;
}

Json approval(const ip::Approval& a) { return Json{{"by", a.by}, {"at", a.at}}; }
ip::Approval approval_in(const In& in) { return ip::Approval{in.field("by").str(), in.field("at").i64()}; }

Json approvals(const std::vector<std::vector<ip::Approval>>& per_step) {
  Json out = Json::array();
  for (const auto& step : per_step) {
    Json s = Json::array();
    for (const auto& a : step) s.push_back(approval(a));
    out.push_back(std::move(s));
  }
  return out;
}
std::vector<std::vector<ip::Approval>> approvals_in(const In& in) {
  return in.array([](const In& step) { return step.array(approval_in); });
}

ip::Status status_in(const In& in) {
  const std::string name = in.str();
  if (auto s = ip::status_from_name(name)) return *s;
  in.fail("unknown status \"" + name + "\"");
}

ip::RequestState state_in(const In& in) {
  ip::RequestState s;
  s.id = in.field("id").str();
  s.request = request_in(in.field("request"));
  s.plan = plan_in(in.field("plan"));
  s.status = status_in(in.field("status"));
  s.step = in.field("step").size();
  s.approvals = approvals_in(in.field("approvals"));
  s.escalated = in.field("escalated").array([](const In& b) { return b.boolean(); });
  s.memberships = in.field("memberships").array([](const In& m) {
    ip::Membership ms;
    ms.group = group_in(m.field("group"));
    ms.state = m.field("state").enumeration(kMembershipStates);
    ms.detail = m.field("detail").str();
    return ms;
  });
  s.created_at = in.field("created_at").i64();
  s.updated_at = in.field("updated_at").i64();
  s.approved_at = opt_in<ip::Time>(in, "approved_at", [](const In& t) { return t.i64(); });
  s.active_at = opt_in<ip::Time>(in, "active_at", [](const In& t) { return t.i64(); });
  s.expires_at = opt_in<ip::Time>(in, "expires_at", [](const In& t) { return t.i64(); });
  s.closed_at = opt_in<ip::Time>(in, "closed_at", [](const In& t) { return t.i64(); });
  s.renewals = in.field("renewals").i32();
  s.renewal = opt_in<ip::PendingRenewal>(in, "renewal", [](const In& r) {
    ip::PendingRenewal pr;
    pr.requested_by = r.field("requested_by").str();
    pr.duration = r.field("duration").i64();
    pr.requested_at = r.field("requested_at").i64();
    pr.step = r.field("step").size();
    pr.approvals = approvals_in(r.field("approvals"));
    return pr;
  });
  s.closing = status_in(in.field("closing"));
  s.closed_by = in.field("closed_by").str();
  s.closing_reason = in.field("closing_reason").str();
  s.version = in.field("version").u64();
  return s;
}

// Events and effects: a "type" tag, then the variant's fields.
struct EventEncoder {
  Json operator()(const ip::ApproveEvent& e) const { return {{"type", "approve"}, {"by", e.by}}; }
  Json operator()(const ip::DenyEvent& e) const { return {{"type", "deny"}, {"by", e.by}, {"reason", e.reason}}; }
  Json operator()(const ip::CancelEvent& e) const { return {{"type", "cancel"}, {"by", e.by}}; }
  Json operator()(const ip::RevokeEvent& e) const { return {{"type", "revoke"}, {"by", e.by}, {"reason", e.reason}}; }
  Json operator()(const ip::TimerEvent& e) const {
    return {{"type", "timer"}, {"kind", timer_key(e.kind)}, {"step", std::uint64_t(e.step)}};
  }
  Json operator()(const ip::ProvisionResultEvent& e) const {
    return {{"type", "provision_result"}, {"group", encode_group(e.group)}, {"add", e.add}, {"ok", e.ok}, {"detail", e.detail}};
  }
  Json operator()(const ip::FulfilmentEvent& e) const { return {{"type", "fulfilment"}, {"by", e.by}}; }
  Json operator()(const ip::RenewEvent& e) const { return {{"type", "renew"}, {"by", e.by}, {"duration", opt(e.duration)}}; }
  Json operator()(const ip::TriageEvent& e) const {
    return {{"type", "triage"}, {"by", e.by}, {"mapped", encode_request(e.mapped)}, {"plan", encode_plan(e.plan)}};
  }
};

ip::Event event_in(const In& in) {
  const std::string type = in.field("type").str();
  if (type == "approve") return ip::ApproveEvent{in.field("by").str()};
  if (type == "deny") return ip::DenyEvent{in.field("by").str(), in.field("reason").str()};
  if (type == "cancel") return ip::CancelEvent{in.field("by").str()};
  if (type == "revoke") return ip::RevokeEvent{in.field("by").str(), in.field("reason").str()};
  if (type == "timer") {
    const In kind = in.field("kind");
    return ip::TimerEvent{kind.enumeration(kTimerKinds), in.field("step").size()};
  }
  if (type == "provision_result") {
    return ip::ProvisionResultEvent{group_in(in.field("group")), in.field("add").boolean(), in.field("ok").boolean(),
                                    in.field("detail").str()};
  }
  if (type == "fulfilment") return ip::FulfilmentEvent{in.field("by").str()};
  if (type == "renew") {
    return ip::RenewEvent{in.field("by").str(), opt_in<ip::Seconds>(in, "duration", [](const In& d) { return d.i64(); })};
  }
  if (type == "triage") return ip::TriageEvent{in.field("by").str(), request_in(in.field("mapped")), plan_in(in.field("plan"))};
  in.field("type").fail("unknown event type \"" + type + "\"");
}

struct EffectEncoder {
  Json operator()(const ip::PostCardEffect& e) const {
    return {{"type", "post_card"}, {"step", std::uint64_t(e.step)}, {"approvers", strings(e.approvers)}};
  }
  Json operator()(const ip::UpdateCardEffect& e) const { return {{"type", "update_card"}, {"text", e.text}}; }
  Json operator()(const ip::EvidenceEffect& e) const { return {{"type", "evidence"}, {"text", e.text}}; }
  Json operator()(const ip::AddMembershipEffect& e) const {
    return {{"type", "add_membership"}, {"group", encode_group(e.group)}, {"user", e.user}};
  }
  Json operator()(const ip::RemoveMembershipEffect& e) const {
    return {{"type", "remove_membership"}, {"group", encode_group(e.group)}, {"user", e.user}};
  }
  Json operator()(const ip::ScheduleTimerEffect& e) const {
    return {{"type", "schedule_timer"}, {"kind", timer_key(e.kind)}, {"step", std::uint64_t(e.step)}, {"at", e.at}};
  }
  Json operator()(const ip::CancelTimerEffect& e) const { return {{"type", "cancel_timer"}, {"kind", timer_key(e.kind)}}; }
  Json operator()(const ip::TicketStatusEffect& e) const { return {{"type", "ticket_status"}, {"state", e.state}}; }
  Json operator()(const ip::NotifyEffect& e) const {
    return {{"type", "notify"}, {"to", strings(e.to)}, {"message", e.message}};
  }
};

ip::Effect effect_in(const In& in) {
  const std::string type = in.field("type").str();
  if (type == "post_card") return ip::PostCardEffect{in.field("step").size(), strings_in(in.field("approvers"))};
  if (type == "update_card") return ip::UpdateCardEffect{in.field("text").str()};
  if (type == "evidence") return ip::EvidenceEffect{in.field("text").str()};
  if (type == "add_membership") return ip::AddMembershipEffect{group_in(in.field("group")), in.field("user").str()};
  if (type == "remove_membership") return ip::RemoveMembershipEffect{group_in(in.field("group")), in.field("user").str()};
  if (type == "schedule_timer") {
    return ip::ScheduleTimerEffect{in.field("kind").enumeration(kTimerKinds), in.field("step").size(), in.field("at").i64()};
  }
  if (type == "cancel_timer") return ip::CancelTimerEffect{in.field("kind").enumeration(kTimerKinds)};
  if (type == "ticket_status") return ip::TicketStatusEffect{in.field("state").str()};
  if (type == "notify") return ip::NotifyEffect{strings_in(in.field("to")), in.field("message").str()};
  in.field("type").fail("unknown effect type \"" + type + "\"");
}

}  // namespace

// ---- public --------------------------------------------------------------

std::string_view outcome_key(ip::Outcome outcome) { return key_of(kOutcomes, outcome); }
std::string_view approver_kind_key(ip::Approver::Kind kind) { return key_of(kApproverKinds, kind); }
std::string_view timer_key(ip::TimerKind kind) { return key_of(kTimerKinds, kind); }
std::optional<ip::TimerKind> timer_from_key(std::string_view key) { return value_of(kTimerKinds, key); }

Json encode_span(const ip::Span& span) {
  if (!span.valid()) return nullptr;
  return Json{{"file", span.file->path()},
              {"line", span.line},
              {"column", span.column},
              {"text", std::string(span.text())}};
}

Json encode_group(const ip::GroupRef& g) {
  return Json{{"provider", g.provider}, {"kind", g.kind}, {"group", g.group}, {"span", encode_span(g.span)}};
}

Json encode_approver(const ip::Approver& a) {
  Json people = Json::array();
  for (const auto& p : a.people) people.push_back(Json{{"value", p.value}, {"span", encode_span(p.span)}});
  return Json{{"kind", approver_kind_key(a.kind)}, {"name", a.name}, {"people", std::move(people)}, {"span", encode_span(a.span)}};
}

Json encode_request(const ip::AccessRequest& r) {
  return Json{{"requester", r.requester}, {"app", r.app},           {"role", r.role},
              {"duration", opt(r.duration)}, {"permanent", r.permanent}, {"justification", r.justification},
              {"ticket", r.ticket}};
}

Json encode_plan(const ip::Plan& p) {
  Json steps = Json::array();
  for (const auto& s : p.steps) {
    steps.push_back(Json{{"quorum", s.quorum},
                         {"source", encode_approver(s.source)},
                         {"eligible", strings(s.eligible)},
                         {"eligible_known", s.eligible_known},
                         {"who", s.who},
                         {"why", s.why},
                         {"remind_after", opt(s.remind_after)},
                         {"escalate_after", opt(s.escalate_after)},
                         {"escalate_to", strings(s.escalate_to)},
                         {"escalate_who", s.escalate_who},
                         {"span", encode_span(s.span)}});
  }
  Json groups = Json::array();
  for (const auto& g : p.groups) groups.push_back(encode_group(g));
  Json reasons = Json::array();
  for (const auto& r : p.reasons) reasons.push_back(Json{{"text", r.text}, {"span", encode_span(r.span)}});
  return Json{{"outcome", outcome_key(p.outcome)},
              {"app", p.app},
              {"role", p.role},
              {"app_title", p.app_title},
              {"bucket", p.bucket},
              {"steps", std::move(steps)},
              {"duration", opt(p.duration)},
              {"groups", std::move(groups)},
              {"manual", opt(p.manual)},
              {"max_renewals", opt(p.max_renewals)},
              {"expiry_required", p.expiry_required},
              {"denial", p.denial},
              {"reasons", std::move(reasons)}};
}

Json encode_state(const ip::RequestState& s) {
  Json memberships = Json::array();
  for (const auto& m : s.memberships) {
    memberships.push_back(
        Json{{"group", encode_group(m.group)}, {"state", key_of(kMembershipStates, m.state)}, {"detail", m.detail}});
  }
  Json escalated = Json::array();
  for (bool b : s.escalated) escalated.push_back(b);
  Json renewal = nullptr;
  if (s.renewal) {
    renewal = Json{{"requested_by", s.renewal->requested_by},
                   {"duration", s.renewal->duration},
                   {"requested_at", s.renewal->requested_at},
                   {"step", std::uint64_t(s.renewal->step)},
                   {"approvals", approvals(s.renewal->approvals)}};
  }
  return Json{{"id", s.id},
              {"request", encode_request(s.request)},
              {"plan", encode_plan(s.plan)},
              {"status", ip::status_name(s.status)},
              {"step", std::uint64_t(s.step)},
              {"approvals", approvals(s.approvals)},
              {"escalated", std::move(escalated)},
              {"memberships", std::move(memberships)},
              {"created_at", s.created_at},
              {"updated_at", s.updated_at},
              {"approved_at", opt(s.approved_at)},
              {"active_at", opt(s.active_at)},
              {"expires_at", opt(s.expires_at)},
              {"closed_at", opt(s.closed_at)},
              {"renewals", s.renewals},
              {"renewal", std::move(renewal)},
              {"closing", ip::status_name(s.closing)},
              {"closed_by", s.closed_by},
              {"closing_reason", s.closing_reason},
              {"version", s.version}};
}

Json encode_event(const ip::Event& event) { return std::visit(EventEncoder{}, event); }
Json encode_effect(const ip::Effect& effect) { return std::visit(EffectEncoder{}, effect); }

Result<ip::Span> decode_span(const Json& json) { return guarded<ip::Span>(json, "span", span_in); }
Result<ip::GroupRef> decode_group(const Json& json) { return guarded<ip::GroupRef>(json, "group", group_in); }
Result<ip::Approver> decode_approver(const Json& json) { return guarded<ip::Approver>(json, "approver", approver_in); }
Result<ip::AccessRequest> decode_request(const Json& json) {
  return guarded<ip::AccessRequest>(json, "request", request_in);
}
Result<ip::Plan> decode_plan(const Json& json) { return guarded<ip::Plan>(json, "plan", plan_in); }
Result<ip::RequestState> decode_state(const Json& json) { return guarded<ip::RequestState>(json, "state", state_in); }
Result<ip::Event> decode_event(const Json& json) { return guarded<ip::Event>(json, "event", event_in); }
Result<ip::Effect> decode_effect(const Json& json) { return guarded<ip::Effect>(json, "effect", effect_in); }

Result<Json> parse(std::string_view text) {
  try {
    return Json::parse(text);
  } catch (const Json::parse_error& e) {
    return make_error(ErrorCode::invalid, "invalid JSON at byte " + std::to_string(e.byte) + ": " + e.what());
  } catch (const std::exception& e) {
    return make_error(ErrorCode::invalid, std::string("invalid JSON: ") + e.what());
  }
}

}  // namespace portcullis::runtime::codec
