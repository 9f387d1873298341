// `portcullis token new --principal NAME [--admin]`: a new API token and the
// line for the daemon's principals file.
// `portcullis token hash`: the SHA-256 of a token read from standard input.
//
// The daemon stores only token hashes, so a leaked principals file grants
// nothing; `token new` is the one place a token is ever printed.

#include <iostream>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "runtime/principals.hpp"
#include "tools/cli/commands.hpp"

namespace portcullis::cli {
namespace {

struct TokenNewOptions {
  std::string principal;
  bool admin = false;
};

int run_token_new(const TokenNewOptions& options) {
  const runtime::NewToken token = runtime::make_token();
  // ordered_json keeps "name" first, as in the documented file format.
  const nlohmann::ordered_json entry = {
      {"name", options.principal}, {"token_sha256", token.sha256}, {"admin", options.admin}};
  std::cout << token.token << "\n" << entry.dump() << "\n";
  std::cerr << "Line 1 is the token: give it to " << options.principal
            << " over a private channel; it is not shown again.\n"
               "Line 2 goes into the \"principals\" array of the daemon's principals file.\n";
  return kExitOk;
}

int run_token_hash() {
  std::string line;
  if (!std::getline(std::cin, line)) line.clear();
  const auto first = line.find_first_not_of(" \t\r\n");
  const auto last = line.find_last_not_of(" \t\r\n");
  if (first == std::string::npos) {
    std::cerr << "portcullis token hash: expected a token on standard input\n";
    return kExitUsage;
  }
  std::cout << runtime::token_hash(line.substr(first, last - first + 1)) << "\n";
  return kExitOk;
}

}  // namespace

void add_token_command(CLI::App& app, int& exit_code) {
  auto* token = app.add_subcommand("token", "Make API tokens for the daemon's principals file");
  token->require_subcommand(1);

  auto new_options = std::make_shared<TokenNewOptions>();
  auto* make = token->add_subcommand("new", "Print a new random token and its principals-file line");
  make->description(
      "Print a new random API token (line 1) and the JSON line to add to the daemon's principals file (line 2).\n"
      "The file keeps only the token's SHA-256; the token itself is printed once, here.\n"
      "Exit status: 0 success, 2 usage error.");
  make->add_option("--principal", new_options->principal, "Who the token belongs to (an email or integration name)")
      ->required()
      ->check([](const std::string& name) { return name.empty() ? std::string("must not be empty") : std::string(); });
  make->add_flag("--admin", new_options->admin, "The principal may read every request, reload the policy, read metrics");
  make->callback([new_options, &exit_code] { exit_code = run_token_new(*new_options); });

  auto* hash = token->add_subcommand("hash", "Print the SHA-256 of a token read from standard input");
  hash->description(
      "Read one token from standard input (one line) and print its SHA-256, as the principals file stores it.\n"
      "Reading standard input keeps the token off the command line.\n"
      "Exit status: 0 success, 2 no token on standard input.");
  hash->callback([&exit_code] { exit_code = run_token_hash(); });
}

}  // namespace portcullis::cli
