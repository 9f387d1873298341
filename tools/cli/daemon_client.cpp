#include "tools/cli/daemon_client.hpp"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "tools/cli/commands.hpp"

namespace portcullis::cli {
namespace {

using runtime::ErrorCode;
using runtime::make_error;

std::string environment(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? std::string{} : std::string(value);
}

// Token files are usually written by `echo` or an editor: surrounding
// whitespace and the final newline are not part of the token.
std::string trimmed(std::string text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return {};
  const auto last = text.find_last_not_of(" \t\r\n");
  return text.substr(first, last - first + 1);
}

}  // namespace

void add_connection_options(CLI::App& command, ConnectionOptions& options) {
  command.add_option("--url", options.url,
                     "The daemon's base URL (default: $PORTCULLIS_URL, else " + std::string(kDefaultDaemonUrl) + ")");
  command.add_option("--token-file", options.token_file,
                     "A file holding the API token (default: the token in $PORTCULLIS_TOKEN)");
  command.add_flag("--json", options.json, "Print the daemon's JSON answer instead of text");
  command.footer(
      "Environment: PORTCULLIS_URL (the daemon's URL), PORTCULLIS_TOKEN (the API token).\n"
      "There is deliberately no --token flag: a token on the command line shows in `ps` and in shell history.\n"
      "Exit status: 0 success, 1 the daemon refused (the message says why), 2 usage error, no token, or the\n"
      "daemon cannot be reached.");
}

runtime::Result<Connection> resolve_connection(const ConnectionOptions& options) {
  Connection connection;
  connection.url = options.url;
  if (connection.url.empty()) connection.url = environment("PORTCULLIS_URL");
  if (connection.url.empty()) connection.url = kDefaultDaemonUrl;
  if (connection.url.rfind("http://", 0) != 0 && connection.url.rfind("https://", 0) != 0) {
    return make_error(ErrorCode::invalid, "--url " + connection.url + ": expected http://HOST:PORT or https://HOST:PORT");
  }

  if (!options.token_file.empty()) {
    std::ifstream in(options.token_file, std::ios::binary);
    if (!in) return make_error(ErrorCode::invalid, "--token-file " + options.token_file + ": cannot read the file");
    std::stringstream content;
    content << in.rdbuf();
    connection.token = trimmed(content.str());
    if (connection.token.empty()) {
      return make_error(ErrorCode::invalid, "--token-file " + options.token_file + ": the file is empty");
    }
  } else {
    connection.token = trimmed(environment("PORTCULLIS_TOKEN"));
    if (connection.token.empty()) {
      return make_error(ErrorCode::invalid,
                        "no API token: set PORTCULLIS_TOKEN or pass --token-file PATH "
                        "(`portcullis token new` makes one)");
    }
  }
  // A token with a line break would smuggle a second header into the
  // request; no token we make has one.
  if (connection.token.find_first_of("\r\n") != std::string::npos) {
    return make_error(ErrorCode::invalid, "the API token spans several lines; expected one line");
  }
  return connection;
}

DaemonClient::DaemonClient(Connection connection)
    : url_(std::move(connection.url)), token_(std::move(connection.token)) {
  client_.emplace(runtime::http::ClientOptions{url_, token_, timeout_});
}

void DaemonClient::set_timeout(std::chrono::milliseconds timeout) {
  if (timeout == timeout_) return;
  timeout_ = timeout;
  client_.reset();
  client_.emplace(runtime::http::ClientOptions{url_, token_, timeout_});
}

runtime::Result<Reply> DaemonClient::call(const std::string& method, const std::string& target,
                                          const nlohmann::json& body,
                                          const std::vector<runtime::http::Header>& headers) {
  const std::string payload = body.is_null() ? std::string{} : body.dump();
  auto response = client_->send(method, target, payload, headers);
  if (!response) return response.error();
  Reply reply;
  reply.status = response->status;
  if (response->body.empty()) {
    reply.body = nlohmann::json::object();
    return reply;
  }
  try {
    reply.body = nlohmann::json::parse(response->body);
  } catch (const nlohmann::json::parse_error&) {
    // Something else answers at that address (a proxy, another service).
    return make_error(ErrorCode::corrupt, method + " " + url_ + target + ": the answer (HTTP " +
                                              std::to_string(response->status) +
                                              ") is not JSON; is this a portcullis daemon?");
  }
  return reply;
}

std::string error_message(const Reply& reply) {
  const auto& body = reply.body;
  if (body.is_object() && body.contains("error") && body["error"].is_object()) {
    const auto& error = body["error"];
    if (error.contains("message") && error["message"].is_string()) return error["message"].get<std::string>();
  }
  return "the daemon answered HTTP " + std::to_string(reply.status);
}

int report_failed_reply(std::string_view command, const Reply& reply, std::ostream& err) {
  const bool refused = reply.status == 403 || reply.status == 404 || reply.status == 409;
  err << "portcullis " << command << ": ";
  if (reply.status == 401) {
    err << "the daemon does not accept this token (" << error_message(reply) << ")\n";
  } else if (refused) {
    err << error_message(reply) << "\n";
  } else {
    err << error_message(reply) << " (HTTP " << reply.status << ")\n";
  }
  return refused ? kExitFindings : kExitUsage;
}

int report_call_error(std::string_view command, const runtime::Error& error, std::ostream& err) {
  if (error.code == ErrorCode::io) {
    // The client's message is "METHOD URL: why"; it names the URL and never
    // the token.
    err << "portcullis " << command << ": cannot reach the daemon: " << error.message << "\n";
  } else {
    err << "portcullis " << command << ": " << error.message << "\n";
  }
  return kExitUsage;
}

}  // namespace portcullis::cli
