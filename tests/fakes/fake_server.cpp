#include "tests/fakes/fake_server.hpp"

#include <stdexcept>

namespace portcullis::fakes {

const std::string* Received::header(std::string_view name) const {
  for (const auto& h : headers) {
    if (http::header_equals(h.name, name)) return &h.value;
  }
  return nullptr;
}

std::string Received::path() const { return target.substr(0, target.find('?')); }

FakeServer::FakeServer(Handler handler) : handler_(std::move(handler)) {
  http::ServerOptions options;
  options.address = "127.0.0.1";
  options.port = 0;
  options.io_threads = 1;
  options.worker_threads = 8;
  options.max_body_bytes = 4 << 20;
  options.log = [](std::string_view) {};
  auto server = http::start_server(options, [this](const http::Request& r) { return dispatch(r); });
  if (!server) throw std::runtime_error("fake server: " + server.error().message);
  server_ = std::move(*server);
}

FakeServer::~FakeServer() {
  if (server_) server_->stop();
}

std::string FakeServer::base_url() const { return "http://127.0.0.1:" + std::to_string(server_->port()); }

std::vector<Received> FakeServer::received() const {
  std::lock_guard lock(mutex_);
  return received_;
}

std::vector<Received> FakeServer::received(const std::string& method, const std::string& path_prefix) const {
  std::lock_guard lock(mutex_);
  std::vector<Received> out;
  for (const auto& r : received_) {
    if ((method.empty() || r.method == method) && r.path().starts_with(path_prefix)) out.push_back(r);
  }
  return out;
}

void FakeServer::clear_received() {
  std::lock_guard lock(mutex_);
  received_.clear();
}

void FakeServer::inject(const std::string& method, const std::string& path_prefix, http::Response response,
                        int count) {
  std::lock_guard lock(mutex_);
  injections_.push_back(Injection{method, path_prefix, std::move(response), count});
}

http::Response FakeServer::dispatch(const http::Request& request) {
  {
    std::lock_guard lock(mutex_);
    received_.push_back(Received{request.method, request.target, request.headers, request.body});
    const std::string path(request.path());
    for (auto it = injections_.begin(); it != injections_.end(); ++it) {
      if ((it->method.empty() || it->method == request.method) && path.starts_with(it->path_prefix)) {
        http::Response response = it->response;
        if (--it->remaining <= 0) injections_.erase(it);
        return response;
      }
    }
  }
  return handler_(request);
}

std::string lower(std::string text) {
  for (char& c : text) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return text;
}

std::string percent_decode(std::string_view text) {
  const auto hex = [](char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && hex(text[i + 1]) >= 0 && hex(text[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(text[i + 1]) * 16 + hex(text[i + 2])));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

std::string query_value(const http::Request& request, const std::string& key) {
  for (const auto& [k, v] : http::parse_query(request.query())) {
    if (k == key) return v;
  }
  return {};
}

http::Response json_response(int status, const std::string& body, std::vector<http::Header> headers) {
  http::Response response;
  response.status = status;
  response.content_type = "application/json";
  response.headers = std::move(headers);
  response.body = body;
  return response;
}

}  // namespace portcullis::fakes
