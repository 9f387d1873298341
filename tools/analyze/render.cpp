#include "tools/analyze/render.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "runtime/audit_export.hpp"

namespace portcullis::analyze {

namespace {

using Json = nlohmann::json;
using runtime::html_escape;
using runtime::iso8601_utc;

double round4(double x) { return std::round(x * 10000.0) / 10000.0; }

std::string fixed1(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", x);
  return buf;
}

Json time_or_null(const std::optional<Time>& t) { return t ? Json(iso8601_utc(*t)) : Json(nullptr); }

Json app_json(const AppFigure& a) {
  return Json{{"app", a.app},
              {"title", a.title},
              {"in_catalog", a.in_catalog},
              {"requests", a.requests},
              {"per_month", round4(a.per_month)},
              {"group_mapped_requests", a.group_mapped_requests},
              {"group_mapped_per_month", round4(a.group_mapped_per_month)}};
}

std::string pad(const std::string& text, std::size_t width) {
  return text.size() >= width ? text + " " : text + std::string(width - text.size(), ' ');
}

// A horizontal bar chart: one row per (label, value, caption); bars scaled
// to the largest value (or to 1 when `max` is given).
struct Bar {
  std::string label;
  double value = 0;
  std::string caption;
  std::string key;  // data-key attribute
};

std::string svg_chart(const std::string& id, const std::string& title, const std::vector<Bar>& bars, double max) {
  const int row = 26, label_w = 170, bar_w = 360, caption_w = 110;
  const int height = std::max<int>(1, static_cast<int>(bars.size())) * row + 10;
  const int width = label_w + bar_w + caption_w;
  std::ostringstream o;
  o << "<svg id=\"" << id << "\" xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" width=\"" << width
    << "\" height=\"" << height << "\" viewBox=\"0 0 " << width << " " << height << "\" aria-label=\""
    << html_escape(title) << "\"><title>" << html_escape(title) << "</title>";
  if (max <= 0) max = 1;
  for (std::size_t k = 0; k < bars.size(); ++k) {
    const Bar& b = bars[k];
    const int y = 5 + static_cast<int>(k) * row;
    const double w = std::max(0.0, b.value / max * bar_w);
    o << "<text x=\"" << label_w - 8 << "\" y=\"" << y + 16 << "\" text-anchor=\"end\">" << html_escape(b.label)
      << "</text>";
    o << "<rect class=\"bar\" data-key=\"" << html_escape(b.key) << "\" x=\"" << label_w << "\" y=\"" << y + 3
      << "\" width=\"" << fixed1(w) << "\" height=\"" << row - 8 << "\"></rect>";
    o << "<text class=\"value\" x=\"" << label_w + static_cast<int>(w) + 6 << "\" y=\"" << y + 16 << "\">"
      << html_escape(b.caption) << "</text>";
  }
  o << "</svg>";
  return o.str();
}

}  // namespace

std::string format_share(double share) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", share * 100.0);
  return buf;
}

std::string format_duration(long long seconds) {
  if (seconds < 60) return std::to_string(seconds) + "s";
  const long long d = seconds / 86400, h = seconds % 86400 / 3600, m = seconds % 3600 / 60;
  if (d > 0) return std::to_string(d) + "d " + std::to_string(h) + "h";
  if (h > 0) return std::to_string(h) + "h " + std::to_string(m) + "m";
  return std::to_string(m) + "m";
}

Json analysis_json(const Analysis& a) {
  Json j;
  j["analysis_version"] = 1;
  j["now"] = iso8601_utc(a.now);
  j["history"] = Json{{"tickets", a.tickets},
                      {"first_created", time_or_null(a.first_created)},
                      {"last_created", time_or_null(a.last_created)},
                      {"months", round4(a.months)}};
  j["buckets"] = Json::array();
  for (const auto& b : a.buckets) {
    j["buckets"].push_back(Json{{"bucket", b.bucket}, {"requests", b.requests}, {"share", round4(b.share)}});
  }
  j["privileged_without_expiry"] =
      Json{{"requests", a.privileged_without_expiry}, {"share", round4(a.privileged_without_expiry_share)}};
  j["flags"] = Json::array();
  for (const auto& f : a.flags) {
    j["flags"].push_back(Json{{"code", f.code},
                              {"raised", f.raised},
                              {"share", round4(f.share)},
                              {"threshold", f.threshold},
                              {"message", f.message}});
  }
  j["automate_first"] = Json::array();
  for (const auto& app : a.automate_first) j["automate_first"].push_back(app_json(app));
  j["manual_roles"] = Json::array();
  for (const auto& m : a.manual_roles) {
    j["manual_roles"].push_back(Json{{"app", m.app}, {"role", m.role}, {"how", m.how}, {"requests", m.requests}});
  }
  j["top_apps"] = Json::array();
  for (const auto& app : a.top_apps) j["top_apps"].push_back(app_json(app));
  if (!a.daemon) {
    j["daemon"] = nullptr;
  } else {
    const DaemonFigures& d = *a.daemon;
    Json dj{{"requests", d.requests},
            {"fully_automated", d.fully_automated},
            {"automated_share", round4(d.automated_share)},
            {"time_to_access", Json::array()},
            {"waiting", Json::array()}};
    for (const auto& l : d.time_to_access) {
      dj["time_to_access"].push_back(
          Json{{"bucket", l.bucket}, {"requests", l.requests}, {"median_seconds", l.median}, {"p90_seconds", l.p90}});
    }
    for (const auto& w : d.waiting) {
      dj["waiting"].push_back(Json{{"id", w.id},
                                   {"requester", w.requester},
                                   {"app", w.app},
                                   {"role", w.role},
                                   {"bucket", w.bucket},
                                   {"status", w.status},
                                   {"waiting_on", w.waiting_on},
                                   {"submitted_at", iso8601_utc(w.submitted_at)},
                                   {"waiting_seconds", w.waiting}});
    }
    j["daemon"] = std::move(dj);
  }
  return j;
}

std::string render_text(const Analysis& a) {
  std::ostringstream o;
  o << "Ticket history: " << a.tickets << " request(s)";
  if (a.first_created && a.last_created) {
    o << " from " << iso8601_utc(*a.first_created).substr(0, 10) << " to " << iso8601_utc(*a.last_created).substr(0, 10)
      << " (" << fixed1(a.months) << " months)";
  }
  o << "\n\nRequests by bucket\n";
  for (const auto& b : a.buckets) {
    o << "  " << pad(b.bucket, 12) << pad(std::to_string(b.requests), 7) << format_share(b.share) << "\n";
  }
  o << "  privileged without expiry: " << a.privileged_without_expiry << " ("
    << format_share(a.privileged_without_expiry_share) << ")\n";
  o << "\nFlags\n";
  for (const auto& f : a.flags) o << "  [" << (f.raised ? "FLAG" : " ok ") << "] " << f.code << ": " << f.message << "\n";
  o << "\nAutomate first (group-mapped, more than 10 requests a month)\n";
  if (a.automate_first.empty()) o << "  none\n";
  for (const auto& app : a.automate_first) {
    o << "  " << pad(app.app, 20) << fixed1(app.group_mapped_per_month) << "/month (" << app.group_mapped_requests
      << " group-mapped requests)\n";
  }
  o << "\nManual roles requested\n";
  if (a.manual_roles.empty()) o << "  none\n";
  for (const auto& m : a.manual_roles) {
    o << "  " << pad(m.app + "." + m.role, 32) << pad(std::to_string(m.requests), 6) << m.how << "\n";
  }
  o << "\nTop apps by volume\n";
  if (a.top_apps.empty()) o << "  none\n";
  for (const auto& app : a.top_apps) {
    o << "  " << pad(app.app + (app.in_catalog ? "" : " (not in catalog)"), 32) << pad(std::to_string(app.requests), 7)
      << fixed1(app.per_month) << "/month\n";
  }
  if (a.daemon) {
    const DaemonFigures& d = *a.daemon;
    o << "\nDaemon record: " << d.requests << " request(s)\n";
    o << "  fully automated: " << d.fully_automated << " (" << format_share(d.automated_share) << ")\n";
    o << "  time from request to access:\n";
    if (d.time_to_access.empty()) o << "    none reached access\n";
    for (const auto& l : d.time_to_access) {
      o << "    " << pad(l.bucket, 12) << pad(std::to_string(l.requests), 6) << "median " << pad(format_duration(l.median), 9)
        << "p90 " << format_duration(l.p90) << "\n";
    }
    o << "  approvals waiting longest:\n";
    if (d.waiting.empty()) o << "    none\n";
    for (const auto& w : d.waiting) {
      o << "    " << pad(w.id, 24) << pad(w.app + "." + w.role, 28) << pad(format_duration(w.waiting), 9) << w.waiting_on
        << "\n";
    }
  }
  return o.str();
}

std::string render_html(const Analysis& a) {
  std::ostringstream o;
  const auto esc = [](const std::string& s) { return html_escape(s); };
  o << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
       "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
       "img-src data:\">"
       "<title>Portcullis access history analysis</title><style>"
       "body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:960px}"
       "table{border-collapse:collapse;margin:.5em 0 1.5em}th,td{border:1px solid #ccc;padding:.25em .6em;"
       "text-align:left}td.n{text-align:right}rect.bar{fill:#3b6fb6}svg text{font-size:12px;fill:#222}"
       ".flag{color:#a40000;font-weight:bold}.ok{color:#2a7a2a}"
       "</style></head><body>\n";
  o << "<h1>Access history analysis</h1>\n<p id=\"summary\">" << a.tickets << " request(s)";
  if (a.first_created && a.last_created) {
    o << " from " << iso8601_utc(*a.first_created).substr(0, 10) << " to "
      << iso8601_utc(*a.last_created).substr(0, 10) << " (" << fixed1(a.months) << " months)";
  }
  o << "; generated " << iso8601_utc(a.now) << ".</p>\n";

  o << "<h2>Requests by bucket</h2>\n";
  std::vector<Bar> bucket_bars;
  for (const auto& b : a.buckets) bucket_bars.push_back(Bar{b.bucket, b.share, format_share(b.share), b.bucket});
  o << svg_chart("chart-buckets", "Share of requests per bucket", bucket_bars, 1.0) << "\n";
  o << "<table id=\"buckets\"><tr><th>Bucket</th><th>Requests</th><th>Share</th></tr>";
  for (const auto& b : a.buckets) {
    o << "<tr><td>" << esc(b.bucket) << "</td><td class=\"n\">" << b.requests << "</td><td class=\"n\" id=\"share-"
      << esc(b.bucket) << "\">" << format_share(b.share) << "</td></tr>";
  }
  o << "<tr><td>privileged without expiry</td><td class=\"n\">" << a.privileged_without_expiry
    << "</td><td class=\"n\" id=\"share-privileged-without-expiry\">"
    << format_share(a.privileged_without_expiry_share) << "</td></tr></table>\n";

  o << "<h2>Flags</h2>\n<ul id=\"flags\">";
  for (const auto& f : a.flags) {
    o << "<li id=\"flag-" << esc(f.code) << "\" class=\"" << (f.raised ? "flag" : "ok") << "\">"
      << (f.raised ? "FLAG " : "OK ") << esc(f.code) << ": " << esc(f.message) << "</li>";
  }
  o << "</ul>\n";

  const auto app_table = [&](const std::string& id, const std::vector<AppFigure>& apps) {
    o << "<table id=\"" << id << "\"><tr><th>App</th><th>Requests</th><th>Per month</th>"
      << "<th>Group-mapped</th><th>Group-mapped per month</th></tr>";
    for (const auto& app : apps) {
      o << "<tr><td>" << esc(app.title) << (app.title != app.app ? " (" + esc(app.app) + ")" : "")
        << (app.in_catalog ? "" : " <em>not in catalog</em>") << "</td><td class=\"n\">" << app.requests
        << "</td><td class=\"n\">" << fixed1(app.per_month) << "</td><td class=\"n\">" << app.group_mapped_requests
        << "</td><td class=\"n\">" << fixed1(app.group_mapped_per_month) << "</td></tr>";
    }
    o << "</table>\n";
  };

  o << "<h2>Automate first</h2>\n<p>Catalog apps whose group-mapped requests exceed 10 a month.</p>\n";
  if (a.automate_first.empty()) {
    o << "<p id=\"automate-first\">None.</p>\n";
  } else {
    app_table("automate-first", a.automate_first);
  }

  o << "<h2>Manual roles requested</h2>\n";
  if (a.manual_roles.empty()) {
    o << "<p id=\"manual-roles\">None.</p>\n";
  } else {
    o << "<table id=\"manual-roles\"><tr><th>Role</th><th>Requests</th><th>How it is fulfilled</th></tr>";
    for (const auto& m : a.manual_roles) {
      o << "<tr><td>" << esc(m.app + "." + m.role) << "</td><td class=\"n\">" << m.requests << "</td><td>"
        << esc(m.how) << "</td></tr>";
    }
    o << "</table>\n";
  }

  o << "<h2>Top apps by volume</h2>\n";
  std::vector<Bar> app_bars;
  double max_requests = 0;
  for (const auto& app : a.top_apps) {
    app_bars.push_back(Bar{app.app, static_cast<double>(app.requests), std::to_string(app.requests), app.app});
    max_requests = std::max(max_requests, static_cast<double>(app.requests));
  }
  o << svg_chart("chart-apps", "Top apps by number of requests", app_bars, max_requests) << "\n";
  app_table("top-apps", a.top_apps);

  o << "<h2>Daemon record</h2>\n";
  if (!a.daemon) {
    o << "<p id=\"daemon\">No database given (--db).</p>\n";
  } else {
    const DaemonFigures& d = *a.daemon;
    o << "<p id=\"daemon\">" << d.requests << " request(s); fully automated: " << d.fully_automated
      << " (<span id=\"automated-share\">" << format_share(d.automated_share) << "</span>).</p>\n";
    o << "<h3>Time from request to access</h3>\n<table id=\"time-to-access\"><tr><th>Bucket</th><th>Requests</th>"
         "<th>Median</th><th>p90</th></tr>";
    for (const auto& l : d.time_to_access) {
      o << "<tr><td>" << esc(l.bucket) << "</td><td class=\"n\">" << l.requests << "</td><td class=\"n\">"
        << format_duration(l.median) << "</td><td class=\"n\">" << format_duration(l.p90) << "</td></tr>";
    }
    o << "</table>\n<h3>Approvals waiting longest</h3>\n<table id=\"waiting\"><tr><th>Request</th><th>Requester</th>"
         "<th>Role</th><th>Bucket</th><th>Waiting on</th><th>Submitted</th><th>Waiting</th></tr>";
    for (const auto& w : d.waiting) {
      o << "<tr><td>" << esc(w.id) << "</td><td>" << esc(w.requester) << "</td><td>" << esc(w.app + "." + w.role)
        << "</td><td>" << esc(w.bucket) << "</td><td>" << esc(w.waiting_on) << "</td><td>"
        << iso8601_utc(w.submitted_at) << "</td><td class=\"n\">" << format_duration(w.waiting) << "</td></tr>";
    }
    o << "</table>\n";
  }
  o << "</body></html>\n";
  return o.str();
}

}  // namespace portcullis::analyze
