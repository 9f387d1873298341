#include "dsl/diagnostic_formats.hpp"

#include <filesystem>
#include <map>

namespace portcullis::dsl {
namespace {

using nlohmann::json;

struct Region {
  std::uint32_t line = 0, column = 0, end_line = 0, end_column = 0;
};

Region region_of(const Span& span) {
  Region region;
  if (!span.valid()) return region;
  region.line = span.line;
  region.column = span.column;
  const auto end = span.file->line_column(span.end > span.begin ? span.end : span.begin + 1);
  region.end_line = end.line;
  region.end_column = end.column;
  return region;
}

std::string severity_word(Severity severity) { return severity == Severity::error ? "error" : "warning"; }

// A path relative to the working directory with forward slashes, or the
// path as given when it lies outside.
std::string relative_uri(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path p = fs::weakly_canonical(path, ec);
  if (ec) return path;
  const fs::path cwd = fs::current_path(ec);
  if (ec) return path;
  const fs::path rel = p.lexically_relative(cwd);
  if (rel.empty() || rel.native().starts_with("..")) return p.generic_string();
  return rel.generic_string();
}

}  // namespace

json diagnostics_to_json(const std::vector<std::string>& files, const Diagnostics& diagnostics) {
  json list = json::array();
  for (const auto& d : diagnostics.items()) {
    const Region r = region_of(d.span);
    json item = {{"code", code_id(d.code)},
                 {"name", code_name(d.code)},
                 {"severity", severity_word(d.severity)},
                 {"file", d.span.valid() ? d.span.file->path() : ""},
                 {"line", r.line},
                 {"column", r.column},
                 {"end_line", r.end_line},
                 {"end_column", r.end_column},
                 {"message", d.message}};
    json notes = json::array();
    for (const auto& note : d.notes) {
      notes.push_back({{"file", note.span.valid() ? note.span.file->path() : ""},
                       {"line", note.span.line},
                       {"column", note.span.column},
                       {"message", note.message}});
    }
    item["notes"] = std::move(notes);
    item["help"] = d.help ? json(*d.help) : json(nullptr);
    list.push_back(std::move(item));
  }
  return {{"files", files},
          {"errors", diagnostics.error_count()},
          {"warnings", diagnostics.warning_count()},
          {"diagnostics", std::move(list)}};
}

json diagnostics_to_sarif(const Diagnostics& diagnostics, const std::string& tool_version) {
  json rules = json::array();
  std::map<Code, std::size_t> rule_index;
  for (Code code : all_codes()) {
    rule_index[code] = rules.size();
    rules.push_back({{"id", code_id(code)},
                     {"name", code_name(code)},
                     {"shortDescription", {{"text", code_summary(code)}}},
                     {"fullDescription", {{"text", code_summary(code)}}},
                     {"help", {{"text", "See docs/diagnostics.md#" + std::string(code_id(code)) + " for an example and the fix."}}},
                     {"defaultConfiguration", {{"level", severity_word(default_severity(code))}}},
                     {"properties", {{"tags", {"policy"}}}}});
  }
  auto location = [](const Span& span) {
    const Region r = region_of(span);
    return json{{"physicalLocation",
                 {{"artifactLocation", {{"uri", relative_uri(span.file->path())}}},
                  {"region",
                   {{"startLine", r.line},
                    {"startColumn", r.column},
                    {"endLine", r.end_line},
                    {"endColumn", r.end_column}}}}}};
  };
  json results = json::array();
  for (const auto& d : diagnostics.items()) {
    std::string text = d.message;
    for (const auto& note : d.notes) {
      text += "\nnote: " + note.message + (note.span.valid() ? " (" + note.span.location() + ")" : "");
    }
    if (d.help) text += "\nhelp: " + *d.help;
    json result = {{"ruleId", code_id(d.code)},
                   {"ruleIndex", rule_index[d.code]},
                   {"level", severity_word(d.severity)},
                   {"message", {{"text", text}}}};
    if (d.span.valid()) {
      result["locations"] = json::array({location(d.span)});
      json related = json::array();
      int id = 1;
      for (const auto& note : d.notes) {
        if (!note.span.valid()) continue;
        json loc = location(note.span);
        loc["id"] = id++;
        loc["message"] = {{"text", note.message}};
        related.push_back(std::move(loc));
      }
      if (!related.empty()) result["relatedLocations"] = std::move(related);
    }
    results.push_back(std::move(result));
  }
  return {{"$schema", "https://json.schemastore.org/sarif-2.1.0.json"},
          {"version", "2.1.0"},
          {"runs",
           json::array({{{"tool",
                           {{"driver",
                             {{"name", "portcullis"},
                              {"semanticVersion", tool_version},
                              {"rules", std::move(rules)}}}}},
                          {"results", std::move(results)}}})}};
}

}  // namespace portcullis::dsl
