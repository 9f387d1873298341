#pragma once
// The audit hash chain: each entry holds the hash of the one before it, so
// changing, removing or reordering any stored entry breaks every hash after
// it, and changing the last entries is caught by comparing the head with a
// copy kept outside the machine (docs/storage.md).
//
//   hash(entry) = hex(SHA-256(prev_hash || "\n" || canonical(entry)))
//   canonical(entry) = for each of seq, request_id, at, kind, actor, text,
//                      payload in that order: "<byte length>:<bytes>\n"
//
// seq and at are written in decimal; payload is the stored JSON text as is
// (the store writes it compactly with sorted keys). Length prefixes make the
// encoding unambiguous whatever bytes the fields hold. The first entry's
// prev_hash is kGenesisHash (64 zeros).
//
// Pure functions (OpenSSL EVP for SHA-256); any thread may call them.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace portcullis::runtime::audit {

inline constexpr std::string_view kGenesisHash = "0000000000000000000000000000000000000000000000000000000000000000";

struct Entry {
  std::int64_t seq = 0;    // 1, 2, 3, ... without gaps
  std::string request_id;  // empty for entries about no single request
  std::int64_t at = 0;     // seconds since the epoch, UTC
  std::string kind;        // "submitted", "approved", "provisioned", ...
  std::string actor;       // who caused it: a person, "system", "policy"
  std::string text;        // one human line
  std::string payload;     // JSON text
  std::string prev_hash;   // hex, 64 chars
  std::string hash;        // hex, 64 chars
};

// The canonical bytes hashed for `entry` (without prev_hash).
std::string canonical(const Entry& entry);

// hex(SHA-256(prev_hash "\n" canonical(entry))). Ignores entry.prev_hash and
// entry.hash.
std::string compute_hash(std::string_view prev_hash, const Entry& entry);

// Lower-case hex SHA-256 of arbitrary bytes.
std::string sha256_hex(std::string_view bytes);

// Walks a chain one entry at a time, in seq order. Feed entries with
// check(); the first problem found is kept and later entries are ignored.
class ChainVerifier {
 public:
  struct Problem {
    std::int64_t seq = 0;  // the first broken entry
    std::string why;
  };

  // Returns false once a problem has been found.
  bool check(const Entry& entry);

  const std::optional<Problem>& problem() const { return problem_; }
  std::int64_t checked() const { return checked_; }
  std::int64_t last_seq() const { return last_seq_; }
  const std::string& head() const { return head_; }

 private:
  std::optional<Problem> problem_;
  std::int64_t checked_ = 0;
  std::int64_t last_seq_ = 0;
  std::string head_ = std::string(kGenesisHash);
};

}  // namespace portcullis::runtime::audit
