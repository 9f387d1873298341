// portcullis-seed-grants: fills a fresh database with N active, time-bound
// grants, for the "restart with 1,000,000 grants" benchmark
// (bench/restart_1m.sh, docs/PERFORMANCE.md "The daemon").
//
//   portcullis-seed-grants --db /tmp/1m.db --grants 1000000
//       [--policy examples/acme/acme.policy]
//       [--directory examples/acme/directory.json]
//   (one command line)
//
// The states are real: for each directory person and each template role
// (time-bound roles whose durations reach past 30 days) the seeder resolves
// the request against the policy, runs interpreter::submit, approves every
// step with the plan's own eligible approvers and reports every membership
// as provisioned, as the sandbox would, until the request is active. Grant
// i then copies template i mod T with a fresh id and all of its times
// shifted so that its expiry falls between 6 hours and 30 days from now
// (spread evenly, so none falls due during a benchmark run); its
// `expire` timer is the one the state machine scheduled, shifted the same
// way.
//
// Everything is written through the Store API (open_sqlite_store, then
// commit_async with thousands of commits in flight; the store groups them
// 256 per transaction), so the schema, the encoding (codec::encode_state)
// and the audit hash chain are exactly the daemon's. Each grant gets one
// event row (its submit event) and one audit entry (kind "seeded"), so
// `portcullis audit verify` passes on the result. Seeding runs with
// synchronous=NORMAL: a crash while seeding only means seeding again.
//
// Refuses to touch a database file that exists and is not empty.
// Exit status: 0 ok, 1 seeding failed, 2 usage.

#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <deque>
#include <fstream>
#include <future>
#include <iostream>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "dsl/loader.hpp"
#include "interpreter/directory.hpp"
#include "interpreter/model.hpp"
#include "interpreter/route.hpp"
#include "interpreter/state_machine.hpp"
#include "runtime/codec.hpp"
#include "runtime/sqlite_store.hpp"
#include "runtime/store.hpp"

namespace {

namespace ip = portcullis::interpreter;
namespace rt = portcullis::runtime;
using SteadyClock = std::chrono::steady_clock;

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;
constexpr ip::Seconds kDay = 24 * 3600;
// Expiries fall between 6 hours and 30 days from now, evenly: none falls
// due while the benchmark runs, however long after seeding (up to 6 h).
constexpr ip::Seconds kFirstExpiry = 6 * 3600;
constexpr ip::Seconds kSpread = 30 * kDay - kFirstExpiry;

struct TemplateRole {
  const char* app;
  const char* role;
  ip::Seconds duration;  // asked for; >= 30 days, so no grant starts in the future
};

// Time-bound roles of the acme catalog whose durations reach 30 days.
constexpr TemplateRole kRoles[] = {
    {"aws_staging", "developer", 90 * kDay},  // manager or app owner, at_most 90d
    {"aws_staging", "developer", 45 * kDay},
    {"zoom", "webinar", 30 * kDay},           // manager, at_most 30d
};

struct Template {
  ip::RequestState state;         // active, times relative to `base`
  ip::ScheduleTimerEffect expire; // the expire timer the machine left set
  std::size_t approvals = 0;      // approve events it took
};

// Drives one request from submit to active as the daemon and the sandbox
// would. nullopt when the policy does not let it become active this way.
std::optional<Template> make_template(const ip::Policy& policy, const ip::Directory& directory,
                                      const ip::AccessRequest& request, ip::Time base, std::size_t serial) {
  ip::Facts facts;
  facts.directory = &directory;
  ip::Time now = base;
  auto context = [&] {
    ip::StepContext c;
    c.now = now;
    c.administrators = ip::request_administrators(policy, request, &directory);
    return c;
  };
  ip::Plan plan = ip::resolve(policy, request, facts, now);
  if (plan.outcome != ip::Outcome::approval && plan.outcome != ip::Outcome::auto_approved) return std::nullopt;
  char id[40];
  std::snprintf(id, sizeof id, "req_tmpl%015zu", serial);
  ip::Transition t = ip::submit(id, request, std::move(plan), context());

  Template out;
  std::optional<ip::ScheduleTimerEffect> expire;
  // Performs effects as the sandbox does: memberships change at once and
  // report back; the last schedule of each timer kind wins.
  auto absorb = [&](ip::Transition tr) -> bool {
    std::deque<ip::Effect> pending(tr.effects.begin(), tr.effects.end());
    if (tr.refusal) return false;
    out.state = std::move(tr.state);
    while (!pending.empty()) {
      ip::Effect effect = std::move(pending.front());
      pending.pop_front();
      std::optional<ip::Event> follow;
      if (const auto* add = std::get_if<ip::AddMembershipEffect>(&effect)) {
        follow = ip::ProvisionResultEvent{add->group, true, true, ""};
      } else if (const auto* schedule = std::get_if<ip::ScheduleTimerEffect>(&effect)) {
        if (schedule->kind == ip::TimerKind::expire) expire = *schedule;
      } else if (const auto* cancel = std::get_if<ip::CancelTimerEffect>(&effect)) {
        if (cancel->kind == ip::TimerKind::expire) expire.reset();
      }
      if (follow) {
        now += 1;  // the provider answers a second later
        ip::Transition next = ip::step(out.state, *follow, context());
        if (next.refusal) return false;
        out.state = std::move(next.state);
        pending.insert(pending.end(), next.effects.begin(), next.effects.end());
      }
    }
    return true;
  };
  if (!absorb(std::move(t))) return std::nullopt;
  // Approve each step with the first `quorum` eligible approvers, an hour apart.
  for (int guard = 0; guard < 16 && out.state.status == ip::Status::awaiting_approval; ++guard) {
    const ip::PlanStep& step = out.state.plan.steps.at(out.state.step);
    if (step.eligible.size() < static_cast<std::size_t>(step.quorum)) return std::nullopt;
    const std::size_t at_step = out.state.step;
    for (int q = 0; q < step.quorum && out.state.step == at_step &&
                    out.state.status == ip::Status::awaiting_approval; ++q) {
      now += 3600;
      const std::string by = out.state.plan.steps.at(at_step).eligible.at(static_cast<std::size_t>(q));
      if (!absorb(ip::step(out.state, ip::ApproveEvent{by}, context()))) return std::nullopt;
      ++out.approvals;
    }
  }
  if (out.state.status != ip::Status::active || !out.state.expires_at || !expire) return std::nullopt;
  out.expire = *expire;
  return out;
}

// Moves every time of a state by `delta` seconds.
void shift_times(ip::RequestState& s, ip::Time delta) {
  s.created_at += delta;
  s.updated_at += delta;
  for (auto* t : {&s.approved_at, &s.active_at, &s.expires_at, &s.closed_at}) {
    if (*t) **t += delta;
  }
  for (auto& step : s.approvals) {
    for (auto& a : step) a.at += delta;
  }
  if (s.renewal) s.renewal->requested_at += delta;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

}  // namespace

int main(int argc, char** argv) {
  std::string db_path;
  std::uint64_t grants = 1'000'000;
  std::string policy_path = "examples/acme/acme.policy";
  std::string directory_path;  // default: directory.json next to the policy
  std::size_t in_flight = 8192;

  CLI::App app{"Fill a new Portcullis database with N active time-bound grants (benchmark data)"};
  app.add_option("--db", db_path, "The database to create (must not exist, or be empty)")->required();
  app.add_option("--grants", grants, "How many active grants")->default_str("1000000");
  app.add_option("--policy", policy_path, "The policy the states are resolved against")
      ->default_str("examples/acme/acme.policy");
  app.add_option("--directory", directory_path, "Directory JSON (default: directory.json next to the policy)");
  app.add_option("--in-flight", in_flight, "Commits queued at once")->default_str("8192");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  }
  if (in_flight == 0) in_flight = 1;
  if (directory_path.empty()) {
    const auto slash = policy_path.rfind('/');
    directory_path = (slash == std::string::npos ? std::string() : policy_path.substr(0, slash + 1)) + "directory.json";
  }

  struct stat st {};
  if (::stat(db_path.c_str(), &st) == 0 && st.st_size > 0) {
    std::cerr << "portcullis-seed-grants: " << db_path << " exists and is not empty; refusing to touch it\n";
    return kExitUsage;
  }

  const auto t0 = SteadyClock::now();
  auto compiled = ip::load_policy(policy_path, portcullis::dsl::read_file_from_disk);
  if (!compiled.policy) {
    std::cerr << "portcullis-seed-grants: " << policy_path << " does not check (" << compiled.diagnostics.error_count()
              << " errors)\n";
    return kExitUsage;
  }
  std::string error;
  std::optional<ip::Directory> directory;
  try {
    directory = ip::Directory::from_json(nlohmann::json::parse(read_text(directory_path)), error);
  } catch (const std::exception& e) {
    error = e.what();
  }
  if (!directory) {
    std::cerr << "portcullis-seed-grants: " << directory_path << ": " << error << "\n";
    return kExitUsage;
  }
  std::vector<std::string> people;
  {
    const auto json = nlohmann::json::parse(read_text(directory_path));
    for (const auto& p : json.at("people")) people.push_back(p.at("email").get<std::string>());
  }

  // ---- templates ----------------------------------------------------------
  const ip::Time now = static_cast<ip::Time>(
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count());
  const ip::Time base = now - 100 * kDay;  // templates are built here, then shifted
  std::vector<Template> templates;
  std::size_t serial = 0;
  for (const auto& person : people) {
    for (const auto& r : kRoles) {
      ip::AccessRequest request;
      request.requester = person;
      request.app = r.app;
      request.role = r.role;
      request.duration = r.duration;
      request.justification = "seeded grant for the restart benchmark";
      if (auto t = make_template(*compiled.policy, *directory, request, base, serial++)) templates.push_back(std::move(*t));
    }
  }
  if (templates.empty()) {
    std::cerr << "portcullis-seed-grants: no template request reached active under " << policy_path << "\n";
    return kExitFailed;
  }
  std::size_t approvals = 0;
  for (const auto& t : templates) approvals += t.approvals;
  const auto t_templates = SteadyClock::now();
  std::cout << "templates: " << templates.size() << " active requests from " << people.size() << " people x "
            << std::size(kRoles) << " roles (" << approvals << " approvals in all), "
            << std::chrono::duration<double, std::milli>(t_templates - t0).count() << " ms incl. policy load\n";

  // ---- store --------------------------------------------------------------
  rt::SqliteOptions options;
  options.path = db_path;
  options.synchronous = rt::SqliteOptions::Synchronous::normal;
  auto store = rt::open_sqlite_store(options);
  if (!store) {
    std::cerr << "portcullis-seed-grants: " << store.error().message << "\n";
    return kExitFailed;
  }
  {
    auto stats = (*store)->stats();
    if (!stats || !stats->requests_by_status.empty()) {
      std::cerr << "portcullis-seed-grants: " << db_path << " already holds requests; refusing to add more\n";
      return kExitUsage;
    }
  }

  const auto t_store = SteadyClock::now();
  std::deque<std::future<rt::Result<rt::CommitResult>>> pending;
  std::uint64_t failed = 0;
  std::optional<std::string> first_error;
  auto drain_one = [&] {
    auto result = pending.front().get();
    pending.pop_front();
    if (!result) {
      ++failed;
      if (!first_error) first_error = result.error().message;
    }
  };
  for (std::uint64_t i = 0; i < grants; ++i) {
    const Template& t = templates[i % templates.size()];
    rt::Commit commit;
    commit.state = t.state;
    // Expiry evenly over [now + 6h, now + 30d); everything else moves with it.
    const ip::Time expires = now + kFirstExpiry + static_cast<ip::Time>(static_cast<double>(i) * static_cast<double>(kSpread) / static_cast<double>(grants));
    const ip::Time delta = expires - *t.state.expires_at;
    shift_times(commit.state, delta);
    char id[40];
    std::snprintf(id, sizeof id, "req_seed%015llx", static_cast<unsigned long long>(i));
    commit.state.id = id;
    commit.expected_version = 0;
    commit.now = commit.state.updated_at;
    commit.event = {{"type", "submit"}, {"request", rt::codec::encode_request(commit.state.request)}};
    commit.timers.push_back(rt::TimerChange{ip::TimerKind::expire, t.expire.step, t.expire.at + delta, std::nullopt});
    rt::AuditInput audit;
    audit.kind = "seeded";
    audit.actor = "portcullis-seed-grants";
    audit.text = "benchmark grant: " + commit.state.request.requester + " holds " + commit.state.request.app + "." +
                 commit.state.request.role + " (seeded active, not requested through the API)";
    audit.payload = {{"status", "active"}, {"version", commit.state.version}, {"expires_at", expires}};
    commit.audit.push_back(std::move(audit));
    pending.push_back((*store)->commit_async(std::move(commit)));
    if (pending.size() >= in_flight) drain_one();
    if ((i + 1) % 100000 == 0) {
      const double s = std::chrono::duration<double>(SteadyClock::now() - t_store).count();
      std::cout << "  " << (i + 1) << " queued, " << static_cast<long long>((i + 1) / s) << " commits/s" << std::endl;
    }
  }
  while (!pending.empty()) drain_one();
  const auto t_done = SteadyClock::now();
  auto stats = (*store)->stats();
  store->reset();  // closes the store: every queued commit is durable
  const auto t_closed = SteadyClock::now();

  const double seconds = std::chrono::duration<double>(t_done - t_store).count();
  std::cout << "seeded " << (grants - failed) << " active grants into " << db_path << " in " << seconds << " s ("
            << static_cast<long long>(static_cast<double>(grants) / seconds) << " commits/s; "
            << std::chrono::duration<double>(t_closed - t0).count() << " s in all)\n";
  if (stats) {
    for (const auto& [status, n] : stats->requests_by_status) {
      std::cout << "  requests " << ip::status_name(status) << ": " << n << "\n";
    }
    if (stats->next_expiry) std::cout << "  next expiry in " << (*stats->next_expiry - now) << " s\n";
  }
  if (failed) {
    std::cerr << "portcullis-seed-grants: " << failed << " commits failed; first: " << *first_error << "\n";
    return kExitFailed;
  }
  return kExitOk;
}
