#pragma once
// Source files and spans.
//
// Every AST node and every diagnostic points into a SourceFile through a Span.
// A SourceFile owns its text; spans hold a shared pointer to the file so they
// stay valid however long the AST or a diagnostic lives.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace portcullis::dsl {

class SourceFile {
 public:
  // `path` is how the file is named in diagnostics (as the user gave it).
  SourceFile(std::string path, std::string text);

  const std::string& path() const { return path_; }
  const std::string& text() const { return text_; }

  // 1-based line and column (column counts bytes, as compilers do) of a byte
  // offset. Offsets past the end map to the end of the file.
  struct LineColumn {
    std::uint32_t line = 1;
    std::uint32_t column = 1;
  };
  LineColumn line_column(std::size_t offset) const;

  // The text of a 1-based line, without its line terminator.
  std::string_view line_text(std::uint32_t line) const;
  std::uint32_t line_count() const { return static_cast<std::uint32_t>(line_starts_.size()); }

 private:
  std::string path_;
  std::string text_;
  std::vector<std::size_t> line_starts_;
};

using SourceFilePtr = std::shared_ptr<const SourceFile>;

// A half-open byte range [begin, end) in one file, with the line and column
// of its start. A default Span points nowhere (file == nullptr).
struct Span {
  SourceFilePtr file;
  std::uint32_t begin = 0;
  std::uint32_t end = 0;
  std::uint32_t line = 0;
  std::uint32_t column = 0;

  bool valid() const { return file != nullptr; }
  std::string_view text() const;
  // "path:line:col", or "<unknown>" for an invalid span.
  std::string location() const;
  // The smallest span covering both (same file assumed; falls back to *this).
  Span merge(const Span& other) const;

  static Span make(const SourceFilePtr& file, std::size_t begin, std::size_t end);
};

}  // namespace portcullis::dsl
