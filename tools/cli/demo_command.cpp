// `portcullis demo`: the whole daemon in this process, on the acme example
// with sandbox providers, driven through its HTTP API by a scripted cast of
// acme people (see demo_scenario.hpp and docs/demo.md). Exit status: 0 every
// scripted step turned out as expected, 1 one did not (or the daemon did
// not start), 2 usage or I/O error.

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>

#include <nlohmann/json.hpp>

#include "runtime/audit_verify.hpp"
#include "runtime/clock.hpp"
#include "runtime/daemon.hpp"
#include "runtime/logging.hpp"
#include "runtime/principals.hpp"
#include "runtime/sqlite_store.hpp"
#include "tools/cli/commands.hpp"
#include "tools/cli/demo_scenario.hpp"

namespace portcullis::cli {
namespace {

namespace fs = std::filesystem;
namespace rt = runtime;

struct DemoOptions {
  std::string db;
  std::string policy = "examples/acme/acme.policy";
  std::string directory = "examples/acme/directory.json";
  std::string listen = "127.0.0.1:0";
  bool keep_serving = false;
  double time_scale = 1.0;
};

bool path_exists(const fs::path& path) {
  std::error_code ec;
  // symlink_status: a dangling link is still something we must not replace.
  return fs::exists(fs::symlink_status(path, ec));
}

// The database path to use: --db (which must not exist yet: a demo never
// reuses an earlier run's state), or a fresh directory under the system
// temp dir. nullopt after printing why.
std::optional<std::string> choose_database(const DemoOptions& options) {
  if (options.db.empty()) {
    std::string pattern = (fs::temp_directory_path() / "portcullis-demo-XXXXXX").string();
    if (!mkdtemp(pattern.data())) {
      std::cerr << "portcullis demo: cannot create a directory under " << fs::temp_directory_path().string() << "\n";
      return std::nullopt;
    }
    return (fs::path(pattern) / "demo.db").string();
  }
  if (path_exists(options.db)) {
    std::cerr << "portcullis demo: --db " << options.db
              << " already exists; the demo starts from an empty database every time (give a new path, or leave "
                 "--db out for a fresh temporary one)\n";
    return std::nullopt;
  }
  const fs::path parent = fs::path(options.db).parent_path();
  std::error_code ec;
  if (!parent.empty() && !fs::is_directory(parent, ec)) {
    std::cerr << "portcullis demo: --db " << options.db << ": the directory " << parent.string()
              << " does not exist\n";
    return std::nullopt;
  }
  return options.db;
}

// Writes the principals file (token hashes only, next to the database) and
// returns the tokens, which stay in memory. nullopt after printing why.
std::optional<std::map<std::string, std::string>> write_principals(const std::string& path) {
  std::map<std::string, std::string> tokens;
  nlohmann::json principals = nlohmann::json::array();
  for (const auto& person : demo::demo_people()) {
    const rt::NewToken token = rt::make_token();
    tokens[person.email] = token.token;
    nlohmann::json entry = {{"name", person.email}, {"token_sha256", token.sha256}};
    if (person.admin) entry["admin"] = true;
    principals.push_back(std::move(entry));
  }
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << nlohmann::json{{"principals", principals}}.dump(2) << "\n";
    if (!out.flush()) {
      std::cerr << "portcullis demo: cannot write the principals file " << path << "\n";
      return std::nullopt;
    }
  }
  std::error_code ec;  // hashes only, but nobody else needs to read it
  fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::replace, ec);
  return tokens;
}

// Checks the audit chain twice over: the head the API reports, and the
// database file recomputed from the genesis hash up to that head.
void verify_audit(const demo::ScriptSettings& settings, const std::string& db, demo::ScriptReport& report) {
  std::cout << "\n== audit ==\n";
  std::string error;
  const std::string head_text = demo::read_audit_head(settings, error);
  std::optional<rt::AuditHead> head;
  if (head_text.empty()) {
    report.mismatches.push_back({"audit", "GET /v1/audit/head answers the head", error});
  } else {
    std::cout << "  GET /v1/audit/head (as " << demo::demo_admin() << "): " << head_text << "\n";
    head = rt::parse_audit_head(head_text);
    if (!head) report.mismatches.push_back({"audit", "a head SEQ:HASH", head_text});
  }
  auto verification = rt::verify_sqlite_audit(db, head);
  if (!verification) {
    report.mismatches.push_back({"audit", "the audit chain of " + db + " verifies", verification.error().message});
    std::cout << "  cannot verify " << db << ": " << verification.error().message << "\n";
    report.scenarios.push_back({"audit chain", "not verified", false});
    return;
  }
  if (!verification->ok) {
    report.mismatches.push_back({"audit", "the audit chain of " + db + " verifies",
                                 "entry " + std::to_string(verification->first_bad_seq) + ": " + verification->why});
    std::cout << "  BROKEN at entry " << verification->first_bad_seq << ": " << verification->why << "\n";
    report.scenarios.push_back({"audit chain", "broken", false});
    return;
  }
  std::cout << "  verify_sqlite_audit(" << db << "): " << verification->checked << " entries verified, head "
            << verification->head.seq << ":" << verification->head.hash
            << (head ? " (the chain reaches the API's head)" : "") << "\n";
  report.scenarios.push_back({"audit chain", "verified", head.has_value()});
}

void print_summary(const demo::ScriptReport& report) {
  std::cout << "\n== summary ==\n";
  for (const auto& scenario : report.scenarios) {
    std::cout << "  " << (scenario.ok ? "ok      " : "FAILED  ") << scenario.title << ": " << scenario.final_state
              << "\n";
  }
  if (report.mismatches.empty()) {
    std::cout << "Every scripted step turned out as expected.\n";
    return;
  }
  std::cout << report.mismatches.size() << " step(s) did not turn out as expected:\n";
  for (const auto& m : report.mismatches) {
    std::cout << "  " << m.scenario << ": expected " << m.expected << ", saw " << m.seen << "\n";
  }
}

// The only place tokens are printed: the person asked to keep the daemon
// up to use it by hand, and these tokens die with the demo's database.
void print_serving(const demo::ScriptSettings& settings) {
  std::cout << "\n== serving ==\n"
            << "The daemon keeps running at " << settings.base_url << " until Ctrl-C (SIGINT) or SIGTERM.\n"
            << "Throwaway demo tokens (valid only for this demo database):\n";
  for (const auto& person : demo::demo_people()) {
    std::cout << "  " << person.email << (person.admin ? " (admin)" : "") << "  " << settings.tokens.at(person.email)
              << "\n      " << person.part << "\n";
  }
  std::cout << "Try:\n  curl -H \"Authorization: Bearer <token>\" " << settings.base_url << "/v1/grants\n"
            << std::flush;
}

int run_demo(const DemoOptions& options) {
  const auto address = rt::parse_listen_address(options.listen);
  if (!address || address->first != "127.0.0.1") {
    std::cerr << "portcullis demo: --listen " << options.listen
              << ": expected 127.0.0.1:PORT (the demo hands out throwaway tokens, so it serves loopback only)\n";
    return kExitUsage;
  }
  for (const auto& [flag, path] : {std::pair{"--policy", options.policy}, std::pair{"--directory", options.directory}}) {
    if (!path_exists(path)) {
      std::cerr << "portcullis demo: " << flag << " " << path
                << " not found (run from the repository root, or pass " << flag << ")\n";
      return kExitUsage;
    }
  }
  const auto db = choose_database(options);
  if (!db) return kExitUsage;
  const std::string principals_path = *db + ".principals.json";
  if (path_exists(principals_path)) {
    std::cerr << "portcullis demo: " << principals_path << " already exists; give --db a new path\n";
    return kExitUsage;
  }
  auto tokens = write_principals(principals_path);
  if (!tokens) return kExitUsage;

  // The daemon's own log lines would drown the story; problems still show.
  rt::LogOptions log_options;
  log_options.level = "warn";
  if (auto logging = rt::setup_logging(log_options); !logging) {
    std::cerr << "portcullis demo: " << logging.error().message << "\n";
  }

  // Blocked before any daemon thread exists, so every thread inherits the
  // mask and the signals wait for sigwait() below.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  if (options.keep_serving) pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  rt::DaemonOptions daemon_options;
  daemon_options.policy_path = options.policy;
  daemon_options.db_path = *db;
  daemon_options.listen = options.listen;
  daemon_options.principals_path = principals_path;
  daemon_options.directory_path = options.directory;
  daemon_options.worker_threads = 16;  // a handful of people, one call at a time each
  // Only the demo may speed time up; the daemon proper always runs on the
  // system clock.
  if (options.time_scale != 1.0) daemon_options.clock = std::make_shared<rt::ScaledClock>(options.time_scale);
  auto started = rt::Daemon::start(std::move(daemon_options));
  if (!started) {
    std::cerr << "portcullis demo: the daemon did not start: " << started.error().message << "\n";
    return kExitFindings;
  }
  std::unique_ptr<rt::Daemon> daemon = std::move(*started);

  demo::ScriptSettings settings;
  settings.base_url = "http://127.0.0.1:" + std::to_string(daemon->port());
  settings.tokens = std::move(*tokens);
  settings.sandbox = &daemon->sandbox();
  settings.time_scale = options.time_scale;

  std::cout << "Portcullis demo\n"
            << "  policy      " << options.policy << "\n"
            << "  directory   " << options.directory << "\n"
            << "  database    " << *db << "\n"
            << "  principals  " << principals_path << " (token hashes only)\n"
            << "  daemon      " << settings.base_url << "\n"
            << "  clock       ";
  if (options.time_scale == 1.0) std::cout << "real time\n";
  else std::cout << options.time_scale << "x real time (--time-scale)\n";

  demo::ScriptReport report = demo::run_demo_script(settings, std::cout);
  std::cout << "\n== evidence ==\n";
  demo::print_evidence(settings, report, std::cout);
  verify_audit(settings, *db, report);
  print_summary(report);

  if (options.keep_serving) {
    print_serving(settings);
    int signal_number = 0;
    sigwait(&stop_signals, &signal_number);
    std::cout << "\nStopping (signal " << signal_number << ")...\n";
  }
  daemon->stop();
  std::cout << "The database stays at " << *db << " (check it with `portcullis audit verify --db " << *db << "`).\n";
  return report.mismatches.empty() ? kExitOk : kExitFindings;
}

}  // namespace

void add_demo_command(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<DemoOptions>();
  auto* cmd = app.add_subcommand("demo", "Run the daemon on the acme example and walk through scripted requests");
  cmd->description(
      "Start the daemon in this process on the acme example (sandbox identity providers, a fresh SQLite database),\n"
      "then drive it through its HTTP API as acme people: an automatic grant, a manager approval, a two-step\n"
      "privileged grant that expires, IT triage of an unknown app, a separation-of-duties denial and a refused\n"
      "self-approval. Prints what happened, each request's evidence and the audit verification.\n"
      "Exit status: 0 every step turned out as expected, 1 one did not (or the daemon did not start),\n"
      "2 usage or I/O error.");
  cmd->add_option("--db", options->db,
                  "Database file to create (must not exist; default: a new directory under the system temp dir)");
  cmd->add_option("--policy", options->policy, "Root policy file (the acme example or a copy of it)")
      ->capture_default_str();
  cmd->add_option("--directory", options->directory, "Directory JSON loaded into the sandbox")->capture_default_str();
  cmd->add_option("--listen", options->listen, "127.0.0.1:PORT to serve on (port 0: any free port)")
      ->capture_default_str();
  cmd->add_flag("--keep-serving", options->keep_serving,
                "After the script, keep the daemon running (prints its URL and the demo tokens) until Ctrl-C");
  cmd->add_option("--time-scale", options->time_scale,
                  "Run the demo daemon's clock this many times faster than real time (1 = real time)")
      // Above 10 the 20-second grant would lapse (in under 2 s) before the
      // script can show it active.
      ->check(CLI::Range(1.0, 10.0))
      ->capture_default_str();
  cmd->callback([options, &exit_code] { exit_code = run_demo(*options); });
}

}  // namespace portcullis::cli
