#include "dsl/suggest.hpp"

#include <algorithm>
#include <cctype>

namespace portcullis::dsl {

std::size_t edit_distance(std::string_view a, std::string_view b) {
  const std::size_t n = a.size();
  const std::size_t m = b.size();
  std::vector<std::size_t> prev2(m + 1), prev(m + 1), current(m + 1);
  for (std::size_t j = 0; j <= m; ++j) prev[j] = j;
  for (std::size_t i = 1; i <= n; ++i) {
    current[0] = i;
    for (std::size_t j = 1; j <= m; ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      current[j] = std::min({prev[j] + 1, current[j - 1] + 1, prev[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        current[j] = std::min(current[j], prev2[j - 2] + 1);
      }
    }
    prev2.swap(prev);
    prev.swap(current);
  }
  return prev[m];
}

std::optional<std::string> closest_match(std::string_view name, const std::vector<std::string>& candidates) {
  const std::size_t budget = std::max<std::size_t>(1, (name.size() + 2) / 3);
  std::optional<std::string> best;
  std::size_t best_distance = budget + 1;
  for (const auto& candidate : candidates) {
    if (candidate == name) continue;
    // Lengths too far apart cannot be within budget; skip the full DP.
    const std::size_t gap = candidate.size() > name.size() ? candidate.size() - name.size() : name.size() - candidate.size();
    if (gap > budget) continue;
    const std::size_t distance = edit_distance(name, candidate);
    if (distance < best_distance) {
      best_distance = distance;
      best = candidate;
    }
  }
  return best;
}

}  // namespace portcullis::dsl
