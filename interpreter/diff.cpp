#include "interpreter/diff.hpp"

#include <algorithm>
#include <cctype>
#include <optional>
#include <set>

namespace portcullis::interpreter {
namespace {

using Kind = Approver::Kind;

// nullopt stands for "no end" wherever a length is compared.
using Bound = std::optional<Seconds>;

bool longer(const Bound& a, const Bound& b) {
  if (!a) return b.has_value();
  return b && *a > *b;
}

std::string bound_text(const Bound& b) {
  return b ? dsl::ast::format_duration(*b) : "permanent";
}

Approver canonical(Approver approver) {
  std::sort(approver.people.begin(), approver.people.end(),
            [](const dsl::ast::StringLit& a, const dsl::ast::StringLit& b) { return a.value < b.value; });
  return approver;
}

std::string approver_text(const Approver& approver) {
  return dsl::ast::to_source(canonical(approver));
}

std::string step_text(const Step& step) { return dsl::ast::to_source(step.quorum, canonical(step.approver)); }

// Who a pool or `app.owner` stands for in this policy: a pool redefined or
// an owner replaced changes who approves even when the route text does not.
std::string approver_detail(const Policy& policy, const App* app, const Approver& approver, int depth = 0) {
  if (depth > 2) return {};
  if (approver.kind == Kind::pool) {
    const Pool* pool = policy.find_pool(approver.name);
    return pool ? approver_text(pool->source) : std::string();
  }
  if (approver.kind == Kind::app_owner && app && app->owner) {
    const std::string detail = approver_detail(policy, app, *app->owner, depth + 1);
    return approver_text(*app->owner) + (detail.empty() ? "" : " = " + detail);
  }
  return {};
}

std::string approver_description(const Policy& policy, const App* app, const Approver& approver) {
  const std::string detail = approver_detail(policy, app, approver);
  return approver_text(approver) + (detail.empty() ? "" : " (" + detail + ")");
}

bool is_auto(const Branch& branch) {
  return !branch.steps.empty() && branch.steps.front().approver.kind == Kind::automatic;
}
bool is_deny(const Branch& branch) {
  return !branch.steps.empty() && branch.steps.front().approver.kind == Kind::deny;
}
std::size_t approval_steps(const Branch& branch) {
  return is_auto(branch) || is_deny(branch) ? 0 : branch.steps.size();
}

std::string condition_key(const Branch& branch) {
  return branch.when ? dsl::ast::normalize_condition(branch.when->text) : "";
}

const Branch* find_branch(const Route& route, const std::string& key) {
  for (const auto& branch : route.branches) {
    if (condition_key(branch) == key) return &branch;
  }
  return nullptr;
}

std::string when_text(const std::string& key) {
  return key.empty() ? "" : " when " + key;
}

std::string renewal_text(const std::optional<int>& limit) {
  if (!limit) return "unlimited";
  if (*limit == 0) return "never";
  return "at_most " + std::to_string(*limit) + " times";
}

std::string requirements_text(const EffectiveSettings& s) {
  std::string out;
  if (s.require_justification) out = "justification";
  if (s.require_ticket) out += out.empty() ? "ticket" : ", ticket";
  return out.empty() ? "(none)" : out;
}

std::string group_text(const GroupRef& group) {
  return group.provider + " group " + dsl::ast::quote_string(group.group);
}

// The longest grant the rule allows; nullopt when a grant may be permanent
// or has no bound.
Bound longest(const EffectiveSettings& s) {
  const DurationRule& rule = s.duration;
  if (rule.permanent_allowed && !s.expiry_required) return std::nullopt;
  if (!rule.allowed.empty()) return rule.allowed.back();
  if (rule.maximum) return rule.maximum;
  return std::nullopt;
}

// What a request that names no duration gets (as route.cpp fixes it).
Bound default_grant(const EffectiveSettings& s) {
  const DurationRule& rule = s.duration;
  if (rule.default_duration) return rule.default_duration;
  if (rule.permanent_allowed && !s.expiry_required) return std::nullopt;
  if (rule.maximum) return rule.maximum;
  return std::nullopt;
}

std::string durations_text(const std::vector<Seconds>& list) {
  if (list.empty()) return "(none)";
  std::string out;
  for (Seconds d : list) out += (out.empty() ? "" : ", ") + dsl::ast::format_duration(d);
  return out;
}

std::string optional_duration_text(const std::optional<Seconds>& d) {
  return d ? dsl::ast::format_duration(*d) : "(none)";
}

std::string route_risk_of_new_role(const Route& route) {
  std::string reason;
  for (const auto& branch : route.branches) {
    if (!is_auto(branch)) continue;
    reason += (reason.empty() ? "" : "; ") + std::string("a new role approved automatically") +
              when_text(condition_key(branch));
  }
  return reason;
}

class Differ {
 public:
  Differ(const Policy& old_policy, const Policy& new_policy) : old_(old_policy), new_(new_policy) {}

  PolicyDiff run() {
    std::set<std::string> names;
    for (const auto& [name, app] : old_.apps()) names.insert(name);
    for (const auto& [name, app] : new_.apps()) names.insert(name);
    for (const auto& name : names) {
      const App* before = old_.find_app(name);
      const App* after = new_.find_app(name);
      if (!after) {
        std::string roles;
        for (const auto& role : before->roles) roles += (roles.empty() ? "" : ", ") + role.name;
        add({ChangeKind::app_removed, name, "", "app", "roles " + roles, "", false, "", before->span, {}});
      } else if (!before) {
        add({ChangeKind::app_added, name, "", "app", "", app_summary(*after), false, "", {}, after->span});
        for (const auto& role : after->roles) role_added(*after, role);
      } else {
        diff_app(*before, *after);
      }
    }
    return std::move(result_);
  }

 private:
  void add(Change change) { result_.changes.push_back(std::move(change)); }

  static std::string app_summary(const App& app) {
    std::string roles;
    for (const auto& role : app.roles) roles += (roles.empty() ? "" : ", ") + role.name;
    return "roles " + roles;
  }

  static std::string role_summary(const Role& role) {
    std::string out = role.settings.bucket.empty() ? "" : "bucket " + role.settings.bucket + "; ";
    out += "approve: " + route_text(role.settings.route);
    if (role.settings.duration.span.valid()) out += "; duration: " + duration_text(role.settings.duration);
    return out;
  }

  void role_added(const App& app, const Role& role) {
    const std::string reason = route_risk_of_new_role(role.settings.route);
    add({ChangeKind::role_added,
         app.name,
         role.name,
         "role",
         "",
         role_summary(role),
         !reason.empty(),
         reason,
         {},
         role.span});
  }

  void diff_app(const App& before, const App& after) {
    for (const auto& role : before.roles) {
      const Role* now = after.find_role(role.name);
      if (!now) {
        add({ChangeKind::role_removed,
             before.name,
             role.name,
             "role",
             role_summary(role),
             "",
             false,
             "",
             role.span,
             {}});
        continue;
      }
      diff_role(before, role, after, *now);
    }
    for (const auto& role : after.roles) {
      if (!before.find_role(role.name)) role_added(after, role);
    }
  }

  // A span to cite: the field's own line, else the role's.
  static Span cite(const Span& field, const Role& role) { return field.valid() ? field : role.span; }

  void diff_role(const App& old_app, const Role& o, const App& new_app, const Role& n) {
    const EffectiveSettings& os = o.settings;
    const EffectiveSettings& ns = n.settings;
    auto change = [&](ChangeKind kind, std::string subject, std::string before, std::string after, std::string risk,
                      const Span& old_span, const Span& new_span) {
      const bool risky = !risk.empty();
      add({kind, n.app, n.name, std::move(subject), std::move(before), std::move(after), risky, std::move(risk),
           cite(old_span, o), cite(new_span, n)});
    };

    if (os.bucket != ns.bucket) {
      change(ChangeKind::bucket, "bucket", os.bucket, ns.bucket, "", os.bucket_span, ns.bucket_span);
    }
    diff_route(old_app, o, new_app, n);
    diff_fulfilment(o, n);
    diff_groups(o, n);

    // ---- durations and expiry
    const DurationRule& od = os.duration;
    const DurationRule& nd = ns.duration;
    const bool lengthened = longer(longest(ns), longest(os));
    const std::string lengthened_why =
        "grants may last longer: at most " + bound_text(longest(ns)) + ", was " + bound_text(longest(os));
    if (od.allowed != nd.allowed) {
      change(ChangeKind::duration_allowed, "allowed durations", durations_text(od.allowed), durations_text(nd.allowed),
             lengthened ? lengthened_why : "", od.span, nd.span);
    }
    if (od.maximum != nd.maximum) {
      change(ChangeKind::duration_maximum, "maximum duration", optional_duration_text(od.maximum),
             optional_duration_text(nd.maximum), lengthened && od.allowed == nd.allowed ? lengthened_why : "", od.span,
             nd.span);
    }
    if (od.default_duration != nd.default_duration) {
      const bool risky = longer(default_grant(ns), default_grant(os));
      change(ChangeKind::duration_default, "default duration", optional_duration_text(od.default_duration),
             optional_duration_text(nd.default_duration),
             risky ? "requests that name no duration now get " + bound_text(default_grant(ns)) + ", was " +
                         bound_text(default_grant(os))
                   : "",
             od.span, nd.span);
    }
    if (od.permanent_allowed != nd.permanent_allowed) {
      change(ChangeKind::permanent_allowed, "permanent allowed", od.permanent_allowed ? "yes" : "no",
             nd.permanent_allowed ? "yes" : "no",
             nd.permanent_allowed ? "expiry removed: grants may now be permanent" : "", od.span, nd.span);
    }
    if (os.expiry_required != ns.expiry_required) {
      change(ChangeKind::expiry_required, "expiry", os.expiry_required ? "required" : "optional",
             ns.expiry_required ? "required" : "optional",
             os.expiry_required ? "expiry removed: grants no longer have to end" : "", os.expiry_span, ns.expiry_span);
    }
    if (os.max_renewals != ns.max_renewals) {
      const bool raised = !ns.max_renewals || (os.max_renewals && *ns.max_renewals > *os.max_renewals);
      change(ChangeKind::renewal_limit, "renewal limit", renewal_text(os.max_renewals), renewal_text(ns.max_renewals),
             raised ? (ns.max_renewals ? "renewal limit raised" : "renewal limit removed") : "", os.renew_span,
             ns.renew_span);
    }
    if (os.require_justification != ns.require_justification || os.require_ticket != ns.require_ticket) {
      std::string dropped;
      if (os.require_justification && !ns.require_justification) dropped = "justification";
      if (os.require_ticket && !ns.require_ticket) dropped += dropped.empty() ? "ticket" : " and ticket";
      change(ChangeKind::required_fields, "required fields", requirements_text(os), requirements_text(ns),
             dropped.empty() ? "" : "no longer requires " + dropped, os.require_span, ns.require_span);
    }
  }

  void diff_fulfilment(const Role& o, const Role& n) {
    if (o.manual == n.manual) return;
    auto text = [](const Role& r) {
      return r.manual ? "manual " + dsl::ast::quote_string(*r.manual) : std::string("groups");
    };
    add({ChangeKind::fulfilment, n.app, n.name, o.manual && n.manual ? "manual instructions" : "fulfilment", text(o),
         text(n), false, "", o.span, n.span});
  }

  void diff_groups(const Role& o, const Role& n) {
    std::map<std::string, const GroupRef*> before, after;
    for (const auto& g : o.groups) before[g.key()] = &g;
    for (const auto& g : n.groups) after[g.key()] = &g;
    for (const auto& [key, g] : before) {
      if (after.count(key)) continue;
      add({ChangeKind::groups, n.app, n.name, "groups in " + g->provider, group_text(*g), "", false, "", g->span,
           n.span});
    }
    for (const auto& [key, g] : after) {
      if (before.count(key)) continue;
      std::string reason = "grants a group it did not";
      const std::string others = granted_elsewhere(*g, n);
      if (!others.empty()) reason += " (a group that also grants " + others + ")";
      add({ChangeKind::groups, n.app, n.name, "groups in " + g->provider, "", group_text(*g), true, reason, o.span,
           g->span});
    }
  }

  // Other roles of NEW that grant the same group: the role now reaches what
  // they reach.
  std::string granted_elsewhere(const GroupRef& group, const Role& self) const {
    std::string out;
    for (const auto& [name, app] : new_.apps()) {
      for (const auto& role : app.roles) {
        if (role.app == self.app && role.name == self.name) continue;
        if (std::find(role.groups.begin(), role.groups.end(), group) != role.groups.end()) {
          out += (out.empty() ? "" : ", ") + role.qualified();
        }
      }
    }
    return out;
  }

  void diff_route(const App& old_app, const Role& o, const App& new_app, const Role& n) {
    const Route& before = o.settings.route;
    const Route& after = n.settings.route;
    std::vector<std::string> risks;

    for (const auto& branch : after.branches) {
      const std::string key = condition_key(branch);
      const Branch* was = find_branch(before, key);
      if (is_auto(branch) && !(was && is_auto(*was))) risks.push_back("now approved automatically" + when_text(key));
    }
    for (const auto& branch : before.branches) {
      const std::string key = condition_key(branch);
      const Branch* now = find_branch(after, key);
      if (is_deny(branch) && !(now && is_deny(*now))) risks.push_back("no longer denied" + when_text(key));
    }
    // A branch with fewer approvals than the fallback whose condition is
    // new or rewritten may now apply to more requests.
    const std::size_t fallback_steps = after.branches.empty() ? 0 : approval_steps(after.branches.back());
    for (const auto& branch : after.branches) {
      if (!branch.when || is_auto(branch) || is_deny(branch)) continue;
      if (find_branch(before, condition_key(branch))) continue;
      if (approval_steps(branch) < fallback_steps) {
        risks.push_back("the condition under which only " + std::to_string(approval_steps(branch)) +
                        " step(s) are needed is new or changed: `" + condition_key(branch) + "`");
      }
    }

    // Branches present in both, compared step by step.
    const bool several = before.branches.size() > 1 || after.branches.size() > 1;
    for (const auto& branch : after.branches) {
      const std::string key = condition_key(branch);
      const Branch* was = find_branch(before, key);
      if (!was || approval_steps(*was) == 0 || approval_steps(branch) == 0) continue;
      const std::string prefix = several ? (key.empty() ? "fallback branch, " : "branch when `" + key + "`, ") : "";
      if (branch.steps.size() < was->steps.size()) {
        risks.push_back(prefix + "a step was removed (" + std::to_string(was->steps.size()) + " -> " +
                        std::to_string(branch.steps.size()) + " steps)");
      }
      const std::size_t common = std::min(branch.steps.size(), was->steps.size());
      for (std::size_t i = 0; i < common; ++i) {
        const Step& s_old = was->steps[i];
        const Step& s_new = branch.steps[i];
        const std::string step = prefix + "step " + std::to_string(i + 1);
        const std::string a_old = approver_description(old_, &old_app, s_old.approver);
        const std::string a_new = approver_description(new_, &new_app, s_new.approver);
        if (a_old != a_new) {
          add({ChangeKind::approvers, n.app, n.name, step + " approvers", a_old, a_new, false, "", s_old.span,
               s_new.span});
        }
        if (s_old.quorum != s_new.quorum) {
          const bool lower = s_new.quorum < s_old.quorum;
          add({ChangeKind::quorum, n.app, n.name, step + " quorum", std::to_string(s_old.quorum),
               std::to_string(s_new.quorum), lower, lower ? "fewer approvals needed at " + step : "", s_old.span,
               s_new.span});
        }
      }
    }

    const std::string t_old = route_text(before);
    const std::string t_new = route_text(after);
    // Every risk above needs a textual difference, so equal text means no change.
    if (t_old == t_new) return;
    std::string reason;
    for (const auto& r : risks) reason += (reason.empty() ? "" : "; ") + r;
    Change change{
        ChangeKind::route,  n.app, n.name, "route", t_old, t_new, !reason.empty(), reason, cite(before.span, o),
        cite(after.span, n)};
    // Keep the route before its step changes.
    auto first_step = std::find_if(result_.changes.begin(), result_.changes.end(), [&](const Change& c) {
      return c.app == n.app && c.role == n.name && (c.kind == ChangeKind::approvers || c.kind == ChangeKind::quorum);
    });
    result_.changes.insert(first_step, std::move(change));
  }

  const Policy& old_;
  const Policy& new_;
  PolicyDiff result_;
};

}  // namespace

std::string_view change_kind_name(ChangeKind kind) {
  switch (kind) {
    case ChangeKind::app_added:
      return "app_added";
    case ChangeKind::app_removed:
      return "app_removed";
    case ChangeKind::role_added:
      return "role_added";
    case ChangeKind::role_removed:
      return "role_removed";
    case ChangeKind::bucket:
      return "bucket";
    case ChangeKind::route:
      return "route";
    case ChangeKind::approvers:
      return "approvers";
    case ChangeKind::quorum:
      return "quorum";
    case ChangeKind::groups:
      return "groups";
    case ChangeKind::fulfilment:
      return "fulfilment";
    case ChangeKind::duration_allowed:
      return "duration_allowed";
    case ChangeKind::duration_maximum:
      return "duration_maximum";
    case ChangeKind::duration_default:
      return "duration_default";
    case ChangeKind::permanent_allowed:
      return "permanent_allowed";
    case ChangeKind::expiry_required:
      return "expiry_required";
    case ChangeKind::renewal_limit:
      return "renewal_limit";
    case ChangeKind::required_fields:
      return "required_fields";
  }
  return "unknown";
}

bool PolicyDiff::has_risk() const {
  return risk_count() > 0;
}

std::size_t PolicyDiff::risk_count() const {
  return static_cast<std::size_t>(
      std::count_if(changes.begin(), changes.end(), [](const Change& c) { return c.risk; }));
}

PolicyDiff diff_policies(const Policy& old_policy, const Policy& new_policy) {
  return Differ(old_policy, new_policy).run();
}

std::string route_text(const Route& route) {
  std::string out;
  for (std::size_t b = 0; b < route.branches.size(); ++b) {
    const Branch& branch = route.branches[b];
    if (b > 0) out += " else ";
    for (std::size_t s = 0; s < branch.steps.size(); ++s) {
      if (s > 0) out += " then ";
      out += step_text(branch.steps[s]);
    }
    if (branch.when) out += " when " + dsl::ast::normalize_condition(branch.when->text);
  }
  return out;
}

std::string duration_text(const DurationRule& rule) {
  if (!rule.span.valid()) return "(none)";
  std::string out;
  if (!rule.allowed.empty()) {
    out = "one_of(" + durations_text(rule.allowed) + (rule.permanent_allowed ? ", permanent" : "") + ")";
  } else if (rule.maximum) {
    out = "at_most " + dsl::ast::format_duration(*rule.maximum);
  } else if (rule.permanent_allowed) {
    out = "permanent";
  }
  if (rule.default_duration) out += " default " + dsl::ast::format_duration(*rule.default_duration);
  return out;
}

}  // namespace portcullis::interpreter
