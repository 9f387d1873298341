#pragma once
// Shared fixtures for the runtime tests: fully populated values of every
// state-machine type, and temporary database files under /tmp.

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>

#include "interpreter/request_state.hpp"
#include "runtime/store.hpp"

namespace portcullis::runtime::testing {

namespace ip = portcullis::interpreter;

inline ip::Span span_in(const std::shared_ptr<const dsl::SourceFile>& file, std::string_view needle) {
  const auto at = file->text().find(needle);
  return ip::Span::make(file, at, at + needle.size());
}

inline std::shared_ptr<const dsl::SourceFile> sample_file() {
  static const auto file = std::make_shared<const dsl::SourceFile>(
      "policies/acme.policy",
      "app figma {\n  role editor { groups okta.main \"figma-editors\" }\n  approve app.owner then 2 of group "
      "\"design-leads\"\n  people \"a@acme.com\", \"b@acme.com\"\n}\n");
  return file;
}

inline ip::GroupRef sample_group(const std::string& name = "figma-editors") {
  ip::GroupRef g;
  g.provider = "okta.main";
  g.kind = "okta";
  g.group = name;
  g.span = span_in(sample_file(), "okta.main \"figma-editors\"");
  return g;
}

inline ip::AccessRequest sample_request(const std::string& requester = "sam@acme.com") {
  ip::AccessRequest r;
  r.requester = requester;
  r.app = "figma";
  r.role = "editor";
  r.duration = 3600;
  r.permanent = false;
  r.justification = "design review \xC3\xA9t\xC3\xA9 \"quoted\"\n";
  r.ticket = "IT-42";
  return r;
}

inline ip::Plan sample_plan() {
  const auto file = sample_file();
  ip::Plan p;
  p.outcome = ip::Outcome::approval;
  p.app = "figma";
  p.role = "editor";
  p.app_title = "Figma";
  p.bucket = "sensitive";
  ip::PlanStep s1;
  s1.quorum = 1;
  s1.source.kind = ip::Approver::Kind::app_owner;
  s1.source.span = span_in(file, "app.owner");
  s1.eligible = {"dana@acme.com"};
  s1.who = "the app owner (dana@acme.com)";
  s1.why = "owner of app Figma";
  s1.remind_after = 86400;
  s1.escalate_after = 172800;
  s1.escalate_to = {"it@acme.com"};
  s1.escalate_who = "IT";
  s1.span = span_in(file, "app.owner");
  ip::PlanStep s2;
  s2.quorum = 2;
  s2.source.kind = ip::Approver::Kind::people;
  s2.source.name = "";
  s2.source.people = {{"a@acme.com", span_in(file, "\"a@acme.com\"")}, {"b@acme.com", span_in(file, "\"b@acme.com\"")}};
  s2.source.span = span_in(file, "people");
  s2.eligible = {"a@acme.com", "b@acme.com"};
  s2.eligible_known = false;
  s2.who = "2 of people";
  s2.why = "design leads";
  s2.span = span_in(file, "2 of group");
  p.steps = {s1, s2};
  p.duration = 3600;
  p.groups = {sample_group(), sample_group("figma-all")};
  p.manual = "ask the design ops team";
  p.max_renewals = 2;
  p.expiry_required = true;
  p.denial = "";
  p.reasons = {{"role editor", span_in(file, "role editor")}, {"no span", {}}};
  return p;
}

inline ip::RequestState sample_state(const std::string& id = "req-1") {
  ip::RequestState s;
  s.id = id;
  s.request = sample_request();
  s.plan = sample_plan();
  s.status = ip::Status::awaiting_approval;
  s.step = 1;
  s.approvals = {{{"dana@acme.com", 1700000100}}, {}};
  s.escalated = {true, false};
  ip::Membership m;
  m.group = sample_group();
  m.state = ip::Membership::State::add_failed;
  m.detail = "okta: 429";
  s.memberships = {m};
  s.created_at = 1700000000;
  s.updated_at = 1700000200;
  s.approved_at = 1700000150;
  s.active_at = std::nullopt;
  s.expires_at = 1700003600;
  s.closed_at = std::nullopt;
  s.renewals = 1;
  ip::PendingRenewal renewal;
  renewal.requested_by = "sam@acme.com";
  renewal.duration = 7200;
  renewal.requested_at = 1700000300;
  renewal.step = 0;
  renewal.approvals = {{{"dana@acme.com", 1700000400}}};
  s.renewal = renewal;
  s.closing = ip::Status::revoked;
  s.closed_by = "";
  s.closing_reason = "";
  s.version = 1;
  return s;
}

// A unique path under /tmp, removed (with -wal and -shm) on destruction.
class TempDb {
 public:
  TempDb() {
    static std::atomic<int> counter{0};
    path_ = "/tmp/portcullis_runtime_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + ".db";
    remove();
  }
  ~TempDb() { remove(); }
  const std::string& path() const { return path_; }

 private:
  void remove() {
    std::error_code ec;
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) std::filesystem::remove(path_ + suffix, ec);
  }
  std::string path_;
};

}  // namespace portcullis::runtime::testing
