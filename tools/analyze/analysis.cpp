#include "tools/analyze/analysis.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>

namespace portcullis::analyze {

namespace ip = portcullis::interpreter;

namespace {

const std::vector<std::string>& standard_buckets() {
  static const std::vector<std::string> kBuckets = {"routine", "sensitive", "privileged", "unknown"};
  return kBuckets;
}

// Standard buckets first, in their order, then the others by name.
std::vector<std::string> bucket_order(const std::set<std::string>& seen) {
  std::vector<std::string> out = standard_buckets();
  for (const auto& b : seen) {
    if (std::find(out.begin(), out.end(), b) == out.end()) out.push_back(b);
  }
  return out;
}

double ratio(std::size_t part, std::size_t whole) {
  return whole == 0 ? 0.0 : static_cast<double>(part) / static_cast<double>(whole);
}

// Nearest rank: the smallest value with at least `p` of the values at or
// below it.
ip::Seconds percentile(const std::vector<ip::Seconds>& sorted, double p) {
  if (sorted.empty()) return 0;
  auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(sorted.size())));
  rank = std::clamp<std::size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

std::string percent(double share) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", share * 100.0);
  return buf;
}

bool allows_permanent(const ip::Role& role) {
  return role.settings.duration.permanent_allowed && !role.settings.expiry_required;
}

DaemonFigures daemon_figures(const std::vector<ip::RequestState>& states, Time now) {
  DaemonFigures d;
  d.requests = states.size();
  std::map<std::string, std::vector<ip::Seconds>> latencies;
  std::set<std::string> seen;
  for (const auto& s : states) {
    bool approved_by_someone = false;
    for (const auto& step : s.approvals) approved_by_someone = approved_by_someone || !step.empty();
    if (s.plan.outcome == ip::Outcome::auto_approved && !approved_by_someone && !s.plan.manual) ++d.fully_automated;
    if (s.active_at) {
      const std::string bucket = s.plan.bucket.empty() ? "unknown" : s.plan.bucket;
      latencies[bucket].push_back(std::max<ip::Seconds>(0, *s.active_at - s.created_at));
      seen.insert(bucket);
    }
    if (s.status == ip::Status::awaiting_approval || s.status == ip::Status::awaiting_triage) {
      WaitingFigure w;
      w.id = s.id;
      w.requester = s.request.requester;
      w.app = s.request.app;
      w.role = s.request.role;
      w.bucket = s.plan.bucket.empty() ? "unknown" : s.plan.bucket;
      w.status = std::string(ip::status_name(s.status));
      if (s.status == ip::Status::awaiting_triage) {
        w.waiting_on = "IT triage";
      } else if (s.step < s.plan.steps.size()) {
        w.waiting_on = s.plan.steps[s.step].who;
      }
      w.submitted_at = s.created_at;
      w.waiting = std::max<ip::Seconds>(0, now - s.created_at);
      d.waiting.push_back(std::move(w));
    }
  }
  d.automated_share = ratio(d.fully_automated, d.requests);
  for (const auto& bucket : bucket_order(seen)) {
    auto it = latencies.find(bucket);
    if (it == latencies.end()) continue;
    std::sort(it->second.begin(), it->second.end());
    d.time_to_access.push_back(LatencyFigure{bucket, it->second.size(), percentile(it->second, 0.5),
                                             percentile(it->second, 0.9)});
  }
  std::sort(d.waiting.begin(), d.waiting.end(), [](const WaitingFigure& a, const WaitingFigure& b) {
    return a.submitted_at != b.submitted_at ? a.submitted_at < b.submitted_at : a.id < b.id;
  });
  if (d.waiting.size() > kWaitingShown) d.waiting.resize(kWaitingShown);
  return d;
}

}  // namespace

std::string ticket_bucket(const ip::Policy& policy, const Ticket& ticket) {
  const ip::Role* role = policy.find_role(ticket.app, ticket.role);
  if (!role || role->settings.bucket.empty()) return "unknown";
  return role->settings.bucket;
}

Analysis analyze(const ip::Policy& policy, const std::vector<Ticket>& tickets,
                 const std::optional<std::vector<ip::RequestState>>& daemon, Time now) {
  Analysis a;
  a.now = now;
  a.tickets = tickets.size();
  std::map<std::string, std::size_t> per_bucket;
  std::map<std::string, AppFigure> apps;
  std::map<std::pair<std::string, std::string>, ManualRoleFigure> manual;
  std::set<std::string> seen;
  for (const auto& t : tickets) {
    if (!a.first_created || t.created < *a.first_created) a.first_created = t.created;
    if (!a.last_created || t.created > *a.last_created) a.last_created = t.created;
    const ip::Role* role = policy.find_role(t.app, t.role);
    const std::string bucket = ticket_bucket(policy, t);
    ++per_bucket[bucket];
    seen.insert(bucket);
    if (bucket == "privileged" && ((role && allows_permanent(*role)) || (t.has_expiry_field && !t.expires))) {
      ++a.privileged_without_expiry;
    }
    AppFigure& app = apps[t.app];
    if (app.app.empty()) {
      app.app = t.app;
      const ip::App* found = policy.find_app(t.app);
      app.in_catalog = found != nullptr;
      app.title = found && !found->title.empty() ? found->title : t.app;
    }
    ++app.requests;
    if (role && !role->groups.empty()) ++app.group_mapped_requests;
    if (role && role->manual) {
      ManualRoleFigure& m = manual[{t.app, t.role}];
      m.app = t.app;
      m.role = t.role;
      m.how = *role->manual;
      ++m.requests;
    }
  }
  if (a.first_created && a.last_created) {
    constexpr double kMonthSeconds = 30.436875 * 86400.0;
    a.months = std::max(1.0, static_cast<double>(*a.last_created - *a.first_created) / kMonthSeconds);
  }
  for (const auto& bucket : bucket_order(seen)) {
    const std::size_t n = per_bucket.count(bucket) ? per_bucket[bucket] : 0;
    a.buckets.push_back(BucketFigure{bucket, n, ratio(n, a.tickets)});
  }
  a.privileged_without_expiry_share = ratio(a.privileged_without_expiry, a.tickets);

  const double routine_share = ratio(per_bucket["routine"], a.tickets);
  Flag automation{"automation_opportunity", routine_share > kRoutineThreshold, routine_share, kRoutineThreshold, ""};
  automation.message = percent(routine_share) + " of requests are routine" +
                       (automation.raised ? " (over 60%): automate them" : " (60% or less)");
  Flag standing{"standing_privilege", a.privileged_without_expiry_share > kStandingPrivilegeThreshold,
                a.privileged_without_expiry_share, kStandingPrivilegeThreshold, ""};
  standing.message = percent(a.privileged_without_expiry_share) + " of requests are privileged without expiry" +
                     (standing.raised ? " (over 20%): standing privilege" : " (20% or less)");
  a.flags = {automation, standing};

  std::vector<AppFigure> by_volume;
  for (auto& [name, app] : apps) {
    app.per_month = static_cast<double>(app.requests) / a.months;
    app.group_mapped_per_month = static_cast<double>(app.group_mapped_requests) / a.months;
    by_volume.push_back(app);
  }
  std::sort(by_volume.begin(), by_volume.end(), [](const AppFigure& x, const AppFigure& y) {
    return x.requests != y.requests ? x.requests > y.requests : x.app < y.app;
  });
  for (const auto& app : by_volume) {
    if (app.in_catalog && app.group_mapped_per_month > kAutomateFirstPerMonth) a.automate_first.push_back(app);
  }
  std::stable_sort(a.automate_first.begin(), a.automate_first.end(), [](const AppFigure& x, const AppFigure& y) {
    return x.group_mapped_requests > y.group_mapped_requests;
  });
  a.top_apps.assign(by_volume.begin(), by_volume.begin() + static_cast<std::ptrdiff_t>(std::min(kTopApps, by_volume.size())));
  for (auto& [key, m] : manual) a.manual_roles.push_back(m);
  std::stable_sort(a.manual_roles.begin(), a.manual_roles.end(),
                   [](const ManualRoleFigure& x, const ManualRoleFigure& y) { return x.requests > y.requests; });
  if (daemon) a.daemon = daemon_figures(*daemon, now);
  return a;
}

}  // namespace portcullis::analyze
