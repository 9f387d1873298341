#pragma once
// Shared by the commands that need a compiled policy (test, explain, diff,
// graph): load, check and compile, printing diagnostics on failure; and
// reading the directory file.

#include <optional>
#include <string>

#include "interpreter/directory.hpp"
#include "interpreter/model.hpp"

namespace portcullis::cli {

// Compiles the policy rooted at `path`. On errors prints them to stderr and
// returns null; `exit_code` is set to 1 (invalid policy) or 2 (unreadable).
interpreter::PolicyPtr load_policy_or_report(const std::string& path, int& exit_code);

// Reads a directory JSON file; on failure prints why and returns nullopt.
std::optional<interpreter::Directory> load_directory_or_report(const std::string& path);

}  // namespace portcullis::cli
