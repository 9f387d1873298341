#pragma once
// The daemon's logging: spdlog's default logger, writing to stderr, either
// as text lines or as JSON lines, with secrets removed from everything it
// writes.
//
//   text: 2026-01-02T03:04:05.678Z info request approved request_id=req-1 by=dana@acme.com
//   json: {"ts":"2026-01-02T03:04:05.678Z","level":"info","msg":"request approved","request_id":"req-1",...}
//
// Contract
// - Every line is redacted (see redact()): the message and every field
//   value of log_event(), and the text of any direct spdlog call through
//   the default logger once setup_logging() has installed the formatter.
//   Never rely on callers to strip secrets first.
// - JSON lines are one object per line, properly escaped (invalid UTF-8 is
//   replaced, never thrown); a field named ts, level or msg is written as
//   "field.<name>" so it cannot overwrite the line's own keys.
// - Text lines quote a field value that is empty or holds spaces, quotes,
//   '=' or control characters, and escape line breaks, so one log call is
//   always one line (no forged log lines through user input).
// - Request ids go in as the field "request_id".
//
// Threads: setup_* replace the default logger and are meant for start-up
// (and tests); log_event() and redact() may be called from any thread.
// The logger is synchronous.
//
// spdlog stays out of this header: callers use LogLevel.

#include <initializer_list>
#include <iosfwd>
#include <string>
#include <string_view>
#include <utility>

#include "runtime/result.hpp"

namespace portcullis::runtime {

enum class LogLevel { trace, debug, info, warn, error, critical };

struct LogOptions {
  enum class Format { text, json };
  Format format = Format::text;
  // trace, debug, info, warn (or warning), error, critical, off.
  std::string level = "info";
};

// Installs the default logger, writing to stderr. Errors: invalid (unknown
// level); the previous logger is then left as it was.
Result<void> setup_logging(const LogOptions& options);

// The same, writing to `out` instead (for tests: capture what is logged).
// `out` must outlive the logger, i.e. until the next setup_* call.
Result<void> setup_logging_to(std::ostream& out, const LogOptions& options);

using LogField = std::pair<std::string_view, std::string>;

// Logs `message` with `fields` at `level`, redacted.
void log_event(LogLevel level, std::string_view message, std::initializer_list<LogField> fields = {});

// Removes secrets from `text`, replacing each secret value by "[redacted]":
// - the value of any key ending in token, api_key, apikey, api-key,
//   password, passwd, secret or authorization (case-insensitive), written
//   key=value, key: value, ?key=value&..., "key":"value" or as escaped
//   JSON (\"key\":\"value\"). For authorization a leading scheme word is
//   kept: "Authorization: Bearer xyz" -> "Authorization: Bearer [redacted]".
// - the word after "bearer" anywhere ("bearer xyz" -> "bearer [redacted]").
// - a Portcullis API token anywhere ("pct_..." -> "pct_[redacted]").
// Idempotent: redact(redact(x)) == redact(x). Errs on the side of removing
// too much: "token: none" loses "none".
std::string redact(std::string_view text);

}  // namespace portcullis::runtime
