// portcullis: access policy as code. One binary, one subcommand per job.

#include <iostream>

#include "tools/cli/commands.hpp"

int main(int argc, char** argv) {
  CLI::App app{"portcullis: access policy as code", "portcullis"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "portcullis 0.1.0");
  app.footer("Run `portcullis <command> --help` for the options of a command.");

  int exit_code = portcullis::cli::kExitOk;
  portcullis::cli::add_check_command(app, exit_code);
  portcullis::cli::add_fmt_command(app, exit_code);
  portcullis::cli::add_test_command(app, exit_code);
  portcullis::cli::add_explain_command(app, exit_code);
  portcullis::cli::add_audit_command(app, exit_code);
  portcullis::cli::add_diff_command(app, exit_code);
  portcullis::cli::add_graph_command(app, exit_code);
  portcullis::cli::add_token_command(app, exit_code);
  portcullis::cli::add_client_commands(app, exit_code);
  portcullis::cli::add_serve_command(app, exit_code);
  portcullis::cli::add_demo_command(app, exit_code);
  portcullis::cli::add_analyze_command(app, exit_code);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return portcullis::cli::kExitUsage;
  }
  return exit_code;
}
