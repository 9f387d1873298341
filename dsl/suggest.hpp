#pragma once
// Did-you-mean: the closest known name to a misspelt one.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace portcullis::dsl {

// Optimal-string-alignment edit distance (insert, delete, substitute,
// transpose adjacent), case-sensitive.
std::size_t edit_distance(std::string_view a, std::string_view b);

// The candidate nearest to `name`, if it is close enough to be a plausible
// typo: at most a third of the name's length in edits (at least one).
// Ties go to the earlier candidate.
std::optional<std::string> closest_match(std::string_view name, const std::vector<std::string>& candidates);

}  // namespace portcullis::dsl
