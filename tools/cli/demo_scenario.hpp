#pragma once
// The scripted part of `portcullis demo`: six access requests against the
// acme example, made and decided through the daemon's HTTP API with each
// person's own bearer token, exactly as people and integrations would. The
// sandbox is only read, to show (and check) the group changes the daemon
// made in the stand-in identity providers.
//
// The script checks every outcome it expects and keeps going after a
// mismatch (the scenarios do not depend on each other), so one run reports
// every step that went wrong.

#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "connectors/sandbox/sandbox.hpp"

namespace portcullis::cli::demo {

// One person the script acts as. Each gets a principal (and a token) in the
// demo's principals file.
struct DemoPerson {
  std::string email;
  std::string part;  // what they do in the demo, for the --keep-serving printout
  bool admin = false;
};

// Everyone the script needs, the IT admin (admin: true) included.
const std::vector<DemoPerson>& demo_people();
// The admin principal: reads every request's evidence and the audit head.
const std::string& demo_admin();

struct ScriptSettings {
  std::string base_url;                       // "http://127.0.0.1:PORT"
  std::map<std::string, std::string> tokens;  // email -> bearer token (never printed here)
  const connectors::Sandbox* sandbox = nullptr;
  // The clock's speed-up (--time-scale): only the time spent waiting for
  // the short grant to expire depends on it.
  double time_scale = 1.0;
};

// A step that did not turn out as the script expected.
struct Mismatch {
  std::string scenario;
  std::string expected;
  std::string seen;
};

// A request the script made, for the evidence timelines.
struct ScriptRequest {
  std::string id;
  std::string label;  // "ann.lee@acme.com figma.viewer"
};

struct ScenarioSummary {
  std::string title;
  std::string final_state;  // what was seen at the end ("active", "expired", "refused (409)")
  bool ok = true;
};

struct ScriptReport {
  std::vector<ScenarioSummary> scenarios;
  std::vector<Mismatch> mismatches;
  std::vector<ScriptRequest> requests;
};

// Runs the six scenarios, printing one short line per action to `out`.
ScriptReport run_demo_script(const ScriptSettings& settings, std::ostream& out);

// Prints each request's evidence timeline (GET /v1/requests/{id}, read as
// the admin). Returns false, adding a mismatch, when one cannot be read.
bool print_evidence(const ScriptSettings& settings, ScriptReport& report, std::ostream& out);

// GET /v1/audit/head as the admin: "SEQ:HASH", or an empty string with
// `error` set.
std::string read_audit_head(const ScriptSettings& settings, std::string& error);

}  // namespace portcullis::cli::demo
