// JiraTracker against the local Jira fake: issue creation in ADF, the
// idempotency of tickets and comments, transitions by status name, error
// mapping; and the webhook signature and parser.
#include <gtest/gtest.h>

#include <memory>
#include <thread>

#include "connectors/jira/jira.hpp"
#include "connectors/memory_state.hpp"
#include "tests/fakes/jira_fake.hpp"

namespace portcullis::connectors {
namespace {

using nlohmann::json;
using Kind = JiraWebhookEvent::Kind;

class JiraContract : public ::testing::Test {
 protected:
  JiraConfig config() const {
    JiraConfig c;
    c.url = fake.base_url();
    c.project = "ACC";
    c.approved_status = "Approved";
    c.denied_status = "Declined";
    c.user = fake.user();
    c.token = fake.token();
    c.webhook_secret = "hook-secret";
    c.timeout = std::chrono::milliseconds(5'000);
    return c;
  }
  std::shared_ptr<JiraTracker> tracker(std::shared_ptr<ConnectorState> s = nullptr, JiraConfig c = {}) {
    if (c.url.empty()) c = config();
    auto made = JiraTracker::make(std::move(c), s ? s : state);
    EXPECT_TRUE(made.ok()) << (made.ok() ? "" : made.error().message);
    return made.ok() ? *made : nullptr;
  }
  TicketSpec spec(const std::string& id) const {
    TicketSpec s;
    s.request_id = id;
    s.summary = "Access request: alice@acme.com -> Figma editor";
    s.requester = "alice@acme.com";
    s.description = "Alice asks for Figma editor.\nApprovers:\n- bob@acme.com\n- carol@acme.com\nReason: design review";
    return s;
  }

  fakes::JiraFake fake;
  std::shared_ptr<MemoryConnectorState> state = std::make_shared<MemoryConnectorState>();
};

TEST_F(JiraContract, MakeRefusesPlainHttpToARemoteHostAndMissingSettings) {
  JiraConfig c = config();
  c.url = "http://acme.atlassian.net";
  auto made = JiraTracker::make(c, state);
  ASSERT_FALSE(made.ok());
  EXPECT_EQ(made.error().code, runtime::ErrorCode::invalid);
  c = config();
  c.token.clear();
  EXPECT_FALSE(JiraTracker::make(c, state).ok());
  EXPECT_FALSE(JiraTracker::make(config(), nullptr).ok());
}

TEST_F(JiraContract, CreatesAnIssueWithAdfDescriptionLabelsAndBasicAuth) {
  auto t = tracker();
  std::string key;
  Outcome o = t->ticket_for(spec("req-1"), key);
  ASSERT_TRUE(o.ok()) << o.message;
  EXPECT_EQ(key, "ACC-1");

  auto created = fake.server().received("POST", "/rest/api/3/issue");
  ASSERT_EQ(created.size(), 1u);
  ASSERT_NE(created[0].header("Authorization"), nullptr);
  EXPECT_EQ(*created[0].header("Authorization"), "Basic cG9ydGN1bGxpcy1ib3RAYWNtZS5jb206amlyYS1hcGktdG9rZW4=");
  EXPECT_EQ(*created[0].header("Accept"), "application/json");
  const json body = json::parse(created[0].body);
  EXPECT_EQ(body["fields"]["project"]["key"], "ACC");
  EXPECT_EQ(body["fields"]["issuetype"]["name"], "Access request");
  EXPECT_EQ(body["fields"]["summary"], "Access request: alice@acme.com -> Figma editor");
  EXPECT_EQ(body["fields"]["labels"], json::array({"portcullis", "portcullis-req-1"}));

  const json expected = json::parse(R"({"type":"doc","version":1,"content":[
    {"type":"paragraph","content":[{"type":"text","text":"Alice asks for Figma editor."}]},
    {"type":"paragraph","content":[{"type":"text","text":"Approvers:"}]},
    {"type":"bulletList","content":[
      {"type":"listItem","content":[{"type":"paragraph","content":[{"type":"text","text":"bob@acme.com"}]}]},
      {"type":"listItem","content":[{"type":"paragraph","content":[{"type":"text","text":"carol@acme.com"}]}]}]},
    {"type":"paragraph","content":[{"type":"text","text":"Reason: design review"}]}]})");
  EXPECT_EQ(body["fields"]["description"], expected);
  EXPECT_EQ(fake.description("ACC-1"), expected);
  EXPECT_EQ(fake.labels("ACC-1"), (std::vector<std::string>{"portcullis", "portcullis-req-1"}));
}

TEST(JiraAdf, BlankLinesAndEmptyItemsNeverMakeEmptyTextNodes) {
  const json doc = text_to_adf("one\n\n- \n- two\r\nthree\n");
  ASSERT_EQ(doc["content"].size(), 3u);
  EXPECT_EQ(doc["content"][1]["type"], "bulletList");
  EXPECT_FALSE(doc["content"][1]["content"][0]["content"][0].contains("content"));
  EXPECT_EQ(adf_to_text(doc), "one\n- \n- two\nthree");
  EXPECT_EQ(text_to_adf("")["content"], json::array());
}

TEST_F(JiraContract, TicketForIsIdempotentAndFindsTheIssueByLabelAfterLosingState) {
  auto t = tracker();
  std::string first, second;
  ASSERT_TRUE(t->ticket_for(spec("req-2"), first).ok());
  ASSERT_TRUE(t->ticket_for(spec("req-2"), second).ok());
  EXPECT_EQ(first, second);
  EXPECT_EQ(fake.issue_count(), 1u);
  EXPECT_EQ(fake.server().received("POST", "/rest/api/3/search/jql").size(), 1u);

  // A crash between creating and recording: a fresh state, same Jira.
  auto lost = tracker(std::make_shared<MemoryConnectorState>());
  std::string again;
  ASSERT_TRUE(lost->ticket_for(spec("req-2"), again).ok());
  EXPECT_EQ(again, first);
  EXPECT_EQ(fake.issue_count(), 1u);
  auto searches = fake.server().received("POST", "/rest/api/3/search/jql");
  ASSERT_EQ(searches.size(), 2u);
  EXPECT_EQ(json::parse(searches[1].body)["jql"], R"(project = "ACC" AND labels = "portcullis-req-2")");

  std::string other;
  ASSERT_TRUE(t->ticket_for(spec("req-3"), other).ok());
  EXPECT_EQ(other, "ACC-2");
}

TEST_F(JiraContract, AdoptsAnExistingIssueByLabellingItAndWritingTheCard) {
  const std::string filed = fake.create_issue({{"summary", "Need Figma"}, {"labels", {"design"}}});
  auto t = tracker();
  TicketSpec s = spec("req-4");
  s.existing_key = filed;
  std::string key;
  Outcome o = t->ticket_for(s, key);
  ASSERT_TRUE(o.ok()) << o.message;
  EXPECT_EQ(key, filed);
  EXPECT_EQ(fake.issue_count(), 1u);
  EXPECT_EQ(fake.labels(filed), (std::vector<std::string>{"design", "portcullis-req-4"}));
  auto put = fake.server().received("PUT", "/rest/api/3/issue/" + filed);
  ASSERT_EQ(put.size(), 1u);
  json expected = json::parse(R"({"update":{"labels":[{"add":"portcullis-req-4"}]}})");
  expected["fields"]["description"] = text_to_adf(s.description);
  EXPECT_EQ(json::parse(put[0].body), expected);
  EXPECT_EQ(fakes::JiraFake::flatten_adf(fake.description(filed)),
            fakes::JiraFake::flatten_adf(text_to_adf(s.description)));
  // Later calls without the key return the adopted issue.
  std::string later;
  ASSERT_TRUE(t->ticket_for(spec("req-4"), later).ok());
  EXPECT_EQ(later, filed);

  s.existing_key = "ACC-999";
  o = t->ticket_for(s, key);
  EXPECT_EQ(o.kind, Outcome::Kind::permanent);
  EXPECT_NE(o.message.find("ACC-999"), std::string::npos) << o.message;
  EXPECT_NE(o.message.find("Issue does not exist"), std::string::npos) << o.message;
}

TEST_F(JiraContract, CommentsInAdfWithAPropertyAndDedupesByIdempotencyKey) {
  auto t = tracker();
  std::string key;
  ASSERT_TRUE(t->ticket_for(spec("req-5"), key).ok());
  ASSERT_TRUE(t->comment(key, "Approved by bob@acme.com\n- step 1 of 2", "req-5/2/0").ok());
  ASSERT_TRUE(t->comment(key, "Approved by bob@acme.com\n- step 1 of 2", "req-5/2/0").ok());
  ASSERT_TRUE(t->comment(key, "Granted", "req-5/3/0").ok());
  EXPECT_EQ(fake.comment_texts(key), (std::vector<std::string>{"Approved by bob@acme.com\n- step 1 of 2", "Granted"}));
  auto comments = fake.comments(key);
  ASSERT_EQ(comments.size(), 2u);
  EXPECT_EQ(comments[0].body["type"], "doc");
  EXPECT_EQ(comments[0].body["content"][1]["type"], "bulletList");
  EXPECT_EQ(comments[0].properties.at("portcullis"), json({{"idempotency_key", "req-5/2/0"}}));
  EXPECT_EQ(fake.server().received("POST", "/rest/api/3/issue/" + key + "/comment").size(), 2u);
}

TEST_F(JiraContract, RetryAfterACrashFindsTheCommentByItsProperty) {
  auto t = tracker();
  std::string key;
  ASSERT_TRUE(t->ticket_for(spec("req-6"), key).ok());
  // The first attempt posted, then the process died before recording.
  ASSERT_TRUE(t->comment(key, "Granted", "req-6/3/0").ok());
  ASSERT_TRUE(state->put("jira.comment", "req-6/3/0", "pending").ok());
  ASSERT_TRUE(t->comment(key, "Granted", "req-6/3/0").ok());
  EXPECT_EQ(fake.comments(key).size(), 1u);
  EXPECT_EQ(fake.server().received("POST", "/rest/api/3/comment/list").size(), 1u);

  // Pending but never posted: the retry posts.
  ASSERT_TRUE(state->put("jira.comment", "req-6/4/0", "pending").ok());
  ASSERT_TRUE(t->comment(key, "Revoked", "req-6/4/0").ok());
  EXPECT_EQ(fake.comment_texts(key), (std::vector<std::string>{"Granted", "Revoked"}));
}

TEST_F(JiraContract, NotePostsEveryTime) {
  auto t = tracker();
  const std::string key = fake.create_issue({});
  ASSERT_TRUE(t->note(key, "transition refused: dave is not an eligible approver").ok());
  ASSERT_TRUE(t->note(key, "transition refused: dave is not an eligible approver").ok());
  EXPECT_EQ(fake.comments(key).size(), 2u);
  EXPECT_TRUE(fake.comments(key)[0].properties.empty());
  EXPECT_EQ(t->note(key, "").kind, Outcome::Kind::permanent);
}

TEST_F(JiraContract, TransitionsByMappedStatusName) {
  auto t = tracker();
  std::string key;
  ASSERT_TRUE(t->ticket_for(spec("req-7"), key).ok());
  EXPECT_EQ(t->status_for("approved"), "Approved");
  EXPECT_EQ(t->status_for("expired"), "Done");
  EXPECT_EQ(t->status_for("pending"), "");

  Outcome o = t->transition(key, "approved", "req-7/2/1");
  ASSERT_TRUE(o.ok()) << o.message;
  EXPECT_EQ(fake.status(key), "Approved");
  auto posts = fake.server().received("POST", "/rest/api/3/issue/" + key + "/transitions");
  ASSERT_EQ(posts.size(), 1u);
  EXPECT_EQ(json::parse(posts[0].body), json::parse(R"({"transition":{"id":"11"}})"));

  ASSERT_TRUE(t->transition(key, "active", "req-7/3/1").ok());
  EXPECT_EQ(fake.status(key), "Done");

  // A state with no mapping changes nothing and makes no call.
  fake.server().clear_received();
  ASSERT_TRUE(t->transition(key, "pending", "req-7/4/1").ok());
  EXPECT_TRUE(fake.server().received().empty());
}

TEST_F(JiraContract, CustomTransitionMapIsCaseInsensitive) {
  JiraConfig c = config();
  c.transitions = {{"Approved", "approved"}, {"denied", "Declined"}};
  auto t = tracker(nullptr, c);
  const std::string key = fake.create_issue({});
  ASSERT_TRUE(t->transition(key, "APPROVED", "k").ok());
  EXPECT_EQ(fake.status(key), "Approved");
  ASSERT_TRUE(t->transition(key, "expired", "k2").ok());  // not in the map: nothing
  EXPECT_EQ(fake.status(key), "Approved");
}

TEST_F(JiraContract, AlreadyInTheStatusSucceedsWithoutTransitioning) {
  auto t = tracker();
  const std::string key = fake.create_issue({});
  fake.set_status(key, "approved");
  Outcome o = t->transition(key, "approved", "k");
  ASSERT_TRUE(o.ok()) << o.message;
  EXPECT_TRUE(fake.server().received("GET", "/rest/api/3/issue/" + key + "/transitions").empty());
  EXPECT_TRUE(fake.server().received("POST", "/rest/api/3/issue/" + key + "/transitions").empty());
}

TEST_F(JiraContract, UnknownTransitionIsPermanentAndNamesTheAvailableOnes) {
  auto t = tracker();
  const std::string key = fake.create_issue({});
  fake.set_status(key, "Done");
  fake.set_workflow({{"51", "Reopen", "Done", "Open"}});
  Outcome o = t->transition(key, "approved", "k");
  EXPECT_EQ(o.kind, Outcome::Kind::permanent);
  EXPECT_NE(o.message.find(key), std::string::npos) << o.message;
  EXPECT_NE(o.message.find("\"Approved\""), std::string::npos) << o.message;
  EXPECT_NE(o.message.find("\"Reopen\" (to \"Open\")"), std::string::npos) << o.message;
}

TEST_F(JiraContract, RateLimitIsTransientWithRetryAfter) {
  auto t = tracker();
  fake.rate_limit_next(1, 17, "POST", "/rest/api/3/search/jql");
  std::string key;
  Outcome o = t->ticket_for(spec("req-8"), key);
  EXPECT_EQ(o.kind, Outcome::Kind::transient);
  EXPECT_EQ(o.retry_after, 17);
  EXPECT_NE(o.message.find("Rate limit exceeded"), std::string::npos) << o.message;
  EXPECT_EQ(fake.issue_count(), 0u);
  ASSERT_TRUE(t->ticket_for(spec("req-8"), key).ok());
  EXPECT_EQ(fake.issue_count(), 1u);

  fake.server().inject("", "/rest/api/3/issue/",
                       fakes::json_response(503, "{}", {{"Retry-After", "5"}}));
  o = t->comment(key, "x", "req-8/1/0");
  EXPECT_EQ(o.kind, Outcome::Kind::transient);
  EXPECT_EQ(o.retry_after, 5);
  fake.server().inject("", "/rest/api/3/issue/", fakes::json_response(500, "oops"));
  o = t->comment(key, "x", "req-8/1/0");
  EXPECT_EQ(o.kind, Outcome::Kind::transient);
  EXPECT_FALSE(o.retry_after.has_value());
  ASSERT_TRUE(t->comment(key, "x", "req-8/1/0").ok());
  EXPECT_EQ(fake.comments(key).size(), 1u);
}

TEST_F(JiraContract, TransportFailureIsTransient) {
  JiraConfig c = config();
  c.url = "http://127.0.0.1:1";
  auto t = tracker(nullptr, c);
  std::string key;
  Outcome o = t->ticket_for(spec("req-9"), key);
  EXPECT_EQ(o.kind, Outcome::Kind::transient);
  EXPECT_EQ(o.message.find(fake.token()), std::string::npos);
}

TEST_F(JiraContract, ErrorBodiesAreSurfacedNamingTheIssue) {
  fake.set_issue_types({"Task"});
  auto t = tracker();
  std::string key;
  Outcome o = t->ticket_for(spec("req-10"), key);
  EXPECT_EQ(o.kind, Outcome::Kind::permanent);
  EXPECT_NE(o.message.find("issuetype: Specify a valid issue type"), std::string::npos) << o.message;
  EXPECT_NE(o.message.find("req-10"), std::string::npos) << o.message;

  fake.server().inject("POST", "/rest/api/3/issue/ACC-3/comment",
                       fakes::json_response(400, R"({"errorMessages":["Comments are disabled."],"errors":{}})"));
  o = t->comment("ACC-3", "x", "k");
  EXPECT_EQ(o.kind, Outcome::Kind::permanent);
  EXPECT_NE(o.message.find("ACC-3"), std::string::npos) << o.message;
  EXPECT_NE(o.message.find("Comments are disabled."), std::string::npos) << o.message;

  fake.server().inject("", "/rest/api/3/issue/ACC-3",
                       fakes::json_response(403, R"({"errorMessages":["You do not have permission."]})"));
  o = t->transition("ACC-3", "approved", "k");
  EXPECT_EQ(o.kind, Outcome::Kind::permanent);
  EXPECT_NE(o.message.find("permission"), std::string::npos) << o.message;

  o = t->transition("ACC-404", "approved", "k");
  EXPECT_EQ(o.kind, Outcome::Kind::permanent);
  EXPECT_NE(o.message.find("ACC-404"), std::string::npos) << o.message;
}

TEST_F(JiraContract, BadCredentialsArePermanentAndNeverPrintTheToken) {
  JiraConfig c = config();
  c.token = "wrong-secret-token-value";
  auto t = tracker(nullptr, c);
  std::string key;
  Outcome o = t->ticket_for(spec("req-11"), key);
  EXPECT_EQ(o.kind, Outcome::Kind::permanent);
  EXPECT_NE(o.message.find("401"), std::string::npos) << o.message;
  EXPECT_NE(o.message.find("API token"), std::string::npos) << o.message;
  EXPECT_EQ(o.message.find("wrong-secret-token-value"), std::string::npos) << o.message;
  EXPECT_EQ(o.message.find("Basic "), std::string::npos) << o.message;

  // Even an error page that echoes the token is scrubbed.
  fake.server().inject("", "/rest/api/3/", fakes::json_response(400, "bad token " + fake.token()));
  o = tracker()->comment("ACC-1", "x", "k");
  EXPECT_EQ(o.message.find(fake.token()), std::string::npos) << o.message;
}

TEST_F(JiraContract, EmailOfAccount) {
  fake.add_user("acc-bob", "bob@acme.com", "Bob");
  fake.add_user("acc-hidden", "", "Hidden");
  auto t = tracker();
  Outcome o;
  EXPECT_EQ(t->email_of_account("acc-bob", o), "bob@acme.com");
  EXPECT_TRUE(o.ok()) << o.message;
  EXPECT_EQ(t->email_of_account("acc-nobody", o), "");
  EXPECT_EQ(o.kind, Outcome::Kind::permanent);
  EXPECT_EQ(t->email_of_account("acc-hidden", o), "");
  EXPECT_EQ(o.kind, Outcome::Kind::permanent);
  EXPECT_NE(o.message.find("visible"), std::string::npos) << o.message;
}

TEST_F(JiraContract, ConcurrentTicketForOpensOneIssue) {
  auto t = tracker();
  std::vector<std::thread> threads;
  std::vector<std::string> keys(6);
  for (std::size_t i = 0; i < keys.size(); ++i) {
    threads.emplace_back([&, i] { EXPECT_TRUE(t->ticket_for(spec("req-12"), keys[i]).ok()); });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(fake.issue_count(), 1u);
  for (const auto& k : keys) EXPECT_EQ(k, "ACC-1");
}

// --- Webhooks ---

TEST(JiraSignature, VerifiesHubSignature) {
  const std::string body = R"({"webhookEvent":"jira:issue_updated"})";
  const std::string good = fakes::JiraFake::sign("s3cret", body);
  EXPECT_TRUE(verify_jira_signature("s3cret", good, body));
  std::string upper = good;
  for (std::size_t i = 7; i < upper.size(); ++i) upper[i] = static_cast<char>(std::toupper(upper[i]));
  EXPECT_TRUE(verify_jira_signature("s3cret", upper, body));
  EXPECT_FALSE(verify_jira_signature("other", good, body));
  EXPECT_FALSE(verify_jira_signature("s3cret", good, body + " "));
  EXPECT_FALSE(verify_jira_signature("s3cret", good.substr(7), body));           // no "sha256="
  EXPECT_FALSE(verify_jira_signature("s3cret", "sha1=" + good.substr(7), body));  // another algorithm
  EXPECT_FALSE(verify_jira_signature("s3cret", good.substr(0, good.size() - 2), body));  // too short
  EXPECT_FALSE(verify_jira_signature("s3cret", good + "00", body));                       // too long
  EXPECT_FALSE(verify_jira_signature("s3cret", "sha256=" + std::string(64, 'z'), body));
  EXPECT_FALSE(verify_jira_signature("s3cret", "", body));
  EXPECT_FALSE(verify_jira_signature("", fakes::JiraFake::sign("", body), body));  // no secret: refused
}

class JiraWebhook : public JiraContract {};

TEST_F(JiraWebhook, IssueCreatedCarriesTheRequest) {
  fake.add_user("acc-alice", "alice@acme.com", "Alice");
  const std::string key = fake.create_issue(
      {{"issuetype", {{"name", "Access request"}}},
       {"summary", "Figma please"},
       {"description", text_to_adf("Design review\n- this week")},
       {"customfield_app", {{"value", "figma"}, {"id", "10020"}}},
       {"customfield_role", "editor"},
       {"customfield_duration", 30}});
  auto event = parse_jira_webhook(fake.issue_created_webhook(key, "acc-alice"), config());
  ASSERT_TRUE(event.ok()) << event.error().message;
  EXPECT_EQ(event->kind, Kind::issue_created);
  EXPECT_EQ(event->issue_key, key);
  EXPECT_EQ(event->request_id, "");
  EXPECT_EQ(event->reporter_account_id, "acc-alice");
  EXPECT_EQ(event->reporter_email, "alice@acme.com");
  EXPECT_EQ(event->app, "figma");
  EXPECT_EQ(event->role, "editor");
  EXPECT_EQ(event->duration, "30");
  EXPECT_EQ(event->reason, "Design review\n- this week");

  // Without a description the summary is the reason; a v2-style string
  // description is taken as is.
  const std::string bare = fake.create_issue({{"issuetype", {{"name", "Access request"}}}, {"summary", "Need it"}});
  event = parse_jira_webhook(fake.issue_created_webhook(bare, "acc-alice"), config());
  ASSERT_TRUE(event.ok());
  EXPECT_EQ(event->reason, "Need it");
  EXPECT_EQ(event->app, "");
}

TEST_F(JiraWebhook, IssueCreatedIgnoredForOtherTypesProjectsAndOwnIssues) {
  const std::string task = fake.create_issue({{"issuetype", {{"name", "Task"}}}});
  auto event = parse_jira_webhook(fake.issue_created_webhook(task, "acc-alice"), config());
  ASSERT_TRUE(event.ok());
  EXPECT_EQ(event->kind, Kind::ignored);
  EXPECT_NE(event->ignored_because.find("Task"), std::string::npos) << event->ignored_because;

  JiraConfig other = config();
  other.project = "OPS";
  event = parse_jira_webhook(fake.issue_created_webhook(task, "acc-alice"), other);
  ASSERT_TRUE(event.ok());
  EXPECT_EQ(event->kind, Kind::ignored);
  EXPECT_NE(event->ignored_because.find("project ACC"), std::string::npos) << event->ignored_because;

  std::string key;
  ASSERT_TRUE(tracker()->ticket_for(spec("req-20"), key).ok());
  event = parse_jira_webhook(fake.issue_created_webhook(key, fakes::JiraFake::kBotAccountId), config());
  ASSERT_TRUE(event.ok());
  EXPECT_EQ(event->kind, Kind::ignored);
  EXPECT_EQ(event->request_id, "req-20");
}

TEST_F(JiraWebhook, StatusChangedByAnAccount) {
  std::string key;
  ASSERT_TRUE(tracker()->ticket_for(spec("req-21"), key).ok());
  auto event = parse_jira_webhook(fake.issue_updated_webhook(key, "Approved", "acc-bob"), config());
  ASSERT_TRUE(event.ok()) << event.error().message;
  EXPECT_EQ(event->kind, Kind::status_changed);
  EXPECT_EQ(event->issue_key, key);
  EXPECT_EQ(event->request_id, "req-21");
  EXPECT_EQ(event->actor_account_id, "acc-bob");
  EXPECT_EQ(event->to_status, "Approved");
  EXPECT_TRUE(event->approved);
  EXPECT_FALSE(event->denied);

  event = parse_jira_webhook(fake.issue_updated_webhook(key, "declined", "acc-bob"), config());
  ASSERT_TRUE(event.ok());
  EXPECT_TRUE(event->denied);
  EXPECT_FALSE(event->approved);

  event = parse_jira_webhook(fake.issue_updated_webhook(key, "In Review", "acc-bob"), config());
  ASSERT_TRUE(event.ok());
  EXPECT_EQ(event->kind, Kind::status_changed);
  EXPECT_FALSE(event->approved || event->denied);
}

TEST_F(JiraWebhook, UpdatesThatAreNotStatusChangesAreIgnored) {
  const std::string key = fake.create_issue({{"issuetype", {{"name", "Access request"}}}});
  json body = json::parse(fake.issue_updated_webhook(key, "Open", "acc-bob"));
  body["changelog"]["items"] = json::array({{{"field", "summary"}, {"fromString", "a"}, {"toString", "b"}}});
  auto event = parse_jira_webhook(body.dump(), config());
  ASSERT_TRUE(event.ok());
  EXPECT_EQ(event->kind, Kind::ignored);
  EXPECT_NE(event->ignored_because.find("not its status"), std::string::npos);

  body.erase("changelog");
  event = parse_jira_webhook(body.dump(), config());
  ASSERT_TRUE(event.ok());
  EXPECT_EQ(event->kind, Kind::ignored);

  event = parse_jira_webhook(R"({"webhookEvent":"comment_created","comment":{}})", config());
  ASSERT_TRUE(event.ok());
  EXPECT_EQ(event->kind, Kind::ignored);
  EXPECT_NE(event->ignored_because.find("comment_created"), std::string::npos);
}

TEST_F(JiraWebhook, JsmApprovalDecisions) {
  const json approve = json::parse(R"({"webhookEvent":"jsm:approval_decided",
    "issue":{"key":"ACC-7","fields":{"project":{"key":"ACC"},"labels":["portcullis","portcullis-req-30"]}},
    "user":{"accountId":"acc-bob"},
    "approval":{"id":"3","finalDecision":"approved"}})");
  auto event = parse_jira_webhook(approve.dump(), config());
  ASSERT_TRUE(event.ok()) << event.error().message;
  EXPECT_EQ(event->kind, Kind::approval_decided);
  EXPECT_EQ(event->request_id, "req-30");
  EXPECT_EQ(event->actor_account_id, "acc-bob");
  EXPECT_TRUE(event->approved);

  const json decline = {{"webhookEvent", "approval_completed"}, {"issueKey", "ACC-8"},
                        {"labels", "portcullis, portcullis-req-31"}, {"decision", "decline"},
                        {"accountId", "acc-carol"}};
  event = parse_jira_webhook(decline.dump(), config());
  ASSERT_TRUE(event.ok()) << event.error().message;
  EXPECT_EQ(event->kind, Kind::approval_decided);
  EXPECT_EQ(event->issue_key, "ACC-8");
  EXPECT_EQ(event->request_id, "req-31");
  EXPECT_EQ(event->actor_account_id, "acc-carol");
  EXPECT_TRUE(event->denied);
  EXPECT_FALSE(event->approved);

  json pending = approve;
  pending["approval"]["finalDecision"] = "pending";
  event = parse_jira_webhook(pending.dump(), config());
  ASSERT_TRUE(event.ok());
  EXPECT_EQ(event->kind, Kind::ignored);

  json unknown = approve;
  unknown["approval"]["finalDecision"] = "maybe";
  EXPECT_FALSE(parse_jira_webhook(unknown.dump(), config()).ok());
}

TEST_F(JiraWebhook, MalformedBodiesAreInvalid) {
  for (const char* body : {"", "{", "[1,2]", R"({"issue":{"key":"ACC-1"}})",
                           R"({"webhookEvent":"jira:issue_updated"})",
                           R"({"webhookEvent":"jira:issue_updated","issue":{"key":"ACC-1"}})",
                           R"({"webhookEvent":"jira:issue_created","issue":"ACC-1"})"}) {
    auto event = parse_jira_webhook(body, config());
    ASSERT_FALSE(event.ok()) << body;
    EXPECT_EQ(event.error().code, runtime::ErrorCode::invalid);
    EXPECT_TRUE(event.error().message.starts_with("jira webhook: ")) << event.error().message;
  }
  auto event = parse_jira_webhook("{", config());
  EXPECT_NE(event.error().message.find("not JSON"), std::string::npos);
}

}  // namespace
}  // namespace portcullis::connectors
