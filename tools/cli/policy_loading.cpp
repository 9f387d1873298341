#include "tools/cli/policy_loading.hpp"

#include <iostream>

#include "tools/cli/commands.hpp"

namespace portcullis::cli {

interpreter::PolicyPtr load_policy_or_report(const std::string& path, int& exit_code) {
  if (!dsl::read_file_from_disk(path)) {
    std::cerr << "portcullis: " << path << ": cannot read policy file\n";
    exit_code = kExitUsage;
    return nullptr;
  }
  auto compiled = interpreter::load_policy(path, dsl::read_file_from_disk);
  compiled.diagnostics.sort_and_dedupe();
  if (!compiled.policy) {
    for (const auto& d : compiled.diagnostics.items()) std::cerr << dsl::render_text(d) << "\n";
    std::cerr << "portcullis: " << path << " has " << compiled.diagnostics.error_count()
              << " error(s); run `portcullis check " << path << "`\n";
    exit_code = kExitFindings;
    return nullptr;
  }
  return compiled.policy;
}

std::optional<interpreter::Directory> load_directory_or_report(const std::string& path) {
  const auto text = dsl::read_file_from_disk(path);
  if (!text) {
    std::cerr << "portcullis: " << path << ": cannot read directory file\n";
    return std::nullopt;
  }
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(*text);
  } catch (const nlohmann::json::parse_error& e) {
    std::cerr << "portcullis: " << path << ": not valid JSON: " << e.what() << "\n";
    return std::nullopt;
  }
  std::string error;
  auto directory = interpreter::Directory::from_json(json, error);
  if (!directory) std::cerr << "portcullis: " << path << ": " << error << "\n";
  return directory;
}

}  // namespace portcullis::cli
