#include "dsl/source.hpp"

#include <algorithm>

namespace portcullis::dsl {

SourceFile::SourceFile(std::string path, std::string text)
    : path_(std::move(path)), text_(std::move(text)) {
  line_starts_.push_back(0);
  for (std::size_t i = 0; i < text_.size(); ++i) {
    if (text_[i] == '\n') line_starts_.push_back(i + 1);
  }
}

SourceFile::LineColumn SourceFile::line_column(std::size_t offset) const {
  offset = std::min(offset, text_.size());
  auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset);
  const auto line_index = static_cast<std::size_t>(it - line_starts_.begin()) - 1;
  return {static_cast<std::uint32_t>(line_index + 1),
          static_cast<std::uint32_t>(offset - line_starts_[line_index] + 1)};
}

std::string_view SourceFile::line_text(std::uint32_t line) const {
  if (line == 0 || line > line_starts_.size()) return {};
  const std::size_t begin = line_starts_[line - 1];
  std::size_t end = line < line_starts_.size() ? line_starts_[line] : text_.size();
  while (end > begin && (text_[end - 1] == '\n' || text_[end - 1] == '\r')) --end;
  return std::string_view(text_).substr(begin, end - begin);
}

std::string_view Span::text() const {
  if (!file) return {};
  return std::string_view(file->text()).substr(begin, end - begin);
}

std::string Span::location() const {
  if (!file) return "<unknown>";
  return file->path() + ":" + std::to_string(line) + ":" + std::to_string(column);
}

Span Span::merge(const Span& other) const {
  if (!file || other.file != file) return *this;
  if (other.begin < begin) return make(file, other.begin, std::max(end, other.end));
  Span result = *this;
  result.end = std::max(end, other.end);
  return result;
}

Span Span::make(const SourceFilePtr& file, std::size_t begin, std::size_t end) {
  Span span;
  span.file = file;
  span.begin = static_cast<std::uint32_t>(begin);
  span.end = static_cast<std::uint32_t>(std::max(begin, end));
  if (file) {
    const auto lc = file->line_column(begin);
    span.line = lc.line;
    span.column = lc.column;
  }
  return span;
}

}  // namespace portcullis::dsl
