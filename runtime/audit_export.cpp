#include "runtime/audit_export.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <ostream>
#include <sstream>

#include <sqlite3.h>

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

std::string html_escape(std::string_view text) {
  static constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  std::size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      switch (c) {
        case '&': out += "&amp;"; break;
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '"': out += "&quot;"; break;
        case '\'': out += "&#39;"; break;
        default:
          if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f) {
            out += kReplacement;
          } else {
            out += static_cast<char>(c);
          }
      }
      ++i;
      continue;
    }
    // A well-formed UTF-8 sequence is copied whole; anything else (a stray
    // continuation byte, an overlong form, a surrogate, a truncated
    // sequence) becomes one U+FFFD per byte.
    std::size_t length = 0;
    unsigned char low = 0x80, high = 0xBF;  // allowed range of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
      length = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      length = 3;
      if (c == 0xE0) low = 0xA0;
      if (c == 0xED) high = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      length = 4;
      if (c == 0xF0) low = 0x90;
      if (c == 0xF4) high = 0x8F;
    }
    bool ok = length > 0 && i + length <= text.size();
    for (std::size_t k = 1; ok && k < length; ++k) {
      const auto b = static_cast<unsigned char>(text[i + k]);
      ok = k == 1 ? (b >= low && b <= high) : (b >= 0x80 && b <= 0xBF);
    }
    if (ok) {
      out.append(text.substr(i, length));
      i += length;
    } else {
      out += kReplacement;
      ++i;
    }
  }
  return out;
}

namespace {

Json time_or_null(const std::optional<Time>& t) { return t ? Json(iso8601_utc(*t)) : Json(nullptr); }
Json seconds_or_null(const std::optional<ip::Seconds>& s) { return s ? Json(*s) : Json(nullptr); }

std::string where(const ip::Span& span) { return span.valid() ? span.location() : std::string(); }

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


// ---- HTML ----------------------------------------------------------------------

// Only inline CSS: the page must open the same way on an air-gapped laptop,
// in a browser's print preview and years later. Fonts are the reader's own.
constexpr std::string_view kCss = R"css(
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       color: #1a1a1a; background: #fff; margin: 2rem auto; max-width: 75rem; padding: 0 1.5rem; }
h1 { font-size: 1.6rem; margin: 0 0 .4rem; }
h2 { font-size: 1.2rem; margin: 2rem 0 .6rem; border-bottom: 2px solid #d0d0d0; padding-bottom: .2rem; }
h3 { font-size: 1rem; margin: 1.2rem 0 .4rem; }
table { border-collapse: collapse; width: 100%; margin: .4rem 0 1rem; }
th, td { border: 1px solid #c8c8c8; padding: .3rem .5rem; text-align: left; vertical-align: top; }
th { background: #f0f0f0; }
table.facts th { width: 13rem; }
code, .mono { font-family: ui-monospace, "SF Mono", Menlo, Consolas, "Liberation Mono", monospace; font-size: .85em; }
.hash { word-break: break-all; }
td.at { white-space: nowrap; }
.text { white-space: pre-wrap; overflow-wrap: anywhere; }
.muted { color: #555; }
.verdict { font-weight: bold; padding: .6rem .8rem; border: 2px solid; border-radius: 4px; margin: .6rem 0; }
.verified { color: #0b5a2a; border-color: #0b5a2a; background: #e7f4eb; }
.broken { color: #8c1111; border-color: #8c1111; background: #fbe9e9; }
.bad { color: #8c1111; font-weight: bold; }
.good { color: #0b5a2a; font-weight: bold; }
footer { margin-top: 2rem; color: #555; font-size: .85em; border-top: 1px solid #d0d0d0; padding-top: .5rem; }
@media print {
  body { margin: 0; max-width: none; padding: 0; font-size: 10.5px; }
  h2, h3 { break-after: avoid; }
  tr, .verdict { break-inside: avoid; }
  a { color: inherit; text-decoration: none; }
  th { background: #eee !important; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  .verdict { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
)css";

std::string h(const Json& j) { return html_escape(str(j)); }
std::string h_or_dash(const Json& j) { return html_escape(or_dash(j)); }

// The document head shared by a request page and the index. The
// Content-Security-Policy forbids scripts and every fetch, so even a bug in
// the escaping could not run anything or call out.
void html_open(std::ostringstream& o, const std::string& title) {
  o << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
    << "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n"
    << "<meta name=\"referrer\" content=\"no-referrer\">\n"
    << "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    << "<title>" << html_escape(title) << "</title>\n<style>" << kCss << "</style>\n</head>\n<body>\n";
}

void html_close(std::ostringstream& o) {
  o << "<footer>Generated by <code>portcullis audit export</code> (export version 1) from the daemon's database, "
       "opened read-only. All times are UTC.</footer>\n</body>\n</html>\n";
}

void fact(std::ostringstream& o, std::string_view label, const std::string& html_value, std::string_view id = {}) {
  o << "<tr><th scope=\"row\">" << label << "</th><td";
  if (!id.empty()) o << " id=\"" << id << "\"";
  o << ">" << html_value << "</td></tr>\n";
}

bool granted(const Json& x) {
  const std::string outcome = str(x["plan"]["outcome"]);
  return outcome != "denied" && outcome != "rejected" && str(x["status"]) != "denied";
}

// Whether the request's own entries are consistent and, when the whole
// chain was checked, it verifies too.
bool chain_verified(const Json& x) {
  return x["audit"]["consistent"].get<bool>() && (!x.contains("chain") || x["chain"]["ok"].get<bool>());
}

std::string access_text(const Json& r) {
  std::string app = str(r["app_title"]).empty() ? str(r["app"]) : str(r["app_title"]) + " (" + str(r["app"]) + ")";
  return app + " / " + str(r["role"]);
}

void html_header(std::ostringstream& o, const Json& x) {
  const Json& r = x["request"];
  const Json& plan = x["plan"];
  const Json& tl = x["timeline"];
  o << "<header>\n<h1>Access request <span class=\"mono\" id=\"request-id\">" << h(x["request_id"])
    << "</span></h1>\n<p class=\"muted\">The whole evidence of one access request: who asked and why, how the "
       "policy routed it, who decided, which group memberships changed, how it ended, and the audit entries "
       "that prove it.</p>\n</header>\n";
  o << "<section id=\"request\">\n<h2>Request</h2>\n<table class=\"facts\">\n";
  fact(o, "Requester", h(r["requester"]), "requester");
  fact(o, "Access (app / role)", html_escape(access_text(r)), "access");
  std::string asked = r["permanent"].get<bool>()               ? std::string("permanent")
                      : r["requested_duration_seconds"].is_null() ? std::string("the role's default")
                                                                  : duration_text(r["requested_duration_seconds"]);
  fact(o, "Duration asked", html_escape(asked));
  fact(o, "Duration granted",
       granted(x) ? html_escape(duration_text(plan["duration_seconds"])) : std::string("not granted"));
  fact(o, "Reason given",
       str(r["justification"]).empty() ? std::string("<span class=\"muted\">(none given)</span>")
                                       : "<span class=\"text\">" + h(r["justification"]) + "</span>",
       "reason");
  fact(o, "Ticket", h_or_dash(r["ticket"]), "ticket");
  fact(o, "Submitted", h_or_dash(tl["submitted_at"]));
  fact(o, "Status", "<strong>" + h(x["status"]) + "</strong>", "status");
  fact(o, "How it ended", h(x["ending"]["summary"]));
  fact(o, "Audit chain",
       chain_verified(x) ? std::string("<a class=\"good\" href=\"#audit\">VERIFIED</a>")
                         : std::string("<a class=\"bad\" href=\"#audit\">BROKEN</a>"));
  o << "</table>\n</section>\n";
}

void html_decision(std::ostringstream& o, const Json& x) {
  const Json& plan = x["plan"];
  o << "<section id=\"decision\">\n<h2>Decision path</h2>\n<p>Policy outcome: <strong>" << h(plan["outcome"])
    << "</strong>";
  if (!str(plan["bucket"]).empty()) o << ", risk bucket <strong>" << h(plan["bucket"]) << "</strong>";
  o << ".</p>\n";
  if (!str(plan["denial"]).empty()) o << "<p>Denied by the policy: <span class=\"text\">" << h(plan["denial"]) << "</span></p>\n";
  if (!plan["manual"].is_null()) o << "<p>Fulfilled by hand: " << h(plan["manual"]) << "</p>\n";

  o << "<h3>Policy lines cited</h3>\n";
  const Json& citations = plan.contains("citations") ? plan["citations"] : Json::array();
  if (citations.empty()) {
    o << "<p class=\"muted\">No policy line recorded.</p>\n";
  } else {
    o << "<table id=\"citations\">\n<tr><th>Reason</th><th>Policy line</th><th>Source</th></tr>\n";
    for (const auto& c : citations) {
      o << "<tr><td class=\"text\">" << h(c["text"]) << "</td><td class=\"mono\">" << h_or_dash(c["where"])
        << "</td><td><code class=\"text\">" << h(c["source"]) << "</code></td></tr>\n";
    }
    o << "</table>\n";
  }

  o << "<h3>Approval steps</h3>\n";
  if (plan["steps"].empty()) {
    o << "<p class=\"muted\">No approval step.</p>\n";
  } else {
    o << "<table id=\"steps\">\n<tr><th>Step</th><th>Approvers</th><th>Why them</th><th>Eligible</th>"
         "<th>Quorum</th><th>Approved by</th><th>Policy line</th></tr>\n";
    for (const auto& step : plan["steps"]) {
      std::string eligible;
      for (const auto& e : step["eligible"]) eligible += (eligible.empty() ? "" : "<br>") + h(e);
      if (!step.value("eligible_known", true)) eligible = "<span class=\"bad\">unknown: the directory does not know the group</span>";
      if (eligible.empty()) eligible = "<span class=\"muted\">nobody</span>";
      std::string by;
      for (const auto& a : step["approvals"]) {
        by += (by.empty() ? "" : "<br>") + h(a["by"]) + " <span class=\"muted\">at " + h(a["at"]) + "</span>";
      }
      o << "<tr><td>" << step["step"].get<int>() << "</td><td>" << h(step["who"]) << "</td><td>" << h(step["why"])
        << "</td><td>" << eligible << "</td><td>" << step["quorum"].get<int>() << "</td><td>"
        << (by.empty() ? std::string("<span class=\"muted\">-</span>") : by) << "</td><td class=\"mono\">"
        << h_or_dash(step.value("where", Json(""))) << "</td></tr>\n";
    }
    o << "</table>\n";
  }

  o << "<h3>Groups the plan grants</h3>\n";
  if (plan["groups"].empty()) {
    o << "<p class=\"muted\">No group.</p>\n";
  } else {
    o << "<table>\n<tr><th>Provider</th><th>Kind</th><th>Group</th></tr>\n";
    for (const auto& g : plan["groups"]) {
      o << "<tr><td>" << h(g["provider"]) << "</td><td>" << h(g["kind"]) << "</td><td>" << h(g["group"]) << "</td></tr>\n";
    }
    o << "</table>\n";
  }
  o << "</section>\n";
}

void html_timeline(std::ostringstream& o, const Json& x) {
  struct Row {
    std::string at;
    int rank;  // at the same second: submission first, then audit entries, then state milestones
    std::string actor, what, detail, source;
  };
  std::vector<Row> rows;
  const Json& tl = x["timeline"];
  const Json& r = x["request"];
  rows.push_back({str(tl["submitted_at"]), 0, str(r["requester"]), "submitted", "request created", "request state"});
  for (const auto& e : x["audit"]["entries"]) {
    rows.push_back({str(e["at"]), 1, str(e["actor"]), str(e["kind"]), str(e["text"]),
                    "audit #" + std::to_string(e["seq"].get<std::int64_t>())});
  }
  if (!tl["approved_at"].is_null()) rows.push_back({str(tl["approved_at"]), 2, "", "approved", "every step approved", "request state"});
  if (!tl["active_at"].is_null()) rows.push_back({str(tl["active_at"]), 2, "", "active", "access granted", "request state"});
  if (!tl["expires_at"].is_null()) {
    const bool expired = str(x["status"]) == "expired";
    rows.push_back({str(tl["expires_at"]), 2, "", expired ? "expired" : "expiry",
                    expired ? "the grant's time ran out" : "the grant was set to expire", "request state"});
  }
  if (!tl["closed_at"].is_null()) {
    const Json& ending = x["ending"];
    rows.push_back({str(tl["closed_at"]), 3, str(ending["by"]), "closed: " + str(ending["status"]), str(ending["reason"]),
                    "request state"});
  }
  std::stable_sort(rows.begin(), rows.end(),
                   [](const Row& a, const Row& b) { return a.at != b.at ? a.at < b.at : a.rank < b.rank; });
  o << "<section id=\"timeline\">\n<h2>Timeline</h2>\n<p class=\"muted\">Every audit entry (each event and "
       "effect as it was recorded) and the milestones kept in the request's state, oldest first.</p>\n"
    << "<table>\n<tr><th>At (UTC)</th><th>Actor</th><th>What</th><th>Detail</th><th>Source</th></tr>\n";
  for (const auto& row : rows) {
    o << "<tr><td class=\"mono at\">" << html_escape(row.at) << "</td><td>"
      << (row.actor.empty() ? std::string("<span class=\"muted\">-</span>") : html_escape(row.actor)) << "</td><td>"
      << html_escape(row.what) << "</td><td class=\"text\">" << html_escape(row.detail) << "</td><td>"
      << html_escape(row.source) << "</td></tr>\n";
  }
  o << "</table>\n";

  o << "<h3>Stored events</h3>\n";
  if (x["events"].empty()) {
    o << "<p class=\"muted\">None.</p>\n";
  } else {
    o << "<p class=\"muted\">The events the request's state was built from, as committed, oldest first (their "
         "times are on the audit entries above).</p>\n<table id=\"events\">\n<tr><th>#</th><th>Type</th><th>By</th>"
         "<th>Content</th></tr>\n";
    int n = 0;
    for (const auto& e : x["events"]) {
      Json rest = e;
      std::string type, by;
      if (rest.is_object()) {
        if (rest.contains("type")) type = str(rest["type"]), rest.erase("type");
        if (rest.contains("by")) by = str(rest["by"]), rest.erase("by");
      }
      o << "<tr><td>" << ++n << "</td><td>" << html_escape(type) << "</td><td>" << html_escape(by)
        << "</td><td><code class=\"text\">"
        << html_escape(rest.empty() ? std::string() : rest.dump(-1, ' ', false, Json::error_handler_t::replace))
        << "</code></td></tr>\n";
    }
    o << "</table>\n";
  }
  o << "</section>\n";
}

void html_groups(std::ostringstream& o, const Json& x) {
  o << "<section id=\"groups\">\n<h2>Group changes per provider</h2>\n";
  if (x["memberships"].empty()) {
    o << "<p class=\"muted\">No group membership was changed.</p>\n</section>\n";
    return;
  }
  std::vector<std::string> providers;
  for (const auto& m : x["memberships"]) {
    const std::string p = str(m["provider"]);
    if (std::find(providers.begin(), providers.end(), p) == providers.end()) providers.push_back(p);
  }
  for (const auto& provider : providers) {
    o << "<h3>" << html_escape(provider) << "</h3>\n<table>\n<tr><th>Group</th><th>Kind</th><th>Change</th>"
         "<th>At (UTC)</th><th>Actor</th><th>Evidence</th></tr>\n";
    for (const auto& m : x["memberships"]) {
      if (str(m["provider"]) != provider) continue;
      for (const auto& c : m["changes"]) {
        const bool failed = str(c["change"]) == "failed";
        o << "<tr><td>" << h(m["group"]) << "</td><td>" << h(m["kind"]) << "</td><td"
          << (failed ? " class=\"bad\"" : "") << ">" << h(c["change"]) << "</td><td class=\"mono at\">" << h(c["at"])
          << "</td><td>" << h(c["actor"]) << "</td><td class=\"text\">" << h(c["text"]) << " <span class=\"muted\">(audit #"
          << c["seq"].get<std::int64_t>() << ")</span></td></tr>\n";
      }
      o << "<tr><td>" << h(m["group"]) << "</td><td>" << h(m["kind"]) << "</td><td><strong>now: " << h(m["state"])
        << "</strong></td><td></td><td></td><td class=\"text\">" << h(m["detail"]) << "</td></tr>\n";
    }
    o << "</table>\n";
  }
  o << "</section>\n";
}

void html_ending(std::ostringstream& o, const Json& x) {
  const Json& ending = x["ending"];
  const Json& tl = x["timeline"];
  o << "<section id=\"ending\">\n<h2>Expiry and revocation</h2>\n<table class=\"facts\">\n";
  fact(o, "Outcome", "<strong>" + h(ending["status"]) + "</strong>" +
                         (ending["closed"].get<bool>() ? std::string() : std::string(" (still open)")));
  fact(o, "Grant expires / expired at", tl["expires_at"].is_null() ? std::string("never (no expiry set)") : h(tl["expires_at"]));
  fact(o, "Closed at", h_or_dash(ending["at"]));
  fact(o, "Closed by", h_or_dash(ending["by"]));
  fact(o, "Closing reason", "<span class=\"text\">" + h_or_dash(ending["reason"]) + "</span>");
  std::string renewals = std::to_string(x["renewals"]["count"].get<int>());
  if (!x["renewals"]["pending"].is_null()) {
    renewals += "; one pending, asked by " + h(x["renewals"]["pending"]["requested_by"]) + " at " +
                h(x["renewals"]["pending"]["requested_at"]);
  }
  fact(o, "Renewals", renewals);
  fact(o, "Summary", h(ending["summary"]));
  o << "</table>\n<h3>Refusals</h3>\n";
  if (x["refusals"].empty()) {
    o << "<p class=\"muted\">None.</p>\n";
  } else {
    o << "<table>\n<tr><th>At (UTC)</th><th>Actor</th><th>What was refused</th><th>Audit seq</th></tr>\n";
    for (const auto& f : x["refusals"]) {
      o << "<tr><td class=\"mono at\">" << h(f["at"]) << "</td><td>" << h(f["actor"]) << "</td><td class=\"text\">"
        << h(f["text"]) << "</td><td>" << f["seq"].get<std::int64_t>() << "</td></tr>\n";
    }
    o << "</table>\n";
  }
  o << "</section>\n";
}

void html_audit(std::ostringstream& o, const Json& x) {
  const Json& audit = x["audit"];
  const std::size_t count = audit["entries"].size();
  o << "<section id=\"audit\">\n<h2>Audit chain</h2>\n";
  if (chain_verified(x)) {
    o << "<div class=\"verdict verified\" id=\"chain-verdict\">VERIFIED: the " << count
      << " audit entries of this request recompute to their stored hashes and link to their neighbours";
    if (x.contains("chain")) {
      const Json& chain = x["chain"];
      o << "; the whole audit chain of the database (" << chain["checked"].get<std::int64_t>()
        << " entries) verifies up to head <span class=\"mono hash\">" << chain["head"]["seq"].get<std::int64_t>()
        << ":" << h(chain["head"]["hash"]) << "</span>";
    } else {
      o << " (the rest of the database's chain was not checked)";
    }
    o << ".</div>\n";
  } else {
    o << "<div class=\"verdict broken\" id=\"chain-verdict\">BROKEN: this evidence does not match the audit chain."
      << "\n<ul id=\"chain-problems\">\n";
    for (const auto& p : audit["problems"]) o << "<li>" << h(p) << "</li>\n";
    if (x.contains("chain") && !x["chain"]["ok"].get<bool>()) {
      o << "<li>the whole audit chain of the database is broken at entry "
        << x["chain"]["first_bad_seq"].get<std::int64_t>() << ": " << h(x["chain"]["why"]) << "</li>\n";
    }
    o << "</ul></div>\n";
  }
  o << "<p class=\"muted\">Each entry's hash is SHA-256 over the previous entry's hash and the entry's contents; "
       "changing, inserting or removing any entry breaks every hash after it.</p>\n";
  if (count == 0) {
    o << "<p class=\"muted\">No audit entry names this request.</p>\n</section>\n";
    return;
  }
  o << "<table id=\"audit-entries\">\n<tr><th>Seq</th><th>At (UTC)</th><th>Kind</th><th>Actor</th><th>Text</th>"
       "<th>prev_hash</th><th>hash</th><th>Hash ok</th></tr>\n";
  for (const auto& e : audit["entries"]) {
    const bool ok = e["hash_ok"].get<bool>();
    const Json& payload = e["payload"];
    const bool has_payload = !(payload.is_object() && payload.empty()) && !payload.is_null() &&
                             !(payload.is_string() && payload.get<std::string>().empty());
    o << "<tr" << (ok ? "" : " class=\"bad\"") << "><td>" << e["seq"].get<std::int64_t>() << "</td><td class=\"mono at\">"
      << h(e["at"]) << "</td><td>" << h(e["kind"]) << "</td><td>" << h(e["actor"]) << "</td><td class=\"text\">"
      << h(e["text"]);
    if (has_payload) {
      o << "<br><code class=\"text muted\">"
        << html_escape(payload.is_string() ? payload.get<std::string>()
                                           : payload.dump(-1, ' ', false, Json::error_handler_t::replace))
        << "</code>";
    }
    o << "</td><td class=\"mono hash\">" << h(e["prev_hash"]) << "</td><td class=\"mono hash\">" << h(e["hash"])
      << "</td><td>" << (ok ? "yes" : "NO") << "</td></tr>\n";
  }
  o << "</table>\n</section>\n";
}

std::string render_html(const Json& x) {
  std::ostringstream o;
  html_open(o, "Access request " + str(x["request_id"]) + ": evidence");
  html_header(o, x);
  html_decision(o, x);
  html_timeline(o, x);
  html_groups(o, x);
  html_ending(o, x);
  html_audit(o, x);
  html_close(o);
  return o.str();
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
                         {"eligible_known", step.eligible_known},
                         {"where", where(step.span)},
                         {"approvals", std::move(approvals)}});
  }
  Json groups = Json::array();
  for (const auto& g : s.plan.groups) groups.push_back(group_json(g));
  Json reasons = Json::array();
  Json citations = Json::array();
  for (const auto& r : s.plan.reasons) {
    reasons.push_back(r.text);
    citations.push_back(Json{{"text", r.text},
                             {"where", where(r.span)},
                             {"source", r.span.valid() ? std::string(r.span.text()) : std::string()}});
  }
  x["plan"] = Json{{"outcome", std::string(ip::outcome_name(s.plan.outcome))},
                   {"bucket", s.plan.bucket},
                   {"duration_seconds", seconds_or_null(s.plan.duration)},
                   {"manual", s.plan.manual ? Json(*s.plan.manual) : Json(nullptr)},
                   {"denial", s.plan.denial},
                   {"reasons", std::move(reasons)},
                   {"citations", std::move(citations)},
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

std::string export_html(const ip::RequestState& state, const std::vector<audit::Entry>& entries,
                        const std::vector<Json>& events, const std::optional<AuditVerification>& chain) {
  return render_html(export_json(state, entries, events, chain));
}

std::vector<ClosedRequest> choose_sample(std::vector<ClosedRequest> candidates, std::size_t n) {
  const auto newest_first = [](const ClosedRequest& a, const ClosedRequest& b) {
    return a.closed_at != b.closed_at ? a.closed_at > b.closed_at : a.id < b.id;
  };
  constexpr ip::Status kOutcomes[] = {ip::Status::expired, ip::Status::revoked, ip::Status::denied,
                                      ip::Status::cancelled, ip::Status::failed};
  std::vector<std::vector<ClosedRequest>> groups;
  for (ip::Status outcome : kOutcomes) {
    std::vector<ClosedRequest> group;
    for (const auto& c : candidates) {
      if (c.status == outcome) group.push_back(c);
    }
    std::sort(group.begin(), group.end(), newest_first);
    groups.push_back(std::move(group));
  }
  std::vector<ClosedRequest> chosen;
  for (std::size_t round = 0; chosen.size() < n; ++round) {
    bool any = false;
    for (const auto& group : groups) {
      if (round >= group.size() || chosen.size() >= n) continue;
      chosen.push_back(group[round]);
      any = true;
    }
    if (!any) break;
  }
  std::sort(chosen.begin(), chosen.end(), newest_first);
  return chosen;
}

namespace {

namespace fs = std::filesystem;

// Every closed request in the database at `path`, opened read-only as
// read_sqlite_request_evidence() does. The closing time is the state's
// closed_at (its last update when absent).
Result<std::vector<ClosedRequest>> read_closed_requests(const std::string& path) {
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr);
  std::unique_ptr<sqlite3, int (*)(sqlite3*)> db(raw, sqlite3_close);
  if (rc != SQLITE_OK) {
    return make_error(ErrorCode::io,
                      std::string("cannot open database: ") + (raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
  }
  sqlite3_busy_timeout(db.get(), 5000);
  std::string closed;
  for (int i = 0; i <= static_cast<int>(ip::Status::failed); ++i) {
    const auto status = static_cast<ip::Status>(i);
    if (!ip::is_closed(status)) continue;
    closed += std::string(closed.empty() ? "" : ", ") + "'" + std::string(ip::status_name(status)) + "'";
  }
  const std::string sql =
      "SELECT id, status, COALESCE(json_extract(state_json, '$.closed_at'), updated_at) FROM requests "
      "WHERE status IN (" + closed + ")";
  sqlite3_stmt* raw_stmt = nullptr;
  if (sqlite3_prepare_v2(db.get(), sql.c_str(), -1, &raw_stmt, nullptr) != SQLITE_OK) {
    return make_error(ErrorCode::corrupt,
                      "not a Portcullis database (cannot list its requests: " + std::string(sqlite3_errmsg(db.get())) + ")");
  }
  std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> stmt(raw_stmt, sqlite3_finalize);
  std::vector<ClosedRequest> out;
  int step = SQLITE_ROW;
  while ((step = sqlite3_step(stmt.get())) == SQLITE_ROW) {
    const auto* id = reinterpret_cast<const char*>(sqlite3_column_text(stmt.get(), 0));
    const auto* status = reinterpret_cast<const char*>(sqlite3_column_text(stmt.get(), 1));
    auto parsed = ip::status_from_name(status ? status : "");
    if (!id || !parsed) continue;
    out.push_back(ClosedRequest{id, *parsed, sqlite3_column_int64(stmt.get(), 2)});
  }
  if (step != SQLITE_DONE) {
    return make_error(ErrorCode::io, "cannot list its requests: " + std::string(sqlite3_errmsg(db.get())));
  }
  return out;
}

std::string extension(AuditExportArgs::Format format) {
  switch (format) {
    case AuditExportArgs::Format::json: return ".json";
    case AuditExportArgs::Format::markdown: return ".md";
    case AuditExportArgs::Format::html: return ".html";
  }
  return ".json";
}

std::string render(const Json& x, AuditExportArgs::Format format) {
  switch (format) {
    case AuditExportArgs::Format::json: return x.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
    case AuditExportArgs::Format::markdown: return render_markdown(x);
    case AuditExportArgs::Format::html: return render_html(x);
  }
  return {};
}

// A file name for a request id: letters, digits, '-', '_' and '.' kept,
// anything else '_', never hidden, never "index", never used twice.
std::string page_name(const std::string& id, const std::string& ext, std::vector<std::string>& used) {
  std::string base;
  for (char c : id.substr(0, 120)) {
    const bool keep = std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
    base += keep ? c : '_';
  }
  if (base.empty() || base[0] == '.') base = "_" + base;
  std::string name = base + ext;
  for (int n = 2; base == "index" || std::find(used.begin(), used.end(), name) != used.end(); ++n) {
    name = base + "-" + std::to_string(n) + ext;
    if (std::find(used.begin(), used.end(), name) == used.end()) break;
  }
  used.push_back(name);
  return name;
}

bool write_file(const fs::path& path, const std::string& content, std::ostream& err) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file << content;
  file.close();
  if (!file) {
    err << "error: cannot write " << path.string() << "\n";
    return false;
  }
  return true;
}

struct IndexRow {
  std::string id, file, requester, app, role, status, closed_at;
  bool verified = false;
};

std::string render_index(const std::vector<IndexRow>& rows, const AuditExportArgs& args, std::size_t closed_total) {
  const std::string what = std::to_string(rows.size()) + " of the " + std::to_string(closed_total) +
                           " closed requests in " + args.db;
  const std::string how =
      "Chosen by taking the most recently closed request of each outcome (expired, revoked, denied, cancelled, "
      "failed) in turn, up to " + std::to_string(args.sample) + "; listed most recently closed first.";
  if (args.format == AuditExportArgs::Format::json) {
    Json list = Json::array();
    for (const auto& r : rows) {
      list.push_back(Json{{"request_id", r.id},     {"file", r.file},       {"requester", r.requester},
                          {"app", r.app},           {"role", r.role},       {"status", r.status},
                          {"closed_at", r.closed_at}, {"chain_verified", r.verified}});
    }
    return Json{{"export_version", 1}, {"database", args.db}, {"closed_total", closed_total}, {"requests", list}}
               .dump(2, ' ', false, Json::error_handler_t::replace) +
           "\n";
  }
  if (args.format == AuditExportArgs::Format::markdown) {
    std::ostringstream md;
    md << "# Evidence of closed access requests\n\n" << cell(what) << ". " << how << "\n\n";
    md << "| Request | Requester | App.role | Outcome | Closed at (UTC) | Chain verified |\n|---|---|---|---|---|---|\n";
    for (const auto& r : rows) {
      md << "| [" << cell(r.id) << "](" << r.file << ") | " << cell(r.requester) << " | " << cell(r.app + "." + r.role)
         << " | " << r.status << " | " << r.closed_at << " | " << (r.verified ? "VERIFIED" : "**BROKEN**") << " |\n";
    }
    return md.str();
  }
  std::ostringstream o;
  html_open(o, "Evidence of closed access requests");
  o << "<header>\n<h1>Evidence of closed access requests</h1>\n<p id=\"sample-summary\">" << html_escape(what)
    << ".</p>\n<p class=\"muted\">" << html_escape(how) << " Each link opens one request's whole evidence.</p>\n"
    << "</header>\n<section id=\"requests\">\n";
  if (rows.empty()) {
    o << "<p>The database holds no closed request.</p>\n";
  } else {
    o << "<table id=\"index\">\n<tr><th>Request</th><th>Requester</th><th>App.role</th><th>Outcome</th>"
         "<th>Closed at (UTC)</th><th>Chain verified</th></tr>\n";
    for (const auto& r : rows) {
      o << "<tr><td><a class=\"mono\" href=\"" << html_escape(r.file) << "\">" << html_escape(r.id) << "</a></td><td>"
        << html_escape(r.requester) << "</td><td>" << html_escape(r.app + "." + r.role) << "</td><td>"
        << html_escape(r.status) << "</td><td class=\"mono at\">" << html_escape(r.closed_at) << "</td><td>"
        << (r.verified ? "<span class=\"good\">VERIFIED</span>" : "<span class=\"bad\">BROKEN</span>") << "</td></tr>\n";
    }
    o << "</table>\n";
  }
  o << "</section>\n";
  html_close(o);
  return o.str();
}

int run_batch_export(const AuditExportArgs& args, std::ostream& out, std::ostream& err) {
  const fs::path dir(args.out_dir);
  std::error_code ec;
  const auto dir_status = fs::symlink_status(dir, ec);
  const bool exists = fs::exists(dir_status);
  if (exists) {
    if (!fs::is_directory(fs::status(dir, ec))) {
      err << "error: --out " << args.out_dir << " exists and is not a directory\n";
      return 2;
    }
    const bool empty = fs::is_empty(dir, ec);
    if (ec) {
      err << "error: --out " << args.out_dir << ": cannot read the directory: " << ec.message() << "\n";
      return 2;
    }
    if (!empty && !args.force) {
      err << "error: --out " << args.out_dir
          << " is not empty; refusing to write evidence over what is there (give a new directory, or --force to "
             "write into it and replace files of the same name)\n";
      return 2;
    }
  }

  auto closed = read_closed_requests(args.db);
  if (!closed) {
    err << "error: " << args.db << ": " << closed.error().message << "\n";
    return 2;
  }
  const std::size_t closed_total = closed->size();
  const std::vector<ClosedRequest> chosen = choose_sample(std::move(*closed), args.sample);

  if (!exists) {
    fs::create_directories(dir, ec);
    if (ec) {
      err << "error: --out " << args.out_dir << ": cannot create the directory: " << ec.message() << "\n";
      return 2;
    }
  }

  const std::string ext = extension(args.format);
  std::vector<std::string> used;
  std::vector<IndexRow> rows;
  int broken = 0;
  for (const auto& c : chosen) {
    auto evidence = read_sqlite_request_evidence(args.db, c.id);
    if (!evidence) {
      err << "error: " << args.db << ": request " << c.id << ": " << evidence.error().message << "\n";
      return 2;
    }
    IndexRow row;
    try {
      const Json x = export_json(evidence->state, evidence->audit, evidence->events, evidence->chain);
      row.id = c.id;
      row.file = page_name(c.id, ext, used);
      row.requester = str(x["request"]["requester"]);
      row.app = str(x["request"]["app"]);
      row.role = str(x["request"]["role"]);
      row.status = str(x["status"]);
      row.closed_at = or_dash(x["timeline"]["closed_at"]);
      row.verified = chain_verified(x);
      if (!write_file(dir / row.file, render(x, args.format), err)) return 2;
    } catch (const std::exception& e) {
      err << "error: " << args.db << ": cannot render request " << c.id << ": " << e.what() << "\n";
      return 2;
    }
    if (!row.verified) ++broken;
    rows.push_back(std::move(row));
  }
  const fs::path index = dir / ("index" + ext);
  if (!write_file(index, render_index(rows, args, closed_total), err)) return 2;
  out << "wrote " << rows.size() << " of " << closed_total << " closed requests and " << index.string();
  if (broken > 0) out << "; " << broken << " with a BROKEN audit chain";
  out << "\n";
  return 0;
}

}  // namespace

int run_audit_export(const AuditExportArgs& args, std::ostream& out, std::ostream& err) {
  if (args.db.empty()) {
    err << "error: --db is required\n";
    return 2;
  }
  const bool batch = args.sample > 0 || !args.out_dir.empty();
  if (batch && !args.request_id.empty()) {
    err << "error: give either --request ID or --sample N --out DIR, not both\n";
    return 2;
  }
  if (batch) {
    if (args.sample == 0 || args.out_dir.empty()) {
      err << "error: batch export needs both --sample N (at least 1) and --out DIR\n";
      return 2;
    }
    return run_batch_export(args, out, err);
  }
  if (args.request_id.empty()) {
    err << "error: --request ID (or --sample N --out DIR) is required\n";
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
    // replace (in render): stored text that is not valid UTF-8 must not
    // abort the export.
    out << render(export_json(evidence->state, evidence->audit, evidence->events, evidence->chain), args.format);
  } catch (const std::exception& e) {
    err << "error: " << args.db << ": cannot render request " << args.request_id << ": " << e.what() << "\n";
    return 2;
  }
  return 0;
}

}  // namespace portcullis::runtime
