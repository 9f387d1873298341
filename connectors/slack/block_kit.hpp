#pragma once
// The Block Kit messages Portcullis posts to Slack, and the button value
// that carries a request id and step through a click. Shared by SlackChat
// (which builds them) and parse_slack_interaction (which reads the value
// back), so the two cannot drift apart.
//
// Slack's limits are respected by construction: a section's text is cut to
// 3000 characters, a context element's to 2000, a button value stays far
// below 2000 for any request id the runtime makes (ids over 1000 bytes are
// cut, and then no longer match: the click is refused, not misrouted).

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace portcullis::connectors::slack {

inline constexpr std::string_view kApproveAction = "approve";
inline constexpr std::string_view kDenyAction = "deny";

// Slack's mrkdwn escaping: & < > become &amp; &lt; &gt; (nothing else is
// special to Slack's parser), so card text cannot inject mentions or links.
std::string escape_mrkdwn(std::string_view text);

// At most `max_bytes` bytes, never cutting a UTF-8 sequence, with "…" at the
// end when something was cut.
std::string truncate_utf8(std::string_view text, std::size_t max_bytes);

// {"request":"<id>","step":N}, compact.
std::string button_value(std::string_view request_id, std::size_t step);

struct ButtonValue {
  std::string request_id;
  std::size_t step = 0;
};
// Reads button_value's JSON, or the short form "<id>:<step>". nullopt for
// anything else (another app's button).
std::optional<ButtonValue> parse_button_value(std::string_view value);

// The card for one step: a section with the text (escaped mrkdwn), a
// context line naming the approvers (`approver_mentions` are already
// formatted: "<@U123>" or an escaped email), and the Approve / Deny buttons.
nlohmann::json approval_card_blocks(std::string_view card_text, std::size_t step, std::string_view request_id,
                                    const std::vector<std::string>& approver_mentions);

// A decided card: the text as a section, no buttons.
nlohmann::json decided_card_blocks(std::string_view text);

// The top-level `text`: what notifications and screen readers show.
std::string fallback_text(std::string_view text);

}  // namespace portcullis::connectors::slack
