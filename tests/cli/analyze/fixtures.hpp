#pragma once
// A small ticket history over examples/acme, as a Jira CSV export and as a
// JSON export, shared by the analyze tests.
//
// CSV (18 tickets, 2024-01-01 .. 2024-01-31, one month): 12 figma.viewer
// (routine, group-mapped, some parsed from the summary), 1 slack.member
// (routine), 1 notion.workspace_admin (sensitive), 2 figma.admin
// (privileged; one with an empty Expires, one with a date), 1
// slack.org_owner (privileged, manual, Expires "never"), 1 nosuch.thing
// (unknown). Routine 13/18 = 72.2% (flag); privileged without expiry
// 2/18 = 11.1% (no flag).
//
// JSON (4 tickets): figma.admin x2 without expiry, figma.viewer,
// zoom.licensed. Privileged without expiry 2/4 = 50% (flag).

#include <string>

namespace portcullis::testing {

inline std::string acme_policy() { return std::string(PORTCULLIS_SOURCE_DIR) + "/examples/acme/acme.policy"; }

inline std::string fixture_csv() {
  std::string csv =
      "\xEF\xBB\xBFIssue key,Summary,Created,Resolved,Reporter,App,Role,Expires\n"
      "ACC-1,\"Access request: ann@acme.com -> figma viewer\",2024-01-01 09:00,2024-01-01 09:05,ann@acme.com,,,\n"
      "ACC-2,\"Access request: bob@acme.com -> figma viewer\",01/Jan/24 10:00 AM,,bob@acme.com,,,\n";
  for (int k = 3; k <= 12; ++k) {
    csv += "ACC-" + std::to_string(k) + ",\"Figma, \"\"viewer\"\" seat\",2024-01-" + (k < 10 ? "0" : "") +
           std::to_string(k) + "T08:00:00Z,,user" + std::to_string(k) + "@acme.com,figma,viewer,\n";
  }
  csv +=
      "ACC-13,\"Slack,\nplease\",2024-01-15,,c@acme.com,slack,member,\n"
      "ACC-14,Notion admin,2024-01-16,,d@acme.com,notion,workspace_admin,\n"
      "ACC-15,Figma admin,2024-01-20,,e@acme.com,figma,admin,\n"
      "ACC-16,Figma admin,2024-01-21,,e@acme.com,figma,admin,2024-01-22\n"
      "ACC-17,Org owner,2024-01-25,,f@acme.com,slack,org_owner,never\n"
      "ACC-18,Something else,2024-01-31 00:00,,g@acme.com,nosuch,thing,\n";
  return csv;
}

inline std::string fixture_json() {
  return R"([
  {"key": "J-1", "created": "2024-02-01T10:00:00Z", "app": "figma", "role": "admin", "expires": null},
  {"key": "J-2", "created": "2024-02-02T10:00:00Z", "resolved": "2024-02-02T11:00:00Z", "app": "figma",
   "role": "admin", "requester": "x@acme.com", "expires": ""},
  {"key": "J-3", "created": "2024-02-03T10:00:00Z", "app": "figma", "role": "viewer"},
  {"key": "J-4", "created": "2024-02-04T10:00:00Z", "app": "zoom", "role": "licensed"}
])";
}

}  // namespace portcullis::testing
