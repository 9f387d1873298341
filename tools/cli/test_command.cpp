// `portcullis test PATH...`: run the test blocks of policy files.

#include <iostream>
#include <set>

#include "dsl/loader.hpp"
#include "interpreter/test_runner.hpp"
#include "tools/cli/commands.hpp"
#include "tools/cli/policy_loading.hpp"

namespace portcullis::cli {
namespace {

struct TestOptions {
  std::vector<std::string> paths;
  std::string directory;
  std::string filter;
  std::string format = "text";
  bool coverage = false;
  bool verbose = false;
};

int run_test(const TestOptions& options) {
  const auto expanded = dsl::expand_policy_paths(options.paths);
  for (const auto& missing : expanded.missing) std::cerr << "portcullis test: " << missing << ": no such file or directory\n";
  if (!expanded.missing.empty()) return kExitUsage;
  if (expanded.files.empty()) {
    std::cerr << "portcullis test: no .policy files found in the given paths\n";
    return kExitUsage;
  }
  std::optional<interpreter::Directory> directory;
  if (!options.directory.empty()) {
    directory = load_directory_or_report(options.directory);
    if (!directory) return kExitUsage;
  }

  int exit_code = kExitOk;
  std::size_t passed = 0, failed = 0;
  std::set<std::string> all_roles, touched;
  nlohmann::json json_files = nlohmann::json::array();
  for (const auto& path : expanded.files) {
    int load_status = kExitOk;
    auto policy = load_policy_or_report(path, load_status);
    if (!policy) {
      exit_code = std::max(exit_code, load_status);
      continue;
    }
    interpreter::TestOptions test_options;
    test_options.base = directory ? &*directory : nullptr;
    test_options.filter = options.filter;
    test_options.only = policy->sources().front().get();
    const auto report = interpreter::run_tests(*policy, test_options);
    // A role is untested only when no file's tests request it.
    const std::set<std::string> untested_here(report.coverage.untested_roles.begin(),
                                              report.coverage.untested_roles.end());
    for (const auto& [name, app] : policy->apps()) {
      for (const auto& role : app.roles) {
        all_roles.insert(role.qualified());
        if (!untested_here.count(role.qualified())) touched.insert(role.qualified());
      }
    }
    if (report.results.empty()) continue;
    nlohmann::json json_tests = nlohmann::json::array();
    if (options.format == "text") std::cout << path << "\n";
    for (const auto& result : report.results) {
      nlohmann::json failures = nlohmann::json::array();
      if (result.passed()) {
        ++passed;
        if (options.format == "text") std::cout << "  ok    " << result.name << "\n";
      } else {
        ++failed;
        if (options.format == "text") std::cout << "  FAIL  " << result.name << "\n";
        for (const auto& f : result.failures) {
          if (options.format == "text") {
            std::cout << "        " << f.span.location() << ": expected " << f.expected << ", got " << f.actual << "\n";
          }
          failures.push_back({{"file", f.span.valid() ? f.span.file->path() : ""},
                              {"line", f.span.line},
                              {"column", f.span.column},
                              {"expected", f.expected},
                              {"actual", f.actual}});
        }
      }
      json_tests.push_back({{"name", result.name},
                            {"line", result.span.line},
                            {"passed", result.passed()},
                            {"failures", std::move(failures)}});
    }
    json_files.push_back({{"file", path}, {"tests", std::move(json_tests)}});
  }
  std::vector<std::string> untested;
  for (const auto& role : all_roles) {
    if (!touched.count(role)) untested.push_back(role);
  }
  if (options.format == "json") {
    nlohmann::json out = {{"files", std::move(json_files)}, {"passed", passed}, {"failed", failed}};
    if (options.coverage) out["untested_roles"] = untested;
    std::cout << out.dump(2) << "\n";
  } else {
    if (options.coverage) {
      std::cout << "coverage: " << (all_roles.size() - untested.size()) << " of " << all_roles.size()
                << " roles requested by a test\n";
      for (const auto& role : untested) std::cout << "  untested: " << role << "\n";
    }
    std::cout << passed << " passed, " << failed << " failed\n";
  }
  if (failed > 0) exit_code = std::max(exit_code, kExitFindings);
  return exit_code;
}

}  // namespace

void add_test_command(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<TestOptions>();
  auto* cmd = app.add_subcommand("test", "Run the test blocks of policy files");
  cmd->description(
      "Run the test blocks of policy files against the real resolver and state machine, with virtual time.\n"
      "Each file runs the tests written in it (with everything it imports). Directories are searched for *.policy.\n"
      "Exit status: 0 all passed, 1 a test failed or a policy has errors, 2 usage or I/O error.");
  cmd->add_option("paths", options->paths, "Policy files or directories")->required();
  cmd->add_option("--directory", options->directory, "Directory JSON every test starts from (people, managers, groups)");
  cmd->add_option("--run", options->filter, "Run only tests whose name contains this text");
  cmd->add_flag("--coverage", options->coverage, "Report catalog roles that no test requests");
  cmd->add_option("--format", options->format, "Output format: text or json")->check(CLI::IsMember({"text", "json"}));
  cmd->callback([options, &exit_code] { exit_code = run_test(*options); });
}

}  // namespace portcullis::cli
