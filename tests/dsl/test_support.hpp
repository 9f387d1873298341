#pragma once
// Helpers for front-end tests: parse and check policy text held in memory.

#include <map>
#include <string>
#include <vector>

#include "dsl/checker.hpp"
#include "dsl/parser.hpp"

namespace portcullis::dsl::testing {

inline ParseResult parse_text(const std::string& text, const std::string& path = "test.policy") {
  return parse(std::make_shared<SourceFile>(path, text));
}

// Loads and checks `files["main.policy"]` with the other entries of `files`
// available to `import`.
inline CheckRun check_text(const std::map<std::string, std::string>& files) {
  FileReader reader = [files](const std::string& path) -> std::optional<std::string> {
    auto it = files.find(path);
    if (it == files.end()) return std::nullopt;
    return it->second;
  };
  return check_files({"main.policy"}, reader);
}

inline CheckRun check_text(const std::string& main) { return check_text(std::map<std::string, std::string>{{"main.policy", main}}); }

inline std::vector<std::string> codes(const Diagnostics& diagnostics) {
  std::vector<std::string> result;
  for (const auto& d : diagnostics.items()) result.emplace_back(code_id(d.code));
  return result;
}

inline const Diagnostic* find_code(const Diagnostics& diagnostics, Code code) {
  for (const auto& d : diagnostics.items()) {
    if (d.code == code) return &d;
  }
  return nullptr;
}

// A small valid policy that tests extend: one provider, pools, buckets, an
// app whose roles use them.
inline const char* const kBase = R"(
provider sandbox "okta" {}
approvers security = group "security-oncall"
approvers finance = people "fay@acme.com", "fred@acme.com"

bucket routine {
  approve: auto when requester.employment == "full_time" else manager
}
bucket privileged {
  approve: app.owner then security
  expiry: required
  duration: one_of(1h, 6h, 24h) default 1h
}

app figma "Figma" {
  owner: "dana@acme.com"
  bucket: routine
  role viewer { grants: sandbox.okta group "figma-viewers" }
  role admin { grants: sandbox.okta group "figma-admins"; bucket: privileged }
}

app netsuite "NetSuite" {
  owner: finance
  bucket: privileged
  role payment_creator { grants: sandbox.okta group "ns-pay-create" }
  role payment_approver { grants: sandbox.okta group "ns-pay-approve"; approve: 2 of finance }
}

conflict "payments" {
  roles: netsuite.payment_creator, netsuite.payment_approver
  action: deny
}
)";

}  // namespace portcullis::dsl::testing
