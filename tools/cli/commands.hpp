#pragma once
// The subcommands of the `portcullis` binary. Each add_*_command registers
// its subcommand on `app`; when it runs, it stores its exit status in
// `exit_code`.
//
// Exit statuses follow the conventions of policy tools such as opa and
// terraform: 0 success, 1 the policy has errors (or fmt --check found
// unformatted files), 2 usage or I/O error. Commands that judge changes
// (diff) use 3 for "needs review".

#include <CLI/CLI.hpp>

namespace portcullis::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFindings = 1;
inline constexpr int kExitUsage = 2;

void add_check_command(CLI::App& app, int& exit_code);
void add_fmt_command(CLI::App& app, int& exit_code);
void add_test_command(CLI::App& app, int& exit_code);
void add_explain_command(CLI::App& app, int& exit_code);
void add_audit_command(CLI::App& app, int& exit_code);
void add_diff_command(CLI::App&, int&);
void add_graph_command(CLI::App&, int&);
// `token new|hash`: API tokens for the daemon's principals file.
void add_token_command(CLI::App& app, int& exit_code);
// The verbs that talk to a running daemon (request, approve, deny, cancel,
// revoke, renew, confirm, triage, status). Their exit statuses: 0 success,
// 1 the daemon refused, 2 usage error, no token or no daemon to reach.
void add_client_commands(CLI::App& app, int& exit_code);
void add_serve_command(CLI::App& app, int& exit_code);
// `demo`: the daemon in-process on the acme example, driven by a script.
void add_demo_command(CLI::App& app, int& exit_code);
// `analyze`: diagnostics over a history of access tickets (tools/analyze/).
void add_analyze_command(CLI::App& app, int& exit_code);

}  // namespace portcullis::cli
