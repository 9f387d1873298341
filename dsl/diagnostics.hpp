#pragma once
// Diagnostics: what is wrong with a policy, where, and how to fix it.
//
// A mistake in a policy is data, not an exception: every stage of the front
// end appends Diagnostics to a list and carries on where it can. Each
// diagnostic has a stable code (documented in docs/diagnostics.md), a span,
// a one-line message, optional notes pointing at related places (the
// previous definition of a duplicate, say) and an optional help line.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dsl/source.hpp"

namespace portcullis::dsl {

enum class Severity { error, warning };

// Stable diagnostic codes. The numbers never change meaning once shipped;
// retired codes are not reused.
enum class Code {
  // Syntax (E01xx)
  syntax_error,            // E0100
  expected_token,          // E0101
  unterminated_string,     // E0102
  invalid_escape,          // E0103
  invalid_duration,        // E0104
  invalid_number,          // E0105
  unknown_field,           // E0106
  duplicate_field,         // E0107
  invalid_condition,       // E0108
  invalid_encoding,        // E0109
  // Names (E02xx)
  unknown_bucket,          // E0201
  unknown_app,             // E0202
  unknown_role,            // E0203
  unknown_provider,        // E0204
  unknown_pool,            // E0205
  duplicate_definition,    // E0206
  import_not_found,        // E0207
  import_cycle,            // E0208
  provider_kind_mismatch,  // E0209
  unknown_provider_kind,   // E0210
  unknown_setting,         // E0211
  missing_setting,         // E0212
  // Catalog (E03xx)
  role_without_grant,      // E0301
  role_grant_and_manual,   // E0302
  missing_bucket,          // E0303
  missing_owner,           // E0304
  missing_field,           // E0305
  // Durations (E04xx)
  default_not_allowed,     // E0401
  default_above_maximum,   // E0402
  expiry_unbounded,        // E0403
  invalid_duration_set,    // E0404
  invalid_count,           // E0405
  // Routes (E05xx)
  quorum_exceeds_pool,     // E0501
  quorum_too_small,        // E0502
  unsatisfiable_route,     // E0503
  route_without_else,      // E0504
  // Secrets (E06xx)
  literal_secret,          // E0601
  invalid_secret_ref,      // E0602
  // Conflicts and reviews (E07xx)
  conflict_too_small,      // E0701
  invalid_value,           // E0702
  // Conditions (E08xx)
  condition_syntax,        // E0801
  unknown_attribute,       // E0802
  condition_type,          // E0803
  // Limits (E09xx)
  file_too_large,          // E0901
  nesting_too_deep,        // E0902
  list_too_long,           // E0903
  too_many_files,          // E0904
  // Warnings (W01xx)
  unused_bucket,           // W0101
  unused_pool,             // W0102
  unused_provider,         // W0103
};

// "E0201", "W0101", ...
std::string_view code_id(Code code);
// A short kebab-case name: "unknown-bucket".
std::string_view code_name(Code code);
// One sentence saying what the code means.
std::string_view code_summary(Code code);
// Warnings for W codes, errors otherwise.
Severity default_severity(Code code);
// Every code, in numeric order (for documentation and tests).
const std::vector<Code>& all_codes();

struct Note {
  Span span;  // may be invalid for a note without a location
  std::string message;
};

struct Diagnostic {
  Code code = Code::syntax_error;
  Severity severity = Severity::error;
  Span span;
  std::string message;
  std::vector<Note> notes;
  std::optional<std::string> help;
};

// Appends diagnostics; a small helper so call sites read as one statement.
class Diagnostics {
 public:
  Diagnostic& error(Code code, Span span, std::string message);
  Diagnostic& warning(Code code, Span span, std::string message);
  Diagnostic& add(Diagnostic diagnostic);

  const std::vector<Diagnostic>& items() const { return items_; }
  std::vector<Diagnostic>& items() { return items_; }
  std::size_t error_count() const;
  std::size_t warning_count() const;
  bool has_errors() const { return error_count() > 0; }
  void append(const Diagnostics& other);
  // Orders by file, then position, then code; removes exact repeats.
  void sort_and_dedupe();

 private:
  std::vector<Diagnostic> items_;
};

// Renders one diagnostic as a compiler would:
//   path:line:col: error[E0201]: unknown bucket `privilegd`
//      12 |   bucket: privilegd
//         |           ^^^^^^^^^
//   path:line:col: note: ...
//   help: did you mean `privileged`?
std::string render_text(const Diagnostic& diagnostic, bool color = false);

}  // namespace portcullis::dsl
