// The RFC 4180 reader behind `portcullis analyze --tickets FILE.csv`.

#include "tools/analyze/csv.hpp"

#include <gtest/gtest.h>

namespace portcullis::analyze {
namespace {

std::vector<CsvRecord> ok(std::string_view text) {
  auto r = read_csv(text);
  EXPECT_TRUE(std::holds_alternative<std::vector<CsvRecord>>(r)) << std::get<CsvError>(r).message;
  return std::holds_alternative<std::vector<CsvRecord>>(r) ? std::get<std::vector<CsvRecord>>(r)
                                                           : std::vector<CsvRecord>{};
}

std::vector<std::vector<std::string>> values(const std::vector<CsvRecord>& records) {
  std::vector<std::vector<std::string>> out;
  for (const auto& r : records) {
    out.emplace_back();
    for (const auto& f : r) out.back().push_back(f.value);
  }
  return out;
}

using Rows = std::vector<std::vector<std::string>>;

TEST(CsvReader, SplitsFieldsAndRecordsWithLfOrCrlf) {
  EXPECT_EQ(values(ok("a,b,c\n1,2,3\n")), (Rows{{"a", "b", "c"}, {"1", "2", "3"}}));
  EXPECT_EQ(values(ok("a,b\r\n1,2")), (Rows{{"a", "b"}, {"1", "2"}}));
  EXPECT_EQ(values(ok("a,,c,\n")), (Rows{{"a", "", "c", ""}}));
  EXPECT_EQ(values(ok("a,\n")), (Rows{{"a", ""}}));
  EXPECT_EQ(values(ok("a,")), (Rows{{"a", ""}}));
  EXPECT_EQ(values(ok("a\n\nb\n")), (Rows{{"a"}, {""}, {"b"}}));
  EXPECT_TRUE(ok("").empty());
}

TEST(CsvReader, QuotedFieldsHoldCommasDoubledQuotesAndLineBreaks) {
  const auto records = ok("key,summary\nA-1,\"Need \"\"admin\"\", now\"\nA-2,\"two\r\nlines\",x\n\"\",\"\"\n");
  EXPECT_EQ(values(records), (Rows{{"key", "summary"}, {"A-1", "Need \"admin\", now"}, {"A-2", "two\r\nlines", "x"}, {"", ""}}));
  // Positions follow the physical lines, inside quotes included.
  EXPECT_EQ(records[2][2].line, 4u);
  EXPECT_EQ(records[2][2].column, 8u);
  EXPECT_EQ(records[3][0].line, 5u);
}

TEST(CsvReader, SkipsAByteOrderMark) { EXPECT_EQ(values(ok("\xEF\xBB\xBFIssue key\nA\n")), (Rows{{"Issue key"}, {"A"}})); }

TEST(CsvReader, NamesLineAndColumnOfMalformedInput) {
  auto r = read_csv("a,b\n1,\"open\n2,3\n");
  ASSERT_TRUE(std::holds_alternative<CsvError>(r));
  EXPECT_EQ(std::get<CsvError>(r).line, 2u);
  EXPECT_EQ(std::get<CsvError>(r).column, 3u);
  EXPECT_NE(std::get<CsvError>(r).message.find("never closed"), std::string::npos);

  r = read_csv("a,b\n1,x\"y\n");
  ASSERT_TRUE(std::holds_alternative<CsvError>(r));
  EXPECT_EQ(std::get<CsvError>(r).line, 2u);
  EXPECT_EQ(std::get<CsvError>(r).column, 4u);

  r = read_csv("a\n\"q\"x,b\n");
  ASSERT_TRUE(std::holds_alternative<CsvError>(r));
  EXPECT_EQ(std::get<CsvError>(r).line, 2u);
  EXPECT_EQ(std::get<CsvError>(r).column, 4u);
}

}  // namespace
}  // namespace portcullis::analyze
