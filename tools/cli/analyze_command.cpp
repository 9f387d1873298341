// `portcullis analyze --policy FILE [--tickets FILE]... [--db PATH]
// [--format text|json|html] [--now ISO8601]`: what a history of access
// tickets and the daemon's record say about a policy (tools/analyze/).

#include <chrono>
#include <iostream>
#include <optional>

#include "tools/analyze/analysis.hpp"
#include "tools/analyze/daemon_record.hpp"
#include "tools/analyze/render.hpp"
#include "tools/analyze/tickets.hpp"
#include "tools/cli/commands.hpp"
#include "tools/cli/policy_loading.hpp"

namespace portcullis::cli {

namespace {

struct AnalyzeOptions {
  std::string policy;
  std::vector<std::string> tickets;
  std::string db;
  std::string format = "text";
  std::string now;
  analyze::TicketColumns columns;
};

int run_analyze(const AnalyzeOptions& opts) {
  analyze::Time now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  if (!opts.now.empty()) {
    auto parsed = analyze::parse_ticket_time(opts.now);
    if (!parsed) {
      std::cerr << "portcullis: --now: cannot read \"" << opts.now << "\" as an ISO 8601 time\n";
      return kExitUsage;
    }
    now = *parsed;
  }
  if (opts.tickets.empty() && opts.db.empty()) {
    std::cerr << "portcullis: analyze needs a history: --tickets FILE and/or --db PATH\n";
    return kExitUsage;
  }
  int exit_code = kExitOk;
  auto policy = load_policy_or_report(opts.policy, exit_code);
  if (!policy) return exit_code;

  std::vector<analyze::Ticket> tickets;
  for (const auto& path : opts.tickets) {
    auto read = analyze::read_ticket_file(path, opts.columns);
    if (auto* e = std::get_if<analyze::TicketError>(&read)) {
      std::cerr << "portcullis: " << e->render() << "\n";
      return kExitUsage;
    }
    auto& more = std::get<std::vector<analyze::Ticket>>(read);
    tickets.insert(tickets.end(), std::make_move_iterator(more.begin()), std::make_move_iterator(more.end()));
  }
  std::optional<std::vector<interpreter::RequestState>> daemon;
  if (!opts.db.empty()) {
    auto states = analyze::read_daemon_requests(opts.db);
    if (!states) {
      std::cerr << "portcullis: " << opts.db << ": " << states.error().message << "\n";
      return kExitUsage;
    }
    daemon = std::move(*states);
  }
  const auto analysis = analyze::analyze(*policy, tickets, daemon, now);
  if (opts.format == "json") {
    std::cout << analyze::analysis_json(analysis).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else if (opts.format == "html") {
    std::cout << analyze::render_html(analysis);
  } else {
    std::cout << analyze::render_text(analysis);
  }
  return kExitOk;
}

}  // namespace

void add_analyze_command(CLI::App& app, int& exit_code) {
  auto opts = std::make_shared<AnalyzeOptions>();
  auto* cmd = app.add_subcommand("analyze", "Diagnose a history of access tickets against the policy");
  cmd->description(
      "Read a history of access tickets (Jira CSV exports, JSON exports) and/or the daemon's database, map each\n"
      "request to a bucket through the policy, and report: the share of requests per bucket, flags (routine over\n"
      "60%: automation opportunity; privileged without expiry over 20%: standing privilege), group-mapped apps\n"
      "with more than 10 requests a month (automate first), manual roles requested, the top 20 apps, and from\n"
      "the database (opened read-only) the share fully automated, time to access by bucket and the approvals\n"
      "waiting longest. --format html writes one self-contained page with inline SVG charts.\n"
      "Exit status: 0 reported, 1 invalid policy, 2 usage error or unreadable input (file:line:col).");
  cmd->add_option("--policy", opts->policy, "The root policy file")->required();
  cmd->add_option("--tickets", opts->tickets, "A ticket export: FILE.csv (Jira) or FILE.json; repeatable");
  cmd->add_option("--db", opts->db, "The daemon's SQLite database (read-only)");
  cmd->add_option("--format", opts->format, "Output format: text, json or html")
      ->check(CLI::IsMember({"text", "json", "html"}));
  cmd->add_option("--now", opts->now, "The time to measure waiting from (ISO 8601; default: now)");
  cmd->add_option("--app-column", opts->columns.app, "CSV column holding the app (default \"App\")");
  cmd->add_option("--role-column", opts->columns.role, "CSV column holding the role (default \"Role\")");
  cmd->callback([opts, &exit_code] { exit_code = run_analyze(*opts); });
}

}  // namespace portcullis::cli
