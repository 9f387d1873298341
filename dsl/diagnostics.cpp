#include "dsl/diagnostics.hpp"

#include <algorithm>
#include <array>
#include <tuple>

namespace portcullis::dsl {
namespace {

struct CodeInfo {
  Code code;
  std::string_view id;
  std::string_view name;
  std::string_view summary;
};

constexpr std::array kCodes = {
    CodeInfo{Code::syntax_error, "E0100", "syntax-error", "The text is not a valid policy item."},
    CodeInfo{Code::expected_token, "E0101", "expected-token", "A construct is missing a required part."},
    CodeInfo{Code::unterminated_string, "E0102", "unterminated-string", "A string has no closing quote on its line."},
    CodeInfo{Code::invalid_escape, "E0103", "invalid-escape", "A string contains an unknown escape sequence."},
    CodeInfo{Code::invalid_duration, "E0104", "invalid-duration", "A duration literal is malformed or too long."},
    CodeInfo{Code::invalid_number, "E0105", "invalid-number", "A number is malformed or too large."},
    CodeInfo{Code::unknown_field, "E0106", "unknown-field", "A block contains a field it does not have."},
    CodeInfo{Code::duplicate_field, "E0107", "duplicate-field", "A field is given twice in one block."},
    CodeInfo{Code::invalid_condition, "E0108", "invalid-condition", "A condition is empty, incomplete or unbalanced."},
    CodeInfo{Code::invalid_encoding, "E0109", "invalid-encoding", "The file is not valid UTF-8 text."},
    CodeInfo{Code::unknown_bucket, "E0201", "unknown-bucket", "A bucket name does not resolve."},
    CodeInfo{Code::unknown_app, "E0202", "unknown-app", "An app name does not resolve."},
    CodeInfo{Code::unknown_role, "E0203", "unknown-role", "A role name does not resolve within its app."},
    CodeInfo{Code::unknown_provider, "E0204", "unknown-provider", "A provider reference does not resolve."},
    CodeInfo{Code::unknown_pool, "E0205", "unknown-pool", "An approver pool name does not resolve."},
    CodeInfo{Code::duplicate_definition, "E0206", "duplicate-definition", "A name is defined twice."},
    CodeInfo{Code::import_not_found, "E0207", "import-not-found", "An imported file cannot be read."},
    CodeInfo{Code::import_cycle, "E0208", "import-cycle", "Files import each other in a cycle."},
    CodeInfo{Code::provider_kind_mismatch, "E0209", "provider-kind-mismatch", "A provider is referenced with the wrong kind."},
    CodeInfo{Code::unknown_provider_kind, "E0210", "unknown-provider-kind", "A provider, tracker or chat kind is not supported."},
    CodeInfo{Code::unknown_setting, "E0211", "unknown-setting", "A provider, tracker or chat block has a setting its kind does not know."},
    CodeInfo{Code::missing_setting, "E0212", "missing-setting", "A provider, tracker or chat block lacks a required setting."},
    CodeInfo{Code::role_without_grant, "E0301", "role-without-grant", "A role maps to no group and is not declared manual."},
    CodeInfo{Code::role_grant_and_manual, "E0302", "role-grant-and-manual", "A role is both granted by groups and manual."},
    CodeInfo{Code::missing_bucket, "E0303", "missing-bucket", "A role has no bucket, directly or through its app."},
    CodeInfo{Code::missing_owner, "E0304", "missing-owner", "A route asks the app owner, but the app has none."},
    CodeInfo{Code::missing_field, "E0305", "missing-field", "A construct lacks a field it needs."},
    CodeInfo{Code::default_not_allowed, "E0401", "default-not-allowed", "A default duration is not among the allowed durations."},
    CodeInfo{Code::default_above_maximum, "E0402", "default-above-maximum", "A default duration is longer than the maximum."},
    CodeInfo{Code::expiry_unbounded, "E0403", "expiry-unbounded", "Expiry is required but a permanent or unbounded grant is allowed."},
    CodeInfo{Code::invalid_duration_set, "E0404", "invalid-duration-set", "A duration set has a zero or repeated entry."},
    CodeInfo{Code::invalid_count, "E0405", "invalid-count", "A count is out of range."},
    CodeInfo{Code::quorum_exceeds_pool, "E0501", "quorum-exceeds-pool", "A quorum needs more approvers than can approve."},
    CodeInfo{Code::quorum_too_small, "E0502", "quorum-too-small", "A quorum is below one."},
    CodeInfo{Code::unsatisfiable_route, "E0503", "unsatisfiable-route", "A route or one of its branches can never be satisfied or reached."},
    CodeInfo{Code::route_without_else, "E0504", "route-without-else", "A conditional route has no else branch."},
    CodeInfo{Code::literal_secret, "E0601", "literal-secret", "A secret is written in the policy instead of referenced."},
    CodeInfo{Code::invalid_secret_ref, "E0602", "invalid-secret-ref", "A secret reference names an invalid variable or path."},
    CodeInfo{Code::conflict_too_small, "E0701", "conflict-too-small", "A conflict lists fewer than two different roles."},
    CodeInfo{Code::invalid_value, "E0702", "invalid-value", "A value is not one the field accepts."},
    CodeInfo{Code::condition_syntax, "E0801", "condition-syntax", "A condition is not a valid CEL expression."},
    CodeInfo{Code::unknown_attribute, "E0802", "unknown-attribute", "A condition names an attribute or function that does not exist."},
    CodeInfo{Code::condition_type, "E0803", "condition-type", "A condition mixes types wrongly or is not a boolean."},
    CodeInfo{Code::file_too_large, "E0901", "file-too-large", "A policy file exceeds the size limit."},
    CodeInfo{Code::nesting_too_deep, "E0902", "nesting-too-deep", "Brackets or lists nest beyond the limit."},
    CodeInfo{Code::list_too_long, "E0903", "list-too-long", "A list exceeds its length limit."},
    CodeInfo{Code::too_many_files, "E0904", "too-many-files", "A program imports more files than the limit."},
    CodeInfo{Code::unused_bucket, "W0101", "unused-bucket", "A bucket is defined but never used."},
    CodeInfo{Code::unused_pool, "W0102", "unused-pool", "An approver pool is defined but never used."},
    CodeInfo{Code::unused_provider, "W0103", "unused-provider", "A provider is defined but grants no role."},
};

const CodeInfo& info(Code code) {
  for (const auto& entry : kCodes) {
    if (entry.code == code) return entry;
  }
  return kCodes[0];
}

std::string_view severity_word(Severity severity) {
  return severity == Severity::error ? "error" : "warning";
}

// Width of the line-number gutter, at least 2 so short files look tidy.
std::size_t gutter_width(std::uint32_t line) {
  return std::max<std::size_t>(2, std::to_string(line).size());
}

void render_excerpt(std::string& out, const Span& span) {
  if (!span.valid() || span.line == 0) return;
  const std::string_view line = span.file->line_text(span.line);
  const std::size_t width = gutter_width(span.line);
  const std::string number = std::to_string(span.line);
  out += std::string(width - number.size() + 1, ' ') + number + " | ";
  // Tabs would misalign the caret; show them as a single space.
  for (char c : line) out += (c == '\t') ? ' ' : c;
  out += '\n';
  out += std::string(width + 1, ' ') + " | ";
  const std::size_t column = span.column > 0 ? span.column - 1 : 0;
  out += std::string(std::min(column, line.size()), ' ');
  // Underline the span on its first line; a zero-width or multi-line span
  // gets a single caret or an underline to the end of the line.
  std::size_t length = span.end > span.begin ? span.end - span.begin : 1;
  if (column + length > line.size()) length = line.size() > column ? line.size() - column : 1;
  out += '^';
  if (length > 1) out += std::string(length - 1, '~');
  out += '\n';
}

}  // namespace

std::string_view code_id(Code code) { return info(code).id; }
std::string_view code_name(Code code) { return info(code).name; }
std::string_view code_summary(Code code) { return info(code).summary; }

Severity default_severity(Code code) {
  return info(code).id.front() == 'W' ? Severity::warning : Severity::error;
}

const std::vector<Code>& all_codes() {
  static const std::vector<Code> codes = [] {
    std::vector<Code> result;
    for (const auto& entry : kCodes) result.push_back(entry.code);
    return result;
  }();
  return codes;
}

Diagnostic& Diagnostics::error(Code code, Span span, std::string message) {
  return add({code, Severity::error, std::move(span), std::move(message), {}, std::nullopt});
}

Diagnostic& Diagnostics::warning(Code code, Span span, std::string message) {
  return add({code, Severity::warning, std::move(span), std::move(message), {}, std::nullopt});
}

Diagnostic& Diagnostics::add(Diagnostic diagnostic) {
  items_.push_back(std::move(diagnostic));
  return items_.back();
}

std::size_t Diagnostics::error_count() const {
  return static_cast<std::size_t>(std::count_if(items_.begin(), items_.end(), [](const Diagnostic& d) {
    return d.severity == Severity::error;
  }));
}

std::size_t Diagnostics::warning_count() const { return items_.size() - error_count(); }

void Diagnostics::append(const Diagnostics& other) {
  items_.insert(items_.end(), other.items_.begin(), other.items_.end());
}

void Diagnostics::sort_and_dedupe() {
  auto key = [](const Diagnostic& d) {
    return std::make_tuple(d.span.file ? d.span.file->path() : std::string(), d.span.begin,
                           static_cast<int>(d.code), d.message);
  };
  std::stable_sort(items_.begin(), items_.end(),
                   [&](const Diagnostic& a, const Diagnostic& b) { return key(a) < key(b); });
  items_.erase(std::unique(items_.begin(), items_.end(),
                           [&](const Diagnostic& a, const Diagnostic& b) { return key(a) == key(b); }),
               items_.end());
}

std::string render_text(const Diagnostic& diagnostic, bool color) {
  const char* bold = color ? "\x1b[1m" : "";
  const char* reset = color ? "\x1b[0m" : "";
  const char* tint = !color ? "" : diagnostic.severity == Severity::error ? "\x1b[1;31m" : "\x1b[1;33m";
  std::string out;
  out += bold + diagnostic.span.location() + ": " + reset;
  out += tint + std::string(severity_word(diagnostic.severity)) + "[" + std::string(code_id(diagnostic.code)) +
         "]" + reset + ": ";
  out += bold + diagnostic.message + reset + "\n";
  render_excerpt(out, diagnostic.span);
  for (const auto& note : diagnostic.notes) {
    if (note.span.valid()) {
      out += note.span.location() + ": note: " + note.message + "\n";
      render_excerpt(out, note.span);
    } else {
      out += "note: " + note.message + "\n";
    }
  }
  if (diagnostic.help) out += "help: " + *diagnostic.help + "\n";
  return out;
}

}  // namespace portcullis::dsl
