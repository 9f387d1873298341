// Plain text <-> Atlassian Document Format, the rich-text JSON that Jira
// REST v3 takes for descriptions and comments.
#include <string>
#include <string_view>
#include <vector>

#include "connectors/jira/jira.hpp"

namespace portcullis::connectors {
namespace {

using nlohmann::json;

// Jira rejects a text node whose text is empty, so callers only pass
// non-empty text and an empty line yields a paragraph without content.
json paragraph(std::string_view text) {
  json p = {{"type", "paragraph"}};
  if (!text.empty()) p["content"] = json::array({{{"type", "text"}, {"text", std::string(text)}}});
  return p;
}

std::string_view trim_right(std::string_view s) {
  while (!s.empty() && (s.back() == '\r' || s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

constexpr int kMaxDepth = 32;

void flatten(const json& node, std::string& out, int depth, std::string_view line_prefix) {
  if (depth > kMaxDepth) return;
  if (node.is_array()) {
    for (const auto& child : node) flatten(child, out, depth + 1, line_prefix);
    return;
  }
  if (!node.is_object()) return;
  const std::string type = node.contains("type") && node["type"].is_string() ? node["type"].get<std::string>() : "";
  auto child_content = [&](std::string_view prefix) {
    if (node.contains("content")) flatten(node["content"], out, depth + 1, prefix);
  };
  if (type == "text") {
    if (node.contains("text") && node["text"].is_string()) out += node["text"].get<std::string>();
  } else if (type == "hardBreak") {
    out += '\n';
  } else if (type == "mention" || type == "emoji" || type == "status") {
    if (node.contains("attrs") && node["attrs"].is_object()) {
      const auto& attrs = node["attrs"];
      for (const char* name : {"text", "shortName"}) {
        if (attrs.contains(name) && attrs[name].is_string()) {
          out += attrs[name].get<std::string>();
          break;
        }
      }
    }
  } else if (type == "paragraph" || type == "heading" || type == "codeBlock" || type == "blockquote" ||
             type == "panel") {
    if (!out.empty() && out.back() != '\n') out += '\n';
    out += line_prefix;
    child_content({});
    if (!out.empty() && out.back() != '\n') out += '\n';
  } else if (type == "listItem") {
    if (!out.empty() && out.back() != '\n') out += '\n';
    // The item's first paragraph carries the "- "; nested blocks do not.
    const std::size_t before = out.size();
    child_content("- ");
    if (out.size() == before) out += "- \n";
  } else {
    child_content(line_prefix);
  }
}

}  // namespace

nlohmann::json text_to_adf(std::string_view text) {
  json content = json::array();
  json list;  // the bulletList being filled, or null
  auto close_list = [&] {
    if (!list.is_null()) content.push_back(std::move(list));
    list = nullptr;
  };
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t end = std::min(text.find('\n', start), text.size());
    std::string_view raw = text.substr(start, end - start);
    if (raw.ends_with('\r')) raw.remove_suffix(1);
    const std::string_view line = trim_right(raw);
    start = end + 1;
    if (raw.starts_with("- ")) {
      if (list.is_null()) list = {{"type", "bulletList"}, {"content", json::array()}};
      list["content"].push_back({{"type", "listItem"}, {"content", json::array({paragraph(trim_right(raw.substr(2)))})}});
      continue;
    }
    close_list();
    // Blank lines only separate paragraphs; they are not content.
    if (!line.empty()) content.push_back(paragraph(line));
    if (end == text.size()) break;
  }
  close_list();
  return {{"type", "doc"}, {"version", 1}, {"content", std::move(content)}};
}

std::string adf_to_text(const nlohmann::json& adf) {
  if (adf.is_string()) return adf.get<std::string>();
  std::string out;
  flatten(adf, out, 0, {});
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

}  // namespace portcullis::connectors
