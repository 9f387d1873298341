// `portcullis serve`: the daemon. Runs until SIGTERM or SIGINT, then stops
// gracefully (see runtime/daemon.hpp for the order).

#include <csignal>
#include <iostream>
#include <pthread.h>

#include "runtime/daemon.hpp"
#include "runtime/logging.hpp"
#include "tools/cli/commands.hpp"

namespace portcullis::cli {

namespace {

struct ServeArgs {
  runtime::DaemonOptions daemon;
  std::string directory;
  std::string log_format = "text";
  std::string log_level = "info";
  std::string synchronous = "full";
};

int run_serve(ServeArgs& args) {
  runtime::LogOptions log;
  log.format = args.log_format == "json" ? runtime::LogOptions::Format::json : runtime::LogOptions::Format::text;
  log.level = args.log_level;
  if (auto ok = runtime::setup_logging(log); !ok) {
    std::cerr << "portcullis serve: --log-level: " << ok.error().message << "\n";
    return kExitUsage;
  }
  if (!args.directory.empty()) args.daemon.directory_path = args.directory;
  args.daemon.synchronous = args.synchronous == "normal" ? runtime::SqliteOptions::Synchronous::normal
                                                         : runtime::SqliteOptions::Synchronous::full;

  // Block the stop signals in every thread the daemon starts; this thread
  // then waits for them with sigwait().
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  auto daemon = runtime::Daemon::start(args.daemon);
  if (!daemon) {
    std::cerr << "portcullis serve: " << daemon.error().message << "\n";
    return daemon.error().code == runtime::ErrorCode::invalid ? kExitFindings : kExitUsage;
  }
  const auto address = runtime::parse_listen_address(args.daemon.listen);
  std::cout << "portcullis: serving on http://" << address->first << ":" << (*daemon)->port()
            << " (policy " << args.daemon.policy_path << ", database " << args.daemon.db_path << ")" << std::endl;
  int signal = 0;
  sigwait(&stop_signals, &signal);
  runtime::log_event(runtime::LogLevel::info, "stopping", {{"signal", signal == SIGTERM ? "SIGTERM" : "SIGINT"}});
  (*daemon)->stop();
  runtime::log_event(runtime::LogLevel::info, "stopped");
  return kExitOk;
}

}  // namespace

void add_serve_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<ServeArgs>();
  auto* serve = app.add_subcommand("serve", "Run the daemon: take access requests and carry them out");
  serve->description(
      "Run the daemon: the HTTP API under /v1, the timers (expiry, reminders, escalations) and the effect\n"
      "executor. State lives in one SQLite database (WAL); the sandbox connectors keep their data in a file\n"
      "next to it (DB-sandbox). Stops gracefully on SIGTERM or SIGINT. See docs/api.md and docs/storage.md.\n"
      "Exit status: 0 stopped cleanly, 1 the policy or a configuration file is invalid, 2 usage or I/O error.");
  serve->add_option("--policy", args->daemon.policy_path, "The policy file (its imports are followed)")->required();
  serve->add_option("--db", args->daemon.db_path, "The SQLite database (created when absent)")->required();
  serve->add_option("--listen", args->daemon.listen, "ADDR:PORT to listen on")->default_str("127.0.0.1:8080");
  serve->add_option("--principals", args->daemon.principals_path,
                    "JSON file mapping API token hashes to principals (see `portcullis token new`)")
      ->required();
  serve->add_option("--directory", args->directory,
                    "Directory JSON (people, managers, groups) loaded into the sandbox directory at start");
  serve->add_option("--log-format", args->log_format, "text or json (JSON lines)")
      ->check(CLI::IsMember({"text", "json"}));
  serve->add_option("--log-level", args->log_level, "trace, debug, info, warn, error")->default_str("info");
  serve->add_option("--synchronous", args->synchronous,
                    "SQLite durability: full (survives power loss; default) or normal (survives a crash)")
      ->check(CLI::IsMember({"full", "normal"}));
  serve->add_option("--workers", args->daemon.worker_threads, "Threads that run API handlers")->default_str("64");
  serve->callback([args, &exit_code] { exit_code = run_serve(*args); });
}

}  // namespace portcullis::cli
