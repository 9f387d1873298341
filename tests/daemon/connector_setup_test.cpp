// The connectors a policy declares: secrets resolved from the environment
// and files with errors that name the setting but never a value, base URLs
// held to https, and Jira's transitions parsed.
#include <gtest/gtest.h>

#include <map>

#include "connectors/jira/jira.hpp"
#include "connectors/memory_state.hpp"
#include "runtime/connector_setup.hpp"

namespace portcullis::runtime {
namespace {

struct PolicyFixture {
  std::map<std::string, std::string> env;
  std::map<std::string, std::string> files;

  Result<RemoteConnectors> build(const std::string& policy) {
    files["/p/main.policy"] = policy;
    const dsl::FileReader reader = [this](const std::string& path) -> std::optional<std::string> {
      auto it = files.find(path);
      if (it == files.end()) return std::nullopt;
      return it->second;
    };
    auto loaded = dsl::load_program("/p/main.policy", reader);
    EXPECT_EQ(loaded.diagnostics.error_count(), 0u);
    const EnvReader env_reader = [this](const std::string& name) -> std::optional<std::string> {
      auto it = env.find(name);
      if (it == env.end()) return std::nullopt;
      return it->second;
    };
    return build_remote_connectors(loaded.program, std::make_shared<connectors::MemoryConnectorState>(), env_reader,
                                   reader);
  }
};

TEST(ConnectorSetup, SandboxOnlyPolicyBuildsNothingRemote) {
  PolicyFixture setup;
  auto built = setup.build("provider sandbox \"okta\" {}\ntracker sandbox {}\n");
  ASSERT_TRUE(built.ok()) << built.error().message;
  EXPECT_TRUE(built->providers.empty());
  EXPECT_EQ(built->jira, nullptr);
  EXPECT_EQ(built->tracker_kind, "sandbox");
  EXPECT_EQ(built->chat_kind, "");
}

TEST(ConnectorSetup, MissingEnvironmentVariableNamesTheSettingAndVariable) {
  PolicyFixture setup;
  auto built = setup.build("provider okta \"main\" {\n  url: \"https://acme.okta.com\"\n  token: env(\"OKTA_TOKEN\")\n}\n");
  ASSERT_FALSE(built.ok());
  EXPECT_NE(built.error().message.find("/p/main.policy:3:"), std::string::npos) << built.error().message;
  EXPECT_NE(built.error().message.find("provider okta.main"), std::string::npos) << built.error().message;
  EXPECT_NE(built.error().message.find("OKTA_TOKEN"), std::string::npos) << built.error().message;
}

TEST(ConnectorSetup, SecretsFromEnvironmentAndRelativeFilesBuildProviders) {
  PolicyFixture setup;
  setup.env["OKTA_TOKEN"] = "00abcSecretValue";
  setup.files["/p/secrets/scim-token"] = "scim-secret-value\n";
  auto built = setup.build(
      "provider okta \"main\" {\n  url: \"https://acme.okta.com\"\n  token: env(\"OKTA_TOKEN\")\n}\n"
      "provider scim \"hr\" {\n  url: \"https://hr.example.com/scim/v2\"\n  token: file(\"secrets/scim-token\")\n}\n");
  ASSERT_TRUE(built.ok()) << built.error().message;
  EXPECT_EQ(built->providers.size(), 2u);
  EXPECT_TRUE(built->providers.contains("okta.main"));
  EXPECT_TRUE(built->providers.contains("scim.hr"));
}

TEST(ConnectorSetup, UnreadableSecretFileIsNamedWithoutContents) {
  PolicyFixture setup;
  auto built = setup.build("provider scim \"hr\" {\n  url: \"https://hr.example.com/scim\"\n  token: file(\"/run/none\")\n}\n");
  ASSERT_FALSE(built.ok());
  EXPECT_NE(built.error().message.find("/run/none"), std::string::npos) << built.error().message;
}

TEST(ConnectorSetup, PlainHttpToARemoteHostIsRefused) {
  PolicyFixture setup;
  setup.env["T"] = "secret-token-value";
  auto built = setup.build("provider okta \"main\" {\n  url: \"http://acme.okta.com\"\n  token: env(\"T\")\n}\n");
  ASSERT_FALSE(built.ok());
  EXPECT_NE(built.error().message.find("https://"), std::string::npos) << built.error().message;
  EXPECT_EQ(built.error().message.find("secret-token-value"), std::string::npos);
}

TEST(ConnectorSetup, JiraAndSlackAreBuiltWithTheirWebhookSecrets) {
  PolicyFixture setup;
  setup.env = {{"JU", "bot@acme.com"}, {"JT", "jira-token"}, {"JW", "jira-hook"}, {"ST", "xoxb-1"}, {"SS", "slack-sign"}};
  auto built = setup.build(
      "tracker jira {\n  url: \"https://acme.atlassian.net\"\n  project: \"ACC\"\n  approved_status: \"Approved\"\n"
      "  user: env(\"JU\")\n  token: env(\"JT\")\n  webhook_secret: env(\"JW\")\n"
      "  transitions: [\"approved=Approved\", \"expired=Done\"]\n}\n"
      "chat slack {\n  channel: \"#access\"\n  token: env(\"ST\")\n  signing_secret: env(\"SS\")\n}\n");
  ASSERT_TRUE(built.ok()) << built.error().message;
  ASSERT_NE(built->jira, nullptr);
  ASSERT_NE(built->slack, nullptr);
  EXPECT_EQ(built->jira_webhook_secret, "jira-hook");
  EXPECT_EQ(built->slack_signing_secret, "slack-sign");
  ASSERT_NE(built->jira_config, nullptr);
  EXPECT_EQ(built->jira_config->transitions.at("approved"), "Approved");
  EXPECT_EQ(built->jira_config->transitions.at("expired"), "Done");
  EXPECT_EQ(built->tracker_kind, "jira");
  EXPECT_EQ(built->chat_kind, "slack");
}

}  // namespace
}  // namespace portcullis::runtime
