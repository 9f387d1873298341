// The engine end to end on the acme example: commands, the effect executor
// against the sandbox, timers on a manual clock, retries, restarts.

#include <algorithm>

#include "daemon_test_support.hpp"

namespace portcullis::runtime::testing {
namespace {

using ip::Status;

bool has_member(const connectors::Sandbox& sandbox, const std::string& provider, const std::string& group,
                const std::string& user) {
  const auto members = sandbox.members(provider, group);
  return std::find(members.begin(), members.end(), user) != members.end();
}

std::vector<std::string> audit_kinds(Store& store, const std::string& id) {
  std::vector<std::string> kinds;
  auto entries = store.audit_of(id);
  EXPECT_TRUE(entries);
  if (entries) {
    for (const auto& e : *entries) kinds.push_back(e.kind);
  }
  return kinds;
}

bool contains(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

class EngineTest : public ::testing::Test {
 protected:
  TempDir dir;
};

TEST_F(EngineTest, AnAutoApprovedRequestIsProvisionedInTheSandboxAndBecomesActive) {
  EngineHarness h(dir.file("state.db"));
  auto submitted = h.engine->submit(make_request("ann.lee@acme.com", "figma", "viewer"), std::nullopt);
  ASSERT_TRUE(submitted) << submitted.error().message;
  const std::string id = submitted->state.id;
  EXPECT_EQ(submitted->state.status, Status::provisioning);
  // Nothing is changed before the executor runs the committed effects.
  EXPECT_FALSE(has_member(*h.sandbox, "sandbox.okta", "figma-viewers", "ann.lee@acme.com"));

  EXPECT_GT(h.drain(), 0u);
  EXPECT_EQ(h.state(id).status, Status::active);
  EXPECT_TRUE(has_member(*h.sandbox, "sandbox.okta", "figma-viewers", "ann.lee@acme.com"));
  // The evidence went to the request's ticket, in order.
  const auto comments = h.sandbox->comments(id);
  ASSERT_FALSE(comments.empty());
  const bool added = std::any_of(comments.begin(), comments.end(), [](const auto& c) {
    return c.text.find("added ann.lee@acme.com to sandbox.okta group figma-viewers") != std::string::npos;
  });
  EXPECT_TRUE(added);
  // No card was ever posted (nobody approves), so no card update was sent.
  EXPECT_TRUE(h.sandbox->messages(id).empty());
  EXPECT_EQ(h.engine->executor_stats().kinds[1].succeeded, 0u) << "update_card";
  EXPECT_GT(h.engine->executor_stats().kinds[3].succeeded, 0u) << "add_membership";
  // Every row is finished, the group change's in the commit of its result.
  EXPECT_TRUE(h.store->pending_outbox(10)->empty());
  const auto kinds = audit_kinds(*h.store, id);
  EXPECT_EQ(kinds.front(), "submitted");
  EXPECT_TRUE(contains(kinds, "provisioned"));
  auto verified = h.store->verify_audit();
  ASSERT_TRUE(verified);
  EXPECT_TRUE(verified->ok) << verified->why;
}

TEST_F(EngineTest, OnlyTheManagerApprovesAndEveryRefusalIsRecorded) {
  EngineHarness h(dir.file("state.db"));
  auto submitted = h.engine->submit(make_request("carl.diaz@acme.com", "figma", "editor"), std::nullopt);
  ASSERT_TRUE(submitted);
  const std::string id = submitted->state.id;
  EXPECT_EQ(submitted->state.status, Status::awaiting_approval);
  // The card went to the manager.
  h.drain();
  const auto messages = h.sandbox->messages(id);
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0].approver, "bob.stone@acme.com");

  auto self = h.engine->act(id, ip::ApproveEvent{"carl.diaz@acme.com"});
  ASSERT_TRUE(self);
  ASSERT_TRUE(self->refusal);
  EXPECT_EQ(self->state.status, Status::awaiting_approval);
  auto stranger = h.engine->act(id, ip::ApproveEvent{"chloe.martin@acme.com"});
  ASSERT_TRUE(stranger);
  EXPECT_TRUE(stranger->refusal);

  auto manager = h.engine->act(id, ip::ApproveEvent{"bob.stone@acme.com"});
  ASSERT_TRUE(manager);
  EXPECT_FALSE(manager->refusal);
  h.drain();
  EXPECT_EQ(h.state(id).status, Status::active);
  EXPECT_TRUE(has_member(*h.sandbox, "sandbox.okta", "figma-editors", "carl.diaz@acme.com"));

  const auto kinds = audit_kinds(*h.store, id);
  EXPECT_EQ(std::count(kinds.begin(), kinds.end(), "refused"), 2);
  EXPECT_TRUE(contains(kinds, "approved"));
  auto entries = h.store->audit_of(id);
  ASSERT_TRUE(entries);
  const auto refused = std::find_if(entries->begin(), entries->end(), [](const auto& e) { return e.kind == "refused"; });
  EXPECT_EQ(refused->actor, "carl.diaz@acme.com");
}

// Approves the acme AWS production admin request (2 platform leads, then
// security) and runs its effects.
std::string approve_aws_admin(EngineHarness& h, ip::Seconds duration) {
  auto submitted = h.engine->submit(
      make_request("ann.lee@acme.com", "aws_prod", "admin", duration, "INC-4411: failover", "ACC-1042"),
      std::nullopt);
  EXPECT_TRUE(submitted) << (submitted ? "" : submitted.error().message);
  if (!submitted) return {};
  const std::string id = submitted->state.id;
  EXPECT_EQ(submitted->state.status, Status::awaiting_approval) << submitted->state.plan.denial;
  for (const char* approver : {"pat.kim@acme.com", "raj.rao@acme.com", "omar.haddad@acme.com"}) {
    auto approved = h.engine->act(id, ip::ApproveEvent{approver});
    EXPECT_TRUE(approved);
    EXPECT_FALSE(approved && approved->refusal) << *approved->refusal;
  }
  h.drain();
  return id;
}

TEST_F(EngineTest, ATimeBoundGrantExpiresOnTimeAndItsGroupsAreRemoved) {
  EngineHarness h(dir.file("state.db"));
  const std::string id = approve_aws_admin(h, 3600);
  ASSERT_EQ(h.state(id).status, Status::active);
  EXPECT_TRUE(has_member(*h.sandbox, "sandbox.okta", "aws-prod-admin", "ann.lee@acme.com"));
  EXPECT_TRUE(has_member(*h.sandbox, "sandbox.entra", "aws-prod-admin", "ann.lee@acme.com"));
  ASSERT_TRUE(h.state(id).expires_at);
  EXPECT_EQ(*h.state(id).expires_at, h.state(id).active_at.value() + 3600);

  // Before the expiry only the warning fires (15 minutes ahead of an hour's
  // grant), and access stays.
  h.clock->set(*h.state(id).expires_at - 15 * 60 - 1);
  EXPECT_EQ(h.engine->fire_due_timers(), 0u);
  h.clock->set(*h.state(id).expires_at - 1);
  EXPECT_EQ(h.engine->fire_due_timers(), 1u);
  EXPECT_EQ(h.state(id).status, Status::active);
  EXPECT_TRUE(contains(audit_kinds(*h.store, id), "expiry_warned"));
  EXPECT_EQ(h.engine->fire_due_timers(), 0u);
  h.clock->set(*h.state(id).expires_at);
  EXPECT_EQ(h.engine->fire_due_timers(), 1u);
  EXPECT_EQ(h.state(id).status, Status::deprovisioning);
  h.drain();
  EXPECT_EQ(h.state(id).status, Status::expired);
  EXPECT_FALSE(has_member(*h.sandbox, "sandbox.okta", "aws-prod-admin", "ann.lee@acme.com"));
  EXPECT_FALSE(has_member(*h.sandbox, "sandbox.entra", "aws-prod-admin", "ann.lee@acme.com"));
  EXPECT_TRUE(contains(audit_kinds(*h.store, id), "expired"));
  EXPECT_TRUE(contains(audit_kinds(*h.store, id), "deprovisioned"));
  // The fired timer is gone: nothing fires again.
  EXPECT_EQ(h.engine->fire_due_timers(), 0u);
}

TEST_F(EngineTest, AnOverlappingGrantKeepsTheGroupUntilTheLastOneEnds) {
  EngineHarness h(dir.file("state.db"));
  const std::string first = approve_aws_admin(h, 3600);
  const std::string second = approve_aws_admin(h, 6 * 3600);
  ASSERT_EQ(h.state(second).status, Status::active);

  h.clock->advance(3600);
  h.engine->fire_due_timers();
  h.drain();
  EXPECT_EQ(h.state(first).status, Status::expired);
  EXPECT_TRUE(has_member(*h.sandbox, "sandbox.okta", "aws-prod-admin", "ann.lee@acme.com"))
      << "the second grant still needs the group";

  h.clock->advance(5 * 3600);
  h.engine->fire_due_timers();
  h.drain();
  EXPECT_EQ(h.state(second).status, Status::expired);
  EXPECT_FALSE(has_member(*h.sandbox, "sandbox.okta", "aws-prod-admin", "ann.lee@acme.com"));
}

TEST_F(EngineTest, TransientFailuresAreRetriedAfterABackoff) {
  EngineHarness h(dir.file("state.db"));
  h.sandbox->fail_group("sandbox.okta", "figma-viewers", connectors::Outcome::Kind::transient, 2, 30);
  auto submitted = h.engine->submit(make_request("ann.lee@acme.com", "figma", "viewer"), std::nullopt);
  ASSERT_TRUE(submitted);
  const std::string id = submitted->state.id;
  h.drain();
  EXPECT_EQ(h.state(id).status, Status::provisioning);
  // Not before the Retry-After the sandbox sent.
  h.clock->advance(29);
  h.drain();
  auto pending = h.store->pending_outbox(10);
  ASSERT_TRUE(pending);
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ(pending->front().attempts, 1);
  EXPECT_NE(pending->front().last_error.find("injected"), std::string::npos) << pending->front().last_error;

  for (int i = 0; i < 4 && h.state(id).status != Status::active; ++i) {
    h.clock->advance(600);
    h.drain();
  }
  EXPECT_EQ(h.state(id).status, Status::active);
  EXPECT_TRUE(has_member(*h.sandbox, "sandbox.okta", "figma-viewers", "ann.lee@acme.com"));
  const auto stats = h.engine->executor_stats();
  EXPECT_EQ(stats.kinds[3].retried, 2u);
  EXPECT_EQ(stats.kinds[3].succeeded, 1u);
}

TEST_F(EngineTest, APermanentFailureFailsTheRequestAndTellsIt) {
  EngineHarness h(dir.file("state.db"));
  h.sandbox->fail_group("sandbox.okta", "figma-viewers", connectors::Outcome::Kind::permanent, -1);
  auto submitted = h.engine->submit(make_request("ann.lee@acme.com", "figma", "viewer"), std::nullopt);
  ASSERT_TRUE(submitted);
  const std::string id = submitted->state.id;
  h.drain();
  const auto state = h.state(id);
  EXPECT_EQ(state.status, Status::failed);
  EXPECT_NE(state.closing_reason.find("figma-viewers"), std::string::npos) << state.closing_reason;
  EXPECT_TRUE(contains(audit_kinds(*h.store, id), "provisioning_failed"));
  const auto notifications = h.sandbox->notifications();
  const bool told = std::any_of(notifications.begin(), notifications.end(), [](const auto& n) {
    return n.message.find("provisioning failed") != std::string::npos && !n.recipients.empty();
  });
  EXPECT_TRUE(told) << "IT is told about the failure";
}

TEST_F(EngineTest, TheRetryBudgetEndsInFailedNeverInSilence) {
  ExecutorOptions options;
  options.max_attempts = 3;
  EngineHarness h(dir.file("state.db"), options);
  h.sandbox->fail_group("sandbox.okta", "figma-viewers", connectors::Outcome::Kind::transient, -1);
  auto submitted = h.engine->submit(make_request("ann.lee@acme.com", "figma", "viewer"), std::nullopt);
  ASSERT_TRUE(submitted);
  const std::string id = submitted->state.id;
  for (int i = 0; i < 6; ++i) {
    h.drain();
    h.clock->advance(3600);
  }
  const auto state = h.state(id);
  EXPECT_EQ(state.status, Status::failed);
  EXPECT_NE(state.closing_reason.find("after 3 attempts"), std::string::npos) << state.closing_reason;
}

TEST_F(EngineTest, ARepeatedIdempotencyKeyReturnsTheFirstRequest) {
  EngineHarness h(dir.file("state.db"));
  auto first = h.engine->submit(make_request("ann.lee@acme.com", "figma", "viewer"), "key-1");
  auto second = h.engine->submit(make_request("ann.lee@acme.com", "figma", "viewer"), "key-1");
  ASSERT_TRUE(first);
  ASSERT_TRUE(second);
  EXPECT_FALSE(first->duplicate);
  EXPECT_TRUE(second->duplicate);
  EXPECT_EQ(first->state.id, second->state.id);
  RequestFilter filter;
  filter.requester = "ann.lee@acme.com";
  auto page = h.store->list(filter);
  ASSERT_TRUE(page);
  EXPECT_EQ(page->requests.size(), 1u);
}

TEST_F(EngineTest, AProvisioningResultRecordedTwiceIsAppliedOnce) {
  EngineHarness h(dir.file("state.db"));
  auto submitted = h.engine->submit(make_request("ann.lee@acme.com", "figma", "viewer"), std::nullopt);
  ASSERT_TRUE(submitted);
  const std::string id = submitted->state.id;
  h.drain();
  const auto before = h.state(id);
  ASSERT_EQ(before.status, Status::active);
  ip::ProvisionResultEvent again;
  again.group = before.memberships.front().group;
  again.add = true;
  again.ok = true;
  auto repeated = h.engine->record_provision_result(id, again);
  ASSERT_TRUE(repeated);
  EXPECT_EQ(h.state(id).version, before.version);
}

TEST_F(EngineTest, TriageMapsAnUnknownAppToACatalogRole) {
  EngineHarness h(dir.file("state.db"));
  auto submitted =
      h.engine->submit(make_request("mark.jensen@acme.com", "canva", "pro", std::nullopt, "social media assets"),
                       std::nullopt);
  ASSERT_TRUE(submitted);
  const std::string id = submitted->state.id;
  EXPECT_EQ(submitted->state.status, Status::awaiting_triage);

  auto bad = h.engine->triage(id, "tom.nash@acme.com", "canva", "pro");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::invalid);

  auto mapped = h.engine->triage(id, "tom.nash@acme.com", "figma", "viewer");
  ASSERT_TRUE(mapped) << mapped.error().message;
  EXPECT_FALSE(mapped->refusal) << *mapped->refusal;
  h.drain();
  const auto state = h.state(id);
  EXPECT_EQ(state.request.app, "figma");
  EXPECT_NE(state.status, Status::awaiting_triage);
  EXPECT_TRUE(contains(audit_kinds(*h.store, id), "triaged"));
}

TEST_F(EngineTest, ARestartResumesEffectsAndFiresTimersThatFellDueWhileDown) {
  const std::string path = dir.file("state.db");
  std::string id;
  {
    EngineHarness h(path);
    auto submitted = h.engine->submit(
        make_request("ann.lee@acme.com", "aws_prod", "admin", 3600, "INC-1: failover", "ACC-1"), std::nullopt);
    ASSERT_TRUE(submitted);
    id = submitted->state.id;
    for (const char* approver : {"pat.kim@acme.com", "raj.rao@acme.com", "omar.haddad@acme.com"}) {
      ASSERT_TRUE(h.engine->act(id, ip::ApproveEvent{approver}));
    }
    // Approved and committed, but the daemon stops before any effect runs.
    EXPECT_EQ(h.state(id).status, Status::provisioning);
    h.close();
  }
  {
    EngineHarness h(path);
    h.drain();
    EXPECT_EQ(h.state(id).status, Status::active);
    EXPECT_TRUE(has_member(*h.sandbox, "sandbox.okta", "aws-prod-admin", "ann.lee@acme.com"));
    h.close();
  }
  {
    // Down for two hours: the expiry fell due meanwhile and fires at start.
    EngineHarness h(path);
    h.clock->advance(2 * 3600);
    h.engine->start();
    auto done = h.engine->wait_for(id, {Status::expired}, std::chrono::seconds(20));
    ASSERT_TRUE(done);
    EXPECT_EQ(done->status, Status::expired);
    EXPECT_FALSE(has_member(*h.sandbox, "sandbox.okta", "aws-prod-admin", "ann.lee@acme.com"));
    h.engine->stop();
  }
}

TEST_F(EngineTest, BackoffGrowsWithJitterAndHonoursRetryAfter) {
  ExecutorOptions options;
  options.backoff_base = std::chrono::seconds(2);
  options.backoff_cap = std::chrono::seconds(60);
  EXPECT_EQ(backoff_seconds(options, 1, std::nullopt, 0.0), 1);   // [1, 2]
  EXPECT_EQ(backoff_seconds(options, 1, std::nullopt, 0.999), 2);
  EXPECT_EQ(backoff_seconds(options, 3, std::nullopt, 0.0), 4);   // cap 8: [4, 8]
  EXPECT_EQ(backoff_seconds(options, 3, std::nullopt, 0.999), 8);
  EXPECT_EQ(backoff_seconds(options, 20, std::nullopt, 0.999), 60);  // capped
  EXPECT_EQ(backoff_seconds(options, 1, 120, 0.5), 120);            // Retry-After wins
}

}  // namespace
}  // namespace portcullis::runtime::testing
