#pragma once
// The approval card: the five things an approver must see, wherever the
// decision is made (CLI, Slack, Jira): who asks, which app and role, for how
// long, who must approve and why, and exactly which groups change.
// Built from the request and its plan; rendered as text or JSON here and as
// Block Kit / ADF by the connectors.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "interpreter/directory.hpp"
#include "interpreter/route.hpp"

namespace portcullis::interpreter {

struct ApprovalCard {
  struct Requester {
    std::string email;
    std::string name;
    std::string title;
    std::string department;
    std::string employment;
    std::string manager;
  };
  struct ApproverLine {
    std::string step;  // "1 of 2"
    std::string who;
    std::string why;
    int quorum = 1;
    std::vector<std::string> people;  // eligible, requester excluded
  };

  Requester requester;
  std::string app;
  std::string app_title;
  std::string role;
  std::string bucket;
  std::string duration;  // "6h" or "permanent"
  std::string justification;
  std::string ticket;
  std::string outcome;   // approval, auto_approved, denied, rejected, triage
  std::string denial;
  std::vector<ApproverLine> approvers;
  std::vector<std::string> changes;  // `add to okta.main group "x"`, or the manual instructions
};

ApprovalCard make_card(const AccessRequest& request, const Plan& plan, const Directory* directory);

// A compact text rendering, one fact per line.
std::string render_card_text(const ApprovalCard& card);
nlohmann::json card_to_json(const ApprovalCard& card);
// The plan's reasons with the policy line behind each.
nlohmann::json reasons_to_json(const Plan& plan);

}  // namespace portcullis::interpreter
