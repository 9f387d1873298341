#pragma once
// A local Jira Cloud (REST v3) for contract and end-to-end tests: one
// project, issues ACC-1, ACC-2, ... with fields, labels, ADF descriptions,
// comments (ADF bodies and properties), a configurable workflow, JQL search
// by project/labels/key/status, users by accountId, Basic auth. Failures are
// injected through server().inject(...) or rate_limit_next(...).
//
// Served routes (anything else: 404 with Jira's error body):
//   POST /rest/api/3/issue                      create (validates ADF)
//   GET  /rest/api/3/issue/{key}[?fields=...]   read
//   PUT  /rest/api/3/issue/{key}                update.labels add/remove, fields.summary
//   GET  /rest/api/3/issue/{key}/comment        startAt, maxResults, orderBy=[-]created
//   POST /rest/api/3/issue/{key}/comment        body (ADF), properties
//   POST /rest/api/3/comment/list               ids; expand=properties
//   GET  /rest/api/3/issue/{key}/transitions    those available from the status
//   POST /rest/api/3/issue/{key}/transitions    transition.id
//   POST /rest/api/3/search/jql, GET /rest/api/3/search[/jql]?jql=...
//   GET  /rest/api/3/user?accountId=...
//
// Thread-safe: the server's workers and the test thread share the state
// under one mutex.

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/fakes/fake_server.hpp"

namespace portcullis::fakes {

struct JiraFakeTransition {
  std::string id;    // "11"
  std::string name;  // "Approve"
  std::string from;  // status name it is available from; empty: any status
  std::string to;    // destination status name
};

struct JiraFakeComment {
  std::string id;
  std::string author_account_id;
  nlohmann::json body;                           // ADF as posted
  std::map<std::string, nlohmann::json> properties;  // key -> value
};

struct JiraFakeIssue {
  std::string id;
  std::string key;
  nlohmann::json fields;  // project, issuetype, summary, labels, description, status, reporter, custom fields
  std::vector<JiraFakeComment> comments;
};

class JiraFake {
 public:
  // Credentials the fake accepts, and its project key.
  explicit JiraFake(std::string user = "portcullis-bot@acme.com", std::string token = "jira-api-token",
                    std::string project = "ACC");

  std::string base_url() const { return server_.base_url(); }
  FakeServer& server() { return server_; }
  const std::string& user() const { return user_; }
  const std::string& token() const { return token_; }
  const std::string& project() const { return project_; }
  // The accountId comments made through the API are authored by.
  static constexpr const char* kBotAccountId = "5b10ac8d82e05b22cc7d4ef5";

  // The workflow. Default: Open -> Approved ("Approve", 11), Open ->
  // Declined ("Decline", 21), Approved -> Done ("Complete", 31), any ->
  // Done ("Close", 41). New issues start in "Open".
  void set_workflow(std::vector<JiraFakeTransition> transitions, std::string initial_status = "Open");
  // Issue types create accepts (default: "Access request", "Task").
  void set_issue_types(std::vector<std::string> names);
  void add_user(const std::string& account_id, const std::string& email, const std::string& display_name = {});

  // Files an issue directly, as a person in Jira would. `fields` is merged
  // over project, issuetype, summary, status, labels []. Returns the key.
  std::string create_issue(nlohmann::json fields);
  void set_status(const std::string& key, const std::string& status);

  // Reading the state (empty / null when the issue is unknown).
  std::optional<JiraFakeIssue> issue(const std::string& key) const;
  std::size_t issue_count() const;
  std::string status(const std::string& key) const;
  std::vector<std::string> labels(const std::string& key) const;
  nlohmann::json description(const std::string& key) const;  // ADF
  std::vector<std::string> comment_texts(const std::string& key) const;  // ADF flattened to plain text
  std::vector<JiraFakeComment> comments(const std::string& key) const;

  // The next `count` requests (method empty: any; path prefix) get 429 with
  // Retry-After.
  void rate_limit_next(int count, int retry_after_seconds, const std::string& method = {},
                       const std::string& path_prefix = "/rest/api/3/");

  // Webhook bodies as Jira Cloud sends them, built from the stored issue.
  std::string issue_created_webhook(const std::string& key, const std::string& reporter_account_id) const;
  // A status change by `account_id`; also moves the stored issue.
  std::string issue_updated_webhook(const std::string& key, const std::string& to_status,
                                    const std::string& account_id);
  // The X-Hub-Signature value Jira sends with a secret: "sha256=<hex>".
  static std::string sign(const std::string& secret, const std::string& body);

  // ADF -> plain text (paragraphs on lines, list items "- ...").
  static std::string flatten_adf(const nlohmann::json& adf);

 private:
  http::Response handle(const http::Request& request);
  http::Response handle_issue(const http::Request& request, const std::string& key, const std::string& rest);
  http::Response create(const nlohmann::json& body);
  http::Response search(const std::string& jql, int max_results);
  nlohmann::json issue_json(const JiraFakeIssue& issue) const;
  nlohmann::json comment_json(const JiraFakeComment& comment, bool with_properties) const;
  nlohmann::json user_json(const std::string& account_id) const;
  JiraFakeIssue* find(const std::string& key);
  const JiraFakeIssue* find(const std::string& key) const;

  std::string user_, token_, project_;
  std::string expected_authorization_;
  mutable std::mutex mutex_;
  std::vector<JiraFakeIssue> issues_;
  std::vector<JiraFakeTransition> workflow_;
  std::string initial_status_ = "Open";
  std::vector<std::string> issue_types_ = {"Access request", "Task"};
  std::map<std::string, std::pair<std::string, std::string>> users_;  // accountId -> (email, display name)
  int next_comment_id_ = 10000;
  FakeServer server_;  // last: stops before the state it serves goes away
};

}  // namespace portcullis::fakes
