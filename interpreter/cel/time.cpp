#include "interpreter/cel/time.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <limits>
#include <cctype>
#include <fstream>
#include <iterator>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

namespace portcullis::interpreter::cel {
namespace {

constexpr std::int64_t kNanosPerSecond = 1'000'000'000;
__extension__ using i128 = __int128;

// Howard Hinnant's civil calendar algorithms.
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

void civil_from_days(std::int64_t z, std::int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

bool is_leap(std::int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int days_in_month(std::int64_t y, int m) {
  static constexpr std::array<int, 12> days = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : days[static_cast<std::size_t>(m - 1)];
}

bool read_digits(std::string_view s, std::size_t& pos, std::size_t n, int& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    out = out * 10 + (c - '0');
  }
  pos += n;
  return true;
}

// ---- Fixed-offset and TZif zones ----------------------------------------
class FixedZone : public TimeZone {
 public:
  explicit FixedZone(std::int64_t offset) : offset_(offset) {}
  std::int64_t offset_at(std::int64_t /*utc*/) const override { return offset_; }

 private:
  std::int64_t offset_;
};

// A POSIX TZ rule such as "PST8PDT,M3.2.0,M11.1.0".
struct PosixRule {
  std::int64_t std_offset = 0;  // seconds east of UTC
  std::int64_t dst_offset = 0;
  bool has_dst = false;
  struct Date {
    char kind = 'M';  // 'M' (month.week.day), 'J' (Julian 1..365, no Feb 29), 'N' (0..365)
    int month = 0, week = 0, weekday = 0, day = 0;
    std::int64_t time = 7200;  // local seconds after midnight
  } start, end;

  // Local seconds since the epoch at which the transition happens in `year`.
  static std::int64_t transition(const Date& d, std::int64_t year) {
    std::int64_t days = 0;
    if (d.kind == 'M') {
      const std::int64_t first = days_from_civil(year, static_cast<unsigned>(d.month), 1);
      const auto wd_first = static_cast<int>(((first % 7) + 11) % 7);  // 0 = Sunday (1970-01-01 was Thursday)
      int day = 1 + ((d.weekday - wd_first + 7) % 7) + (d.week - 1) * 7;
      const int dim = days_in_month(year, d.month);
      while (day > dim) day -= 7;
      days = first + day - 1;
    } else if (d.kind == 'J') {
      int n = d.day;  // 1..365, Feb 29 never counted
      if (is_leap(year) && n >= 60) ++n;
      days = days_from_civil(year, 1, 1) + n - 1;
    } else {
      days = days_from_civil(year, 1, 1) + d.day;
    }
    return days * 86400 + d.time;
  }

  std::int64_t offset_at(std::int64_t utc) const {
    if (!has_dst) return std_offset;
    std::int64_t y = 0;
    unsigned m = 0;
    unsigned dd = 0;
    civil_from_days(floor_div(utc + std_offset, 86400), y, m, dd);
    const std::int64_t start_utc = transition(start, y) - std_offset;
    const std::int64_t end_utc = transition(end, y) - dst_offset;
    const bool in_dst = start_utc < end_utc ? (utc >= start_utc && utc < end_utc)
                                            : !(utc >= end_utc && utc < start_utc);
    return in_dst ? dst_offset : std_offset;
  }
};

bool parse_posix_name(std::string_view s, std::size_t& pos) {
  if (pos < s.size() && s[pos] == '<') {
    const std::size_t close = s.find('>', pos);
    if (close == std::string_view::npos) return false;
    pos = close + 1;
    return true;
  }
  const std::size_t begin = pos;
  while (pos < s.size() && std::isalpha(static_cast<unsigned char>(s[pos]))) ++pos;
  return pos - begin >= 3;
}

// [+-]hh[:mm[:ss]] -> seconds.
bool parse_posix_hms(std::string_view s, std::size_t& pos, std::int64_t& out) {
  int sign = 1;
  if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    if (s[pos] == '-') sign = -1;
    ++pos;
  }
  std::int64_t parts[3] = {0, 0, 0};
  for (int i = 0; i < 3; ++i) {
    if (i > 0) {
      if (pos >= s.size() || s[pos] != ':') break;
      ++pos;
    }
    const std::size_t begin = pos;
    while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) {
      parts[i] = parts[i] * 10 + (s[pos] - '0');
      ++pos;
    }
    if (pos == begin) return false;
  }
  out = sign * (parts[0] * 3600 + parts[1] * 60 + parts[2]);
  return true;
}

bool parse_posix_date(std::string_view s, std::size_t& pos, PosixRule::Date& d) {
  auto number = [&](int& v) {
    const std::size_t begin = pos;
    v = 0;
    while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) {
      v = v * 10 + (s[pos] - '0');
      ++pos;
    }
    return pos > begin;
  };
  if (pos < s.size() && s[pos] == 'M') {
    ++pos;
    d.kind = 'M';
    if (!number(d.month) || pos >= s.size() || s[pos++] != '.') return false;
    if (!number(d.week) || pos >= s.size() || s[pos++] != '.') return false;
    if (!number(d.weekday)) return false;
    if (d.month < 1 || d.month > 12 || d.week < 1 || d.week > 5 || d.weekday > 6) return false;
  } else if (pos < s.size() && s[pos] == 'J') {
    ++pos;
    d.kind = 'J';
    if (!number(d.day)) return false;
  } else {
    d.kind = 'N';
    if (!number(d.day)) return false;
  }
  if (pos < s.size() && s[pos] == '/') {
    ++pos;
    if (!parse_posix_hms(s, pos, d.time)) return false;
  }
  return true;
}

std::optional<PosixRule> parse_posix_rule(std::string_view s) {
  PosixRule r;
  std::size_t pos = 0;
  std::int64_t off = 0;
  if (!parse_posix_name(s, pos) || !parse_posix_hms(s, pos, off)) return std::nullopt;
  r.std_offset = -off;
  if (pos == s.size()) return r;
  if (!parse_posix_name(s, pos)) return std::nullopt;
  r.has_dst = true;
  r.dst_offset = r.std_offset + 3600;
  if (pos < s.size() && s[pos] != ',') {
    if (!parse_posix_hms(s, pos, off)) return std::nullopt;
    r.dst_offset = -off;
  }
  if (pos >= s.size() || s[pos] != ',') return std::nullopt;
  ++pos;
  if (!parse_posix_date(s, pos, r.start)) return std::nullopt;
  if (pos >= s.size() || s[pos] != ',') return std::nullopt;
  ++pos;
  if (!parse_posix_date(s, pos, r.end)) return std::nullopt;
  return r;
}

class TzifZone : public TimeZone {
 public:
  std::vector<std::int64_t> transitions;   // UTC seconds, ascending
  std::vector<std::int64_t> offsets;       // offset in effect from transitions[i]
  std::int64_t initial_offset = 0;         // before the first transition
  std::optional<PosixRule> footer;

  std::int64_t offset_at(std::int64_t utc) const override {
    if (transitions.empty() || utc < transitions.front()) {
      if (transitions.empty() && footer) return footer->offset_at(utc);
      return initial_offset;
    }
    if (utc >= transitions.back() && footer) return footer->offset_at(utc);
    auto it = std::upper_bound(transitions.begin(), transitions.end(), utc);
    return offsets[static_cast<std::size_t>(it - transitions.begin()) - 1];
  }
};

std::int64_t be(const unsigned char* p, int n) {
  std::uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = (v << 8) | p[i];
  if (n == 4) return static_cast<std::int32_t>(static_cast<std::uint32_t>(v));
  return static_cast<std::int64_t>(v);
}

std::shared_ptr<const TimeZone> load_tzif(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return nullptr;
  std::vector<unsigned char> data((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (data.size() < 44 || std::string_view(reinterpret_cast<const char*>(data.data()), 4) != "TZif") {
    return nullptr;
  }
  struct Header {
    std::int64_t isut, isstd, leap, time, type, chars;
  };
  auto header = [&](std::size_t at, Header& h) {
    if (at + 44 > data.size()) return false;
    const unsigned char* p = data.data() + at + 20;
    h = {be(p, 4), be(p + 4, 4), be(p + 8, 4), be(p + 12, 4), be(p + 16, 4), be(p + 20, 4)};
    return h.time >= 0 && h.type > 0 && h.chars >= 0 && h.leap >= 0 && h.isut >= 0 && h.isstd >= 0;
  };
  Header h{};
  if (!header(0, h)) return nullptr;
  const char version = static_cast<char>(data[4]);
  std::size_t pos = 44;
  int tsize = 4;
  auto block_size = [&](const Header& hh, int ts) {
    return static_cast<std::size_t>(hh.time * ts + hh.time + hh.type * 6 + hh.chars +
                                    hh.leap * (ts + 4) + hh.isstd + hh.isut);
  };
  if (version >= '2') {
    pos += block_size(h, 4);
    if (!header(pos, h)) return nullptr;
    pos += 44;
    tsize = 8;
  }
  if (pos + block_size(h, tsize) > data.size()) return nullptr;
  auto zone = std::make_shared<TzifZone>();
  const unsigned char* p = data.data() + pos;
  std::vector<std::int64_t> times(static_cast<std::size_t>(h.time));
  for (auto& t : times) {
    t = be(p, tsize);
    p += tsize;
  }
  std::vector<std::uint8_t> idx(static_cast<std::size_t>(h.time));
  for (auto& i : idx) i = *p++;
  std::vector<std::int64_t> type_offsets(static_cast<std::size_t>(h.type));
  for (auto& o : type_offsets) {
    o = be(p, 4);
    p += 6;
  }
  zone->initial_offset = type_offsets[0];
  for (std::size_t i = 0; i < times.size(); ++i) {
    if (idx[i] >= type_offsets.size()) return nullptr;
    zone->transitions.push_back(times[i]);
    zone->offsets.push_back(type_offsets[idx[i]]);
  }
  pos += block_size(h, tsize);
  if (version >= '2' && pos < data.size() && data[pos] == '\n') {
    const auto* begin = reinterpret_cast<const char*>(data.data() + pos + 1);
    const auto* end = reinterpret_cast<const char*>(data.data() + data.size());
    std::string_view footer(begin, static_cast<std::size_t>(end - begin));
    const std::size_t nl = footer.find('\n');
    if (nl != std::string_view::npos) footer = footer.substr(0, nl);
    if (!footer.empty()) zone->footer = parse_posix_rule(footer);
  }
  return zone;
}

bool valid_zone_name(std::string_view name) {
  if (name.empty() || name.size() > 128 || name.front() == '/' ||
      name.find("..") != std::string_view::npos) {
    return false;
  }
  for (char c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '+' ||
          c == '/')) {
      return false;
    }
  }
  return true;
}

}  // namespace

bool timestamp_in_range(Time t) {
  return t.seconds >= kMinTimestampSeconds && t.seconds <= kMaxTimestampSeconds;
}
bool duration_in_range(Time d) {
  // The reference implementations hold durations as int64 nanoseconds
  // (about +-292 years); the conformance suite expects that range.
  const i128 total = static_cast<i128>(d.seconds) * kNanosPerSecond + d.nanos;
  return total >= std::numeric_limits<std::int64_t>::min() && total <= std::numeric_limits<std::int64_t>::max();
}

bool add_time(Time a, Time b, Time& out) {
  std::int64_t s = 0;
  if (__builtin_add_overflow(a.seconds, b.seconds, &s)) return false;
  std::int64_t n = static_cast<std::int64_t>(a.nanos) + b.nanos;
  if (n >= kNanosPerSecond) {
    n -= kNanosPerSecond;
    if (__builtin_add_overflow(s, 1, &s)) return false;
  }
  out = {s, static_cast<std::int32_t>(n)};
  return true;
}

Time negate_time(Time d) {
  if (d.nanos == 0) return {-d.seconds, 0};
  return {-d.seconds - 1, static_cast<std::int32_t>(kNanosPerSecond - d.nanos)};
}

bool sub_time(Time a, Time b, Time& out) {
  if (b.seconds == std::numeric_limits<std::int64_t>::min()) return false;
  return add_time(a, negate_time(b), out);
}

CivilTime to_civil(std::int64_t local) {
  CivilTime c{};
  const std::int64_t days = floor_div(local, 86400);
  const std::int64_t secs = local - days * 86400;
  unsigned m = 0;
  unsigned d = 0;
  civil_from_days(days, c.year, m, d);
  c.month = static_cast<int>(m);
  c.day = static_cast<int>(d);
  c.hour = static_cast<int>(secs / 3600);
  c.minute = static_cast<int>((secs / 60) % 60);
  c.second = static_cast<int>(secs % 60);
  c.day_of_year = static_cast<int>(days - days_from_civil(c.year, 1, 1));
  c.day_of_week = static_cast<int>(((days % 7) + 11) % 7);
  return c;
}

bool parse_timestamp(std::string_view s, Time& out, std::string& error) {
  error = "invalid timestamp '" + std::string(s) + "'";
  std::size_t pos = 0;
  int year = 0;
  int month = 0;
  int day = 0;
  int hour = 0;
  int minute = 0;
  int second = 0;
  if (!read_digits(s, pos, 4, year) || pos >= s.size() || s[pos++] != '-') return false;
  if (!read_digits(s, pos, 2, month) || pos >= s.size() || s[pos++] != '-') return false;
  if (!read_digits(s, pos, 2, day) || pos >= s.size() || (s[pos] != 'T' && s[pos] != 't')) return false;
  ++pos;
  if (!read_digits(s, pos, 2, hour) || pos >= s.size() || s[pos++] != ':') return false;
  if (!read_digits(s, pos, 2, minute) || pos >= s.size() || s[pos++] != ':') return false;
  if (!read_digits(s, pos, 2, second)) return false;
  std::int64_t nanos = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int digits = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (digits < 9) {
        nanos = nanos * 10 + (s[pos] - '0');
        ++digits;
      }
      ++pos;
    }
    if (digits == 0) return false;
    for (; digits < 9; ++digits) nanos *= 10;
  }
  std::int64_t offset = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    const int sign = s[pos] == '-' ? -1 : 1;
    ++pos;
    int oh = 0;
    int om = 0;
    if (!read_digits(s, pos, 2, oh) || pos >= s.size() || s[pos++] != ':' ||
        !read_digits(s, pos, 2, om) || oh > 23 || om > 59) {
      return false;
    }
    offset = sign * (oh * 3600 + om * 60);
  } else {
    return false;
  }
  if (pos != s.size()) return false;
  if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month) || hour > 23 ||
      minute > 59 || second > 60) {
    return false;
  }
  if (year < 1) {
    error = "timestamp out of range";
    return false;
  }
  const std::int64_t secs = days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)) * 86400 +
                            hour * 3600 + minute * 60 + second - offset;
  out = {secs, static_cast<std::int32_t>(nanos)};
  if (!timestamp_in_range(out)) {
    error = "timestamp out of range";
    return false;
  }
  error.clear();
  return true;
}

std::string format_timestamp(Time t) {
  const CivilTime c = to_civil(t.seconds);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04lld-%02d-%02dT%02d:%02d:%02d", static_cast<long long>(c.year), c.month,
                c.day, c.hour, c.minute, c.second);
  std::string out = buf;
  if (t.nanos != 0) {
    std::snprintf(buf, sizeof buf, ".%09d", t.nanos);
    std::string frac = buf;
    while (frac.back() == '0') frac.pop_back();
    out += frac;
  }
  return out + "Z";
}

// Besides CEL's units, `d` (24 hours) is accepted: access windows are
// counted in days, and `duration("60d")` is what policy authors write.
bool parse_duration(std::string_view s, Time& out, std::string& error) {
  error = "invalid duration '" + std::string(s) + "'";
  std::size_t pos = 0;
  bool negative = false;
  if (pos < s.size() && (s[pos] == '-' || s[pos] == '+')) {
    negative = s[pos] == '-';
    ++pos;
  }
  if (s.substr(pos) == "0") {
    out = {0, 0};
    error.clear();
    return true;
  }
  if (pos >= s.size()) return false;
  // Accumulate in nanoseconds with 128-bit headroom.
  i128 total = 0;
  const i128 limit = static_cast<i128>(std::numeric_limits<std::int64_t>::max()) * 4;
  while (pos < s.size()) {
    i128 whole = 0;
    std::size_t begin = pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      whole = whole * 10 + (s[pos] - '0');
      if (whole > limit) {
        error = "duration out of range";
        return false;
      }
      ++pos;
    }
    bool had_digits = pos > begin;
    i128 frac = 0;
    i128 frac_scale = 1;
    if (pos < s.size() && s[pos] == '.') {
      ++pos;
      begin = pos;
      while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
        if (frac_scale < static_cast<i128>(1'000'000'000'000'000'000LL)) {
          frac = frac * 10 + (s[pos] - '0');
          frac_scale *= 10;
        }
        ++pos;
      }
      had_digits = had_digits || pos > begin;
    }
    if (!had_digits) return false;
    std::int64_t unit = 0;
    auto take = [&](std::string_view u, std::int64_t nanos) {
      if (s.substr(pos, u.size()) == u) {
        pos += u.size();
        unit = nanos;
        return true;
      }
      return false;
    };
    if (!(take("ns", 1) || take("us", 1000) || take("\xC2\xB5s", 1000) || take("ms", 1'000'000) ||
          take("s", kNanosPerSecond) || take("m", 60 * kNanosPerSecond) ||
          take("h", 3600 * kNanosPerSecond) || take("d", 86400 * kNanosPerSecond))) {
      return false;
    }
    total += whole * unit + frac * unit / frac_scale;
    if (total > limit) {
      error = "duration out of range";
      return false;
    }
  }
  if (negative) total = -total;
  auto secs = static_cast<std::int64_t>(total / kNanosPerSecond);
  auto nanos = static_cast<std::int64_t>(total % kNanosPerSecond);
  if (nanos < 0) {
    nanos += kNanosPerSecond;
    --secs;
  }
  out = {secs, static_cast<std::int32_t>(nanos)};
  if (!duration_in_range(out)) {
    error = "duration out of range";
    return false;
  }
  error.clear();
  return true;
}

std::string format_duration(Time d) {
  std::string out;
  Time a = d;
  if (d.seconds < 0) {
    out = "-";
    a = negate_time(d);
  }
  out += std::to_string(a.seconds);
  if (a.nanos != 0) {
    char buf[16];
    std::snprintf(buf, sizeof buf, ".%09d", a.nanos);
    std::string frac = buf;
    while (frac.back() == '0') frac.pop_back();
    out += frac;
  }
  return out + "s";
}

std::shared_ptr<const TimeZone> find_time_zone(std::string_view name, std::string& error) {
  // Fixed offsets: [+-]HH:MM (a missing sign means +).
  {
    std::string_view s = name;
    int sign = 1;
    if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
      sign = s[0] == '-' ? -1 : 1;
      s.remove_prefix(1);
    }
    std::size_t pos = 0;
    int h = 0;
    int m = 0;
    if (s.size() == 5 && read_digits(s, pos, 2, h) && s[pos++] == ':' && read_digits(s, pos, 2, m)) {
      if (h > 23 || m > 59) {
        error = "invalid time zone offset '" + std::string(name) + "'";
        return nullptr;
      }
      return std::make_shared<FixedZone>(sign * (h * 3600 + m * 60));
    }
  }
  if (name == "UTC" || name == "Z" || name == "GMT") {
    static const auto utc = std::make_shared<FixedZone>(0);
    return utc;
  }
  if (!valid_zone_name(name)) {
    error = "invalid time zone '" + std::string(name) + "'";
    return nullptr;
  }
  static std::mutex mu;
  static std::unordered_map<std::string, std::shared_ptr<const TimeZone>> cache;
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache.find(std::string(name));
  if (it != cache.end()) {
    if (!it->second) error = "unknown time zone '" + std::string(name) + "'";
    return it->second;
  }
  auto zone = load_tzif("/usr/share/zoneinfo/" + std::string(name));
  if (!zone) error = "unknown time zone '" + std::string(name) + "'";
  if (cache.size() < 1024) cache.emplace(std::string(name), zone);
  return zone;
}

}  // namespace portcullis::interpreter::cel
