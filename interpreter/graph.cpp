#include "interpreter/graph.hpp"

#include <algorithm>

#include "interpreter/diff.hpp"

namespace portcullis::interpreter {
namespace {

using Kind = Approver::Kind;

std::string fmt(Seconds s) {
  return dsl::ast::format_duration(s);
}

std::string step_text(const Step& step) { return dsl::ast::to_source(step.quorum, step.approver); }

// Who a pool or `app.owner` stands for, so the drawing names people.
std::string who(const Policy& policy, const App* app, const Approver& approver) {
  if (approver.kind == Kind::pool) {
    const Pool* pool = policy.find_pool(approver.name);
    return pool ? dsl::ast::to_source(pool->source) : std::string();
  }
  if (approver.kind == Kind::app_owner && app && app->owner) {
    const std::string inner = who(policy, app, *app->owner);
    return dsl::ast::to_source(*app->owner) + (inner.empty() ? "" : " = " + inner);
  }
  return {};
}

std::string join(const std::vector<std::string>& items, const std::string& separator) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : separator) + item;
  return out;
}

class Builder {
 public:
  explicit Builder(StateGraph& graph) : graph_(graph) {}

  // Declares a node once; later calls with the same id keep the first.
  std::string node(const std::string& id, const std::string& state, const std::string& label) {
    if (!graph_.find(id)) {
      GraphNode n;
      n.id = id;
      n.state = state;
      n.label = label;
      n.initial = state == "submitted";
      n.final =
          state == "expired" || state == "revoked" || state == "denied" || state == "cancelled" || state == "failed";
      graph_.nodes.push_back(std::move(n));
    }
    return id;
  }
  // The shared state nodes, labelled with their status name.
  std::string state(const std::string& name) { return node(name, name, name); }

  void edge(const std::string& from, const std::string& to, std::string label) {
    graph_.edges.push_back({from, to, std::move(label)});
  }

 private:
  StateGraph& graph_;
};

// awaiting_triage and what follows it, from `from` with `label`.
void add_triage(Builder& b, const Policy& policy, const std::string& from, const std::string& label) {
  const Bucket* unknown = policy.unknown_bucket();
  const bool can_triage =
      unknown && !unknown->settings.route.branches.empty() && !unknown->settings.route.branches.front().steps.empty();
  if (!can_triage) {
    b.edge(from, b.state("denied"), label + "\nno `unknown` bucket: rejected");
    return;
  }
  const Step& triager = unknown->settings.route.branches.front().steps.front();
  const std::string detail = who(policy, nullptr, triager.approver);
  b.node("awaiting_triage", "awaiting_triage",
         "awaiting_triage\n" + dsl::ast::to_source(triager.approver) + (detail.empty() ? "" : "\n(" + detail + ")"));
  b.edge(from, "awaiting_triage", label);
  b.node("mapped", "mapped", "follows the route of\nthe catalog role it is mapped to");
  b.edge("awaiting_triage", "mapped", "triage: mapped to a catalog role");
  b.edge("awaiting_triage", b.state("denied"), "deny by triager");
  b.edge("awaiting_triage", b.state("cancelled"), "cancel");
}

// "expires after 1h (default), one_of(1h, 6h, 24h)"; empty when a grant
// is always permanent.
std::string expiry_text(const EffectiveSettings& s) {
  const DurationRule& rule = s.duration;
  const bool permanent_ok = rule.permanent_allowed && !s.expiry_required;
  const bool bounded = !rule.allowed.empty() || rule.maximum.has_value();
  if (permanent_ok && !bounded && !rule.default_duration) return {};
  std::vector<std::string> parts;
  if (rule.default_duration) {
    parts.push_back("expires after " + fmt(*rule.default_duration) + " by default");
  } else if (!permanent_ok && rule.maximum) {
    parts.push_back("expires after " + fmt(*rule.maximum) + " by default");
  } else if (permanent_ok) {
    parts.push_back("permanent by default");
  }
  if (!rule.allowed.empty()) {
    std::vector<std::string> list;
    for (Seconds d : rule.allowed) list.push_back(fmt(d));
    parts.push_back("allowed: " + join(list, ", ") + (permanent_ok ? ", permanent" : ""));
  } else if (rule.maximum) {
    parts.push_back("at most " + fmt(*rule.maximum) + (permanent_ok ? ", or permanent" : ""));
  }
  return join(parts, "\n");
}

}  // namespace

const GraphNode* StateGraph::find(const std::string& id) const {
  for (const auto& n : nodes) {
    if (n.id == id) return &n;
  }
  return nullptr;
}

StateGraph role_graph(const Policy& policy, const Role& role) {
  StateGraph graph;
  graph.name = role.qualified();
  const App* app = policy.find_app(role.app);
  const EffectiveSettings& s = role.settings;
  graph.title = role.qualified() + (app && app->title != app->name ? " (" + app->title + ")" : "") +
                (s.bucket.empty() ? "" : ", bucket " + s.bucket) + ": approve: " + route_text(s.route);
  Builder b(graph);
  const std::string start = b.node("submitted", "submitted", "submitted\n" + role.qualified());

  // ---- intake: what resolve() rejects before any route is taken
  std::vector<std::string> rejections;
  if (s.require_justification) rejections.push_back("no justification");
  if (s.require_ticket) rejections.push_back("no ticket");
  if (!s.duration.allowed.empty()) rejections.push_back("a duration not allowed");
  if (!s.duration.permanent_allowed || s.expiry_required) rejections.push_back("permanent asked for");
  if (!rejections.empty()) b.edge(start, b.state("denied"), "rejected at intake:\n" + join(rejections, ", "));

  std::vector<const Conflict*> escalating;
  for (const Conflict& conflict : policy.conflicts()) {
    const auto self = std::make_pair(role.app, role.name);
    if (std::find(conflict.roles.begin(), conflict.roles.end(), self) == conflict.roles.end()) continue;
    std::vector<std::string> others;
    for (const auto& [a, r] : conflict.roles) {
      if (std::make_pair(a, r) != self) others.push_back(a + "." + r);
    }
    if (conflict.deny) {
      b.edge(start, b.state("denied"), "conflict \"" + conflict.name + "\":\nholds " + join(others, " or "));
    } else if (conflict.escalate_to) {
      escalating.push_back(&conflict);
    }
  }

  // ---- the route, branch by branch
  const Route& route = s.route;
  const bool several = route.branches.size() > 1;
  bool conditional = false;
  for (std::size_t i = 0; i < route.branches.size(); ++i) {
    const Branch& branch = route.branches[i];
    if (branch.steps.empty()) continue;
    std::string condition;
    if (branch.when) {
      conditional = true;
      condition = "when " + branch.when->text;
    } else if (several) {
      condition = "otherwise";
    }
    const auto with_condition = [&](const std::string& event) {
      return condition.empty() ? event : event.empty() ? condition : event + "\n" + condition;
    };
    // An escalating conflict adds one approval after the route's steps (or
    // instead of an automatic approval) when the requester holds a
    // conflicting role. Returns the event that reaches `approved` otherwise.
    const auto conflict_step = [&](const std::string& from, const std::string& event) {
      if (escalating.empty()) return event;
      std::vector<std::string> whom, names;
      for (const Conflict* c : escalating) {
        whom.push_back(dsl::ast::to_source(*c->escalate_to));
        names.push_back("\"" + c->name + "\"");
      }
      const std::string id = "b" + std::to_string(i + 1) + "_conflict";
      b.node(id, "awaiting_approval",
             "awaiting_approval\nseparation of duties: " + join(whom, ", ") + "\n(conflict " + join(names, ", ") + ")");
      b.edge(from, id, (event.empty() ? "" : event + "\n") + "requester holds a conflicting role");
      b.edge(id, b.state("denied"), "deny by approver");
      b.edge(id, b.state("cancelled"), "cancel");
      b.edge(id, b.state("approved"), "approve");
      return (event.empty() ? "" : event + "\n") + "no conflicting role held";
    };
    const Approver& first = branch.steps.front().approver;
    if (first.kind == Kind::automatic) {
      const std::string event = conflict_step(start, condition);
      b.edge(start, b.state("approved"), event.empty() ? "approved automatically" : "approved automatically\n" + event);
      continue;
    }
    if (first.kind == Kind::deny) {
      b.edge(start, b.state("denied"),
             with_condition("denied by policy" + (first.name.empty() ? "" : ": " + first.name)));
      continue;
    }
    const std::size_t n = branch.steps.size();
    std::string previous = start;
    std::string event = with_condition(several ? "" : "route");
    for (std::size_t k = 0; k < n; ++k) {
      const Step& step = branch.steps[k];
      const std::string id = "b" + std::to_string(i + 1) + "_step" + std::to_string(k + 1);
      const std::string detail = who(policy, app, step.approver);
      b.node(id, "awaiting_approval",
             "awaiting_approval\nstep " + std::to_string(k + 1) + " of " + std::to_string(n) + ": " + step_text(step) +
                 (detail.empty() ? "" : "\n(" + detail + ")"));
      b.edge(previous, id, event);
      b.edge(id, b.state("denied"), "deny by approver");
      b.edge(id, b.state("cancelled"), "cancel");
      if (s.remind_after) b.edge(id, id, "after " + fmt(*s.remind_after) + ": remind");
      if (s.escalate) {
        b.edge(id, id, "after " + fmt(s.escalate->after) + ": escalate to " + dsl::ast::to_source(s.escalate->to));
      }
      previous = id;
      event = step.quorum > 1 ? std::to_string(step.quorum) + " approvals" : "approve";
    }
    b.edge(previous, b.state("approved"), conflict_step(previous, event));
  }
  if (route.branches.empty()) b.edge(start, b.state("denied"), "rejected: no route applies");
  // A condition that cannot be evaluated never grants by accident.
  if (conditional) add_triage(b, policy, start, "a condition could not be evaluated");

  if (!graph.find("approved")) return graph;  // every branch denies

  // ---- fulfilment
  const std::string expiry = expiry_text(s);
  b.node("active", "active", "active\n" + (expiry.empty() ? "permanent until revoked" : expiry));
  if (role.manual) {
    b.node("awaiting_fulfilment", "awaiting_fulfilment", "awaiting_fulfilment\n" + *role.manual);
    b.edge("approved", "awaiting_fulfilment", "notify the fulfillers");
    b.edge("awaiting_fulfilment", "active", "confirm by fulfiller");
    b.edge("awaiting_fulfilment", b.state("cancelled"), "cancel");
  } else {
    std::vector<std::string> groups;
    for (const auto& g : role.groups) groups.push_back(g.provider + " " + g.group);
    b.node("provisioning", "provisioning", "provisioning\n" + join(groups, "\n"));
    b.edge("approved", "provisioning", "add to " + std::to_string(groups.size()) + " group(s)");
    b.edge("provisioning", "active", "all groups added");
  }

  // ---- the grant, and how it ends
  b.node("deprovisioning", "deprovisioning",
         role.manual ? "deprovisioning\nremoved by hand" : "deprovisioning\nremove from the groups");
  const bool expires = !expiry.empty() && expiry.rfind("permanent", 0) != 0;
  const bool may_expire = !expiry.empty();
  if (may_expire) {
    std::string renew = "renew: approved again by the route";
    if (s.max_renewals) renew += ", at most " + std::to_string(*s.max_renewals) + " time(s)";
    if (!s.max_renewals || *s.max_renewals > 0) b.edge("active", "active", renew);
    b.edge("active", "deprovisioning", expires ? "expire timer" : "expire timer (when a duration was granted)");
  }
  b.edge("active", "deprovisioning", "revoke");
  if (!role.manual) {
    b.edge("provisioning", "deprovisioning", "revoke, or an addition failed");
  }
  const std::string done = role.manual ? "removal confirmed" : "all groups removed";
  if (may_expire) b.edge("deprovisioning", b.state("expired"), done + "\n(expired)");
  b.edge("deprovisioning", b.state("revoked"), done + "\n(revoked)");
  if (!role.manual) b.edge("deprovisioning", b.state("failed"), "a removal failed,\nor undone after a failed addition");
  return graph;
}

StateGraph triage_graph(const Policy& policy) {
  StateGraph graph;
  graph.name = "unknown";
  const Bucket* unknown = policy.unknown_bucket();
  graph.title =
      "a request outside the catalog" +
      (unknown ? ": bucket unknown, approve: " + route_text(unknown->settings.route) : ": no `unknown` bucket");
  Builder b(graph);
  const std::string start = b.node("submitted", "submitted", "submitted\nan app or role not in the catalog");
  add_triage(b, policy, start, "not in the catalog");
  return graph;
}

namespace {

std::string dot_string(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out + "\"";
}

}  // namespace

std::string to_dot(const StateGraph& graph) {
  std::string out = "digraph " + dot_string(graph.name) + " {\n";
  out += "  graph [rankdir=LR, labelloc=t, fontname=\"Helvetica\", label=" + dot_string(graph.title) + "];\n";
  out += "  node [shape=box, style=rounded, fontname=\"Helvetica\", fontsize=11];\n";
  out += "  edge [fontname=\"Helvetica\", fontsize=9];\n";
  for (const auto& n : graph.nodes) {
    out += "  " + dot_string(n.id) + " [label=" + dot_string(n.label);
    if (n.initial) out += ", shape=ellipse, style=bold";
    if (n.final) out += ", shape=doublecircle, style=solid";
    if (n.state == "mapped") out += ", style=dashed";
    out += "];\n";
  }
  for (const auto& e : graph.edges) {
    out += "  " + dot_string(e.from) + " -> " + dot_string(e.to);
    if (!e.label.empty()) out += " [label=" + dot_string(e.label) + "]";
    out += ";\n";
  }
  return out + "}\n";
}

}  // namespace portcullis::interpreter
