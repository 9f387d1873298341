#pragma once
// JSON encoding of the state machine's data: what the store persists.
//
// encode_*() never fails. decode_*() takes untrusted JSON (a stored row, a
// request body) and returns the value or an Error (code `invalid`) whose
// message names the field at fault by its path, e.g.
//   "plan.steps[1].quorum: expected an integer"
// Nothing throws past these functions.
//
// Encoding is canonical: encode(decode(encode(x))) == encode(x) for every
// value, byte for byte once dumped (nlohmann::json keeps object keys
// sorted).
//
// Spans. A Span points into a SourceFile that a stored row cannot bring
// back, so a span is stored as {"file", "line", "column", "text"} (the
// policy text it covered) and an invalid span as null. Decoding builds a
// small stand-in SourceFile per span whose path() is the original file and
// whose text() is exactly the stored span text; the decoded Span covers all
// of it and keeps the stored line and column. So, on a decoded Plan,
// `span.location()` still prints "policies/acme.policy:12:5" and
// `span.text()` the policy text, while byte offsets (`begin`, `end`) are
// relative to that stand-in, not to the original file. Reason::text is
// stored as is.
//
// Thread-safety: all functions are pure and may be called from any thread.

#include <string_view>

#include <nlohmann/json.hpp>

#include "interpreter/request_state.hpp"
#include "runtime/result.hpp"

namespace portcullis::runtime::codec {

using Json = nlohmann::json;

Json encode_span(const interpreter::Span& span);
Json encode_group(const interpreter::GroupRef& group);
Json encode_approver(const interpreter::Approver& approver);
Json encode_request(const interpreter::AccessRequest& request);
Json encode_plan(const interpreter::Plan& plan);
Json encode_state(const interpreter::RequestState& state);
// {"type": "approve", ...}: one object per variant, tagged by "type".
Json encode_event(const interpreter::Event& event);
// {"type": "add_membership", ...}
Json encode_effect(const interpreter::Effect& effect);

Result<interpreter::Span> decode_span(const Json& json);
Result<interpreter::GroupRef> decode_group(const Json& json);
Result<interpreter::Approver> decode_approver(const Json& json);
Result<interpreter::AccessRequest> decode_request(const Json& json);
Result<interpreter::Plan> decode_plan(const Json& json);
Result<interpreter::RequestState> decode_state(const Json& json);
Result<interpreter::Event> decode_event(const Json& json);
Result<interpreter::Effect> decode_effect(const Json& json);

// Parses text as JSON; a syntax error names the byte offset.
Result<Json> parse(std::string_view text);

// The names used in JSON for the enums without a from-name function in
// interpreter/ (status uses interpreter::status_name / status_from_name).
std::string_view outcome_key(interpreter::Outcome outcome);
std::string_view approver_kind_key(interpreter::Approver::Kind kind);
std::string_view timer_key(interpreter::TimerKind kind);
std::optional<interpreter::TimerKind> timer_from_key(std::string_view key);

}  // namespace portcullis::runtime::codec
