#pragma once
// Access tickets from a tracker's export: the history `portcullis analyze`
// reads (docs/cli.md, "Analyzing a ticket history").
//
// Two formats:
//  - a Jira CSV export (read_jira_csv): a header row, then one ticket per
//    record. Columns are found by name, case-insensitively: "Issue key",
//    "Created" (required), "Resolved", "Reporter", "Summary", "Expires",
//    and the app and role columns (by default "App" and "Role"; see
//    TicketColumns). When the app/role columns are absent or empty, the app
//    and role are parsed from a summary of the form
//    "Access request: <email> -> <app> <role>".
//  - a JSON export (read_ticket_json): an array of objects
//    {key, created, resolved?, app, role, requester?, expires?}.
//
// Dates: ISO 8601 ("2024-03-12", "2024-03-12T10:15:00Z", with an optional
// "+01:00" offset, or a space instead of 'T') or Jira's "12/Mar/24 10:15 AM"
// (taken as UTC). An empty "Resolved"/"Expires" is absent.
//
// Errors are data: a TicketError names the file, line and column of the
// value at fault (for JSON, the line and column of a syntax error, or the
// ticket's index and key for a missing or ill-typed value). Nothing throws.
// Pure over the text: the caller reads the file.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace portcullis::analyze {

using Time = std::int64_t;  // seconds since the Unix epoch, UTC

struct Ticket {
  std::string key;
  Time created = 0;
  std::optional<Time> resolved;
  std::string app;
  std::string role;
  std::string requester;
  // Whether the ticket says anything about expiry: `has_expiry_field` is
  // true when the export carries an expiry column/key at all; `expires` is
  // its value (absent: empty, "never" or "permanent").
  bool has_expiry_field = false;
  std::optional<Time> expires;
};

struct TicketError {
  std::string file;
  std::size_t line = 0;    // 0 when unknown
  std::size_t column = 0;  // 0 when unknown
  std::string message;

  // "file:line:col: message" (line/col left out when unknown).
  std::string render() const;
};

struct TicketColumns {
  std::string app = "App";
  std::string role = "Role";
};

using TicketsOrError = std::variant<std::vector<Ticket>, TicketError>;

TicketsOrError read_jira_csv(std::string_view text, const std::string& file, const TicketColumns& columns = {});
TicketsOrError read_ticket_json(std::string_view text, const std::string& file);

// Reads `path` and picks the format by extension (".json": JSON, anything
// else: CSV). An unreadable file is a TicketError without line.
TicketsOrError read_ticket_file(const std::string& path, const TicketColumns& columns = {});

// One of the date forms above, or nullopt.
std::optional<Time> parse_ticket_time(std::string_view text);

}  // namespace portcullis::analyze
