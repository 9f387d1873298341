#pragma once
// Timestamps, durations and time zones for CEL.
//
// Ranges: timestamps cover 0001-01-01T00:00:00Z to
// 9999-12-31T23:59:59.999999999Z (google.protobuf.Timestamp); durations are
// limited to what fits in int64 nanoseconds (about +-292 years), as in the
// CEL reference implementations and conformance suite.
// Functions that can fail return false and leave an error message.
//
// Time zones: IANA names are read from /usr/share/zoneinfo (TZif v1-v3,
// including the POSIX TZ footer for instants past the last transition) the
// first time a name is used, then cached for the life of the process
// (thread-safe). Fixed offsets "+05:30", "-08:00", "02:00" need no I/O.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "interpreter/cel/value.hpp"

namespace portcullis::interpreter::cel {

inline constexpr std::int64_t kMinTimestampSeconds = -62135596800;  // 0001-01-01
inline constexpr std::int64_t kMaxTimestampSeconds = 253402300799;  // 9999-12-31T23:59:59

bool timestamp_in_range(Time t);
bool duration_in_range(Time d);

// RFC 3339, e.g. "2009-02-13T23:31:30.5Z", "2009-02-13T15:31:30-08:00".
bool parse_timestamp(std::string_view text, Time& out, std::string& error);
// "2009-02-13T23:31:30.5Z": UTC, fractional digits without trailing zeros.
std::string format_timestamp(Time t);
// Go-style durations: "1h30m", "-1.5s", "300ms", "2us", "1ns", "0".
bool parse_duration(std::string_view text, Time& out, std::string& error);
// Seconds with up to nine fractional digits: "3600s", "1.5s", "-0.000000001s".
std::string format_duration(Time d);

// Sum / difference with range checks (false on overflow or out of range).
bool add_time(Time a, Time b, Time& out);
bool sub_time(Time a, Time b, Time& out);
Time negate_time(Time d);

struct CivilTime {
  std::int64_t year;
  int month;         // 1..12
  int day;           // 1..31
  int hour, minute, second;
  int day_of_year;   // 0..365
  int day_of_week;   // 0 = Sunday
};
CivilTime to_civil(std::int64_t local_seconds);

class TimeZone {
 public:
  virtual ~TimeZone() = default;
  // UTC offset in seconds at the given UTC instant.
  virtual std::int64_t offset_at(std::int64_t utc_seconds) const = 0;
};

// Looks up "UTC", a fixed offset, or an IANA zone name. Returns null and sets
// `error` if unknown.
std::shared_ptr<const TimeZone> find_time_zone(std::string_view name, std::string& error);

}  // namespace portcullis::interpreter::cel
