// Logging: redaction of secrets and what log_event writes in both formats.

#include "runtime/logging.hpp"

#include <gtest/gtest.h>

#include <sstream>

#include <nlohmann/json.hpp>

namespace portcullis::runtime {
namespace {

TEST(Redact, HidesAuthorizationHeaderValuesButKeepsTheScheme) {
  EXPECT_EQ(redact("Authorization: Bearer xyz123"), "Authorization: Bearer [redacted]");
  EXPECT_EQ(redact("authorization: basic dXNlcjpwYXNz"), "authorization: basic [redacted]");
  EXPECT_EQ(redact("AUTHORIZATION:Basic dXNlcjpwYXNz\r\nHost: okta.com"), "AUTHORIZATION:Basic [redacted]\r\nHost: okta.com");
  EXPECT_EQ(redact("Authorization: sk-live-123"), "Authorization: [redacted]");
  EXPECT_EQ(redact("Proxy-Authorization: Bearer abc"), "Proxy-Authorization: Bearer [redacted]");
  EXPECT_EQ(redact(R"({"Authorization":"Bearer abc.def"})"), R"({"Authorization":"Bearer [redacted]"})");
}

TEST(Redact, HidesBearerTokensAnywhere) {
  EXPECT_EQ(redact("calling okta with bearer xyz"), "calling okta with bearer [redacted]");
  EXPECT_EQ(redact("Bearer eyJhbGciOi.J9.x-y_z, then"), "Bearer [redacted], then");
  EXPECT_EQ(redact("curl -H 'X: Bearer abc'"), "curl -H 'X: Bearer [redacted]'");
  EXPECT_EQ(redact("the bearer"), "the bearer");
}

TEST(Redact, HidesSecretKeyValuesInEveryForm) {
  EXPECT_EQ(redact("token=abc"), "token=[redacted]");
  EXPECT_EQ(redact("GET /x?user=sam&api_key=k-123&page=2"), "GET /x?user=sam&api_key=[redacted]&page=2");
  EXPECT_EQ(redact("PASSWORD=hunter2 next=1"), "PASSWORD=[redacted] next=1");
  EXPECT_EQ(redact("client_secret: s3cr3t"), "client_secret: [redacted]");
  EXPECT_EQ(redact("access_token=a.b.c;"), "access_token=[redacted];");
  EXPECT_EQ(redact(R"({"token":"abc","user":"sam"})"), R"({"token":"[redacted]","user":"sam"})");
  EXPECT_EQ(redact(R"({"Api_Key" : "k 1", "secret": 42})"), R"({"Api_Key" : "[redacted]", "secret": [redacted]})");
  EXPECT_EQ(redact(R"(body={\"password\":\"p w\"})"), R"(body={\"password\":\"[redacted]\"})");
  EXPECT_EQ(redact("password='two words'"), "password='[redacted]'");
}

TEST(Redact, LeavesOrdinaryTextAlone) {
  for (const char* text : {"request req-1 approved by dana@acme.com", "tokens_used=5", "secretary=bob",
                           "Password reset: ok", "token=", "no secrets here: just = signs", ""}) {
    EXPECT_EQ(redact(text), text);
  }
}

TEST(Redact, IsIdempotent) {
  for (const char* text : {"Authorization: Bearer xyz", "token=abc&password=def", R"({"secret":"s"})",
                           "bearer abc bearer def"}) {
    const std::string once = redact(text);
    EXPECT_EQ(redact(once), once) << text;
  }
}

// Captures what the default logger writes while the test runs, and puts a
// stderr logger back afterwards.
class LogCapture : public ::testing::Test {
 protected:
  void use(LogOptions::Format format, std::string level = "info") {
    LogOptions options;
    options.format = format;
    options.level = std::move(level);
    ASSERT_TRUE(setup_logging_to(out_, options).ok());
  }
  void TearDown() override { ASSERT_TRUE(setup_logging(LogOptions{}).ok()); }

  std::vector<std::string> lines() const {
    std::vector<std::string> out;
    std::istringstream in(out_.str());
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
  }

  std::ostringstream out_;
};

constexpr const char* kToken = "tok-7f3a9b2c4d";

void log_secrets() {
  log_event(LogLevel::info, std::string("calling okta with token=") + kToken,
            {{"request_id", "req-1"}, {"header", std::string("Authorization: Bearer ") + kToken}});
  log_event(LogLevel::warn, "retrying", {{"request_id", "req-1"}, {"url", std::string("/groups?api_key=") + kToken}});
  log_event(LogLevel::error, std::string("bearer ") + kToken, {{"body", std::string(R"({"password":")") + kToken + "\"}"}});
}

TEST_F(LogCapture, TextLinesCarryFieldsAndNeverTheToken) {
  use(LogOptions::Format::text);
  log_secrets();
  const auto got = lines();
  ASSERT_EQ(got.size(), 3u) << out_.str();
  EXPECT_EQ(out_.str().find(kToken), std::string::npos) << out_.str();
  EXPECT_NE(got[0].find(" info calling okta with token=[redacted] request_id=req-1 "
                        "header=\"Authorization: Bearer [redacted]\""),
            std::string::npos)
      << got[0];
  EXPECT_NE(got[1].find(" warning retrying request_id=req-1 url=\"/groups?api_key=[redacted]\""), std::string::npos)
      << got[1];
  EXPECT_EQ(got[0].size() > 24 && got[0][23] == 'Z', true) << got[0];  // 2026-01-02T03:04:05.678Z
}

TEST_F(LogCapture, JsonLinesParseAndNeverHoldTheToken) {
  use(LogOptions::Format::json);
  log_secrets();
  const auto got = lines();
  ASSERT_EQ(got.size(), 3u) << out_.str();
  EXPECT_EQ(out_.str().find(kToken), std::string::npos) << out_.str();
  const auto first = nlohmann::json::parse(got[0]);
  EXPECT_EQ(first["level"], "info");
  EXPECT_EQ(first["msg"], "calling okta with token=[redacted]");
  EXPECT_EQ(first["request_id"], "req-1");
  EXPECT_EQ(first["header"], "Authorization: Bearer [redacted]");
  EXPECT_EQ(first["ts"].get<std::string>().back(), 'Z');
  EXPECT_EQ(got[0].rfind("{\"ts\":", 0), 0u) << got[0];
  const auto third = nlohmann::json::parse(got[2]);
  EXPECT_EQ(third["level"], "error");
  EXPECT_EQ(third["msg"], "bearer [redacted]");
  EXPECT_EQ(third["body"], R"({"password":"[redacted]"})");
}

TEST_F(LogCapture, JsonEscapesAndKeepsOneLinePerCall) {
  use(LogOptions::Format::json);
  log_event(LogLevel::info, "line one\nline two \"quoted\"", {{"msg", "a field named msg"}, {"bad", "\xC3"}});
  const auto got = lines();
  ASSERT_EQ(got.size(), 1u) << out_.str();
  const auto j = nlohmann::json::parse(got[0]);
  EXPECT_EQ(j["msg"], "line one\nline two \"quoted\"");
  EXPECT_EQ(j["field.msg"], "a field named msg");
}

TEST_F(LogCapture, TextKeepsOneLinePerCall) {
  use(LogOptions::Format::text);
  log_event(LogLevel::info, "user input\n2026-01-01T00:00:00.000Z error forged", {{"why", "two\nlines"}});
  const auto got = lines();
  ASSERT_EQ(got.size(), 1u) << out_.str();
  EXPECT_NE(got[0].find("user input\\n2026"), std::string::npos) << got[0];
  EXPECT_NE(got[0].find("why=\"two\\nlines\""), std::string::npos) << got[0];
}

TEST_F(LogCapture, DropsLinesBelowTheLevelAndRejectsAnUnknownLevel) {
  use(LogOptions::Format::text, "warn");
  log_event(LogLevel::info, "quiet");
  log_event(LogLevel::error, "loud");
  const auto got = lines();
  ASSERT_EQ(got.size(), 1u) << out_.str();
  EXPECT_NE(got[0].find("loud"), std::string::npos);

  LogOptions bad;
  bad.level = "verbose";
  const auto r = setup_logging_to(out_, bad);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::invalid);
  EXPECT_NE(r.error().message.find("verbose"), std::string::npos);
}

}  // namespace
}  // namespace portcullis::runtime
