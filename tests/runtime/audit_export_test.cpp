// `portcullis audit export`: the evidence of one request, rendered from
// constructed data (pure functions) and end to end from a database built
// through Store::commit.

#include "runtime/audit_export.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "runtime/codec.hpp"
#include "runtime/sqlite_store.hpp"
#include "runtime_test_support.hpp"

namespace portcullis::runtime {
namespace {

namespace ip = portcullis::interpreter;
using namespace portcullis::runtime::testing;

constexpr Time kT0 = 1700000000;  // 2023-11-14T22:13:20Z

// ---- constructed data ---------------------------------------------------------

// A request revoked after it was active, with one approval per step.
ip::RequestState revoked_state() {
  ip::RequestState s = sample_state("req-7");
  s.status = ip::Status::revoked;
  s.approvals = {{{"dana@acme.com", kT0 + 100}}, {{"a@acme.com", kT0 + 200}, {"b@acme.com", kT0 + 210}}};
  ip::Membership editors{sample_group("figma-editors"), ip::Membership::State::removed, ""};
  ip::Membership all{sample_group("figma-all"), ip::Membership::State::remove_failed, "okta: 500"};
  s.memberships = {editors, all};
  s.created_at = kT0;
  s.approved_at = kT0 + 210;
  s.active_at = kT0 + 300;
  s.expires_at = kT0 + 3900;
  s.closed_at = kT0 + 1100;
  s.updated_at = kT0 + 1100;
  s.renewal.reset();
  s.renewals = 0;
  s.closed_by = "lee@acme.com";
  s.closing_reason = "left the project";
  return s;
}

// Chains `entries` from the genesis hash, the way the store does.
std::vector<audit::Entry> chained(std::vector<audit::Entry> entries) {
  std::string prev(audit::kGenesisHash);
  std::int64_t seq = 0;
  for (auto& e : entries) {
    e.seq = ++seq;
    e.request_id = "req-7";
    if (e.payload.empty()) e.payload = "{}";
    e.prev_hash = prev;
    e.hash = audit::compute_hash(prev, e);
    prev = e.hash;
  }
  return entries;
}

std::vector<audit::Entry> revoked_entries() {
  auto entry = [](Time at, std::string kind, std::string actor, std::string text) {
    audit::Entry e;
    e.at = at;
    e.kind = std::move(kind);
    e.actor = std::move(actor);
    e.text = std::move(text);
    return e;
  };
  return chained({
      entry(kT0, "submitted", "sam@acme.com", "asked for figma editor"),
      entry(kT0 + 100, "approved", "dana@acme.com", "approved step 1 of 2"),
      entry(kT0 + 150, "refused", "sam@acme.com", "sam@acme.com cannot approve their own request"),
      entry(kT0 + 300, "evidence", "system", "added sam@acme.com to okta.main group figma-editors"),
      entry(kT0 + 1100, "evidence", "system", "removed sam@acme.com from okta.main group figma-editors"),
      entry(kT0 + 1100, "evidence", "system", "removal failed for okta.main group figma-all: okta: 500"),
  });
}

// Arguments for exporting one request (batch fields left at their defaults).
AuditExportArgs one_request(std::string db, std::string request_id, AuditExportArgs::Format format) {
  AuditExportArgs args;
  args.db = std::move(db);
  args.request_id = std::move(request_id);
  args.format = format;
  return args;
}

TEST(AuditExport, FormatsTimesAsIso8601Utc) {
  EXPECT_EQ(iso8601_utc(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(iso8601_utc(kT0), "2023-11-14T22:13:20Z");
  EXPECT_EQ(iso8601_utc(951782400), "2000-02-29T00:00:00Z");
}

TEST(AuditExport, JsonNamesWhoAskedWhoApprovedEachMembershipChangeAndTheEnding) {
  const auto entries = revoked_entries();
  const Json x = export_json(revoked_state(), entries, {Json{{"type", "approve"}, {"by", "dana@acme.com"}}});

  EXPECT_EQ(x["export_version"], 1);
  EXPECT_EQ(x["request_id"], "req-7");
  EXPECT_EQ(x["status"], "revoked");
  EXPECT_EQ(x["request"]["requester"], "sam@acme.com");
  EXPECT_EQ(x["request"]["app"], "figma");
  EXPECT_EQ(x["request"]["role"], "editor");
  EXPECT_EQ(x["request"]["requested_duration_seconds"], 3600);
  EXPECT_EQ(x["request"]["submitted_at"], "2023-11-14T22:13:20Z");
  EXPECT_EQ(x["request"]["justification"], sample_request().justification);

  ASSERT_EQ(x["plan"]["steps"].size(), 2u);
  EXPECT_EQ(x["plan"]["steps"][0]["who"], "the app owner (dana@acme.com)");
  EXPECT_EQ(x["plan"]["steps"][0]["why"], "owner of app Figma");
  EXPECT_EQ(x["plan"]["steps"][0]["approvals"][0]["by"], "dana@acme.com");
  EXPECT_EQ(x["plan"]["steps"][0]["approvals"][0]["at"], "2023-11-14T22:15:00Z");
  EXPECT_EQ(x["plan"]["steps"][1]["approvals"][1]["by"], "b@acme.com");
  EXPECT_EQ(x["plan"]["groups"][0]["provider"], "okta.main");

  ASSERT_EQ(x["memberships"].size(), 2u);
  const Json& editors = x["memberships"][0];
  EXPECT_EQ(editors["group"], "figma-editors");
  EXPECT_EQ(editors["state"], "removed");
  ASSERT_EQ(editors["changes"].size(), 2u);
  EXPECT_EQ(editors["changes"][0]["change"], "added");
  EXPECT_EQ(editors["changes"][0]["at"], "2023-11-14T22:18:20Z");
  EXPECT_EQ(editors["changes"][1]["change"], "removed");
  EXPECT_EQ(editors["changes"][1]["at"], "2023-11-14T22:31:40Z");
  const Json& all = x["memberships"][1];
  EXPECT_EQ(all["state"], "remove_failed");
  EXPECT_EQ(all["detail"], "okta: 500");
  ASSERT_EQ(all["changes"].size(), 1u);
  EXPECT_EQ(all["changes"][0]["change"], "failed");

  ASSERT_EQ(x["refusals"].size(), 1u);
  EXPECT_EQ(x["refusals"][0]["actor"], "sam@acme.com");

  EXPECT_EQ(x["ending"]["closed"], true);
  EXPECT_EQ(x["ending"]["status"], "revoked");
  EXPECT_EQ(x["ending"]["by"], "lee@acme.com");
  EXPECT_EQ(x["ending"]["reason"], "left the project");
  EXPECT_EQ(x["ending"]["at"], "2023-11-14T22:31:40Z");

  EXPECT_EQ(x["events"].size(), 1u);
  EXPECT_EQ(x["audit"]["consistent"], true);
  ASSERT_EQ(x["audit"]["entries"].size(), entries.size());
  EXPECT_EQ(x["audit"]["entries"][2]["hash"], entries[2].hash);
  EXPECT_EQ(x["audit"]["entries"][2]["prev_hash"], entries[1].hash);
  EXPECT_EQ(x["audit"]["entries"][0]["prev_hash"], std::string(audit::kGenesisHash));
  EXPECT_EQ(x["audit"]["entries"][0]["payload"], Json::object());
  EXPECT_FALSE(x.contains("chain"));
}

TEST(AuditExport, AnEntryChangedAfterItWasHashedMakesTheExportInconsistent) {
  auto entries = revoked_entries();
  entries[1].actor = "mallory@acme.com";  // the stored hash no longer matches
  const Json x = export_json(revoked_state(), entries, {});
  EXPECT_EQ(x["audit"]["consistent"], false);
  EXPECT_EQ(x["audit"]["entries"][1]["hash_ok"], false);
  EXPECT_EQ(x["audit"]["entries"][0]["hash_ok"], true);
  ASSERT_FALSE(x["audit"]["problems"].empty());
  EXPECT_NE(x["audit"]["problems"][0].get<std::string>().find("entry 2"), std::string::npos);

  auto relinked = revoked_entries();
  relinked[3].prev_hash = std::string(64, 'a');
  relinked[3].hash = audit::compute_hash(relinked[3].prev_hash, relinked[3]);  // self-consistent, but unlinked
  const Json y = export_json(revoked_state(), relinked, {});
  EXPECT_EQ(y["audit"]["consistent"], false);
  EXPECT_EQ(y["audit"]["entries"][3]["hash_ok"], true);

  const std::string md = export_markdown(revoked_state(), entries, {});
  EXPECT_NE(md.find("NOT consistent"), std::string::npos);
  EXPECT_NE(md.find("**NO**"), std::string::npos);
}

TEST(AuditExport, MarkdownIsReadableByAReviewer) {
  const auto entries = revoked_entries();
  AuditVerification chain;
  chain.checked = 6;
  chain.head = AuditHead{6, entries.back().hash};
  const std::string md = export_markdown(revoked_state(), entries, {}, chain);

  EXPECT_EQ(md.rfind("# Access request req-7: evidence\n", 0), 0u) << md;
  for (const char* expected :
       {"| Requester | sam@acme.com |", "| App | Figma (figma) |", "| Role | editor |", "| Ticket | IT-42 |",
        "| Submitted | 2023-11-14T22:13:20Z |", "> design review", "## Plan", "### Approval steps", "dana@acme.com",
        "2023-11-14T22:15:00Z", "a@acme.com<br>b@acme.com", "### Groups", "figma-editors", "figma-all",
        "## Membership changes", "| okta.main | figma-editors | added | 2023-11-14T22:18:20Z | 4 |",
        "**now: remove_failed**", "## Refusals", "cannot approve their own request", "## How it ended",
        "revoked at 2023-11-14T22:31:40Z by lee@acme.com: left the project", "## Audit entries",
        "The whole audit chain verifies: 6 entries", "| Seq | At | Kind | Actor | Text | prev_hash | hash | Hash ok |"}) {
    EXPECT_NE(md.find(expected), std::string::npos) << "missing: " << expected << "\n" << md;
  }
  EXPECT_NE(md.find("`" + entries[5].hash + "`"), std::string::npos);
  EXPECT_EQ(md.find("NOT consistent"), std::string::npos);
}

TEST(AuditExport, MarkdownKeepsTableCellsIntact) {
  auto entries = revoked_entries();
  entries[0].text = "a | pipe\nand a line break";
  entries = chained(entries);
  const std::string md = export_markdown(revoked_state(), entries, {});
  EXPECT_NE(md.find("a \\| pipe<br>and a line break"), std::string::npos) << md;
}

TEST(AuditExport, SaysHowADeniedOrOpenRequestStands) {
  ip::RequestState denied = revoked_state();
  denied.status = ip::Status::denied;
  denied.closed_by = "dana@acme.com";
  denied.closing_reason = "not for contractors";
  denied.memberships.clear();
  const Json x = export_json(denied, {}, {});
  EXPECT_EQ(x["ending"]["summary"], "denied at 2023-11-14T22:31:40Z by dana@acme.com: not for contractors");
  EXPECT_TRUE(x["memberships"].empty());
  EXPECT_EQ(x["audit"]["consistent"], true);

  ip::RequestState open = sample_state();
  const Json y = export_json(open, {}, {});
  EXPECT_EQ(y["ending"]["closed"], false);
  EXPECT_TRUE(y["ending"]["by"].is_null());
  EXPECT_EQ(y["ending"]["summary"], "still open (awaiting_approval)");
  EXPECT_EQ(y["renewals"]["pending"]["requested_by"], "sam@acme.com");
}

// ---- end to end -----------------------------------------------------------------

class Lifecycle {
 public:
  explicit Lifecycle(Store& store) : store_(store) {}

  // Commits the next transition of `state`: `change` edits it, `audit` is
  // the evidence recorded with it.
  template <class Change>
  void step(ip::RequestState& state, Time now, Json event, std::vector<AuditInput> audit, Change change,
            std::vector<ip::Effect> effects = {}) {
    Commit c;
    c.expected_version = state.version;
    change(state);
    state.version += 1;
    state.updated_at = now;
    c.state = state;
    c.event = std::move(event);
    add_effects(c, effects);
    c.audit = std::move(audit);
    c.now = now;
    auto r = store_.commit(std::move(c));
    ASSERT_TRUE(r.ok()) << r.error().message;
  }

 private:
  Store& store_;
};

ip::RequestState fresh(const std::string& id) {
  ip::RequestState s = sample_state(id);
  s.status = ip::Status::awaiting_approval;
  s.step = 0;
  s.approvals = {{}, {}};
  s.escalated = {false, false};
  s.memberships.clear();
  s.approved_at.reset();
  s.expires_at.reset();
  s.renewal.reset();
  s.renewals = 0;
  s.closing = ip::Status::expired;
  s.version = 0;
  s.created_at = kT0;
  return s;
}

// Writes req-7's whole life (and an unrelated request in between) to `path`.
void write_lifecycle(const std::string& path) {
  SqliteOptions options;
  options.path = path;
  auto opened = open_sqlite_store(options);
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  Store& store = **opened;
  Lifecycle life(store);
  auto group_payload = [](const std::string& name) { return Json{{"group", name}, {"provider", "okta.main"}}; };

  ip::RequestState s = fresh("req-7");
  life.step(s, kT0, Json{{"type", "submit"}, {"request", codec::encode_request(s.request)}},
            {{"submitted", "sam@acme.com", "asked for figma editor: design review", Json::object()}}, [](auto&) {},
            {ip::PostCardEffect{0, {"dana@acme.com"}}});
  life.step(s, kT0 + 100, codec::encode_event(ip::ApproveEvent{"dana@acme.com"}),
            {{"approved", "dana@acme.com", "approved step 1 of 2", Json::object()}}, [](ip::RequestState& st) {
              st.approvals[0].push_back({"dana@acme.com", kT0 + 100});
              st.step = 1;
            });
  // An unrelated request lands in the chain between req-7's entries.
  ip::RequestState other = fresh("req-other");
  other.request.requester = "kim@acme.com";
  life.step(other, kT0 + 120, Json{{"type", "submit"}},
            {{"submitted", "kim@acme.com", "asked for figma editor", Json::object()}}, [](auto&) {});
  {
    // A refusal keeps the version: nothing moved.
    Commit c;
    c.expected_version = s.version;
    c.state = s;
    c.event = codec::encode_event(ip::ApproveEvent{"sam@acme.com"});
    c.audit = {{"refused", "sam@acme.com", "sam@acme.com cannot approve their own request", Json::object()}};
    c.now = kT0 + 150;
    ASSERT_TRUE(store.commit(std::move(c)).ok());
  }
  life.step(s, kT0 + 200, codec::encode_event(ip::ApproveEvent{"a@acme.com"}),
            {{"approved", "a@acme.com", "approved step 2 of 2 (1 of 2)", Json::object()}},
            [](ip::RequestState& st) { st.approvals[1].push_back({"a@acme.com", kT0 + 200}); });
  life.step(
      s, kT0 + 210, codec::encode_event(ip::ApproveEvent{"b@acme.com"}),
      {{"approved", "b@acme.com", "approved step 2 of 2 (2 of 2)", Json::object()}},
      [](ip::RequestState& st) {
        st.approvals[1].push_back({"b@acme.com", kT0 + 210});
        st.status = ip::Status::provisioning;
        st.approved_at = kT0 + 210;
        for (const auto& g : st.plan.groups) st.memberships.push_back({g, ip::Membership::State::pending_add, ""});
      },
      {ip::AddMembershipEffect{sample_group("figma-editors"), "sam@acme.com"},
       ip::AddMembershipEffect{sample_group("figma-all"), "sam@acme.com"}});
  life.step(s, kT0 + 300, codec::encode_event(ip::ProvisionResultEvent{sample_group("figma-editors"), true, true, ""}),
            {{"evidence", "system", "added sam@acme.com to okta.main group figma-editors", group_payload("figma-editors")}},
            [](ip::RequestState& st) { st.memberships[0].state = ip::Membership::State::added; });
  life.step(s, kT0 + 310, codec::encode_event(ip::ProvisionResultEvent{sample_group("figma-all"), true, true, ""}),
            {{"evidence", "system", "added sam@acme.com to okta.main group figma-all", group_payload("figma-all")},
             {"evidence", "system", "access active until 2023-11-14T23:18:30Z", Json::object()}},
            [](ip::RequestState& st) {
              st.memberships[1].state = ip::Membership::State::added;
              st.status = ip::Status::active;
              st.active_at = kT0 + 310;
              st.expires_at = kT0 + 3910;
            });
  life.step(
      s, kT0 + 1000, codec::encode_event(ip::RevokeEvent{"lee@acme.com", "left the project"}),
      {{"revoked", "lee@acme.com", "revocation asked: left the project", Json::object()}},
      [](ip::RequestState& st) {
        st.status = ip::Status::deprovisioning;
        st.closing = ip::Status::revoked;
        st.closed_by = "lee@acme.com";
        st.closing_reason = "left the project";
        for (auto& m : st.memberships) m.state = ip::Membership::State::pending_remove;
      },
      {ip::RemoveMembershipEffect{sample_group("figma-editors"), "sam@acme.com"},
       ip::RemoveMembershipEffect{sample_group("figma-all"), "sam@acme.com"}});
  life.step(s, kT0 + 1100, codec::encode_event(ip::ProvisionResultEvent{sample_group("figma-editors"), false, true, ""}),
            {{"evidence", "system", "removed sam@acme.com from okta.main group figma-editors",
              group_payload("figma-editors")}},
            [](ip::RequestState& st) { st.memberships[0].state = ip::Membership::State::removed; });
  life.step(s, kT0 + 1110, codec::encode_event(ip::ProvisionResultEvent{sample_group("figma-all"), false, true, ""}),
            {{"evidence", "system", "removed sam@acme.com from okta.main group figma-all", group_payload("figma-all")},
             {"closed", "lee@acme.com", "revoked by lee@acme.com: left the project", Json::object()}},
            [](ip::RequestState& st) {
              st.memberships[1].state = ip::Membership::State::removed;
              st.status = ip::Status::revoked;
              st.closed_at = kT0 + 1110;
            });
}

TEST(AuditExport, ExportsACommittedLifecycleAsJson) {
  TempDb db;
  write_lifecycle(db.path());
  if (::testing::Test::HasFatalFailure()) return;

  std::ostringstream out, err;
  ASSERT_EQ(run_audit_export(one_request(db.path(), "req-7", AuditExportArgs::Format::json), out, err), 0) << err.str();
  EXPECT_EQ(err.str(), "");
  const Json x = Json::parse(out.str());
  EXPECT_EQ(x["status"], "revoked");
  EXPECT_EQ(x["plan"]["steps"][0]["approvals"][0]["by"], "dana@acme.com");
  EXPECT_EQ(x["plan"]["steps"][1]["approvals"][1]["at"], "2023-11-14T22:16:50Z");
  ASSERT_EQ(x["memberships"].size(), 2u);
  EXPECT_EQ(x["memberships"][1]["group"], "figma-all");
  EXPECT_EQ(x["memberships"][1]["state"], "removed");
  ASSERT_EQ(x["memberships"][1]["changes"].size(), 2u);
  EXPECT_EQ(x["memberships"][1]["changes"][0]["change"], "added");
  EXPECT_EQ(x["memberships"][1]["changes"][1]["at"], "2023-11-14T22:31:50Z");
  EXPECT_EQ(x["refusals"].size(), 1u);
  EXPECT_EQ(x["ending"]["summary"], "revoked at 2023-11-14T22:31:50Z by lee@acme.com: left the project");
  EXPECT_EQ(x["events"].size(), 10u);  // the refusal is stored as an event too
  EXPECT_EQ(x["events"][0]["type"], "submit");

  // Only req-7's entries, in seq order, with the other request's entry
  // between them: consistent, and the whole chain verifies.
  const Json& entries = x["audit"]["entries"];
  ASSERT_EQ(entries.size(), 12u);
  EXPECT_EQ(entries[1]["seq"], 2);
  EXPECT_EQ(entries[2]["seq"], 4);
  EXPECT_EQ(entries[2]["kind"], "refused");
  EXPECT_EQ(x["audit"]["consistent"], true);
  EXPECT_EQ(x["chain"]["ok"], true);
  EXPECT_EQ(x["chain"]["checked"], 13);
  EXPECT_EQ(x["chain"]["head"]["hash"], entries[11]["hash"]);
}

TEST(AuditExport, ExportsACommittedLifecycleAsMarkdown) {
  TempDb db;
  write_lifecycle(db.path());
  if (::testing::Test::HasFatalFailure()) return;

  std::ostringstream out, err;
  ASSERT_EQ(run_audit_export(one_request(db.path(), "req-7", AuditExportArgs::Format::markdown), out, err), 0) << err.str();
  const std::string md = out.str();
  for (const char* expected :
       {"# Access request req-7: evidence", "sam@acme.com", "dana@acme.com", "a@acme.com<br>b@acme.com",
        "| okta.main | figma-editors | removed | 2023-11-14T22:31:40Z |", "left the project",
        "cannot approve their own request", "The whole audit chain verifies: 13 entries"}) {
    EXPECT_NE(md.find(expected), std::string::npos) << "missing: " << expected << "\n" << md;
  }
  EXPECT_EQ(md.find("kim@acme.com"), std::string::npos) << "another request's evidence leaked in";
}

TEST(AuditExport, AnUnknownRequestExitsOneNamingTheRequestAndTheDatabase) {
  TempDb db;
  write_lifecycle(db.path());
  if (::testing::Test::HasFatalFailure()) return;
  std::ostringstream out, err;
  EXPECT_EQ(run_audit_export(one_request(db.path(), "req-nope", AuditExportArgs::Format::json), out, err), 1);
  EXPECT_EQ(out.str(), "");
  EXPECT_NE(err.str().find("req-nope"), std::string::npos) << err.str();
  EXPECT_NE(err.str().find(db.path()), std::string::npos) << err.str();
}

TEST(AuditExport, AMissingOrForeignFileExitsTwoNamingThePathAndCreatesNothing) {
  TempDb db;
  std::ostringstream out, err;
  EXPECT_EQ(run_audit_export(one_request(db.path(), "req-7", AuditExportArgs::Format::json), out, err), 2);
  EXPECT_NE(err.str().find(db.path()), std::string::npos) << err.str();
  EXPECT_FALSE(std::filesystem::exists(db.path())) << "a read-only export must not create the file";

  { std::ofstream(db.path()) << "not a database at all, just some text that is long enough"; }
  std::ostringstream out2, err2;
  EXPECT_EQ(run_audit_export(one_request(db.path(), "req-7", AuditExportArgs::Format::markdown), out2, err2), 2);
  EXPECT_NE(err2.str().find(db.path()), std::string::npos) << err2.str();

  std::ostringstream out3, err3;
  EXPECT_EQ(run_audit_export(one_request("", "req-7", AuditExportArgs::Format::json), out3, err3), 2);
  EXPECT_EQ(run_audit_export(one_request(db.path(), "", AuditExportArgs::Format::json), out3, err3), 2);
}

}  // namespace
}  // namespace portcullis::runtime
