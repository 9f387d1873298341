#pragma once
// What the client verbs (request, approve, status, ...) share: where the
// daemon is, which token to present, one call to it, and how its answer
// turns into an exit status.
//
// The token comes from PORTCULLIS_TOKEN or --token-file, never from a flag
// holding the token itself: command lines are visible to every user of the
// host through `ps` and /proc, and they end up in shell history. Nothing
// here prints the token.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "runtime/http/client.hpp"
#include "runtime/result.hpp"

namespace portcullis::cli {

inline constexpr const char* kDefaultDaemonUrl = "http://127.0.0.1:8080";

// The options every client verb accepts.
struct ConnectionOptions {
  std::string url;         // empty: PORTCULLIS_URL, else kDefaultDaemonUrl
  std::string token_file;  // empty: PORTCULLIS_TOKEN
  bool json = false;       // print the daemon's JSON answer instead of text
};

// Adds --url, --token-file and --json to `command`, and a footer naming the
// environment variables (and why there is no --token).
void add_connection_options(CLI::App& command, ConnectionOptions& options);

// Where to connect and with which token, once the flags and the
// environment are resolved.
struct Connection {
  std::string url;
  std::string token;
};

// Errors (invalid): no token anywhere, an unreadable or empty token file, a
// URL that is not http:// or https://. Messages never contain the token.
runtime::Result<Connection> resolve_connection(const ConnectionOptions& options);

// One answer of the daemon: its HTTP status and its JSON body.
struct Reply {
  int status = 0;
  nlohmann::json body;
};

class DaemonClient {
 public:
  explicit DaemonClient(Connection connection);

  const std::string& url() const { return url_; }

  // Errors: io when no answer arrived (connection refused, time-out; the
  // message names the URL), corrupt when the answer is not JSON. An HTTP
  // error status is a Reply, not an Error.
  runtime::Result<Reply> call(const std::string& method, const std::string& target, const nlohmann::json& body = {},
                              const std::vector<runtime::http::Header>& headers = {});
  runtime::Result<Reply> get(const std::string& target) { return call("GET", target); }

  // The whole-call time-out; long polls raise it above the poll's own.
  void set_timeout(std::chrono::milliseconds timeout);

 private:
  std::string url_;
  std::string token_;
  std::chrono::milliseconds timeout_{30'000};
  std::optional<runtime::http::Client> client_;  // rebuilt when the time-out changes
};

// Exit status for an answer that is not a success, after printing the
// daemon's message to `err` prefixed by "portcullis COMMAND: ":
//   1 the daemon refused: 409 (a refused event, a conflict), 403, 404;
//   2 anything else: bad input (400), an unknown token (401), the daemon
//     failing (5xx).
int report_failed_reply(std::string_view command, const Reply& reply, std::ostream& err);

// Exit status 2 after printing why the daemon could not be reached (the
// URL, never the token) or why the connection could not be set up.
int report_call_error(std::string_view command, const runtime::Error& error, std::ostream& err);

// The message of an {"error": {"message"}} body, or a description of the
// status when there is none.
std::string error_message(const Reply& reply);

}  // namespace portcullis::cli
