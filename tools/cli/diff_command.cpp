// `portcullis diff OLD NEW`: the semantic difference between two policies,
// per app and role, with the changes that raise risk flagged. Exit status 3
// when any change raises risk, so CI can require a security review.

#include <algorithm>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>

#include "interpreter/diff.hpp"
#include "tools/cli/commands.hpp"
#include "tools/cli/policy_loading.hpp"

namespace portcullis::cli {
namespace {

constexpr int kExitNeedsReview = 3;

struct DiffOptions {
  std::string old_policy;
  std::string new_policy;
  std::string format = "text";
};

using interpreter::Change;
using interpreter::PolicyDiff;

// "acme.policy:12": the file and line a change comes from; empty if none.
std::string where(const dsl::Span& span) {
  if (!span.valid()) return {};
  return span.file->path() + ":" + std::to_string(span.line);
}

std::string value_or_none(const std::string& value) {
  return value.empty() ? "(none)" : value;
}

// "`a` -> `b`", "added `b`", "removed `a`".
std::string what_changed(const Change& c, const std::string& quote) {
  if (c.before.empty() && !c.after.empty()) return "added " + quote + c.after + quote;
  if (c.after.empty() && !c.before.empty()) return "removed " + quote + c.before + quote;
  return quote + value_or_none(c.before) + quote + " -> " + quote + value_or_none(c.after) + quote;
}

std::string cited(const Change& c) {
  const std::string now = where(c.new_span);
  const std::string was = where(c.old_span);
  if (now.empty()) return was.empty() ? "" : "was " + was;
  return now + (was.empty() ? "" : " (was " + was + ")");
}

std::vector<Change> risk_first(const PolicyDiff& diff) {
  std::vector<Change> changes = diff.changes;
  std::stable_partition(changes.begin(), changes.end(), [](const Change& c) { return c.risk; });
  return changes;
}

std::size_t targets(const PolicyDiff& diff) {
  std::set<std::string> names;
  for (const auto& c : diff.changes) names.insert(c.target());
  return names.size();
}

std::string plural(std::size_t n, const std::string& one, const std::string& many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

std::string summary(const PolicyDiff& diff) {
  if (diff.empty()) return "no semantic changes";
  std::string out = plural(diff.changes.size(), "change", "changes") + " in " +
                    plural(targets(diff), "app or role", "apps and roles");
  const std::size_t risky = diff.risk_count();
  out += risky == 0 ? "; none raises risk" : "; " + plural(risky, "raises", "raise") + " risk";
  return out;
}

void render_text(const PolicyDiff& diff, std::ostream& out) {
  for (const auto& c : risk_first(diff)) {
    out << (c.risk ? "! " : "  ") << c.target() << ": " << c.subject << ": " << what_changed(c, "") << "\n";
    if (c.risk) out << "    risk: " << c.risk_reason << "\n";
    const std::string at = cited(c);
    if (!at.empty()) out << "    at " << at << "\n";
  }
  if (!diff.empty()) out << "\n";
  out << summary(diff);
  if (diff.has_risk()) out << ": needs a security review";
  out << "\n";
}

nlohmann::json location_json(const dsl::Span& span) {
  if (!span.valid()) return nullptr;
  return {{"file", span.file->path()}, {"line", span.line}, {"column", span.column}};
}

void render_json(const DiffOptions& options, const PolicyDiff& diff, std::ostream& out) {
  nlohmann::json changes = nlohmann::json::array();
  for (const auto& c : diff.changes) {
    changes.push_back({{"kind", interpreter::change_kind_name(c.kind)},
                       {"app", c.app},
                       {"role", c.role.empty() ? nlohmann::json(nullptr) : nlohmann::json(c.role)},
                       {"target", c.target()},
                       {"subject", c.subject},
                       {"before", c.before.empty() ? nlohmann::json(nullptr) : nlohmann::json(c.before)},
                       {"after", c.after.empty() ? nlohmann::json(nullptr) : nlohmann::json(c.after)},
                       {"risk", c.risk},
                       {"risk_reason", c.risk ? nlohmann::json(c.risk_reason) : nlohmann::json(nullptr)},
                       {"old", location_json(c.old_span)},
                       {"new", location_json(c.new_span)}});
  }
  nlohmann::json report = {{"old", options.old_policy},
                           {"new", options.new_policy},
                           {"changes", changes},
                           {"summary",
                            {{"changes", diff.changes.size()},
                             {"targets", targets(diff)},
                             {"risk", diff.risk_count()},
                             {"needs_review", diff.has_risk()}}}};
  out << report.dump(2) << "\n";
}

// Markdown for a pull-request comment. Table cells cannot hold a `|`.
std::string cell(std::string text) {
  std::string out;
  for (char c : text) out += c == '|' ? std::string("\\|") : std::string(1, c);
  return out;
}

void render_markdown(const PolicyDiff& diff, std::ostream& out) {
  const std::string warning = "\u26A0\uFE0F";
  out << "### Portcullis policy diff\n\n";
  if (diff.empty()) {
    out << "No semantic changes to apps or roles.\n";
    return;
  }
  out << (diff.has_risk() ? warning + " **" : "**") << summary(diff) << "**"
      << (diff.has_risk() ? ": a security review is required." : ".") << "\n\n";

  // One row per app or role, in the order they first change.
  std::vector<std::string> order;
  std::map<std::string, std::vector<const Change*>> by_target;
  for (const auto& c : diff.changes) {
    if (!by_target.count(c.target())) order.push_back(c.target());
    by_target[c.target()].push_back(&c);
  }
  std::stable_partition(order.begin(), order.end(), [&](const std::string& t) {
    const auto& list = by_target[t];
    return std::any_of(list.begin(), list.end(), [](const Change* c) { return c->risk; });
  });
  out << "| | App / role | Changes |\n|---|---|---|\n";
  for (const auto& t : order) {
    const auto& list = by_target[t];
    const bool risky = std::any_of(list.begin(), list.end(), [](const Change* c) { return c->risk; });
    std::vector<std::string> subjects;
    for (const Change* c : list) {
      if (std::find(subjects.begin(), subjects.end(), c->subject) == subjects.end()) subjects.push_back(c->subject);
    }
    std::string joined;
    for (const auto& s : subjects) joined += (joined.empty() ? "" : ", ") + s;
    out << "| " << (risky ? warning : "") << " | `" << t << "` | " << cell(joined) << " |\n";
  }

  const auto changes = risk_first(diff);
  const auto first_safe = std::find_if(changes.begin(), changes.end(), [](const Change& c) { return !c.risk; });
  if (first_safe != changes.begin()) out << "\n#### " << warning << " Changes that raise risk\n\n";
  for (auto it = changes.begin(); it != changes.end(); ++it) {
    if (it == first_safe) out << "\n#### Other changes\n\n";
    const Change& c = *it;
    out << "- " << (c.risk ? warning + " " : "") << "`" << c.target() << "` " << c.subject << ": "
        << what_changed(c, "`");
    if (c.risk) out << ": **" << c.risk_reason << "**";
    const std::string at = cited(c);
    if (!at.empty()) out << " (" << at << ")";
    out << "\n";
  }
}

int run_diff(const DiffOptions& options) {
  int old_status = kExitOk;
  int new_status = kExitOk;
  const auto before = load_policy_or_report(options.old_policy, old_status);
  const auto after = load_policy_or_report(options.new_policy, new_status);
  if (!before || !after) return std::max(old_status, new_status);

  const PolicyDiff diff = interpreter::diff_policies(*before, *after);
  if (options.format == "json") {
    render_json(options, diff, std::cout);
  } else if (options.format == "markdown") {
    render_markdown(diff, std::cout);
  } else {
    render_text(diff, std::cout);
  }
  return diff.has_risk() ? kExitNeedsReview : kExitOk;
}

}  // namespace

void add_diff_command(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<DiffOptions>();
  auto* cmd = app.add_subcommand("diff", "Compare two policies role by role and flag changes that raise risk");
  cmd->description(
      "Load, check and compile two policies (each a root file with its imports) and list what changed for each app\n"
      "and role: bucket, route, approvers and quorum of each step, groups granted, durations, expiry, renewal limit,\n"
      "required fields, manual or group-based fulfilment. Changes that raise risk are flagged: a route that now\n"
      "approves automatically or lost a step, a lower quorum, groups added, expiry removed or lengthened, a required\n"
      "field dropped, a renewal limit raised or removed, a new role approved automatically.\n"
      "Exit status: 0 no changes or none raises risk, 1 a policy has errors, 2 usage or I/O error,\n"
      "3 a change raises risk (a security review is needed).");
  cmd->add_option("old", options->old_policy, "The root policy file before the change")->required();
  cmd->add_option("new", options->new_policy, "The root policy file after the change")->required();
  cmd->add_option("--format", options->format, "Output format: text, json or markdown (a pull-request comment)")
      ->check(CLI::IsMember({"text", "json", "markdown"}));
  cmd->callback([options, &exit_code] { exit_code = run_diff(*options); });
}

}  // namespace portcullis::cli
