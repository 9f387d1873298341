#include "tools/analyze/csv.hpp"

namespace portcullis::analyze {

std::variant<std::vector<CsvRecord>, CsvError> read_csv(std::string_view text) {
  std::vector<CsvRecord> records;
  std::size_t i = 0;
  if (text.substr(0, 3) == "\xEF\xBB\xBF") i = 3;
  std::size_t line = 1;
  std::size_t line_start = i;  // byte offset where the current line starts
  const auto column = [&](std::size_t at) { return at - line_start + 1; };
  const auto at_record_end = [&](std::size_t at) {
    return at >= text.size() || text[at] == '\n' || (text[at] == '\r' && at + 1 < text.size() && text[at + 1] == '\n');
  };

  CsvRecord record;
  while (i < text.size()) {
    CsvField field;
    field.line = line;
    field.column = column(i);
    if (text[i] == '"') {
      ++i;
      bool closed = false;
      while (i < text.size()) {
        const char c = text[i];
        if (c == '"') {
          if (i + 1 < text.size() && text[i + 1] == '"') {
            field.value += '"';
            i += 2;
            continue;
          }
          ++i;
          closed = true;
          break;
        }
        field.value += c;
        ++i;
        if (c == '\n') {
          ++line;
          line_start = i;
        }
      }
      if (!closed) return CsvError{field.line, field.column, "quoted field is never closed"};
      if (i < text.size() && text[i] != ',' && !at_record_end(i)) {
        return CsvError{line, column(i), "unexpected text after the closing quote of a field"};
      }
    } else {
      while (i < text.size() && text[i] != ',' && !at_record_end(i)) {
        if (text[i] == '"') return CsvError{line, column(i), "quote inside an unquoted field (quote the whole field)"};
        field.value += text[i];
        ++i;
      }
    }
    record.push_back(std::move(field));
    if (i < text.size() && text[i] == ',') {
      ++i;
      if (i >= text.size()) record.push_back(CsvField{"", line, column(i)});  // "a,b," at the very end
      continue;
    }
    // End of record: skip the line break.
    if (i < text.size()) {
      i += text[i] == '\r' ? 2 : 1;
      ++line;
      line_start = i;
    }
    records.push_back(std::move(record));
    record.clear();
  }
  if (!record.empty()) records.push_back(std::move(record));
  return records;
}

}  // namespace portcullis::analyze
