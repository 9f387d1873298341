// `portcullis audit verify --db PATH`: recompute the evidence hash chain.

#include <iostream>

#include "runtime/audit_verify.hpp"
#include "tools/cli/commands.hpp"

namespace portcullis::cli {

void add_audit_command(CLI::App& app, int& exit_code) {
  auto* audit = app.add_subcommand("audit", "Verify the evidence audit log");
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
}

}  // namespace portcullis::cli
