#include "tools/analyze/tickets.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <fstream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "tools/analyze/csv.hpp"

namespace portcullis::analyze {

namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string trim(std::string_view text) {
  std::size_t b = 0, e = text.size();
  while (b < e && std::isspace(static_cast<unsigned char>(text[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(text[e - 1]))) --e;
  return std::string(text.substr(b, e - b));
}

// Reads `count` digits at `pos`; false when they are not there.
bool digits(std::string_view s, std::size_t& pos, std::size_t count, int& out) {
  if (pos + count > s.size()) return false;
  out = 0;
  for (std::size_t k = 0; k < count; ++k) {
    const char c = s[pos + k];
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    out = out * 10 + (c - '0');
  }
  pos += count;
  return true;
}

std::optional<Time> make_time(int y, int mo, int d, int h, int mi, int s) {
  using namespace std::chrono;
  const year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
  if (!ymd.ok() || h > 23 || mi > 59 || s > 60) return std::nullopt;
  return sys_days{ymd}.time_since_epoch().count() * 86400LL + h * 3600LL + mi * 60LL + s;
}

std::optional<Time> parse_iso(std::string_view s) {
  std::size_t p = 0;
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  if (!digits(s, p, 4, y) || p >= s.size() || s[p++] != '-' || !digits(s, p, 2, mo) || p >= s.size() ||
      s[p++] != '-' || !digits(s, p, 2, d)) {
    return std::nullopt;
  }
  Time offset = 0;
  if (p < s.size()) {
    if (s[p] != 'T' && s[p] != ' ') return std::nullopt;
    ++p;
    if (!digits(s, p, 2, h) || p >= s.size() || s[p++] != ':' || !digits(s, p, 2, mi)) return std::nullopt;
    if (p < s.size() && s[p] == ':') {
      ++p;
      if (!digits(s, p, 2, sec)) return std::nullopt;
      if (p < s.size() && s[p] == '.') {
        ++p;
        while (p < s.size() && std::isdigit(static_cast<unsigned char>(s[p]))) ++p;
      }
    }
    if (p < s.size()) {
      if (s[p] == 'Z') {
        ++p;
      } else if (s[p] == '+' || s[p] == '-') {
        const int sign = s[p] == '-' ? -1 : 1;
        ++p;
        int oh = 0, om = 0;
        if (!digits(s, p, 2, oh)) return std::nullopt;
        if (p < s.size() && s[p] == ':') ++p;
        if (!digits(s, p, 2, om)) return std::nullopt;
        offset = sign * (oh * 3600 + om * 60);
      }
    }
    if (p != s.size()) return std::nullopt;
  }
  const auto t = make_time(y, mo, d, h, mi, sec);
  if (!t) return std::nullopt;
  return *t - offset;
}

// Jira's default: "12/Mar/24 10:15 AM" (the time part optional).
std::optional<Time> parse_jira(std::string_view s) {
  static const char* const kMonths[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                        "jul", "aug", "sep", "oct", "nov", "dec"};
  std::size_t p = 0;
  int d = 0, y = 0, h = 0, mi = 0;
  const std::size_t day_digits = s.size() > 1 && s[1] == '/' ? 1 : 2;
  if (!digits(s, p, day_digits, d) || p >= s.size() || s[p++] != '/' || p + 4 > s.size()) return std::nullopt;
  const std::string mon = lower(s.substr(p, 3));
  int mo = 0;
  for (int k = 0; k < 12; ++k) {
    if (mon == kMonths[k]) mo = k + 1;
  }
  p += 3;
  if (mo == 0 || s[p++] != '/' || !digits(s, p, 2, y)) return std::nullopt;
  y += 2000;
  if (p < s.size()) {
    if (s[p++] != ' ') return std::nullopt;
    const std::size_t hour_digits = p + 1 < s.size() && s[p + 1] == ':' ? 1 : 2;
    if (!digits(s, p, hour_digits, h) || p >= s.size() || s[p++] != ':' || !digits(s, p, 2, mi)) return std::nullopt;
    if (p < s.size()) {
      const std::string ampm = lower(trim(s.substr(p)));
      if (ampm != "am" && ampm != "pm") return std::nullopt;
      if (h < 1 || h > 12) return std::nullopt;
      h = h % 12 + (ampm == "pm" ? 12 : 0);
    }
  }
  return make_time(y, mo, d, h, mi, 0);
}

bool means_no_expiry(std::string_view value) {
  const std::string v = lower(trim(value));
  return v.empty() || v == "never" || v == "permanent" || v == "none";
}

// "Access request: <email> -> <app> <role>"
bool parse_summary(std::string_view summary, std::string& requester, std::string& app, std::string& role) {
  const std::string prefix = "access request:";
  const std::string s = trim(summary);
  if (lower(s.substr(0, prefix.size())) != prefix) return false;
  const std::size_t arrow = s.find("->", prefix.size());
  if (arrow == std::string::npos) return false;
  requester = trim(std::string_view(s).substr(prefix.size(), arrow - prefix.size()));
  std::istringstream rest(s.substr(arrow + 2));
  std::string extra;
  if (!(rest >> app >> role) || (rest >> extra)) return false;
  return true;
}

}  // namespace

std::string TicketError::render() const {
  std::string out = file;
  if (line > 0) out += ":" + std::to_string(line) + ":" + std::to_string(column);
  return out + ": " + message;
}

std::optional<Time> parse_ticket_time(std::string_view text) {
  const std::string s = trim(text);
  if (s.empty()) return std::nullopt;
  if (auto t = parse_iso(s)) return t;
  return parse_jira(s);
}

TicketsOrError read_jira_csv(std::string_view text, const std::string& file, const TicketColumns& columns) {
  auto parsed = read_csv(text);
  if (auto* e = std::get_if<CsvError>(&parsed)) return TicketError{file, e->line, e->column, e->message};
  const auto& records = std::get<std::vector<CsvRecord>>(parsed);
  if (records.empty()) return TicketError{file, 1, 1, "empty file: expected a header row"};

  // Jira repeats a column name for multi-valued fields: the first wins.
  std::map<std::string, std::size_t> index;
  for (std::size_t k = 0; k < records[0].size(); ++k) index.emplace(lower(trim(records[0][k].value)), k);
  const auto find = [&](const std::string& name) -> std::optional<std::size_t> {
    auto it = index.find(lower(name));
    if (it == index.end()) return std::nullopt;
    return it->second;
  };
  const auto key_col = find("Issue key");
  const auto created_col = find("Created");
  const auto resolved_col = find("Resolved");
  const auto reporter_col = find("Reporter");
  const auto summary_col = find("Summary");
  const auto expires_col = find("Expires");
  const auto app_col = find(columns.app);
  const auto role_col = find(columns.role);
  if (!created_col) return TicketError{file, 1, 1, "no \"Created\" column in the header row"};
  if ((!app_col || !role_col) && !summary_col) {
    return TicketError{file, 1, 1,
                       "no \"" + columns.app + "\" and \"" + columns.role +
                           "\" columns and no \"Summary\" column to read the app and role from"};
  }

  std::vector<Ticket> tickets;
  for (std::size_t r = 1; r < records.size(); ++r) {
    const CsvRecord& rec = records[r];
    if (rec.size() == 1 && trim(rec[0].value).empty()) continue;  // blank line
    const auto cell = [&](const std::optional<std::size_t>& col) -> std::string {
      return col && *col < rec.size() ? trim(rec[*col].value) : std::string();
    };
    const auto where = [&](const std::optional<std::size_t>& col) -> std::pair<std::size_t, std::size_t> {
      if (col && *col < rec.size()) return {rec[*col].line, rec[*col].column};
      return {rec.front().line, rec.front().column};
    };
    const auto fail = [&](const std::optional<std::size_t>& col, const std::string& message) {
      const auto [l, c] = where(col);
      return TicketError{file, l, c, message};
    };
    Ticket t;
    t.key = cell(key_col);
    if (t.key.empty()) t.key = "row " + std::to_string(r + 1);
    const std::string created = cell(created_col);
    auto created_at = parse_ticket_time(created);
    if (!created_at) return fail(created_col, "\"Created\": cannot read \"" + created + "\" as a date");
    t.created = *created_at;
    if (const std::string resolved = cell(resolved_col); !resolved.empty()) {
      t.resolved = parse_ticket_time(resolved);
      if (!t.resolved) return fail(resolved_col, "\"Resolved\": cannot read \"" + resolved + "\" as a date");
    }
    if (expires_col) {
      t.has_expiry_field = true;
      const std::string expires = cell(expires_col);
      if (!means_no_expiry(expires)) {
        t.expires = parse_ticket_time(expires);
        if (!t.expires) return fail(expires_col, "\"Expires\": cannot read \"" + expires + "\" as a date");
      }
    }
    t.requester = cell(reporter_col);
    t.app = cell(app_col);
    t.role = cell(role_col);
    if (t.app.empty() || t.role.empty()) {
      std::string requester, app, role;
      if (!parse_summary(cell(summary_col), requester, app, role)) {
        return fail(summary_col ? summary_col : app_col,
                    "ticket " + t.key + ": no app and role (empty \"" + columns.app + "\"/\"" + columns.role +
                        "\" and a summary not of the form \"Access request: <email> -> <app> <role>\")");
      }
      t.app = app;
      t.role = role;
      if (!requester.empty()) t.requester = requester;
    }
    tickets.push_back(std::move(t));
  }
  return tickets;
}

TicketsOrError read_ticket_json(std::string_view text, const std::string& file) {
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    // e.byte is 1-based, one past the offending character.
    const std::size_t at = e.byte == 0 ? 0 : std::min<std::size_t>(e.byte - 1, text.size());
    std::size_t line = 1, line_start = 0;
    for (std::size_t k = 0; k < at; ++k) {
      if (text[k] == '\n') {
        ++line;
        line_start = k + 1;
      }
    }
    std::string what = e.what();
    if (auto colon = what.rfind(": "); colon != std::string::npos) what = what.substr(colon + 2);
    return TicketError{file, line, at - line_start + 1, "not valid JSON: " + what};
  }
  if (!doc.is_array()) return TicketError{file, 1, 1, "expected an array of tickets"};
  std::vector<Ticket> tickets;
  for (std::size_t k = 0; k < doc.size(); ++k) {
    const auto& item = doc[k];
    std::string label = "ticket [" + std::to_string(k) + "]";
    const auto fail = [&](const std::string& message) { return TicketError{file, 0, 0, label + ": " + message}; };
    if (!item.is_object()) return fail("expected an object");
    const auto text_of = [&](const char* name, bool required, std::string& out) -> std::optional<TicketError> {
      if (!item.contains(name) || item[name].is_null()) {
        if (required) return fail("\"" + std::string(name) + "\" is missing");
        return std::nullopt;
      }
      if (!item[name].is_string()) return fail("\"" + std::string(name) + "\": expected a string");
      out = trim(item[name].get<std::string>());
      return std::nullopt;
    };
    Ticket t;
    std::string created, resolved, expires;
    if (auto e = text_of("key", true, t.key)) return *e;
    label += " (" + t.key + ")";
    if (auto e = text_of("created", true, created)) return *e;
    if (auto e = text_of("app", true, t.app)) return *e;
    if (auto e = text_of("role", true, t.role)) return *e;
    if (auto e = text_of("requester", false, t.requester)) return *e;
    if (auto e = text_of("resolved", false, resolved)) return *e;
    auto c = parse_ticket_time(created);
    if (!c) return fail("\"created\": cannot read \"" + created + "\" as a date");
    t.created = *c;
    if (!resolved.empty()) {
      t.resolved = parse_ticket_time(resolved);
      if (!t.resolved) return fail("\"resolved\": cannot read \"" + resolved + "\" as a date");
    }
    if (item.contains("expires")) {
      t.has_expiry_field = true;
      if (auto e = text_of("expires", false, expires)) return *e;
      if (!means_no_expiry(expires)) {
        t.expires = parse_ticket_time(expires);
        if (!t.expires) return fail("\"expires\": cannot read \"" + expires + "\" as a date");
      }
    }
    if (t.app.empty() || t.role.empty()) return fail("\"app\" and \"role\" must not be empty");
    tickets.push_back(std::move(t));
  }
  return tickets;
}

TicketsOrError read_ticket_file(const std::string& path, const TicketColumns& columns) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return TicketError{path, 0, 0, "cannot read the file"};
  std::ostringstream buffer;
  buffer << in.rdbuf();
  const std::string text = buffer.str();
  const bool json = path.size() >= 5 && lower(path.substr(path.size() - 5)) == ".json";
  return json ? read_ticket_json(text, path) : read_jira_csv(text, path, columns);
}

}  // namespace portcullis::analyze
