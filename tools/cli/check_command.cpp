// `portcullis check PATH...`: lint policy files as CI does.

#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "dsl/checker.hpp"
#include "dsl/diagnostic_formats.hpp"
#include "tools/cli/commands.hpp"

namespace portcullis::cli {
namespace {

struct CheckOptions {
  std::vector<std::string> paths;
  std::string format = "text";
  std::string color = "auto";
  bool strict = false;
  bool quiet = false;
};

int run_check(const CheckOptions& options) {
  const auto expanded = dsl::expand_policy_paths(options.paths);
  for (const auto& missing : expanded.missing) {
    std::cerr << "portcullis check: " << missing << ": no such file or directory\n";
  }
  if (expanded.files.empty() && expanded.missing.empty()) {
    std::cerr << "portcullis check: no .policy files found in the given paths\n";
    return kExitUsage;
  }
  dsl::CheckRun run = dsl::check_files(expanded.files);
  for (const auto& path : run.unreadable) std::cerr << "portcullis check: " << path << ": cannot read file\n";

  if (options.format == "json") {
    std::cout << dsl::diagnostics_to_json(run.files, run.diagnostics).dump(2) << "\n";
  } else if (options.format == "sarif") {
    std::cout << dsl::diagnostics_to_sarif(run.diagnostics, "0.1.0").dump(2) << "\n";
  } else {
    const bool color = options.color == "always" || (options.color == "auto" && isatty(STDOUT_FILENO));
    for (const auto& d : run.diagnostics.items()) std::cout << dsl::render_text(d, color) << "\n";
    if (!options.quiet || run.diagnostics.error_count() > 0 || run.diagnostics.warning_count() > 0) {
      const auto errors = run.diagnostics.error_count();
      const auto warnings = run.diagnostics.warning_count();
      std::cout << "checked " << run.files.size() << (run.files.size() == 1 ? " file" : " files") << ": " << errors
                << (errors == 1 ? " error" : " errors") << ", " << warnings << (warnings == 1 ? " warning" : " warnings")
                << "\n";
    }
  }
  if (!expanded.missing.empty() || !run.unreadable.empty()) return kExitUsage;
  if (run.diagnostics.has_errors()) return kExitFindings;
  if (options.strict && run.diagnostics.warning_count() > 0) return kExitFindings;
  return kExitOk;
}

}  // namespace

void add_check_command(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<CheckOptions>();
  auto* cmd = app.add_subcommand("check", "Check policy files for syntax and meaning errors");
  cmd->description(
      "Check policy files for syntax and meaning errors.\n"
      "Each file is checked together with the files it imports. Directories are searched for *.policy files.\n"
      "Exit status: 0 clean, 1 errors found (or warnings with --strict), 2 usage or I/O error.");
  cmd->add_option("paths", options->paths, "Policy files or directories")->required();
  cmd->add_option("--format", options->format, "Output format: text, json or sarif (SARIF 2.1.0 for code scanning)")
      ->check(CLI::IsMember({"text", "json", "sarif"}));
  cmd->add_flag("--strict", options->strict, "Fail on warnings too");
  cmd->add_option("--color", options->color, "Colour text output: auto, always or never")
      ->check(CLI::IsMember({"auto", "always", "never"}));
  cmd->add_flag("-q,--quiet", options->quiet, "Print nothing when there is nothing to report");
  cmd->callback([options, &exit_code] { exit_code = run_check(*options); });
}

}  // namespace portcullis::cli
