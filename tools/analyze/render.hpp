#pragma once
// How `portcullis analyze` prints an Analysis (analysis.hpp). Pure
// functions of the data; any thread may call them.
//
// render_text(): a readable summary, one section per figure.
//
// analysis_json(): version 1, keys stable (new keys may be added; none
// renamed or removed without bumping "analysis_version"). Shares are
// fractions 0..1 rounded to 4 places; times ISO 8601 UTC, null when
// absent; durations in seconds.
//   analysis_version  1
//   now               time
//   history           {tickets, first_created, last_created, months}
//   buckets           [{bucket, requests, share}]  routine, sensitive,
//                     privileged, unknown, then other buckets by name
//   privileged_without_expiry {requests, share}
//   flags             [{code, raised, share, threshold, message}]
//                     code: automation_opportunity | standing_privilege
//   automate_first    [app figure]
//   manual_roles      [{app, role, how, requests}]
//   top_apps          [app figure]  at most 20
//     app figure:     {app, title, in_catalog, requests, per_month,
//                      group_mapped_requests, group_mapped_per_month}
//   daemon            null without --db, else {requests, fully_automated,
//                     automated_share,
//                     time_to_access: [{bucket, requests, median_seconds,
//                                       p90_seconds}],
//                     waiting: [{id, requester, app, role, bucket, status,
//                                waiting_on, submitted_at, waiting_seconds}]}
//
// render_html(): one self-contained page: inline CSS, inline SVG bar charts
// (id "chart-buckets": bucket shares; id "chart-apps": top apps), a table
// per section, no script and no external resource (a
// Content-Security-Policy meta tag forbids them). Each bar is a <rect
// class="bar">; each bucket's share is in the element with id
// "share-<bucket>", the automated share in "automated-share". All text is
// HTML-escaped.

#include <string>

#include <nlohmann/json.hpp>

#include "tools/analyze/analysis.hpp"

namespace portcullis::analyze {

std::string render_text(const Analysis& analysis);
nlohmann::json analysis_json(const Analysis& analysis);
std::string render_html(const Analysis& analysis);

// "62.5%" for 0.625.
std::string format_share(double share);
// "3d 4h", "2h 5m", "45s".
std::string format_duration(long long seconds);

}  // namespace portcullis::analyze
