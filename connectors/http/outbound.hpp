#pragma once
// Outbound HTTPS for the remote connectors: one Outbound per remote host
// (an Okta org, Microsoft Graph, the Microsoft login endpoint, ...).
//
// Contract
// - Thread-safe. At most `max_concurrency` calls are in flight at once;
//   further callers wait for a free connection (bounded concurrency per
//   provider). Each connection is a libcurl handle kept between calls, so
//   TLS sessions and keep-alive connections are reused.
// - TLS certificates are verified (libcurl's default, never turned off).
//   Proxies come from the environment (https_proxy, no_proxy) as libcurl
//   reads them, except that loopback addresses never go through a proxy.
// - `base_url` must be https://, or http:// to a loopback address (the
//   local fakes the tests start). Anything else is refused when the
//   Outbound is made, so a typo cannot send a token in clear text.
// - An HTTP error status is a successful call (look at Response::status).
//   An Error (code io) means no response: refused, reset, time-out. Its
//   message names the method and URL, never a header: tokens stay out of
//   messages and logs.
// - Calls run on the caller's thread: the effect executor's workers or an
//   API worker, never an Asio I/O thread.

#include <chrono>
#include <condition_variable>
#include <memory>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "runtime/http/client.hpp"
#include "runtime/http/message.hpp"
#include "runtime/result.hpp"

namespace portcullis::connectors {

using runtime::Result;
namespace http = runtime::http;

struct OutboundOptions {
  std::string base_url;  // "https://acme.okta.com", no trailing path needed
  std::chrono::milliseconds timeout{15'000};
  std::size_t max_concurrency = 4;
};

class Outbound {
 public:
  // Error (invalid) when base_url is neither https:// nor loopback http://.
  static Result<std::shared_ptr<Outbound>> make(OutboundOptions options);

  Result<http::Response> send(const std::string& method, const std::string& target, const std::string& body = {},
                              const std::vector<http::Header>& headers = {});

  const std::string& base_url() const { return options_.base_url; }

 private:
  explicit Outbound(OutboundOptions options) : options_(std::move(options)) {}
  OutboundOptions options_;
  std::mutex mutex_;
  std::condition_variable free_;
  std::vector<std::unique_ptr<http::Client>> idle_;
  std::size_t created_ = 0;
};

// True for "https://..." and for "http://127.0.0.1[:port]...",
// "http://localhost..." and "http://[::1]...".
bool is_allowed_base_url(const std::string& url);

// The first header of that name (case-insensitive) in a response, or null.
const std::string* find_header(const http::Response& response, std::string_view name);

// Retry-After as seconds: delta-seconds only (every API here sends those);
// nullopt when absent or not a number.
std::optional<std::int64_t> retry_after_seconds(const http::Response& response);

}  // namespace portcullis::connectors
