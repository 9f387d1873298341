#include "runtime/http/message.hpp"

#include <gtest/gtest.h>

namespace portcullis::runtime::http {
namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;

TEST(HttpMessage, HeaderLookupIgnoresCase) {
  Request r;
  r.headers = {{"Content-Type", "application/json"}, {"X-Thing", "one"}, {"x-thing", "two"}};
  ASSERT_NE(r.header("content-type"), nullptr);
  EXPECT_EQ(*r.header("CONTENT-TYPE"), "application/json");
  ASSERT_NE(r.header("X-THING"), nullptr);
  EXPECT_EQ(*r.header("X-THING"), "one");  // the first one wins
  EXPECT_EQ(r.header("Authorization"), nullptr);
}

TEST(HttpMessage, HeaderEquals) {
  EXPECT_TRUE(header_equals("Idempotency-Key", "idempotency-key"));
  EXPECT_TRUE(header_equals("", ""));
  EXPECT_FALSE(header_equals("Idempotency-Key", "Idempotency-Keys"));
  EXPECT_FALSE(header_equals("a", "b"));
}

TEST(HttpMessage, PathAndQuery) {
  Request r;
  r.target = "/v1/requests?status=active&limit=5";
  EXPECT_EQ(r.path(), "/v1/requests");
  EXPECT_EQ(r.query(), "status=active&limit=5");
  r.target = "/v1/requests";
  EXPECT_EQ(r.path(), "/v1/requests");
  EXPECT_EQ(r.query(), "");
  r.target = "/x?";
  EXPECT_EQ(r.path(), "/x");
  EXPECT_EQ(r.query(), "");
}

TEST(HttpMessage, ParseQueryDecodes) {
  EXPECT_EQ(parse_query("a=1&b=x%20y&c=p+q"), (Pairs{{"a", "1"}, {"b", "x y"}, {"c", "p q"}}));
  EXPECT_EQ(parse_query("wait_for=active%2Cfailed"), (Pairs{{"wait_for", "active,failed"}}));
  EXPECT_EQ(parse_query("k%3D=v%26w"), (Pairs{{"k=", "v&w"}}));
}

TEST(HttpMessage, ParseQueryEdgeCases) {
  EXPECT_TRUE(parse_query("").empty());
  EXPECT_EQ(parse_query("flag"), (Pairs{{"flag", ""}}));
  EXPECT_EQ(parse_query("a=&b"), (Pairs{{"a", ""}, {"b", ""}}));
  EXPECT_EQ(parse_query("a=1&&b=2&"), (Pairs{{"a", "1"}, {"b", "2"}}));
  EXPECT_EQ(parse_query("a=x=y"), (Pairs{{"a", "x=y"}}));
  // Malformed escapes stay literal.
  EXPECT_EQ(parse_query("a=%zz&b=%4"), (Pairs{{"a", "%zz"}, {"b", "%4"}}));
  EXPECT_EQ(parse_query("a=1&a=2"), (Pairs{{"a", "1"}, {"a", "2"}}));
}

TEST(HttpMessage, UrlEncodeKeepsUnreserved) {
  EXPECT_EQ(url_encode("AZaz09-._~"), "AZaz09-._~");
  EXPECT_EQ(url_encode("a b/c?d=e&f+g"), "a%20b%2Fc%3Fd%3De%26f%2Bg");
  EXPECT_EQ(url_encode("\xC3\xA9"), "%C3%A9");
  EXPECT_EQ(url_encode(""), "");
}

TEST(HttpMessage, UrlEncodeRoundTripsThroughParseQuery) {
  const std::string value = "alice@example.com+x y/100%&=";
  const auto parsed = parse_query("v=" + url_encode(value));
  ASSERT_EQ(parsed.size(), 1U);
  EXPECT_EQ(parsed[0].second, value);
}

}  // namespace
}  // namespace portcullis::runtime::http
