#include "runtime/audit_export.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ostream>
#include <sstream>

#include "runtime/codec.hpp"
#include "runtime/sqlite_store.hpp"

namespace portcullis::runtime {

namespace ip = portcullis::interpreter;

std::string iso8601_utc(Time t) {
  using namespace std::chrono;
  const sys_seconds at{seconds{t}};
  const auto day = floor<days>(at);
  const year_month_day ymd{day};
  const hh_mm_ss hms{at - day};
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()), static_cast<int>(hms.hours().count()),
                static_cast<int>(hms.minutes().count()), static_cast<int>(hms.seconds().count()));
  return buf;
}

namespace {

Json time_or_null(const std::optional<Time>& t) { return t ? Json(iso8601_utc(*t)) : Json(nullptr); }
Json seconds_or_null(const std::optional<ip::Seconds>& s) { return s ? Json(*s) : Json(nullptr); }

Json group_json(const ip::GroupRef& g) { return Json{{"provider", g.provider}, {"kind", g.kind}, {"group", g.group}}; }

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// Whether an audit entry is about `group`. The state machine's evidence
// names a group as "<provider> group <name>"; engines may also put the
// group in the payload, as a name or as an encoded GroupRef.
bool entry_concerns(const audit::Entry& entry, const ip::GroupRef& group) {
  if (entry.text.find(group.provider + " group " + group.group) != std::string::npos) return true;
  const Json payload = Json::parse(entry.payload, nullptr, false);
  if (!payload.is_object() || !payload.contains("group")) return false;
  const Json& g = payload["group"];
  if (g.is_string()) {
    const bool provider_matches = !payload.contains("provider") || payload["provider"] == group.provider;
    return g.get<std::string>() == group.group && provider_matches;
  }
  return g.is_object() && g.value("group", "") == group.group && g.value("provider", group.provider) == group.provider;
}

// What a membership-related entry did, from its evidence line.
std::string membership_change(const audit::Entry& entry) {
  const std::string text = lower(entry.text);
  if (text.find("fail") != std::string::npos) return "failed";
  if (text.rfind("added", 0) == 0) return "added";
  if (text.rfind("removed", 0) == 0) return "removed";
  if (text.rfind("kept", 0) == 0) return "kept";
  return entry.kind;
}

std::string ending_summary(const ip::RequestState& s) {
  if (!ip::is_closed(s.status)) return "still open (" + std::string(ip::status_name(s.status)) + ")";
  std::string text(ip::status_name(s.status));
  if (s.closed_at) text += " at " + iso8601_utc(*s.closed_at);
  if (!s.closed_by.empty() && s.closed_by != "policy") text += " by " + s.closed_by;
  if (!s.closing_reason.empty()) text += ": " + s.closing_reason;
  if (s.status == ip::Status::expired && s.expires_at) text += " (grant expired at " + iso8601_utc(*s.expires_at) + ")";
  if (s.status == ip::Status::denied && s.closing_reason.empty() && !s.plan.denial.empty()) {
    text += ": " + s.plan.denial;
  }
  return text;
}

Json audit_section(const std::vector<audit::Entry>& entries) {
  Json list = Json::array();
  Json problems = Json::array();
  const audit::Entry* previous = nullptr;
  for (const auto& e : entries) {
    const bool hash_ok = audit::compute_hash(e.prev_hash, e) == e.hash;
    if (!hash_ok) problems.push_back("entry " + std::to_string(e.seq) + ": hash does not match the entry's contents");
    if (e.seq == 1 && e.prev_hash != audit::kGenesisHash) {
      problems.push_back("entry 1: prev_hash is not the genesis hash");
    }
    if (previous && previous->seq + 1 == e.seq && e.prev_hash != previous->hash) {
      problems.push_back("entry " + std::to_string(e.seq) + ": prev_hash does not match the hash of entry " +
                         std::to_string(previous->seq));
    }
    Json payload = Json::parse(e.payload, nullptr, false);
    if (payload.is_discarded()) payload = e.payload;
    list.push_back(Json{{"seq", e.seq},
                        {"at", iso8601_utc(e.at)},
                        {"kind", e.kind},
                        {"actor", e.actor},
                        {"text", e.text},
                        {"payload", std::move(payload)},
                        {"prev_hash", e.prev_hash},
                        {"hash", e.hash},
                        {"hash_ok", hash_ok}});
    previous = &e;
  }
  return Json{{"consistent", problems.empty()}, {"problems", std::move(problems)}, {"entries", std::move(list)}};
}

// ---- Markdown ------------------------------------------------------------------

// A value inside a table cell: pipes escaped, line breaks kept visible.
std::string cell(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '|') {
      out += "\\|";
    } else if (c == '\n') {
      out += "<br>";
    } else if (c != '\r') {
      out += c;
    }
  }
  return out;
}

std::string str(const Json& j) {
  if (j.is_null()) return "";
  if (j.is_string()) return j.get<std::string>();
  return j.dump();
}

std::string or_dash(const Json& j) {
  const std::string s = str(j);
  return s.empty() ? "-" : s;
}

std::string duration_text(const Json& seconds) {
  if (seconds.is_null()) return "permanent";
  std::int64_t s = seconds.get<std::int64_t>();
  const std::int64_t total = s;
  std::string out;
  for (auto [unit, size] : {std::pair{"d", 86400}, {"h", 3600}, {"m", 60}}) {
    if (s >= size) {
      out += std::to_string(s / size) + unit;
      s %= size;
    }
  }
  if (s > 0 || out.empty()) out += std::to_string(s) + "s";
  return out + " (" + std::to_string(total) + " s)";
}

std::string render_markdown(const Json& x) {
  std::ostringstream md;
  const Json& r = x["request"];
  const Json& plan = x["plan"];
  const Json& tl = x["timeline"];
  md << "# Access request " << str(x["request_id"]) << ": evidence\n\n";
  md << "| Field | Value |\n|---|---|\n";
  md << "| Requester | " << cell(str(r["requester"])) << " |\n";
  md << "| App | " << cell(str(r["app_title"]).empty() ? str(r["app"]) : str(r["app_title"]) + " (" + str(r["app"]) + ")")
     << " |\n";
  md << "| Role | " << cell(str(r["role"])) << " |\n";
  md << "| Duration asked | "
     << (r["permanent"].get<bool>() ? std::string("permanent")
                                     : r["requested_duration_seconds"].is_null()
                                           ? std::string("the default")
                                           : duration_text(r["requested_duration_seconds"]))
     << " |\n";
  md << "| Duration granted | " << duration_text(plan["duration_seconds"]) << " |\n";
  md << "| Ticket | " << cell(or_dash(r["ticket"])) << " |\n";
  md << "| Submitted | " << or_dash(tl["submitted_at"]) << " |\n";
  md << "| Approved | " << or_dash(tl["approved_at"]) << " |\n";
  md << "| Active | " << or_dash(tl["active_at"]) << " |\n";
  md << "| Expires | " << or_dash(tl["expires_at"]) << " |\n";
  md << "| Closed | " << or_dash(tl["closed_at"]) << " |\n";
  md << "| Status | " << str(x["status"]) << " |\n\n";

  md << "## Justification\n\n";
  {
    std::istringstream lines(str(r["justification"]));
    std::string line;
    bool any = false;
    while (std::getline(lines, line)) {
      md << "> " << line << "\n";
      any = true;
    }
    if (!any) md << "> (none given)\n";
  }
  md << "\n## Plan\n\n";
  md << "Outcome: **" << str(plan["outcome"]) << "**";
  if (!str(plan["bucket"]).empty()) md << ", bucket " << str(plan["bucket"]);
  md << ".\n";
  if (!str(plan["denial"]).empty()) md << "Denial: " << str(plan["denial"]) << "\n";
  if (!plan["manual"].is_null()) md << "Fulfilled by hand: " << str(plan["manual"]) << "\n";
  if (!plan["reasons"].empty()) {
    md << "\nDecided by the policy lines:\n\n";
    for (const auto& reason : plan["reasons"]) md << "- " << str(reason) << "\n";
  }
  md << "\n### Approval steps\n\n";
  if (plan["steps"].empty()) {
    md << "No approval step.\n";
  } else {
    md << "| Step | Approvers | Why | Quorum | Approved by | Approved at |\n|---|---|---|---|---|---|\n";
    for (const auto& step : plan["steps"]) {
      std::string by, at;
      for (const auto& a : step["approvals"]) {
        by += (by.empty() ? "" : "<br>") + cell(str(a["by"]));
        at += (at.empty() ? "" : "<br>") + str(a["at"]);
      }
      md << "| " << step["step"].get<int>() << " | " << cell(str(step["who"])) << " | " << cell(str(step["why"])) << " | "
         << step["quorum"].get<int>() << " | " << (by.empty() ? "-" : by) << " | " << (at.empty() ? "-" : at) << " |\n";
    }
  }
  md << "\n### Groups\n\n";
  if (plan["groups"].empty()) {
    md << "No group.\n";
  } else {
    md << "| Provider | Kind | Group |\n|---|---|---|\n";
    for (const auto& g : plan["groups"]) {
      md << "| " << cell(str(g["provider"])) << " | " << cell(str(g["kind"])) << " | " << cell(str(g["group"])) << " |\n";
    }
  }

  md << "\n## Membership changes\n\n";
  if (x["memberships"].empty()) {
    md << "No membership was changed.\n";
  } else {
    md << "| Provider | Group | Change | At | Audit seq | Evidence |\n|---|---|---|---|---|---|\n";
    for (const auto& m : x["memberships"]) {
      for (const auto& c : m["changes"]) {
        md << "| " << cell(str(m["provider"])) << " | " << cell(str(m["group"])) << " | " << cell(str(c["change"]))
           << " | " << str(c["at"]) << " | " << c["seq"].get<std::int64_t>() << " | " << cell(str(c["text"])) << " |\n";
      }
      md << "| " << cell(str(m["provider"])) << " | " << cell(str(m["group"])) << " | **now: " << str(m["state"])
         << "** | | | " << cell(str(m["detail"])) << " |\n";
    }
  }

  md << "\n## Refusals\n\n";
  if (x["refusals"].empty()) {
    md << "None.\n";
  } else {
    md << "| At | Actor | What was refused | Audit seq |\n|---|---|---|---|\n";
    for (const auto& f : x["refusals"]) {
      md << "| " << str(f["at"]) << " | " << cell(str(f["actor"])) << " | " << cell(str(f["text"])) << " | "
         << f["seq"].get<std::int64_t>() << " |\n";
    }
  }

  md << "\n## How it ended\n\n" << str(x["ending"]["summary"]) << "\n";
  const Json& renewals = x["renewals"];
  md << "\nRenewals: " << renewals["count"].get<int>();
  if (!renewals["pending"].is_null()) {
    md << "; one pending, asked by " << str(renewals["pending"]["requested_by"]) << " at "
       << str(renewals["pending"]["requested_at"]);
  }
  md << ".\n";

  const Json& audit = x["audit"];
  md << "\n## Audit entries\n\n";
  md << (audit["consistent"].get<bool>() ? "Every entry of this request recomputes to its stored hash and links to its "
                                           "neighbours.\n"
                                         : "**These entries are NOT consistent with the chain:**\n");
  for (const auto& p : audit["problems"]) md << "- " << str(p) << "\n";
  if (x.contains("chain")) {
    const Json& chain = x["chain"];
    if (chain["ok"].get<bool>()) {
      md << "The whole audit chain verifies: " << chain["checked"].get<std::int64_t>() << " entries, head "
         << chain["head"]["seq"].get<std::int64_t>() << ":" << str(chain["head"]["hash"]) << ".\n";
    } else {
      md << "**The whole audit chain is broken at entry " << chain["first_bad_seq"].get<std::int64_t>() << ": "
         << str(chain["why"]) << ".**\n";
    }
  }
  md << "\n| Seq | At | Kind | Actor | Text | prev_hash | hash | Hash ok |\n|---|---|---|---|---|---|---|---|\n";
  for (const auto& e : audit["entries"]) {
    md << "| " << e["seq"].get<std::int64_t>() << " | " << str(e["at"]) << " | " << cell(str(e["kind"])) << " | "
       << cell(str(e["actor"])) << " | " << cell(str(e["text"])) << " | `" << str(e["prev_hash"]) << "` | `"
       << str(e["hash"]) << "` | " << (e["hash_ok"].get<bool>() ? "yes" : "**NO**") << " |\n";
  }
  return md.str();
}

}  // namespace

nlohmann::json export_json(const ip::RequestState& s, const std::vector<audit::Entry>& entries,
                           const std::vector<Json>& events, const std::optional<AuditVerification>& chain) {
  Json x = Json::object();
  x["export_version"] = 1;
  x["request_id"] = s.id;
  x["status"] = std::string(ip::status_name(s.status));
  x["request"] = Json{{"requester", s.request.requester},
                      {"app", s.request.app},
                      {"role", s.request.role},
                      {"app_title", s.plan.app_title},
                      {"ticket", s.request.ticket},
                      {"justification", s.request.justification},
                      {"requested_duration_seconds", seconds_or_null(s.request.duration)},
                      {"permanent", s.request.permanent},
                      {"submitted_at", iso8601_utc(s.created_at)}};

  Json steps = Json::array();
  for (std::size_t i = 0; i < s.plan.steps.size(); ++i) {
    const ip::PlanStep& step = s.plan.steps[i];
    Json approvals = Json::array();
    if (i < s.approvals.size()) {
      for (const auto& a : s.approvals[i]) approvals.push_back(Json{{"by", a.by}, {"at", iso8601_utc(a.at)}});
    }
    steps.push_back(Json{{"step", i + 1},
                         {"who", step.who},
                         {"why", step.why},
                         {"quorum", step.quorum},
                         {"eligible", step.eligible},
                         {"approvals", std::move(approvals)}});
  }
  Json groups = Json::array();
  for (const auto& g : s.plan.groups) groups.push_back(group_json(g));
  Json reasons = Json::array();
  for (const auto& r : s.plan.reasons) reasons.push_back(r.text);
  x["plan"] = Json{{"outcome", std::string(ip::outcome_name(s.plan.outcome))},
                   {"bucket", s.plan.bucket},
                   {"duration_seconds", seconds_or_null(s.plan.duration)},
                   {"manual", s.plan.manual ? Json(*s.plan.manual) : Json(nullptr)},
                   {"denial", s.plan.denial},
                   {"reasons", std::move(reasons)},
                   {"steps", std::move(steps)},
                   {"groups", std::move(groups)}};

  x["timeline"] = Json{{"submitted_at", iso8601_utc(s.created_at)}, {"approved_at", time_or_null(s.approved_at)},
                       {"active_at", time_or_null(s.active_at)},    {"expires_at", time_or_null(s.expires_at)},
                       {"closed_at", time_or_null(s.closed_at)},    {"updated_at", iso8601_utc(s.updated_at)}};

  // The state says how each membership stands now; the audit entries say
  // what happened to it and when.
  Json memberships = Json::array();
  for (const auto& m : s.memberships) {
    Json changes = Json::array();
    for (const auto& e : entries) {
      if (!entry_concerns(e, m.group)) continue;
      changes.push_back(Json{{"seq", e.seq},
                             {"at", iso8601_utc(e.at)},
                             {"change", membership_change(e)},
                             {"actor", e.actor},
                             {"text", e.text}});
    }
    Json row = group_json(m.group);
    row["state"] = std::string(ip::membership_state_name(m.state));
    row["detail"] = m.detail;
    row["changes"] = std::move(changes);
    memberships.push_back(std::move(row));
  }
  x["memberships"] = std::move(memberships);

  Json refusals = Json::array();
  for (const auto& e : entries) {
    if (lower(e.kind).rfind("refus", 0) != 0) continue;
    refusals.push_back(Json{{"seq", e.seq}, {"at", iso8601_utc(e.at)}, {"actor", e.actor}, {"text", e.text}});
  }
  x["refusals"] = std::move(refusals);

  Json pending = nullptr;
  if (s.renewal) {
    pending = Json{{"requested_by", s.renewal->requested_by},
                   {"requested_at", iso8601_utc(s.renewal->requested_at)},
                   {"duration_seconds", s.renewal->duration}};
  }
  x["renewals"] = Json{{"count", s.renewals}, {"pending", std::move(pending)}};

  const bool closed = ip::is_closed(s.status);
  x["ending"] = Json{{"closed", closed},
                     {"status", std::string(ip::status_name(s.status))},
                     {"at", closed ? time_or_null(s.closed_at) : Json(nullptr)},
                     {"by", closed ? Json(s.closed_by) : Json(nullptr)},
                     {"reason", closed ? Json(s.closing_reason) : Json(nullptr)},
                     {"summary", ending_summary(s)}};
  x["events"] = events;
  x["audit"] = audit_section(entries);
  if (chain) {
    Json c{{"ok", chain->ok}, {"checked", chain->checked}};
    if (chain->ok) {
      c["head"] = Json{{"seq", chain->head.seq}, {"hash", chain->head.hash}};
    } else {
      c["first_bad_seq"] = chain->first_bad_seq;
      c["why"] = chain->why;
    }
    x["chain"] = std::move(c);
  }
  return x;
}

std::string export_markdown(const ip::RequestState& state, const std::vector<audit::Entry>& entries,
                            const std::vector<Json>& events, const std::optional<AuditVerification>& chain) {
  // Rendered from the JSON export so both formats always say the same thing.
  return render_markdown(export_json(state, entries, events, chain));
}

int run_audit_export(const AuditExportArgs& args, std::ostream& out, std::ostream& err) {
  if (args.db.empty()) {
    err << "error: --db is required\n";
    return 2;
  }
  if (args.request_id.empty()) {
    err << "error: --request is required\n";
    return 2;
  }
  auto evidence = read_sqlite_request_evidence(args.db, args.request_id);
  if (!evidence) {
    if (evidence.error().code == ErrorCode::not_found) {
      err << "error: no request '" << args.request_id << "' in " << args.db << "\n";
      return 1;
    }
    err << "error: " << args.db << ": " << evidence.error().message << "\n";
    return 2;
  }
  try {
    if (args.format == AuditExportArgs::Format::json) {
      // replace: stored text that is not valid UTF-8 must not abort the export.
      out << export_json(evidence->state, evidence->audit, evidence->events, evidence->chain)
                 .dump(2, ' ', false, Json::error_handler_t::replace)
          << "\n";
    } else {
      out << export_markdown(evidence->state, evidence->audit, evidence->events, evidence->chain);
    }
  } catch (const std::exception& e) {
    err << "error: " << args.db << ": cannot render request " << args.request_id << ": " << e.what() << "\n";
    return 2;
  }
  return 0;
}

}  // namespace portcullis::runtime
