// `portcullis explain POLICY --requester EMAIL --app APP --role ROLE`: what
// the policy decides for one request, and the policy lines behind it.

#include <chrono>
#include <iostream>

#include "interpreter/approval_card.hpp"
#include "interpreter/route.hpp"
#include "tools/cli/commands.hpp"
#include "tools/cli/policy_loading.hpp"

namespace portcullis::cli {
namespace {

struct ExplainOptions {
  std::string policy;
  std::string requester;
  std::string app;
  std::string role;
  std::string duration;
  bool permanent = false;
  std::string reason;
  std::string ticket;
  std::vector<std::string> attributes;
  std::vector<std::string> grants;
  std::string directory;
  std::string format = "text";
};

int run_explain(const ExplainOptions& options) {
  int exit_code = kExitOk;
  auto policy = load_policy_or_report(options.policy, exit_code);
  if (!policy) return exit_code;

  interpreter::Directory directory;
  if (!options.directory.empty()) {
    auto loaded = load_directory_or_report(options.directory);
    if (!loaded) return kExitUsage;
    directory = std::move(*loaded);
  }
  if (!directory.find(options.requester)) directory.set_attribute(options.requester, "name", "");
  for (const auto& attribute : options.attributes) {
    const auto eq = attribute.find('=');
    if (eq == std::string::npos || eq == 0) {
      std::cerr << "portcullis explain: --attr " << attribute << ": expected key=value\n";
      return kExitUsage;
    }
    directory.set_attribute(options.requester, attribute.substr(0, eq), attribute.substr(eq + 1));
  }

  interpreter::AccessRequest request;
  request.requester = options.requester;
  request.app = options.app;
  request.role = options.role;
  request.justification = options.reason;
  request.ticket = options.ticket;
  request.permanent = options.permanent;
  if (!options.duration.empty()) {
    const auto seconds = dsl::ast::parse_duration(options.duration);
    if (!seconds || *seconds == 0) {
      std::cerr << "portcullis explain: --duration " << options.duration
                << ": expected a duration such as 6h, 30d or 1h30m\n";
      return kExitUsage;
    }
    request.duration = *seconds;
  }
  interpreter::Facts facts;
  facts.directory = &directory;
  for (const auto& grant : options.grants) {
    const auto dot = grant.find('.');
    if (dot == std::string::npos) {
      std::cerr << "portcullis explain: --grant " << grant << ": expected app.role\n";
      return kExitUsage;
    }
    facts.current_grants.emplace_back(grant.substr(0, dot), grant.substr(dot + 1));
  }
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
  const interpreter::Plan plan = interpreter::resolve(*policy, request, facts, now.count());
  const interpreter::ApprovalCard card = interpreter::make_card(request, plan, &directory);

  if (options.format == "json") {
    nlohmann::json out = {{"card", interpreter::card_to_json(card)}, {"reasons", interpreter::reasons_to_json(plan)}};
    std::cout << out.dump(2) << "\n";
    return kExitOk;
  }
  std::cout << interpreter::render_card_text(card) << "\nWhy:\n";
  for (const auto& reason : plan.reasons) {
    std::cout << "  " << (reason.span.valid() ? reason.span.location() : std::string("(catalog)")) << "  " << reason.text
              << "\n";
  }
  return kExitOk;
}

}  // namespace

void add_explain_command(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<ExplainOptions>();
  auto* cmd = app.add_subcommand("explain", "Show what the policy decides for one request, and why");
  cmd->description(
      "Resolve one access request against a policy and print its approval card (who asks, which app and role, for\n"
      "how long, who must approve and why, which groups change) and the policy lines behind the decision.\n"
      "Exit status: 0 explained, 1 the policy has errors, 2 usage or I/O error.");
  cmd->add_option("policy", options->policy, "The root policy file")->required();
  cmd->add_option("--requester", options->requester, "Email of the person asking")->required();
  cmd->add_option("--app", options->app, "App name in the catalog")->required();
  cmd->add_option("--role", options->role, "Role of the app")->required();
  auto* duration = cmd->add_option("--duration", options->duration, "Requested duration, such as 6h or 30d");
  cmd->add_flag("--permanent", options->permanent, "Ask for access without expiry")->excludes(duration);
  cmd->add_option("--reason", options->reason, "Justification");
  cmd->add_option("--ticket", options->ticket, "Ticket reference");
  cmd->add_option("--attr", options->attributes, "Requester attribute key=value (repeatable), overriding the directory");
  cmd->add_option("--grant", options->grants, "A role the requester already holds, app.role (repeatable)");
  cmd->add_option("--directory", options->directory, "Directory JSON (people, managers, groups)");
  cmd->add_option("--format", options->format, "Output format: text or json")->check(CLI::IsMember({"text", "json"}));
  cmd->callback([options, &exit_code] { exit_code = run_explain(*options); });
}

}  // namespace portcullis::cli
