#pragma once
// The semantic difference between two compiled policies, per app and role.
//
// diff_policies() compares what a request would go through, not the text:
// the effective settings of every role (role > app > bucket already
// resolved), so a change to a bucket shows up on every role that inherits
// it, and moving a definition to another file, reordering roles, apps,
// grants or durations, or reformatting changes nothing.
//
// Each change says whether it raises risk (and why), so CI can require a
// security review: a route that now approves automatically or lost a step,
// a lower quorum, groups added, expiry removed or lengthened, a required
// field dropped, a renewal limit raised or removed, a new role that is
// approved automatically.
//
// Pure: two policies in, a list of changes out. The changes keep the spans
// of the policy lines they come from (in OLD and in NEW), valid for as long
// as the policies' source files live (spans share them).

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "interpreter/model.hpp"

namespace portcullis::interpreter {

enum class ChangeKind {
  app_added,
  app_removed,
  role_added,
  role_removed,
  bucket,
  route,
  approvers,  // who approves one step
  quorum,
  groups,      // one group added or removed
  fulfilment,  // manual <-> group-based, or the manual instructions
  duration_allowed,
  duration_maximum,
  duration_default,
  permanent_allowed,
  expiry_required,
  renewal_limit,
  required_fields,
};

// "route", "duration_maximum": stable names for JSON and tests.
std::string_view change_kind_name(ChangeKind kind);

struct Change {
  ChangeKind kind = ChangeKind::route;
  std::string app;
  std::string role;     // empty for a change to a whole app
  std::string subject;  // what changed, in words: "route", "step 2 approvers", "group okta.main/x"
  std::string before;   // the value in OLD, as the language writes it; empty when absent
  std::string after;    // the value in NEW; empty when absent
  bool risk = false;
  std::string risk_reason;  // why it raises risk; empty unless `risk`
  Span old_span;            // the line in OLD it comes from (invalid when added)
  Span new_span;            // the line in NEW (invalid when removed)

  // "figma.admin", or "figma" for an app.
  std::string target() const { return role.empty() ? app : app + "." + role; }
};

struct PolicyDiff {
  // Ordered by app, then role (OLD's order, added roles after), then field.
  std::vector<Change> changes;

  bool empty() const { return changes.empty(); }
  bool has_risk() const;
  std::size_t risk_count() const;
};

PolicyDiff diff_policies(const Policy& old_policy, const Policy& new_policy);

// Text of a compiled route as the language writes it, conditions with their
// whitespace runs collapsed: `app.owner when x else app.owner then security`.
std::string route_text(const Route& route);

// `one_of(1h, 6h) default 1h`, `at_most 30d`, `permanent`, or `(none)`.
std::string duration_text(const DurationRule& rule);

}  // namespace portcullis::interpreter
