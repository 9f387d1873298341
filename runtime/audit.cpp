#include "runtime/audit.hpp"

#include <array>
#include <memory>

#include <openssl/evp.h>

namespace portcullis::runtime::audit {

namespace {

void field(std::string& out, std::string_view value) {
  out += std::to_string(value.size());
  out += ':';
  out += value;
  out += '\n';
}

}  // namespace

std::string canonical(const Entry& entry) {
  std::string out;
  out.reserve(64 + entry.request_id.size() + entry.kind.size() + entry.actor.size() + entry.text.size() +
              entry.payload.size());
  field(out, std::to_string(entry.seq));
  field(out, entry.request_id);
  field(out, std::to_string(entry.at));
  field(out, entry.kind);
  field(out, entry.actor);
  field(out, entry.text);
  field(out, entry.payload);
  return out;
}

std::string sha256_hex(std::string_view bytes) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  // EVP_Digest is the one-shot form; it only fails on allocation failure,
  // in which case we return an empty hash that can never verify.
  if (EVP_Digest(bytes.data(), bytes.size(), digest.data(), &length, EVP_sha256(), nullptr) != 1) return {};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(length * 2);
  for (unsigned int i = 0; i < length; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 0xf];
  }
  return out;
}

std::string compute_hash(std::string_view prev_hash, const Entry& entry) {
  std::string bytes(prev_hash);
  bytes += '\n';
  bytes += canonical(entry);
  return sha256_hex(bytes);
}

bool ChainVerifier::check(const Entry& entry) {
  if (problem_) return false;
  auto fail = [&](std::string why) {
    problem_ = Problem{entry.seq, std::move(why)};
    return false;
  };
  if (entry.seq != last_seq_ + 1) {
    if (entry.seq <= last_seq_) return fail("sequence number " + std::to_string(entry.seq) + " out of order");
    problem_ = Problem{last_seq_ + 1, "entry missing (next stored entry is " + std::to_string(entry.seq) + ")"};
    return false;
  }
  if (entry.prev_hash != head_) {
    return fail("prev_hash does not match the hash of entry " + std::to_string(last_seq_) +
                (last_seq_ == 0 ? " (genesis)" : ""));
  }
  if (compute_hash(entry.prev_hash, entry) != entry.hash) return fail("hash does not match the entry's contents");
  head_ = entry.hash;
  last_seq_ = entry.seq;
  ++checked_;
  return true;
}

}  // namespace portcullis::runtime::audit
