#include "connectors/slack/block_kit.hpp"

#include <charconv>

namespace portcullis::connectors::slack {
namespace {

// Slack counts characters; counting bytes instead keeps us under the
// limit for any text.
constexpr std::size_t kSectionTextMax = 3000;
constexpr std::size_t kContextTextMax = 2000;
constexpr std::size_t kFallbackTextMax = 39'000;  // Slack truncates at 40,000
constexpr std::size_t kRequestIdMax = 1000;

nlohmann::json mrkdwn(std::string text) { return {{"type", "mrkdwn"}, {"text", std::move(text)}}; }

nlohmann::json button(std::string_view action_id, std::string_view label, std::string_view style,
                      const std::string& value) {
  return {{"type", "button"},
          {"action_id", std::string(action_id)},
          {"text", {{"type", "plain_text"}, {"text", std::string(label)}, {"emoji", false}}},
          {"style", std::string(style)},
          {"value", value}};
}

}  // namespace

std::string escape_mrkdwn(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

std::string truncate_utf8(std::string_view text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) return std::string(text);
  static constexpr std::string_view kEllipsis = "\xE2\x80\xA6";
  if (max_bytes < kEllipsis.size()) return {};
  std::size_t cut = max_bytes - kEllipsis.size();
  // Back up over continuation bytes (10xxxxxx) to the start of a sequence.
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  std::string out(text.substr(0, cut));
  out += kEllipsis;
  return out;
}

std::string button_value(std::string_view request_id, std::size_t step) {
  const nlohmann::json value = {{"request", std::string(request_id.substr(0, kRequestIdMax))}, {"step", step}};
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::optional<ButtonValue> parse_button_value(std::string_view value) {
  if (value.empty()) return std::nullopt;
  if (value.front() == '{') {
    const auto json = nlohmann::json::parse(value, nullptr, /*allow_exceptions=*/false);
    if (!json.is_object()) return std::nullopt;
    const auto request = json.find("request");
    const auto step = json.find("step");
    if (request == json.end() || !request->is_string() || request->get_ref<const std::string&>().empty()) {
      return std::nullopt;
    }
    if (step == json.end() || !step->is_number_unsigned()) return std::nullopt;
    return ButtonValue{request->get<std::string>(), step->get<std::size_t>()};
  }
  const auto colon = value.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == value.size()) return std::nullopt;
  std::size_t step = 0;
  const std::string_view digits = value.substr(colon + 1);
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), step);
  if (ec != std::errc() || ptr != digits.data() + digits.size()) return std::nullopt;
  return ButtonValue{std::string(value.substr(0, colon)), step};
}

nlohmann::json approval_card_blocks(std::string_view card_text, std::size_t step, std::string_view request_id,
                                    const std::vector<std::string>& approver_mentions) {
  nlohmann::json blocks = nlohmann::json::array();
  blocks.push_back({{"type", "section"}, {"text", mrkdwn(truncate_utf8(escape_mrkdwn(card_text), kSectionTextMax))}});
  if (!approver_mentions.empty()) {
    std::string line = approver_mentions.size() == 1 ? "Approver: " : "Approvers: ";
    for (std::size_t i = 0; i < approver_mentions.size(); ++i) {
      if (i > 0) line += ", ";
      line += approver_mentions[i];
    }
    // Cutting could split a "<@U...>" mention; Slack then shows it as text,
    // which is harmless, and only happens with dozens of approvers.
    blocks.push_back({{"type", "context"}, {"elements", nlohmann::json::array({mrkdwn(truncate_utf8(line, kContextTextMax))})}});
  }
  const std::string value = button_value(request_id, step);
  blocks.push_back({{"type", "actions"},
                    {"block_id", "portcullis_decision"},
                    {"elements", nlohmann::json::array({button(kApproveAction, "Approve", "primary", value),
                                                        button(kDenyAction, "Deny", "danger", value)})}});
  return blocks;
}

nlohmann::json decided_card_blocks(std::string_view text) {
  return nlohmann::json::array(
      {{{"type", "section"}, {"text", mrkdwn(truncate_utf8(escape_mrkdwn(text), kSectionTextMax))}}});
}

std::string fallback_text(std::string_view text) { return truncate_utf8(escape_mrkdwn(text), kFallbackTextMax); }

}  // namespace portcullis::connectors::slack
