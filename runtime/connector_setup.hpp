#pragma once
// Builds the connectors a policy declares: `provider okta|entra|google|scim`,
// `tracker jira` and `chat slack` become the remote connectors of
// connectors/, configured from their settings with every env()/file()
// secret resolved here, at start, and nowhere else.
//
// Contract
// - Secrets: env("NAME") reads the daemon's environment; file("path")
//   reads the file (relative paths from the folder of the policy file that
//   names it) and drops one trailing newline. A missing variable or an
//   unreadable file is an error naming the setting's location, the
//   variable or path, never a value.
// - Sandbox providers, and a sandbox (or absent) tracker or chat, are left
//   to the caller: only the remote ones are built here.
// - Base URLs must be https:// (http:// only for loopback addresses, as the
//   local fakes use); anything else is an error naming the setting.

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "connectors/connector.hpp"
#include "dsl/loader.hpp"
#include "runtime/result.hpp"

namespace portcullis::connectors {
class JiraTracker;
class SlackChat;
struct JiraConfig;
}  // namespace portcullis::connectors

namespace portcullis::runtime {

// Reads an environment variable; nullopt when unset. Tests pass their own.
using EnvReader = std::function<std::optional<std::string>(const std::string& name)>;
std::optional<std::string> read_process_env(const std::string& name);

struct RemoteConnectors {
  // Remote providers by policy name ("okta.main"), ready for ConnectorSet.
  std::map<std::string, std::shared_ptr<connectors::GroupProvider>> providers;
  std::shared_ptr<connectors::JiraTracker> jira;  // null unless `tracker jira`
  std::shared_ptr<connectors::SlackChat> slack;   // null unless `chat slack`
  std::shared_ptr<const connectors::JiraConfig> jira_config;
  std::string jira_webhook_secret;   // empty: the Jira webhook is refused
  std::string slack_signing_secret;  // empty: the Slack webhook is refused
  std::string tracker_kind;          // "jira", "sandbox" or "" (none declared)
  std::string chat_kind;             // "slack", "sandbox" or ""
};

Result<RemoteConnectors> build_remote_connectors(const dsl::Program& program,
                                                 std::shared_ptr<connectors::ConnectorState> state,
                                                 const EnvReader& env = read_process_env,
                                                 const dsl::FileReader& files = dsl::read_file_from_disk);

}  // namespace portcullis::runtime
