#pragma once
// Converting between JSON (nlohmann::json) and CEL values, for binding
// request data that arrives as JSON and for printing results.
//
// JSON -> CEL: null, bool, string as themselves; integers -> int (uint only
// when above INT64_MAX); other numbers -> double; arrays -> list; objects ->
// map with string keys. Never throws.
//
// CEL -> JSON: int/uint/double/string/bool/null/list/map as themselves (map
// keys rendered as strings); bytes -> base64 string; timestamp -> RFC 3339
// string; duration -> "1.5s"; type -> its name; error -> {"error": message}.

#include <nlohmann/json.hpp>

#include "interpreter/cel/value.hpp"

namespace portcullis::interpreter::cel {

Value value_from_json(const nlohmann::json& j);
nlohmann::json value_to_json(const Value& v);

}  // namespace portcullis::interpreter::cel
