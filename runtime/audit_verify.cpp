#include "runtime/audit_verify.hpp"

#include <charconv>
#include <ostream>

#include "runtime/sqlite_store.hpp"

namespace portcullis::runtime {

std::optional<AuditHead> parse_audit_head(const std::string& text) {
  const auto colon = text.find(':');
  if (colon == std::string::npos || colon == 0) return std::nullopt;
  AuditHead head;
  const char* first = text.data();
  const char* last = text.data() + colon;
  auto [ptr, ec] = std::from_chars(first, last, head.seq);
  if (ec != std::errc() || ptr != last || head.seq < 0) return std::nullopt;
  head.hash = text.substr(colon + 1);
  if (head.hash.size() != 64) return std::nullopt;
  for (char c : head.hash) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return std::nullopt;
  }
  return head;
}

int run_audit_verify(const AuditVerifyArgs& args, std::ostream& out, std::ostream& err) {
  std::optional<AuditHead> expected;
  if (args.head) {
    expected = parse_audit_head(*args.head);
    if (!expected) {
      err << "error: --head must be SEQ:HASH (a sequence number and 64 hex digits), got '" << *args.head << "'\n";
      return 2;
    }
  }
  auto result = verify_sqlite_audit(args.db, expected);
  if (!result) {
    err << "error: " << args.db << ": " << result.error().message << "\n";
    return 2;
  }
  const AuditVerification& v = *result;
  if (args.json) {
    Json j{{"db", args.db}, {"ok", v.ok}, {"checked", v.checked}};
    if (v.ok) {
      j["head"] = Json{{"seq", v.head.seq}, {"hash", v.head.hash}};
    } else {
      j["first_bad_seq"] = v.first_bad_seq;
      j["why"] = v.why;
    }
    out << j.dump(2) << "\n";
  } else if (v.ok) {
    out << args.db << ": audit chain ok: " << v.checked << " entries, head " << v.head.seq << ":" << v.head.hash << "\n";
  } else {
    out << args.db << ": audit chain broken at entry " << v.first_bad_seq << ": " << v.why << " (" << v.checked
        << " entries verified before it)\n";
  }
  return v.ok ? 0 : 1;
}

}  // namespace portcullis::runtime
