// libFuzzer target: arbitrary bytes into the policy front end.
//
// Feeds the input to dsl::parse as one file and, when it parses without
// errors, to dsl::check_program as a one-file program (when the checker is
// linked: PORTCULLIS_FUZZ_HAS_CHECKER). Crashes, sanitizer reports, leaks,
// hangs and out-of-memory are bugs in dsl/; so is any diagnostic or AST span
// that points outside the file, which is checked here explicitly because it
// would otherwise only show up later, when a caret is rendered.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "dsl/diagnostics.hpp"
#include "dsl/parser.hpp"
#include "dsl/source.hpp"
#ifdef PORTCULLIS_FUZZ_HAS_CHECKER
#include "dsl/checker.hpp"
#include "dsl/loader.hpp"
#endif

namespace {

namespace dsl = portcullis::dsl;

void fuzz_require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz_policy_parser: invariant violated: %s\n", what);
    std::abort();
  }
}

void check_span(const dsl::Span& span, const dsl::SourceFilePtr& source) {
  if (!span.valid() || span.file != source) return;  // other files and "nowhere" are fine
  const std::size_t size = source->text().size();
  fuzz_require(span.begin <= span.end, "span begin <= end");
  fuzz_require(span.end <= size, "span inside the file");
  fuzz_require(span.line >= 1 && span.line <= source->line_count(), "span line inside the file");
}

void check_diagnostics(const dsl::Diagnostics& diagnostics, const dsl::SourceFilePtr& source) {
  for (const auto& d : diagnostics.items()) {
    check_span(d.span, source);
    for (const auto& note : d.notes) check_span(note.span, source);
    // Rendering reads the source line under the caret: exercise it too.
    const std::string text = dsl::render_text(d);
    fuzz_require(!text.empty(), "rendered diagnostic is not empty");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto source = std::make_shared<const dsl::SourceFile>(
      "fuzz.policy", std::string(reinterpret_cast<const char*>(data), size));
  dsl::ParseResult parsed = dsl::parse(source);
  check_diagnostics(parsed.diagnostics, source);
  for (const auto& comment : parsed.file.comments) check_span(comment.span, source);

#ifdef PORTCULLIS_FUZZ_HAS_CHECKER
  if (!parsed.diagnostics.has_errors()) {
    dsl::Program program;
    program.files.push_back(std::move(parsed.file));
    dsl::Diagnostics diagnostics;
    dsl::check_program(program, diagnostics);
    check_diagnostics(diagnostics, source);
  }
#endif
  return 0;
}
