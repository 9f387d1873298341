#include "runtime/logging.hpp"

#include <spdlog/formatter.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <array>
#include <atomic>
#include <cctype>
#include <chrono>
#include <optional>
#include <cstdio>
#include <vector>

#include <nlohmann/json.hpp>

namespace portcullis::runtime {

namespace {

// ---- redaction ---------------------------------------------------------------

constexpr std::string_view kRedacted = "[redacted]";

bool is_key_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
}

bool ends_with_ci(std::string_view text, std::string_view suffix) {
  if (text.size() < suffix.size()) return false;
  const auto tail = text.substr(text.size() - suffix.size());
  for (std::size_t i = 0; i < suffix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(tail[i])) != suffix[i]) return false;
  }
  return true;
}

bool starts_with_ci(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && ends_with_ci(text.substr(0, prefix.size()), prefix);
}

constexpr std::array<std::string_view, 7> kSecretKeySuffixes = {"token",    "api_key", "apikey", "api-key",
                                                                  "password", "passwd",  "secret"};

bool is_secret_key(std::string_view key) {
  for (auto suffix : kSecretKeySuffixes) {
    if (ends_with_ci(key, suffix)) return true;
  }
  return ends_with_ci(key, "authorization");
}

// Where an unquoted value ends.
bool ends_value(char c) {
  return std::isspace(static_cast<unsigned char>(c)) || c == '&' || c == ',' || c == ';' || c == '"' || c == '\'' ||
         c == ')' || c == '}' || c == ']' || c == '<' || c == '>' || c == '\\';
}

// Length of the value's opening quote at `at`: 1 for " or ', 2 for an
// escaped \" (JSON inside a string), 0 when unquoted.
std::size_t quote_at(std::string_view text, std::size_t at, std::string_view& closing) {
  if (at < text.size() && (text[at] == '"' || text[at] == '\'')) {
    closing = text.substr(at, 1);
    return 1;
  }
  if (at + 1 < text.size() && text[at] == '\\' && text[at + 1] == '"') {
    closing = text.substr(at, 2);
    return 2;
  }
  return 0;
}

// For an Authorization value: the length of a leading scheme word and the
// space after it ("Bearer "), kept so the reader sees what kind of
// credential was there; 0 when the value has no scheme.
std::size_t scheme_length(std::string_view value) {
  std::size_t n = 0;
  while (n < value.size() && std::isalpha(static_cast<unsigned char>(value[n]))) ++n;
  if (n == 0 || n >= value.size() || value[n] != ' ') return 0;
  std::size_t after = n;
  while (after < value.size() && value[after] == ' ') ++after;
  if (after >= value.size() || ends_value(value[after])) return 0;
  return after;
}

// Pass 1: secret-looking keys followed by ':' or '=' and a value.
std::string redact_key_values(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    if (!is_key_char(text[i]) || (i > 0 && is_key_char(text[i - 1]))) {
      out += text[i++];
      continue;
    }
    std::size_t key_end = i;
    while (key_end < text.size() && is_key_char(text[key_end])) ++key_end;
    const std::string_view key = text.substr(i, key_end - i);
    out += key;
    i = key_end;
    if (!is_secret_key(key)) continue;

    // After the key: its closing quote (JSON, escaped JSON), blanks, the
    // separator, blanks.
    std::size_t at = key_end;
    if (at < text.size() && (text[at] == '"' || text[at] == '\'')) {
      ++at;
    } else if (at + 1 < text.size() && text[at] == '\\' && text[at + 1] == '"') {
      at += 2;
    }
    while (at < text.size() && (text[at] == ' ' || text[at] == '\t')) ++at;
    if (at >= text.size() || (text[at] != ':' && text[at] != '=')) continue;
    ++at;
    while (at < text.size() && (text[at] == ' ' || text[at] == '\t')) ++at;

    std::string_view closing;
    const std::size_t open = quote_at(text, at, closing);
    const std::size_t value_begin = at + open;
    const std::size_t scheme_in_value =
        open == 0 && ends_with_ci(key, "authorization") ? scheme_length(text.substr(value_begin)) : 0;
    if (text.substr(value_begin + scheme_in_value).starts_with(kRedacted)) {
      // Already redacted: "[redacted]" holds a ']' that would end the value early.
      out += text.substr(key_end, value_begin + scheme_in_value + kRedacted.size() - key_end);
      i = value_begin + scheme_in_value + kRedacted.size();
      continue;
    }
    std::size_t value_end = value_begin;
    if (open > 0) {
      const auto close = text.find(closing, value_begin);
      value_end = close == std::string_view::npos ? text.size() : close;
    } else if (ends_with_ci(key, "authorization")) {
      // "Bearer xyz" holds a space: the value runs to the end of the
      // credential after the scheme.
      value_end = value_begin + scheme_length(text.substr(value_begin));
      while (value_end < text.size() && !ends_value(text[value_end])) ++value_end;
    } else {
      while (value_end < text.size() && !ends_value(text[value_end])) ++value_end;
    }
    if (value_end == value_begin) continue;  // nothing to hide: "token=" or "token: ,"

    std::string_view value = text.substr(value_begin, value_end - value_begin);
    out += text.substr(key_end, value_begin - key_end);  // quote, blanks, separator, opening quote
    if (ends_with_ci(key, "authorization")) {
      const std::size_t scheme = scheme_length(value);
      out += value.substr(0, scheme);
      value.remove_prefix(scheme);
    }
    if (!value.empty()) out += kRedacted;
    i = value_end;
  }
  return out;
}

// Pass 2: "bearer <token>" anywhere, whatever comes before it.
std::string redact_bearer(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    const bool word_start = i == 0 || !is_key_char(text[i - 1]);
    if (!word_start || !starts_with_ci(text.substr(i), "bearer")) {
      out += text[i++];
      continue;
    }
    std::size_t at = i + 6;
    if (at >= text.size() || (text[at] != ' ' && text[at] != '\t')) {
      out += text[i++];
      continue;
    }
    while (at < text.size() && (text[at] == ' ' || text[at] == '\t')) ++at;
    std::size_t end = at;
    if (text.substr(at).starts_with(kRedacted)) {
      end = at + kRedacted.size();  // already redacted: keep it as it is
    } else {
      while (end < text.size() && !ends_value(text[end])) ++end;
    }
    out += text.substr(i, at - i);
    const std::string_view token = text.substr(at, end - at);
    out += token.empty() || token == kRedacted ? token : kRedacted;
    i = end;
  }
  return out;
}

// ---- formatting --------------------------------------------------------------

// The redacted fields of the log_event() call being formatted on this
// thread. The logger is synchronous, so the formatter runs inside that
// call, on the same thread.
thread_local const std::vector<std::pair<std::string, std::string>>* tls_fields = nullptr;

// Whether setup_* installed LineFormatter: without it fields go into the
// message text so nothing is lost.
std::atomic<bool> g_formatter_installed{false};

std::string timestamp(spdlog::log_clock::time_point time) {
  using namespace std::chrono;
  const auto ms = time_point_cast<milliseconds>(time);
  const auto day = floor<days>(ms);
  const year_month_day ymd{day};
  const hh_mm_ss hms{ms - day};
  char buf[48];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()), static_cast<int>(hms.hours().count()),
                static_cast<int>(hms.minutes().count()), static_cast<int>(hms.seconds().count()),
                static_cast<int>(hms.subseconds().count()));
  return buf;
}

bool needs_quotes(std::string_view value) {
  if (value.empty()) return true;
  for (char c : value) {
    if (c == ' ' || c == '"' || c == '=' || static_cast<unsigned char>(c) < 0x20) return true;
  }
  return false;
}

// Line breaks and other control characters escaped: one call, one line.
std::string one_line(std::string_view text, bool quote) {
  std::string out;
  if (quote) out += '"';
  for (char c : text) {
    switch (c) {
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '"':
        out += quote ? "\\\"" : "\"";
        break;
      case '\\':
        out += quote ? "\\\\" : "\\";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned>(static_cast<unsigned char>(c)));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  if (quote) out += '"';
  return out;
}

class LineFormatter final : public spdlog::formatter {
 public:
  explicit LineFormatter(LogOptions::Format format) : format_(format) {}

  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    // Direct spdlog calls are redacted here too; log_event's text already
    // is, and redact() is idempotent.
    const std::string message = redact(std::string_view(msg.payload.data(), msg.payload.size()));
    const auto level = spdlog::level::to_string_view(msg.level);
    std::string line;
    if (format_ == LogOptions::Format::json) {
      nlohmann::ordered_json j;
      j["ts"] = timestamp(msg.time);
      j["level"] = std::string(level.data(), level.size());
      j["msg"] = message;
      if (tls_fields) {
        for (const auto& [key, value] : *tls_fields) {
          const bool reserved = key == "ts" || key == "level" || key == "msg";
          j[reserved ? "field." + key : key] = value;
        }
      }
      line = j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
    } else {
      line = timestamp(msg.time) + " " + std::string(level.data(), level.size()) + " " + one_line(message, false);
      if (tls_fields) {
        for (const auto& [key, value] : *tls_fields) line += " " + one_line(key, false) + "=" + one_line(value, needs_quotes(value));
      }
    }
    line += '\n';
    dest.append(line.data(), line.data() + line.size());
  }

  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<LineFormatter>(format_); }

 private:
  LogOptions::Format format_;
};

std::optional<spdlog::level::level_enum> parse_level(const std::string& name) {
  if (name == "warning") return spdlog::level::warn;
  const auto level = spdlog::level::from_str(name);
  // from_str answers `off` for anything it does not know.
  if (level == spdlog::level::off && name != "off") return std::nullopt;
  return level;
}

Result<void> install(spdlog::sink_ptr sink, const LogOptions& options) {
  const auto level = parse_level(options.level);
  if (!level) {
    return make_error(ErrorCode::invalid, "unknown log level '" + options.level +
                                              "' (expected trace, debug, info, warn, error, critical or off)");
  }
  sink->set_formatter(std::make_unique<LineFormatter>(options.format));
  auto logger = std::make_shared<spdlog::logger>("portcullis", std::move(sink));
  logger->set_level(*level);
  // Warnings and errors are what an operator needs after a crash.
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(std::move(logger));
  g_formatter_installed = true;
  return {};
}

spdlog::level::level_enum to_spdlog(LogLevel level) {
  switch (level) {
    case LogLevel::trace: return spdlog::level::trace;
    case LogLevel::debug: return spdlog::level::debug;
    case LogLevel::info: return spdlog::level::info;
    case LogLevel::warn: return spdlog::level::warn;
    case LogLevel::error: return spdlog::level::err;
    case LogLevel::critical: return spdlog::level::critical;
  }
  return spdlog::level::info;
}

}  // namespace

// Portcullis API tokens carry the prefix "pct_" (see principals.hpp) so
// that one pasted where no key names it (a URL path, a free-text field) is
// still recognised and removed.
std::string redact_api_tokens(std::string_view text) {
  static constexpr std::string_view kPrefix = "pct_";
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    if (!text.substr(i).starts_with(kPrefix) || (i > 0 && is_key_char(text[i - 1]))) {
      out += text[i++];
      continue;
    }
    std::size_t end = i + kPrefix.size();
    while (end < text.size() && (std::isalnum(static_cast<unsigned char>(text[end])) || text[end] == '-' ||
                                 text[end] == '_')) {
      ++end;
    }
    out += kPrefix;
    out += kRedacted;
    i = end;
  }
  return out;
}

std::string redact(std::string_view text) { return redact_api_tokens(redact_bearer(redact_key_values(text))); }

Result<void> setup_logging(const LogOptions& options) {
  return install(std::make_shared<spdlog::sinks::stderr_sink_mt>(), options);
}

Result<void> setup_logging_to(std::ostream& out, const LogOptions& options) {
  return install(std::make_shared<spdlog::sinks::ostream_sink_mt>(out, /*force_flush=*/true), options);
}

void log_event(LogLevel level, std::string_view message, std::initializer_list<LogField> fields) {
  auto logger = spdlog::default_logger();
  const auto spd_level = to_spdlog(level);
  if (!logger || !logger->should_log(spd_level)) return;
  try {
    std::vector<std::pair<std::string, std::string>> redacted;
    redacted.reserve(fields.size());
    for (const auto& [key, value] : fields) redacted.emplace_back(redact(key), redact(value));
    std::string text = redact(message);
    if (!g_formatter_installed) {
      for (const auto& [key, value] : redacted) text += " " + key + "=" + one_line(value, needs_quotes(value));
      logger->log(spd_level, spdlog::string_view_t(text.data(), text.size()));
      return;
    }
    tls_fields = &redacted;
    logger->log(spd_level, spdlog::string_view_t(text.data(), text.size()));
    tls_fields = nullptr;
  } catch (...) {
    // Logging never takes the daemon down.
    tls_fields = nullptr;
  }
}

}  // namespace portcullis::runtime
