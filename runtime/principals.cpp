#include "runtime/principals.hpp"

#include <fstream>
#include <random>
#include <sstream>

#include "runtime/audit.hpp"

namespace portcullis::runtime {

namespace {

bool is_hex64(const std::string& text) {
  if (text.size() != 64) return false;
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

std::string token_hash(const std::string& token) { return audit::sha256_hex(token); }

NewToken make_token() {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::random_device device;  // the OS entropy source
  std::string token = "pct_";
  for (int i = 0; i < 43; ++i) token += kAlphabet[device() % 64];
  return {token, token_hash(token)};
}

void Principals::add(Principal principal, const std::string& token_sha256) {
  by_hash_[token_sha256] = std::move(principal);
}

const Principal* Principals::authenticate(const std::string& token) const {
  if (token.empty()) return nullptr;
  // Looking up the token's hash, not the token: the map's timing says
  // nothing about the secret.
  auto it = by_hash_.find(token_hash(token));
  return it == by_hash_.end() ? nullptr : &it->second;
}

Result<Principals> Principals::from_json(const nlohmann::json& json, const std::string& origin) {
  if (!json.is_object() || !json.contains("principals") || !json["principals"].is_array()) {
    return make_error(ErrorCode::invalid, origin + ": expected an object with a \"principals\" array");
  }
  Principals out;
  std::size_t index = 0;
  for (const auto& entry : json["principals"]) {
    const std::string where = origin + ": principals[" + std::to_string(index++) + "]";
    if (!entry.is_object()) return make_error(ErrorCode::invalid, where + ": expected an object");
    for (const auto& [key, value] : entry.items()) {
      if (key != "name" && key != "token_sha256" && key != "admin") {
        return make_error(ErrorCode::invalid, where + ": unknown field \"" + key + "\"");
      }
    }
    if (!entry.contains("name") || !entry["name"].is_string() || entry["name"].get<std::string>().empty()) {
      return make_error(ErrorCode::invalid, where + ".name: expected a non-empty string");
    }
    if (!entry.contains("token_sha256") || !entry["token_sha256"].is_string() ||
        !is_hex64(entry["token_sha256"].get<std::string>())) {
      return make_error(ErrorCode::invalid,
                        where + ".token_sha256: expected the token's SHA-256 as 64 lower-case hex digits "
                                "(`portcullis token new` prints one)");
    }
    if (entry.contains("admin") && !entry["admin"].is_boolean()) {
      return make_error(ErrorCode::invalid, where + ".admin: expected true or false");
    }
    const std::string hash = entry["token_sha256"].get<std::string>();
    if (out.by_hash_.count(hash)) {
      return make_error(ErrorCode::invalid, where + ".token_sha256: the same token is already given to " +
                                                out.by_hash_[hash].name);
    }
    out.add(Principal{entry["name"].get<std::string>(), entry.value("admin", false)}, hash);
  }
  return out;
}

Result<Principals> Principals::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(ErrorCode::io, path + ": cannot read the principals file");
  std::stringstream buffer;
  buffer << in.rdbuf();
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(buffer.str());
  } catch (const nlohmann::json::parse_error& e) {
    return make_error(ErrorCode::invalid, path + ": not valid JSON (byte " + std::to_string(e.byte) + ")");
  }
  return from_json(json, path);
}

}  // namespace portcullis::runtime
