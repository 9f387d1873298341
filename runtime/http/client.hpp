#pragma once
// A small blocking HTTP/1.1 client (libcurl) for the CLI's client verbs,
// the demo and the tests. One Client keeps one connection alive between
// calls; it is not thread-safe (use one per thread).

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "runtime/http/message.hpp"
#include "runtime/result.hpp"

namespace portcullis::runtime::http {

struct ClientOptions {
  std::string base_url;  // "http://127.0.0.1:8080"
  std::string bearer_token;  // sent as Authorization: Bearer ...; empty: none
  std::chrono::milliseconds timeout{30'000};
};

class Client {
 public:
  explicit Client(ClientOptions options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Sends one request to base_url + target. An HTTP error status is a
  // successful call (look at Response::status); Error (code io) only when no
  // response arrived: connection refused, time-out. The message names the
  // method and URL but never the token.
  //
  // A non-empty body goes out as "Content-Type: application/json" unless
  // `headers` names another. Response::headers are the received ones and
  // Response::content_type is the received Content-Type (empty if none).
  // `timeout` bounds the whole call. Proxies from the environment are never
  // used for loopback addresses.
  Result<Response> send(const std::string& method, const std::string& target, const std::string& body = {},
                        const std::vector<Header>& headers = {});

  Result<Response> get(const std::string& target) { return send("GET", target); }
  Result<Response> post(const std::string& target, const std::string& body, const std::vector<Header>& headers = {}) {
    return send("POST", target, body, headers);
  }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace portcullis::runtime::http
