#pragma once
// Plain HTTP request and response values shared by the server, the client
// and the API layer, so that none of them needs Boost.Beast in its header.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace portcullis::runtime::http {

struct Header {
  std::string name;   // as received; compare with header_equals
  std::string value;
};

struct Request {
  std::string method;  // "GET", "POST", ...
  std::string target;  // path and query as sent: "/v1/requests?status=active"
  std::vector<Header> headers;
  std::string body;
  std::string remote;  // "127.0.0.1:53122"

  // The first header of that name (case-insensitive), or nullptr.
  const std::string* header(std::string_view name) const;
  std::string_view path() const;   // target without the query
  std::string_view query() const;  // after '?', empty when none
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::vector<Header> headers;  // extra headers (Retry-After, Location, ...)
  std::string body;
};

// ASCII case-insensitive comparison, for header names and tokens.
bool header_equals(std::string_view a, std::string_view b);

// Splits a query string ("a=1&b=x%20y&flag") into decoded (key, value)
// pairs in order, duplicates kept: {"a","1"}, {"b","x y"}, {"flag",""}.
// '+' decodes to a space; a key without '=' has an empty value; empty
// segments ("a=1&&b=2") are skipped; a malformed escape ("%zz") is kept
// literally.
std::vector<std::pair<std::string, std::string>> parse_query(std::string_view query);

// Percent-encodes everything except RFC 3986 unreserved characters
// (A-Z a-z 0-9 - . _ ~), so the result is safe as a path segment or a query
// key or value.
std::string url_encode(std::string_view text);

}  // namespace portcullis::runtime::http
