// `portcullis audit verify --db PATH`: recompute the evidence hash chain.
// `portcullis audit export --db PATH --request ID`: one request's evidence.

#include <iostream>

#include "runtime/audit_export.hpp"
#include "runtime/audit_verify.hpp"
#include "tools/cli/commands.hpp"

namespace portcullis::cli {

void add_audit_command(CLI::App& app, int& exit_code) {
  auto* audit = app.add_subcommand("audit", "Verify or export the evidence audit log");
  audit->require_subcommand(1);
  auto args = std::make_shared<runtime::AuditVerifyArgs>();
  auto head = std::make_shared<std::string>();
  auto format = std::make_shared<std::string>("text");
  auto* verify = audit->add_subcommand("verify", "Recompute the hash chain and name the first broken entry");
  verify->description(
      "Recompute the audit log's hash chain (each entry holds the hash of the previous one) and name the first\n"
      "broken entry. With --head SEQ:HASH (as printed by an earlier run and kept off the machine), also check that\n"
      "the chain still reaches that entry unchanged.\n"
      "Exit status: 0 the chain verifies, 1 it is broken, 2 usage error or unreadable database.");
  verify->add_option("--db", args->db, "The daemon's SQLite database")->required();
  verify->add_option("--head", *head, "A head kept elsewhere, SEQ:HASH");
  verify->add_option("--format", *format, "Output format: text or json")->check(CLI::IsMember({"text", "json"}));
  verify->callback([args, head, format, &exit_code] {
    if (!head->empty()) args->head = *head;
    args->json = *format == "json";
    exit_code = runtime::run_audit_verify(*args, std::cout, std::cerr);
  });

  auto export_args = std::make_shared<runtime::AuditExportArgs>();
  auto export_format = std::make_shared<std::string>("json");
  auto* exporter = audit->add_subcommand("export", "Print the whole evidence chain of one request");
  exporter->description(
      "Print everything the database holds about one request: who asked, when, for what and why, the plan, who\n"
      "approved each step and when, each group membership change, refusals, how it ended, and every audit entry\n"
      "with its hash, checked against the chain. The database is opened read-only.\n"
      "Exit status: 0 exported, 1 no such request, 2 usage error or unreadable database.");
  exporter->add_option("--db", export_args->db, "The daemon's SQLite database")->required();
  exporter->add_option("--request", export_args->request_id, "The request id")->required();
  exporter->add_option("--format", *export_format, "Output format: json or markdown")
      ->check(CLI::IsMember({"json", "markdown"}));
  exporter->callback([export_args, export_format, &exit_code] {
    export_args->format = *export_format == "markdown" ? runtime::AuditExportArgs::Format::markdown
                                                       : runtime::AuditExportArgs::Format::json;
    exit_code = runtime::run_audit_export(*export_args, std::cout, std::cerr);
  });
}

}  // namespace portcullis::cli
