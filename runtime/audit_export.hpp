#pragma once
// The body of `portcullis audit export --db PATH --request ID
// [--format json|markdown|html]`: the whole evidence chain of ONE request, on
// its own, for a compliance reviewer (docs/storage.md, "Exporting one
// request's evidence"; docs/cli.md, "Evidence export").
//
// run_audit_export() opens the database read-only (no migration, nothing
// written), reads the request's state, events and audit entries in one
// snapshot, verifies the whole chain in the same snapshot, and prints the
// export to `out`; problems go to `err`.
//
// Batch mode (`--sample N --out DIR` instead of `--request`): picks up to N
// closed requests (choose_sample() below), writes one export per request
// into DIR (`<id>.html|.md|.json`) and an index (`index.html|.md|.json`)
// linking them. DIR is created when missing; an existing DIR that is not
// empty is refused unless `force` (files of the same name are then
// replaced, nothing else in DIR is touched). A short summary goes to `out`.
//
// Exit status, as the other commands: 0 exported; 1 no such request (the
// message names the request id and the database); 2 usage error, the file
// cannot be read as a Portcullis database, or (batch) DIR cannot be used or
// written (every message names the path).
//
// The render functions are pure: they take the data, never a database, so
// they can be tested (and reused by a future HTTP endpoint) without a file.
//
// JSON export, version 1 (keys are stable; new keys may be added, none
// renamed or removed without bumping "export_version"). Times are ISO 8601
// UTC strings ("2023-11-14T22:13:20Z"), null when absent; durations are
// seconds, null for permanent.
//   export_version   1
//   request_id, status
//   request          {requester, app, role, app_title, ticket, justification,
//                     requested_duration_seconds, permanent, submitted_at}
//   plan             {outcome, bucket, duration_seconds, manual, denial,
//                     reasons: [text],
//                     citations: [{text, where, source}]  (the policy line
//                                 behind each reason: "file:line:col" and
//                                 its text; where/source "" when unknown),
//                     steps: [{step (1-based), who, why, quorum, eligible,
//                              eligible_known, where,
//                              approvals: [{by, at}]}],
//                     groups: [{provider, kind, group}]}
//   timeline         {submitted_at, approved_at, active_at, expires_at,
//                     closed_at, updated_at}
//   memberships      [{provider, kind, group, state, detail,
//                      changes: [{seq, at, change, actor, text}]}]
//                    change: added | removed | failed | kept | <audit kind>
//   refusals         [{seq, at, actor, text}]
//   renewals         {count, pending: null | {requested_by, requested_at,
//                     duration_seconds}}
//   ending           {closed, status, at, by, reason, summary}
//   events           the stored events, oldest first, as committed
//   audit            {consistent, problems: [text],
//                     entries: [{seq, at, kind, actor, text, payload,
//                                prev_hash, hash, hash_ok}]}
//                    payload: the stored JSON, or the raw text if it does
//                    not parse
//   chain            (when given) {ok, checked, head: {seq, hash}} or
//                    {ok, checked, first_bad_seq, why}
//
// "audit.consistent" says every entry of this request recomputes to its
// stored hash (audit::compute_hash) and that entries adjacent in the chain
// link (the later prev_hash is the earlier hash). "chain" is the
// verification of the whole database chain, which also proves no entry of
// the request was removed from the middle.

#include <cstddef>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "interpreter/request_state.hpp"
#include "runtime/audit.hpp"
#include "runtime/store.hpp"

namespace portcullis::runtime {

struct AuditExportArgs {
  enum class Format { json, markdown, html };
  std::string db;
  std::string request_id;  // one request, printed to `out`
  Format format = Format::json;
  // Batch mode, when request_id is empty: up to `sample` closed requests
  // written under `out_dir`.
  std::size_t sample = 0;
  std::string out_dir;
  bool force = false;  // write into an existing non-empty out_dir
};

int run_audit_export(const AuditExportArgs& args, std::ostream& out, std::ostream& err);

// The JSON object described above. `chain`: the whole chain's verification,
// when the caller has it.
nlohmann::json export_json(const interpreter::RequestState& state, const std::vector<audit::Entry>& entries,
                           const std::vector<Json>& events,
                           const std::optional<AuditVerification>& chain = std::nullopt);

// The same content as Markdown (headings and tables) to paste into a ticket.
std::string export_markdown(const interpreter::RequestState& state, const std::vector<audit::Entry>& entries,
                            const std::vector<Json>& events,
                            const std::optional<AuditVerification>& chain = std::nullopt);

// The same content as one self-contained HTML page for an auditor: inline
// CSS only, no script, no external resource (a Content-Security-Policy
// meta tag forbids them too), printable. Every stored text is HTML-escaped
// (invalid UTF-8 and control characters become U+FFFD). The element with
// id "chain-verdict" says "VERIFIED" or "BROKEN" (and what is broken): the
// request's entries are consistent and, when `chain` is given, the whole
// chain verifies.
std::string export_html(const interpreter::RequestState& state, const std::vector<audit::Entry>& entries,
                        const std::vector<Json>& events, const std::optional<AuditVerification>& chain = std::nullopt);

// `text` with & < > " ' replaced by entities, invalid UTF-8 and control
// characters other than tab and newline by U+FFFD.
std::string html_escape(std::string_view text);

// A closed request as batch mode sees it before reading its evidence.
struct ClosedRequest {
  std::string id;
  interpreter::Status status = interpreter::Status::expired;
  Time closed_at = 0;
};

// Batch mode's deterministic choice of at most `n` requests: the candidates
// are grouped by outcome (expired, revoked, denied, cancelled, failed), each
// group ordered most recently closed first (ties: by id); the groups are
// then taken in turn, one request at a time, so every outcome present is
// represented. The result is ordered most recently closed first (ties: by
// id). Requests that are not closed are ignored.
std::vector<ClosedRequest> choose_sample(std::vector<ClosedRequest> candidates, std::size_t n);

// "2023-11-14T22:13:20Z".
std::string iso8601_utc(Time t);

}  // namespace portcullis::runtime
