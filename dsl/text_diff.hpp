#pragma once
// Line diffs of two texts, printed as unified diffs (`diff -u`, `git diff`).
//
// The edit script is a shortest one (Myers' O(ND) algorithm in its
// linear-space form: the "middle snake" divide and conquer), so memory stays
// proportional to the number of lines whatever the texts; time grows with
// lines times differences.
//
// Lines keep their terminator: "a" and "a\n" differ, and a last line
// without one is printed followed by `\ No newline at end of file`, as GNU
// diff does.
//
// Pure; safe to call from any thread.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace portcullis::dsl {

struct DiffLine {
  enum class Kind { same, removed, added };
  Kind kind = Kind::same;
  std::string text;  // including its '\n' when it has one
};

// The lines of `before` and `after` interleaved into a shortest edit script:
// same, removed (from `before`) and added (from `after`).
std::vector<DiffLine> diff_lines(std::string_view before, std::string_view after);

// A unified diff with `--- <before_name>` / `+++ <after_name>` headers and
// @@ hunks carrying `context` lines of context. Empty when the texts are
// equal.
std::string unified_diff(std::string_view before, std::string_view after, const std::string& before_name,
                         const std::string& after_name, std::size_t context = 3);

}  // namespace portcullis::dsl
