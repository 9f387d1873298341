#pragma once
// The base of every local fake API (tests/fakes/*_fake.*): an HTTP server
// on 127.0.0.1 and an ephemeral port that records what it received and can
// be told to answer the next calls with an injected failure.
//
// A fake owns a FakeServer and gives it the function that speaks the API
// (paths, auth checks, status codes, error bodies, paging). The server
// stops when the FakeServer is destroyed.

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "runtime/http/message.hpp"
#include "runtime/http/server.hpp"

namespace portcullis::fakes {

namespace http = runtime::http;

struct Received {
  std::string method;
  std::string target;  // path and query as sent
  std::vector<http::Header> headers;
  std::string body;

  const std::string* header(std::string_view name) const;
  std::string path() const;  // target without the query
};

class FakeServer {
 public:
  using Handler = std::function<http::Response(const http::Request&)>;

  // Starts serving; aborts the test binary (via a thrown std::runtime_error)
  // when it cannot bind.
  explicit FakeServer(Handler handler);
  ~FakeServer();
  FakeServer(const FakeServer&) = delete;
  FakeServer& operator=(const FakeServer&) = delete;

  // "http://127.0.0.1:PORT"
  std::string base_url() const;

  // Every request received, in order (injected failures included).
  std::vector<Received> received() const;
  // Those whose method matches and whose path starts with `path_prefix`.
  std::vector<Received> received(const std::string& method, const std::string& path_prefix) const;
  void clear_received();

  // The next `count` requests with this method (empty: any) whose path
  // starts with `path_prefix` get `response` instead of reaching the API.
  void inject(const std::string& method, const std::string& path_prefix, http::Response response, int count = 1);

 private:
  http::Response dispatch(const http::Request& request);

  struct Injection {
    std::string method;
    std::string path_prefix;
    http::Response response;
    int remaining = 0;
  };
  Handler handler_;
  mutable std::mutex mutex_;
  std::vector<Received> received_;
  std::vector<Injection> injections_;
  std::unique_ptr<http::Server> server_;
};

// What every fake needs to read a request the way its API does.
// ASCII lower case (emails, names compared without case).
std::string lower(std::string text);
// Percent-decodes a path segment. Unlike a query value, '+' stays '+'; a
// '%' not followed by two hex digits is kept as it is.
std::string percent_decode(std::string_view text);
// The first value of a query parameter, decoded; empty when absent.
std::string query_value(const http::Request& request, const std::string& key);

// A JSON response with that status.
http::Response json_response(int status, const std::string& body, std::vector<http::Header> headers = {});

}  // namespace portcullis::fakes
