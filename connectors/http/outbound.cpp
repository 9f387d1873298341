#include "connectors/http/outbound.hpp"

#include <charconv>

namespace portcullis::connectors {

bool is_allowed_base_url(const std::string& url) {
  if (url.starts_with("https://")) return url.size() > 8;
  if (!url.starts_with("http://")) return false;
  const std::string_view rest = std::string_view(url).substr(7);
  for (std::string_view host : {"127.0.0.1", "localhost", "[::1]"}) {
    if (rest.starts_with(host)) {
      const auto after = rest.substr(host.size());
      if (after.empty() || after.front() == ':' || after.front() == '/') return true;
    }
  }
  return false;
}

Result<std::shared_ptr<Outbound>> Outbound::make(OutboundOptions options) {
  if (!is_allowed_base_url(options.base_url)) {
    return runtime::make_error(runtime::ErrorCode::invalid,
                               "\"" + options.base_url +
                                   "\" is not an https:// URL (plain http:// is accepted for loopback addresses only)");
  }
  if (options.max_concurrency == 0) options.max_concurrency = 1;
  return std::shared_ptr<Outbound>(new Outbound(std::move(options)));
}

Result<http::Response> Outbound::send(const std::string& method, const std::string& target, const std::string& body,
                                      const std::vector<http::Header>& headers) {
  std::unique_ptr<http::Client> client;
  {
    std::unique_lock lock(mutex_);
    free_.wait(lock, [&] { return !idle_.empty() || created_ < options_.max_concurrency; });
    if (!idle_.empty()) {
      client = std::move(idle_.back());
      idle_.pop_back();
    } else {
      ++created_;
    }
  }
  if (!client) client = std::make_unique<http::Client>(http::ClientOptions{options_.base_url, {}, options_.timeout});
  auto response = client->send(method, target, body, headers);
  {
    std::lock_guard lock(mutex_);
    idle_.push_back(std::move(client));
  }
  free_.notify_one();
  return response;
}

const std::string* find_header(const http::Response& response, std::string_view name) {
  for (const auto& h : response.headers) {
    if (http::header_equals(h.name, name)) return &h.value;
  }
  return nullptr;
}

std::optional<std::int64_t> retry_after_seconds(const http::Response& response) {
  const std::string* value = find_header(response, "Retry-After");
  if (value == nullptr || value->empty()) return std::nullopt;
  std::int64_t seconds = 0;
  auto [ptr, ec] = std::from_chars(value->data(), value->data() + value->size(), seconds);
  if (ec != std::errc() || ptr != value->data() + value->size() || seconds < 0) return std::nullopt;
  return seconds;
}

}  // namespace portcullis::connectors
