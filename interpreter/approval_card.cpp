#include "interpreter/approval_card.hpp"

namespace portcullis::interpreter {

ApprovalCard make_card(const AccessRequest& request, const Plan& plan, const Directory* directory) {
  ApprovalCard card;
  card.requester.email = request.requester;
  if (const Person* person = directory ? directory->find(request.requester) : nullptr) {
    card.requester.name = person->name;
    card.requester.title = person->title;
    card.requester.department = person->department;
    card.requester.employment = person->employment;
    card.requester.manager = person->manager;
  }
  card.app = request.app;
  card.app_title = plan.app_title.empty() ? request.app : plan.app_title;
  card.role = request.role;
  card.bucket = plan.bucket;
  card.duration = plan.duration ? dsl::ast::format_duration(*plan.duration) : "permanent";
  card.justification = request.justification;
  card.ticket = request.ticket;
  card.outcome = std::string(outcome_name(plan.outcome));
  card.denial = plan.denial;
  for (std::size_t i = 0; i < plan.steps.size(); ++i) {
    const PlanStep& step = plan.steps[i];
    card.approvers.push_back({std::to_string(i + 1) + " of " + std::to_string(plan.steps.size()), step.who, step.why,
                              step.quorum, step.eligible});
  }
  if (plan.manual) {
    card.changes.push_back("manual: " + *plan.manual);
  } else {
    for (const auto& group : plan.groups) {
      card.changes.push_back("add to " + group.provider + " group \"" + group.group + "\"" +
                             (plan.duration ? ", removed after " + card.duration : ""));
    }
  }
  return card;
}

std::string render_card_text(const ApprovalCard& card) {
  std::string out;
  std::string who = card.requester.email;
  if (!card.requester.name.empty()) who = card.requester.name + " <" + card.requester.email + ">";
  std::string detail;
  for (const auto& part : {card.requester.title, card.requester.department, card.requester.employment}) {
    if (!part.empty()) detail += (detail.empty() ? "" : ", ") + part;
  }
  if (!card.requester.manager.empty()) detail += (detail.empty() ? "" : ", ") + std::string("manager ") + card.requester.manager;
  out += "Who asks:     " + who + (detail.empty() ? "" : " (" + detail + ")") + "\n";
  out += "Access:       " + card.app_title + " / " + card.role + (card.bucket.empty() ? "" : "  [" + card.bucket + "]") + "\n";
  out += "For how long: " + card.duration + "\n";
  if (!card.justification.empty()) out += "Why:          " + card.justification + "\n";
  if (!card.ticket.empty()) out += "Ticket:       " + card.ticket + "\n";
  if (card.outcome == "auto_approved") {
    out += "Approvers:    none: approved automatically by the policy\n";
  } else if (card.outcome == "denied" || card.outcome == "rejected") {
    out += "Decision:     " + card.outcome + ": " + card.denial + "\n";
  } else {
    out += card.outcome == "triage" ? "Triage:\n" : "Approvers:\n";
    for (const auto& line : card.approvers) {
      out += "  " + line.step + ": " + line.who + (line.why.empty() ? "" : " — " + line.why) + "\n";
      if (!line.people.empty()) {
        std::string people;
        for (const auto& p : line.people) people += (people.empty() ? "" : ", ") + p;
        out += "         eligible: " + people + "\n";
      }
    }
  }
  if (card.outcome != "denied" && card.outcome != "rejected") {
    out += "Changes:\n";
    if (card.changes.empty()) out += "  none until triage maps the request to a role\n";
    for (const auto& change : card.changes) out += "  " + change + "\n";
  }
  return out;
}

nlohmann::json card_to_json(const ApprovalCard& card) {
  nlohmann::json approvers = nlohmann::json::array();
  for (const auto& line : card.approvers) {
    approvers.push_back({{"step", line.step}, {"who", line.who}, {"why", line.why}, {"quorum", line.quorum},
                         {"eligible", line.people}});
  }
  return {{"requester",
           {{"email", card.requester.email},
            {"name", card.requester.name},
            {"title", card.requester.title},
            {"department", card.requester.department},
            {"employment", card.requester.employment},
            {"manager", card.requester.manager}}},
          {"app", card.app},
          {"app_title", card.app_title},
          {"role", card.role},
          {"bucket", card.bucket},
          {"duration", card.duration},
          {"justification", card.justification},
          {"ticket", card.ticket},
          {"outcome", card.outcome},
          {"denial", card.denial},
          {"approvers", std::move(approvers)},
          {"changes", card.changes}};
}

nlohmann::json reasons_to_json(const Plan& plan) {
  nlohmann::json reasons = nlohmann::json::array();
  for (const auto& reason : plan.reasons) {
    nlohmann::json item = {{"text", reason.text}};
    if (reason.span.valid()) {
      item["file"] = reason.span.file->path();
      item["line"] = reason.span.line;
      item["column"] = reason.span.column;
    }
    reasons.push_back(std::move(item));
  }
  return reasons;
}

}  // namespace portcullis::interpreter
