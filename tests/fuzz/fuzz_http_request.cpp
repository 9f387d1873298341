// libFuzzer target: the daemon's HTTP request parsing. Arbitrary bytes go
// through http::parse_request (the Beast parser with the server's limits,
// error answers and conversion to http::Request, as each connection runs
// them), request after request while the buffer holds complete ones, as a
// keep-alive connection would read them. Every request is then taken apart
// the way the API does (path, query, headers).
//
// Aborts, besides crashes and sanitizer reports, when the parser
// - answers anything but 400, 413 or 431 to what it refuses, or an answer
//   that is not the API's JSON error shape;
// - says it consumed more bytes than it was given, or none for a whole
//   request (which would spin a keep-alive connection);
// - hands on a body over the body limit or a request with no method or
//   target;
// - splits a target into a path and a query that are not its pieces.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "runtime/http/message.hpp"
#include "runtime/http/server.hpp"

namespace {

namespace http = portcullis::runtime::http;

// Small limits, so that the fuzzer reaches them with short inputs.
constexpr std::size_t kMaxHeaderBytes = 2048;
constexpr std::size_t kMaxBodyBytes = 1024;

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz_http_request: %s\n", what);
    std::abort();
  }
}

void take_apart(const http::Request& request) {
  check(!request.method.empty(), "a complete request without a method");
  check(!request.target.empty(), "a complete request without a target");
  check(request.body.size() <= kMaxBodyBytes, "a body over the limit was accepted");
  const std::string_view target = request.target;
  const std::string_view path = request.path();
  check(target.substr(0, path.size()) == path, "the path is not a prefix of the target");
  const std::string_view query = request.query();
  if (!query.empty()) {
    check(path.size() < target.size() && target[path.size()] == '?', "a query without a '?'");
    check(target.find(query) != std::string_view::npos, "the query is not part of the target");
  }
  std::size_t decoded = 0;
  for (const auto& [key, value] : http::parse_query(query)) decoded += key.size() + value.size();
  check(decoded <= query.size(), "decoding the query made it longer");
  for (const auto& h : request.headers) {
    const std::string* found = request.header(h.name);
    check(found != nullptr, "a header the request holds is not found by its name");
  }
  (void)request.header("Authorization");
  (void)request.header("Content-Type");
  (void)http::url_encode(path);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  // A keep-alive connection: parse, hand over, parse what follows.
  for (int i = 0; i < 64 && !rest.empty(); ++i) {
    const http::ParsedRequest parsed = http::parse_request(rest, kMaxHeaderBytes, kMaxBodyBytes);
    switch (parsed.outcome) {
      case http::ParsedRequest::Outcome::incomplete:
        return 0;
      case http::ParsedRequest::Outcome::rejected: {
        const int status = parsed.error.status;
        check(status == 400 || status == 413 || status == 431, "a refusal with an unexpected status");
        const auto body = nlohmann::json::parse(parsed.error.body, nullptr, false);
        check(body.is_object() && body.contains("error") && body["error"].value("code", "") == "invalid" &&
                  !body["error"].value("message", "").empty(),
              "a refusal not in the API's error shape");
        return 0;
      }
      case http::ParsedRequest::Outcome::complete:
        check(parsed.consumed > 0 && parsed.consumed <= rest.size(), "consumed a wrong number of bytes");
        take_apart(parsed.request);
        rest.remove_prefix(parsed.consumed);
        break;
    }
  }
  return 0;
}
