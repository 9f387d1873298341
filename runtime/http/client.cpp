#include "runtime/http/client.hpp"

#include <curl/curl.h>

#include <mutex>
#include <string_view>

namespace portcullis::runtime::http {
namespace {

// curl_global_init is not thread-safe and must run before any easy handle
// exists; call_once makes the first Client do it. It is never cleaned up:
// global cleanup at exit would race with Clients in other static objects.
CURLcode global_init() {
  static std::once_flag once;
  static CURLcode result = CURLE_OK;
  std::call_once(once, [] { result = curl_global_init(CURL_GLOBAL_DEFAULT); });
  return result;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto* out = static_cast<Response*>(user);
  out->body.append(data, size * count);
  return size * count;
}

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* out = static_cast<Response*>(user);
  const std::string_view line(data, size * count);
  if (line.rfind("HTTP/", 0) == 0) {
    // A new status line (after "100 Continue", say): the headers so far
    // belonged to an interim response.
    out->headers.clear();
    return size * count;
  }
  const auto colon = line.find(':');
  if (colon != std::string_view::npos) {
    out->headers.push_back(Header{std::string(trim(line.substr(0, colon))), std::string(trim(line.substr(colon + 1)))});
  }
  return size * count;
}

struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

}  // namespace

struct Client::Impl {
  ClientOptions options;
  CURL* curl = nullptr;  // kept across calls so libcurl reuses the connection

  ~Impl() {
    if (curl != nullptr) curl_easy_cleanup(curl);
  }
};

Client::Client(ClientOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  if (global_init() == CURLE_OK) impl_->curl = curl_easy_init();
  // A null handle is reported by send(), where errors travel as values.
}

Client::~Client() = default;

Result<Response> Client::send(const std::string& method, const std::string& target, const std::string& body,
                              const std::vector<Header>& headers) {
  const auto& opts = impl_->options;
  std::string url = opts.base_url;
  if (!url.empty() && url.back() == '/' && !target.empty() && target.front() == '/') url.pop_back();
  url += target;
  const auto fail = [&](std::string_view why) {
    // Names the URL, never the headers: the token must not reach logs.
    return make_error(ErrorCode::io, method + " " + url + ": " + std::string(why));
  };

  CURL* curl = impl_->curl;
  if (curl == nullptr) return fail("cannot initialise libcurl");
  // reset() clears the options of the previous call but keeps the
  // connection cache, which is what keep-alive needs.
  curl_easy_reset(curl);

  Response response;
  response.content_type.clear();
  char error_buffer[CURL_ERROR_SIZE] = {};

  curl_slist* raw_list = nullptr;
  bool ok = true;
  const auto add = [&](const std::string& line) {
    curl_slist* next = curl_slist_append(raw_list, line.c_str());
    if (next == nullptr) {
      ok = false;
      return;
    }
    raw_list = next;
  };
  bool has_content_type = false;
  for (const auto& h : headers) {
    if (header_equals(h.name, "Content-Type")) has_content_type = true;
    // "Name;" is libcurl's spelling of a header with an empty value.
    add(h.value.empty() ? h.name + ";" : h.name + ": " + h.value);
  }
  if (!opts.bearer_token.empty()) add("Authorization: Bearer " + opts.bearer_token);
  // Without this libcurl sends "Expect: 100-continue" for larger bodies and
  // waits for the interim response, a round trip for nothing.
  add("Expect:");
  // libcurl would label a POST body as a form; our API speaks JSON.
  if (!has_content_type) add(body.empty() ? "Content-Type:" : "Content-Type: application/json");
  std::unique_ptr<curl_slist, SlistDeleter> list(raw_list);
  if (!ok) return fail("out of memory");

  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);  // no SIGALRM for time-outs: we are multi-threaded
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(opts.timeout.count()));
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer);
  // A proxy from the environment must never see loopback traffic (the
  // daemon on this host, the tests).
  curl_easy_setopt(curl, CURLOPT_NOPROXY, "127.0.0.1,localhost,::1");
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list.get());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &response);

  if (method == "GET" && body.empty()) {
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  } else if (method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else {
    // POSTFIELDS with an explicit size sends the body as-is (binary safe)
    // with a Content-Length; CUSTOMREQUEST only renames the method.
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
    if (method != "POST") curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  }

  const CURLcode rc = curl_easy_perform(curl);
  // The header list and the error buffer are locals; do not leave dangling
  // pointers in the handle.
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, nullptr);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, nullptr);
  if (rc != CURLE_OK) {
    return fail(error_buffer[0] != '\0' ? std::string_view(error_buffer) : std::string_view(curl_easy_strerror(rc)));
  }

  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  response.status = static_cast<int>(status);
  for (const auto& h : response.headers) {
    if (header_equals(h.name, "Content-Type")) {
      response.content_type = h.value;
      break;
    }
  }
  return response;
}

}  // namespace portcullis::runtime::http
