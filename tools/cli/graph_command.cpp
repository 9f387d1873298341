// `portcullis graph POLICY APP.ROLE`: the state machine a role's requests
// run through, as Graphviz DOT (`| dot -Tsvg > role.svg`).

#include <iostream>

#include "dsl/suggest.hpp"
#include "interpreter/graph.hpp"
#include "tools/cli/commands.hpp"
#include "tools/cli/policy_loading.hpp"

namespace portcullis::cli {
namespace {

struct GraphOptions {
  std::string policy;
  std::string target;
  bool triage = false;
};

int unknown_target(const interpreter::Policy& policy, const std::string& target) {
  std::vector<std::string> roles;
  for (const auto& [name, app] : policy.apps()) {
    for (const auto& role : app.roles) roles.push_back(role.qualified());
  }
  std::cerr << "portcullis graph: `" << target << "` is not a role in the catalog\n";
  if (auto match = dsl::closest_match(target, roles)) {
    std::cerr << "help: did you mean `" << *match << "`?\n";
  } else {
    const auto dot = target.find('.');
    const interpreter::App* app = policy.find_app(target.substr(0, dot));
    if (app) {
      std::string names;
      for (const auto& role : app->roles) names += (names.empty() ? "" : ", ") + role.name;
      std::cerr << "help: the roles of " << app->name << " are " << names << "\n";
    }
  }
  std::cerr << "help: use --triage to draw the path of a request outside the catalog\n";
  return kExitUsage;
}

int run_graph(const GraphOptions& options) {
  if (options.target.empty() && !options.triage) {
    std::cerr << "portcullis graph: give APP.ROLE, or --triage for a request outside the catalog\n";
    return kExitUsage;
  }
  int exit_code = kExitOk;
  auto policy = load_policy_or_report(options.policy, exit_code);
  if (!policy) return exit_code;

  const interpreter::Role* role = nullptr;
  if (!options.target.empty()) {
    const auto dot = options.target.find('.');
    if (dot != std::string::npos)
      role = policy->find_role(options.target.substr(0, dot), options.target.substr(dot + 1));
    if (!role && !options.triage) return unknown_target(*policy, options.target);
  }
  const interpreter::StateGraph graph =
      role ? interpreter::role_graph(*policy, *role) : interpreter::triage_graph(*policy);
  std::cout << interpreter::to_dot(graph);
  return kExitOk;
}

}  // namespace

void add_graph_command(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<GraphOptions>();
  auto* cmd = app.add_subcommand("graph", "Draw the states a role's requests go through (Graphviz DOT)");
  cmd->description(
      "Print, as Graphviz DOT, the state machine a request for APP.ROLE runs through under the policy: each branch\n"
      "of its route with its condition, each approval step and who decides it, provisioning of its groups or manual\n"
      "fulfilment, the active grant and its expiry, and every way a request ends (denied, cancelled, expired,\n"
      "revoked, failed). Render it with `portcullis graph POLICY APP.ROLE | dot -Tsvg > role.svg`.\n"
      "With --triage, draw the path of a request for an app or role outside the catalog (the `unknown` bucket).\n"
      "Exit status: 0 drawn, 1 the policy has errors, 2 usage or I/O error (including an unknown APP.ROLE).");
  cmd->add_option("policy", options->policy, "The root policy file")->required();
  cmd->add_option("target", options->target, "The role, as APP.ROLE (figma.admin)");
  cmd->add_flag("--triage", options->triage, "Draw the triage path of a request outside the catalog");
  cmd->callback([options, &exit_code] { exit_code = run_graph(*options); });
}

}  // namespace portcullis::cli
