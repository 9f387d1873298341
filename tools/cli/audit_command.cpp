// `portcullis audit verify --db PATH`: recompute the evidence hash chain.
// `portcullis audit export --db PATH --request ID`: one request's evidence;
// `portcullis audit export --db PATH --sample N --out DIR`: a sample of
// closed requests, one file each, and an index.

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
  auto* exporter = audit->add_subcommand("export", "Print the whole evidence chain of one request, or of a sample");
  exporter->description(
      "Print everything the database holds about one request: who asked, when, for what and why, the plan, who\n"
      "approved each step and when, each group membership change, refusals, how it ended, and every audit entry\n"
      "with its hash, checked against the chain. The database is opened read-only.\n"
      "--format html writes one self-contained page (no script, no external resource) an auditor can open or print.\n"
      "Batch mode: --sample N --out DIR writes up to N closed requests (expired, revoked, denied, cancelled,\n"
      "failed; the most recently closed of each outcome in turn) into DIR, one file each, plus DIR/index.<ext>\n"
      "linking them. DIR must be new or empty unless --force.\n"
      "Exit status: 0 exported, 1 no such request, 2 usage error, unreadable database or unusable DIR.");
  exporter->add_option("--db", export_args->db, "The daemon's SQLite database")->required();
  auto* request = exporter->add_option("--request", export_args->request_id, "The request id");
  auto* sample = exporter->add_option("--sample", export_args->sample,
                                      "Batch mode: export up to N closed requests (with --out)")
                     ->check(CLI::Range(std::size_t{1}, std::size_t{100000}));
  auto* out_dir = exporter->add_option("--out", export_args->out_dir,
                                       "Batch mode: the directory to write (created if missing; must be empty)");
  exporter->add_flag("--force", export_args->force,
                     "Batch mode: write into a non-empty --out directory, replacing files of the same name");
  request->excludes(sample)->excludes(out_dir);
  sample->needs(out_dir);
  out_dir->needs(sample);
  exporter->add_option("--format", *export_format, "Output format: json, markdown or html")
      ->check(CLI::IsMember({"json", "markdown", "html"}));
  exporter->callback([export_args, export_format, &exit_code] {
    using Format = runtime::AuditExportArgs::Format;
    export_args->format = *export_format == "markdown" ? Format::markdown
                          : *export_format == "html"   ? Format::html
                                                       : Format::json;
    exit_code = runtime::run_audit_export(*export_args, std::cout, std::cerr);
  });
}

}  // namespace portcullis::cli
