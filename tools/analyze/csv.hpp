#pragma once
// A small RFC 4180 CSV reader, for ticket exports (Jira's "Export CSV").
//
// read_csv() splits `text` into records of fields: fields are separated by
// ',', records by CRLF or LF (a lone CR is kept as data); a field that
// starts with '"' is quoted and may hold commas, line breaks and doubled
// quotes ("" -> "). A UTF-8 byte order mark at the start is skipped. A final
// line break does not start an empty record; an empty line in the middle is
// a record with one empty field.
//
// Every field remembers where it starts (1-based line and column, in bytes),
// so callers can point at a bad value. Malformed input (a quote inside an
// unquoted field, text after a closing quote, a quoted field never closed)
// yields a CsvError naming the line and column; nothing throws.
//
// Pure: no I/O, no global state; any thread may call it.

#include <cstddef>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace portcullis::analyze {

struct CsvField {
  std::string value;
  std::size_t line = 1;    // where the field starts, 1-based
  std::size_t column = 1;  // byte column, 1-based
};

using CsvRecord = std::vector<CsvField>;

struct CsvError {
  std::size_t line = 1;
  std::size_t column = 1;
  std::string message;
};

// The records of `text`, or the first syntax error.
std::variant<std::vector<CsvRecord>, CsvError> read_csv(std::string_view text);

}  // namespace portcullis::analyze
