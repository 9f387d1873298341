#pragma once
// The body of `portcullis audit verify --db PATH [--head SEQ:HASH]
// [--format text|json]`, kept here so the CLI only parses arguments.
//
// Opens the database read-only, recomputes the whole hash chain and, when a
// head kept outside the machine is given, checks the chain still reaches
// it. Prints one line (or one JSON object) to `out`, problems opening the
// file to `err`.
//
// Exit status, as the other commands: 0 the chain verifies; 1 the chain is
// broken (the first broken entry is named); 2 usage error or the file
// cannot be read as a Portcullis database.

#include <iosfwd>
#include <optional>
#include <string>

#include "runtime/store.hpp"

namespace portcullis::runtime {

struct AuditVerifyArgs {
  std::string db;
  std::optional<std::string> head;  // "SEQ:HASH", as printed by a previous run
  bool json = false;
};

int run_audit_verify(const AuditVerifyArgs& args, std::ostream& out, std::ostream& err);

// Parses "SEQ:HASH" (HASH: 64 lower-case hex digits).
std::optional<AuditHead> parse_audit_head(const std::string& text);

}  // namespace portcullis::runtime
