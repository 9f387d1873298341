#pragma once
// The webhook receivers: POST /webhooks/slack (interactivity: Approve and
// Deny buttons on approval cards) and POST /webhooks/jira (issues filed in
// Jira, status changes and JSM approval decisions).
//
// Contract
// - No bearer token: each delivery is authenticated by its signature over
//   the raw body (Slack: X-Slack-Signature with the signing secret and a
//   timestamp within 5 minutes; Jira: X-Hub-Signature with the webhook
//   secret). A bad or missing signature is 401 and changes nothing; a
//   receiver whose secret is not configured answers 404.
// - Replays: a Slack action already applied is refused with 409; a Jira
//   delivery whose X-Atlassian-Webhook-Identifier was seen is acknowledged
//   with 200 and not applied again (Jira retries deliveries it thinks
//   failed).
// - The actor is the directory person behind the Slack user or the Jira
//   account (by email, else by the person's `slack_user_id` /
//   `jira_account_id` attribute). Nobody unknown to the directory decides.
// - Decisions go through Engine::act like any other: a refused one (not an
//   eligible approver, the requester, a closed request) is recorded as
//   evidence, answered to Slack as an ephemeral message and commented on
//   the Jira issue.
// - Answers come well within Slack's 3 seconds: the only remote call on the
//   path is the user lookup, cached by the connector.

#include <memory>
#include <string>

#include "runtime/connector_setup.hpp"
#include "runtime/engine.hpp"
#include "runtime/http/message.hpp"

namespace portcullis::runtime {

class Webhooks {
 public:
  Webhooks(Engine& engine, const RemoteConnectors& remote, std::shared_ptr<connectors::ConnectorState> state);

  // Requests under /webhooks/; anything else is 404.
  http::Response handle(const http::Request& request);

 private:
  http::Response slack(const http::Request& request);
  http::Response jira(const http::Request& request);
  // The directory person for an email or an attribute value; empty if none.
  std::string person_for(const std::string& email, const std::string& attribute, const std::string& id) const;

  Engine& engine_;
  const RemoteConnectors& remote_;
  std::shared_ptr<connectors::ConnectorState> state_;
};

}  // namespace portcullis::runtime
