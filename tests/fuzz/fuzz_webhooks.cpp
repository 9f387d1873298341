// libFuzzer target: the webhook receivers' checks, on bytes an attacker
// controls. The input is split at its first two newlines into a timestamp
// header, a signature header and a raw body, and goes through
// verify_slack_signature, verify_jira_signature, parse_slack_interaction and
// parse_jira_webhook.
//
// Aborts, besides crashes and sanitizer reports, when
// - a signature is accepted that is not the HMAC of that body (and, for
//   Slack, that timestamp) under the secret, or a timestamp outside the
//   five-minute window is accepted;
// - the genuine signature of the fuzzed body and timestamp is refused;
// - a Slack interaction parses into an action that is not approve or deny,
//   or without a request, a user or a delivery id that names both;
// - a Jira event is both approved and denied, ignored without saying why,
//   or acted on without an issue key;
// - a refusal's message is empty.

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "connectors/auth/crypto.hpp"
#include "connectors/jira/jira.hpp"
#include "connectors/slack/slack.hpp"

namespace {

namespace connectors = portcullis::connectors;

constexpr std::string_view kSecret = "fuzz-signing-secret";
constexpr std::int64_t kNow = 1'780'000'000;

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz_webhooks: %s\n", what);
    std::abort();
  }
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string_view next_line(std::string_view& rest) {
  const auto nl = rest.find('\n');
  const std::string_view line = rest.substr(0, nl);
  rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
  return line;
}

void slack_signature(std::string_view timestamp, std::string_view signature, std::string_view body) {
  std::string base = "v0:";
  base.append(timestamp);
  base += ':';
  base.append(body);
  const std::string genuine = "v0=" + connectors::hmac_sha256_hex(kSecret, base);

  std::int64_t ts = 0;
  const auto [ptr, ec] = std::from_chars(timestamp.data(), timestamp.data() + timestamp.size(), ts);
  const bool numeric = !timestamp.empty() && ec == std::errc() && ptr == timestamp.data() + timestamp.size();
  const bool fresh = numeric && ts >= kNow - 300 && ts <= kNow + 300;

  const auto verdict = connectors::verify_slack_signature(kSecret, timestamp, signature, body, kNow);
  if (verdict == connectors::SlackVerdict::ok) {
    check(signature == genuine, "slack: accepted a signature that is not the body's HMAC");
    check(fresh, "slack: accepted a timestamp outside the window");
  }
  // The genuine signature at the fuzzed time: accepted exactly when fresh.
  const auto honest = connectors::verify_slack_signature(kSecret, timestamp, genuine, body, kNow);
  if (!timestamp.empty()) {
    check((honest == connectors::SlackVerdict::ok) == fresh, "slack: the genuine signature was judged wrongly");
  }
  // No secret, no acceptance: anyone could compute an empty-key HMAC.
  check(connectors::verify_slack_signature("", timestamp, signature, body, kNow) != connectors::SlackVerdict::ok,
        "slack: accepted with an empty secret");
  // Extreme clocks must not overflow the window arithmetic.
  (void)connectors::verify_slack_signature(kSecret, timestamp, genuine, body, INT64_MIN);
  (void)connectors::verify_slack_signature(kSecret, timestamp, genuine, body, INT64_MAX);
  (void)connectors::slack_verdict_name(verdict);
}

void jira_signature(std::string_view header, std::string_view body) {
  const std::string genuine = "sha256=" + connectors::hmac_sha256_hex(kSecret, body);
  if (connectors::verify_jira_signature(kSecret, header, body)) {
    check(lower(header) == genuine, "jira: accepted a signature that is not the body's HMAC");
  }
  check(connectors::verify_jira_signature(kSecret, genuine, body), "jira: refused the genuine signature");
  check(!connectors::verify_jira_signature("", genuine, body), "jira: accepted with an empty secret");
}

void slack_payload(std::string_view body) {
  auto action = connectors::parse_slack_interaction(body);
  if (!action) {
    check(!action.error().message.empty(), "slack: a refusal without a message");
    return;
  }
  check(action->action == "approve" || action->action == "deny", "slack: an action that is not ours");
  check(!action->request_id.empty(), "slack: an action without a request");
  check(!action->user_id.empty(), "slack: an action without a user");
  check(action->delivery_id.find(action->user_id) != std::string::npos &&
            action->delivery_id.find(action->request_id) != std::string::npos,
        "slack: a delivery id that does not name the user and the request");
}

void jira_payload(std::string_view body) {
  static const connectors::JiraConfig config = [] {
    connectors::JiraConfig c;
    c.url = "https://acme.atlassian.net";
    c.project = "ACC";
    c.approved_status = "Approved";
    c.denied_status = "Declined";
    return c;
  }();
  auto event = connectors::parse_jira_webhook(body, config);
  if (!event) {
    check(!event.error().message.empty(), "jira: a refusal without a message");
    return;
  }
  using Kind = connectors::JiraWebhookEvent::Kind;
  check(!(event->approved && event->denied), "jira: both approved and denied");
  if (event->kind == Kind::ignored) {
    check(!event->approved && !event->denied, "jira: an ignored event carries a decision");
    check(!event->ignored_because.empty(), "jira: ignored without saying why");
  } else {
    check(!event->issue_key.empty(), "jira: an event acted on without an issue key");
  }
  if (event->kind == Kind::issue_created) check(event->request_id.empty(), "jira: our own issue taken as new");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  const std::string_view timestamp = next_line(rest);
  const std::string_view signature = next_line(rest);
  const std::string_view body = rest;
  slack_signature(timestamp, signature, body);
  jira_signature(signature, body);
  // The bodies are parsed whole too: a receiver parses only after the
  // signature check, but the signer (Slack, Jira, or whoever holds the
  // secret) is not trusted to send well-formed bodies.
  const std::string_view whole(reinterpret_cast<const char*>(data), size);
  slack_payload(body);
  slack_payload(whole);
  jira_payload(body);
  jira_payload(whole);
  return 0;
}
