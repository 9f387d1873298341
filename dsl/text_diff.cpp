#include "dsl/text_diff.hpp"

#include <algorithm>
#include <cstdint>

namespace portcullis::dsl {
namespace {

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t newline = text.find('\n', start);
    const std::size_t end = newline == std::string_view::npos ? text.size() : newline + 1;
    lines.push_back(text.substr(start, end - start));
    start = end;
  }
  return lines;
}

// Myers' linear-space diff over line indices.
class Myers {
 public:
  Myers(const std::vector<std::string_view>& a, const std::vector<std::string_view>& b) : a_(a), b_(b) {}

  std::vector<DiffLine> run() {
    solve(0, a_.size(), 0, b_.size());
    return std::move(out_);
  }

 private:
  struct Snake {
    std::size_t x0, y0, x1, y1;  // from (x0, y0) along equal lines to (x1, y1)
  };

  void same(std::size_t x) { out_.push_back({DiffLine::Kind::same, std::string(a_[x])}); }
  void removed(std::size_t x) { out_.push_back({DiffLine::Kind::removed, std::string(a_[x])}); }
  void added(std::size_t y) { out_.push_back({DiffLine::Kind::added, std::string(b_[y])}); }

  // Emits the script turning a[a0, a1) into b[b0, b1).
  void solve(std::size_t a0, std::size_t a1, std::size_t b0, std::size_t b1) {
    const std::size_t prefix_start = a0;
    while (a0 < a1 && b0 < b1 && a_[a0] == b_[b0]) {
      ++a0;
      ++b0;
    }
    for (std::size_t x = prefix_start; x < a0; ++x) same(x);
    std::size_t suffix = 0;
    while (a1 > a0 && b1 > b0 && a_[a1 - 1] == b_[b1 - 1]) {
      --a1;
      --b1;
      ++suffix;
    }
    if (a0 == a1) {
      for (std::size_t y = b0; y < b1; ++y) added(y);
    } else if (b0 == b1) {
      for (std::size_t x = a0; x < a1; ++x) removed(x);
    } else {
      // Both sides non-empty and differing at both ends: at least two edits,
      // so each half below is strictly smaller and the recursion ends.
      const Snake s = middle_snake(a0, a1, b0, b1);
      solve(a0, s.x0, b0, s.y0);
      for (std::size_t x = s.x0; x < s.x1; ++x) same(x);
      solve(s.x1, a1, s.y1, b1);
    }
    for (std::size_t x = a1; x < a1 + suffix; ++x) same(x);
  }

  // The middle snake of a shortest path from (a0, b0) to (a1, b1).
  Snake middle_snake(std::size_t a0, std::size_t a1, std::size_t b0, std::size_t b1) const {
    const auto n = static_cast<std::int64_t>(a1 - a0);
    const auto m = static_cast<std::int64_t>(b1 - b0);
    const std::int64_t delta = n - m;
    const bool odd = (delta & 1) != 0;
    const std::int64_t max_d = (n + m + 1) / 2;
    const std::int64_t offset = max_d + 1;
    // forward[k]: furthest x on diagonal k (x - y = k) from the start;
    // backward[k]: furthest distance walked back from the end on reversed
    // diagonal k, which is forward diagonal delta - k.
    std::vector<std::int64_t> forward(static_cast<std::size_t>(2 * offset + 1), 0);
    std::vector<std::int64_t> backward(static_cast<std::size_t>(2 * offset + 1), 0);
    auto fw = [&](std::int64_t k) -> std::int64_t& { return forward[static_cast<std::size_t>(k + offset)]; };
    auto bw = [&](std::int64_t k) -> std::int64_t& { return backward[static_cast<std::size_t>(k + offset)]; };
    auto equal_fw = [&](std::int64_t x, std::int64_t y) {
      return a_[a0 + static_cast<std::size_t>(x)] == b_[b0 + static_cast<std::size_t>(y)];
    };
    auto equal_bw = [&](std::int64_t x, std::int64_t y) {
      return a_[a1 - 1 - static_cast<std::size_t>(x)] == b_[b1 - 1 - static_cast<std::size_t>(y)];
    };
    for (std::int64_t d = 0; d <= max_d; ++d) {
      for (std::int64_t k = -d; k <= d; k += 2) {
        std::int64_t x = (k == -d || (k != d && fw(k - 1) < fw(k + 1))) ? fw(k + 1) : fw(k - 1) + 1;
        std::int64_t y = x - k;
        const std::int64_t sx = x;
        const std::int64_t sy = y;
        while (x < n && y < m && equal_fw(x, y)) {
          ++x;
          ++y;
        }
        fw(k) = x;
        const std::int64_t rk = delta - k;
        if (odd && rk >= -(d - 1) && rk <= d - 1 && x + bw(rk) >= n) {
          return {a0 + static_cast<std::size_t>(sx), b0 + static_cast<std::size_t>(sy),
                  a0 + static_cast<std::size_t>(x), b0 + static_cast<std::size_t>(y)};
        }
      }
      for (std::int64_t k = -d; k <= d; k += 2) {
        std::int64_t x = (k == -d || (k != d && bw(k - 1) < bw(k + 1))) ? bw(k + 1) : bw(k - 1) + 1;
        std::int64_t y = x - k;
        const std::int64_t sx = x;
        const std::int64_t sy = y;
        while (x < n && y < m && equal_bw(x, y)) {
          ++x;
          ++y;
        }
        bw(k) = x;
        const std::int64_t fk = delta - k;
        if (!odd && fk >= -d && fk <= d && x + fw(fk) >= n) {
          // Reversed (x, y) is forward (n - x, m - y).
          return {a0 + static_cast<std::size_t>(n - x), b0 + static_cast<std::size_t>(m - y),
                  a0 + static_cast<std::size_t>(n - sx), b0 + static_cast<std::size_t>(m - sy)};
        }
      }
    }
    // Unreachable for non-empty inputs; a plain replacement is still correct.
    return {a1, b1, a1, b1};
  }

  const std::vector<std::string_view>& a_;
  const std::vector<std::string_view>& b_;
  std::vector<DiffLine> out_;
};

std::string range(std::size_t start, std::size_t count) {
  // GNU diff: an empty range names the line before it; a single line has no count.
  if (count == 0) return std::to_string(start == 0 ? 0 : start - 1) + ",0";
  if (count == 1) return std::to_string(start);
  return std::to_string(start) + "," + std::to_string(count);
}

void print_line(std::string& out, char mark, const std::string& text) {
  out += mark;
  out += text;
  if (text.empty() || text.back() != '\n') out += "\n\\ No newline at end of file\n";
}

}  // namespace

std::vector<DiffLine> diff_lines(std::string_view before, std::string_view after) {
  const auto a = split_lines(before);
  const auto b = split_lines(after);
  std::vector<DiffLine> lines = Myers(a, b).run();
  // Within a run of changes, removals first, as diff and git print them.
  for (auto run = lines.begin(); run != lines.end();) {
    auto end = std::find_if(run, lines.end(), [](const DiffLine& l) { return l.kind == DiffLine::Kind::same; });
    std::stable_partition(run, end, [](const DiffLine& l) { return l.kind == DiffLine::Kind::removed; });
    run = end == lines.end() ? end : end + 1;
  }
  return lines;
}

std::string unified_diff(std::string_view before, std::string_view after, const std::string& before_name,
                         const std::string& after_name, std::size_t context) {
  const std::vector<DiffLine> lines = diff_lines(before, after);
  std::string out;
  std::size_t i = 0;
  while (i < lines.size()) {
    // The next change, and the hunk around it: changes closer than twice
    // the context share a hunk.
    while (i < lines.size() && lines[i].kind == DiffLine::Kind::same) ++i;
    if (i == lines.size()) break;
    const std::size_t start = i >= context ? i - context : 0;
    std::size_t end = i;  // one past the last change of the hunk
    std::size_t j = i;
    while (j < lines.size()) {
      if (lines[j].kind != DiffLine::Kind::same) {
        end = j + 1;
        ++j;
        continue;
      }
      std::size_t run = j;
      while (run < lines.size() && lines[run].kind == DiffLine::Kind::same) ++run;
      if (run == lines.size() || run - j > 2 * context) break;
      j = run;
    }
    const std::size_t stop = std::min(lines.size(), end + context);

    // Line numbers of the hunk's first line on each side.
    std::size_t old_line = 1;
    std::size_t new_line = 1;
    for (std::size_t k = 0; k < start; ++k) {
      if (lines[k].kind != DiffLine::Kind::added) ++old_line;
      if (lines[k].kind != DiffLine::Kind::removed) ++new_line;
    }
    std::size_t old_count = 0;
    std::size_t new_count = 0;
    for (std::size_t k = start; k < stop; ++k) {
      if (lines[k].kind != DiffLine::Kind::added) ++old_count;
      if (lines[k].kind != DiffLine::Kind::removed) ++new_count;
    }
    if (out.empty()) out = "--- " + before_name + "\n+++ " + after_name + "\n";
    out += "@@ -" + range(old_line, old_count) + " +" + range(new_line, new_count) + " @@\n";
    for (std::size_t k = start; k < stop; ++k) {
      const char mark = lines[k].kind == DiffLine::Kind::same ? ' ' : lines[k].kind == DiffLine::Kind::removed ? '-' : '+';
      print_line(out, mark, lines[k].text);
    }
    i = stop;
  }
  return out;
}

}  // namespace portcullis::dsl
