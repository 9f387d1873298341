#pragma once
// Machine-readable renderings of diagnostics: a plain JSON report and SARIF
// 2.1.0, the format GitHub code scanning reads to show findings inline on a
// pull request.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "dsl/diagnostics.hpp"

namespace portcullis::dsl {

// {"files": [...], "errors": N, "warnings": M, "diagnostics": [...]} where
// each diagnostic has code, name, severity, file, line, column, end_line,
// end_column, message, notes [{file, line, column, message}] and help.
nlohmann::json diagnostics_to_json(const std::vector<std::string>& files, const Diagnostics& diagnostics);

// A SARIF 2.1.0 log with one run. Every code is declared as a rule (so the
// rule list is stable across runs); file URIs are relative to the current
// directory, as code scanning expects for paths inside the repository.
nlohmann::json diagnostics_to_sarif(const Diagnostics& diagnostics, const std::string& tool_version);

}  // namespace portcullis::dsl
