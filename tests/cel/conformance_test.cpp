// Runs the official CEL conformance suite (tests/cel/conformance/*.json, see
// NOTICE there) against the parser and interpreter.
//
// In-scope files must pass at least 95% of their non-skipped cases. Cases
// are skipped only by the rules in `skip_reason` (protobuf message types,
// which Portcullis does not support), and every skip is counted by rule.
// Out-of-scope files are run in full only to prove nothing crashes.

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "dsl/cel/checker.hpp"
#include "dsl/cel/env.hpp"
#include "dsl/cel/parser.hpp"
#include "interpreter/cel/program.hpp"
#include "interpreter/cel/time.hpp"

namespace {

namespace dc = portcullis::dsl::cel;
namespace ic = portcullis::interpreter::cel;
using nlohmann::json;

const std::vector<std::string> kInScope = {"basic", "comparisons", "conversions", "fields", "fp_math",
                                           "integer_math", "lists", "logic", "macros", "parse",
                                           "plumbing", "string", "timestamps"};
const std::vector<std::string> kOutOfScope = {
    "bindings_ext", "block_ext", "dynamic", "encoders_ext", "enums", "macros2", "math_ext", "namespace",
    "optionals", "proto2", "proto2_ext", "proto3", "string_ext", "type_deductions", "wrappers"};

json load(const std::string& file) {
  std::ifstream in(std::string(PORTCULLIS_SOURCE_DIR) + "/tests/cel/conformance/" + file + ".json");
  if (!in) throw std::runtime_error("cannot open conformance file " + file);
  return json::parse(in);
}

bool is_wkt_time(const std::string& type_url) {
  return type_url.ends_with("google.protobuf.Timestamp") || type_url.ends_with("google.protobuf.Duration");
}

// True if any objectValue under `v` is not a Timestamp/Duration.
bool has_proto_object(const json& v) {
  if (v.is_object()) {
    for (auto it = v.begin(); it != v.end(); ++it) {
      if (it.key() == "objectValue") {
        if (!is_wkt_time(it.value().value("@type", ""))) return true;
      } else if (has_proto_object(it.value())) {
        return true;
      }
    }
  } else if (v.is_array()) {
    for (const auto& e : v) {
      if (has_proto_object(e)) return true;
    }
  }
  return false;
}

bool declares_message_type(const json& type) {
  if (type.is_object()) {
    for (auto it = type.begin(); it != type.end(); ++it) {
      if (it.key() == "messageType" && !is_wkt_time("/" + it.value().get<std::string>())) return true;
      if (declares_message_type(it.value())) return true;
    }
  } else if (type.is_array()) {
    for (const auto& e : type) {
      if (declares_message_type(e)) return true;
    }
  }
  return false;
}

bool references_proto(const dc::Expr& e) {
  if (e.kind == dc::ExprKind::message) return true;
  if (auto q = dc::qualified_name(e)) {
    if ((q->find("google.protobuf.") != std::string::npos && !is_wkt_time(*q)) ||
        q->find("cel.expr.conformance") != std::string::npos || q->find("TestAllTypes") != std::string::npos) {
      return true;
    }
  }
  if (e.target && references_proto(*e.target)) return true;
  for (const auto& a : e.args) {
    if (references_proto(*a)) return true;
  }
  for (const auto& m : e.entries) {
    if (references_proto(*m.key) || references_proto(*m.value)) return true;
  }
  return false;
}

const char* const kRuleContainer = "non-empty container (protobuf package)";
const char* const kRuleTypeEnv = "typeEnv declares protobuf message types";
const char* const kRuleObjectValue = "objectValue that is not google.protobuf.Timestamp/Duration";
const char* const kRuleProtoExpr = "expression constructs or references protobuf messages";
const std::vector<std::string> kSkipRules = {kRuleContainer, kRuleTypeEnv, kRuleObjectValue, kRuleProtoExpr};

// The skip rule a case falls under, or empty. These are the only reasons a
// case may be skipped.
std::string skip_reason(const json& t) {
  if (!t.value("container", std::string()).empty()) return kRuleContainer;
  if (t.contains("typeEnv") && declares_message_type(t["typeEnv"])) return kRuleTypeEnv;
  if (has_proto_object(t.value("value", json())) || has_proto_object(t.value("bindings", json()))) {
    return kRuleObjectValue;
  }
  dc::ParseOptions po;
  po.enable_macros = !t.value("disableMacros", false);
  auto parsed = dc::parse(t.value("expr", std::string()), po);
  if (parsed.ok() && references_proto(*parsed.expr)) return kRuleProtoExpr;
  return {};
}

std::string base64_decode(const std::string& in) {
  static const std::string chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  int val = 0;
  int bits = -8;
  for (char c : in) {
    if (c == '=') break;
    const auto pos = chars.find(c);
    if (pos == std::string::npos) continue;
    val = (val << 6) + static_cast<int>(pos);
    bits += 6;
    if (bits >= 0) {
      out.push_back(static_cast<char>((val >> bits) & 0xFF));
      bits -= 8;
    }
  }
  return out;
}

double json_double(const json& j) {
  if (j.is_number()) return j.get<double>();
  const std::string s = j.get<std::string>();
  if (s == "NaN") return std::nan("");
  if (s == "Infinity") return INFINITY;
  if (s == "-Infinity") return -INFINITY;
  return std::stod(s);
}

// cel.expr.Value JSON -> Value; nullopt if it needs protobuf.
std::optional<ic::Value> to_value(const json& v) {
  if (v.contains("int64Value")) {
    const auto& x = v["int64Value"];
    return ic::Value::int64(x.is_string() ? std::stoll(x.get<std::string>()) : x.get<std::int64_t>());
  }
  if (v.contains("uint64Value")) {
    const auto& x = v["uint64Value"];
    return ic::Value::uint64(x.is_string() ? std::stoull(x.get<std::string>()) : x.get<std::uint64_t>());
  }
  if (v.contains("doubleValue")) return ic::Value::double_(json_double(v["doubleValue"]));
  if (v.contains("stringValue")) return ic::Value::string(v["stringValue"].get<std::string>());
  if (v.contains("bytesValue")) return ic::Value::bytes(base64_decode(v["bytesValue"].get<std::string>()));
  if (v.contains("boolValue")) return ic::Value::boolean(v["boolValue"].get<bool>());
  if (v.contains("nullValue")) return ic::Value::null();
  if (v.contains("typeValue")) return ic::Value::type(v["typeValue"].get<std::string>());
  if (v.contains("listValue")) {
    std::vector<ic::Value> items;
    for (const auto& e : v["listValue"].value("values", json::array())) {
      auto x = to_value(e);
      if (!x) return std::nullopt;
      items.push_back(*x);
    }
    return ic::Value::list(std::move(items));
  }
  if (v.contains("mapValue")) {
    std::vector<std::pair<ic::Value, ic::Value>> entries;
    for (const auto& e : v["mapValue"].value("entries", json::array())) {
      auto k = to_value(e["key"]);
      auto x = to_value(e["value"]);
      if (!k || !x) return std::nullopt;
      entries.emplace_back(*k, *x);
    }
    return ic::Value::map(std::move(entries));
  }
  if (v.contains("objectValue")) {
    const auto& o = v["objectValue"];
    const std::string type = o.value("@type", "");
    std::string err;
    ic::Time t;
    if (type.ends_with("google.protobuf.Timestamp")) {
      if (!ic::parse_timestamp(o.value("value", ""), t, err)) return std::nullopt;
      return ic::Value::timestamp(t);
    }
    if (type.ends_with("google.protobuf.Duration")) {
      if (!ic::parse_duration(o.value("value", ""), t, err)) return std::nullopt;
      return ic::Value::duration(t);
    }
    return std::nullopt;
  }
  return std::nullopt;
}

// Exact comparison: same kinds all the way down, CEL equality, NaN == NaN.
bool same_value(const ic::Value& a, const ic::Value& b) {
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case ic::Kind::double_:
      if (std::isnan(a.as_double()) && std::isnan(b.as_double())) return true;
      return a.as_double() == b.as_double();
    case ic::Kind::list: {
      const auto& x = a.as_list();
      const auto& y = b.as_list();
      if (x.size() != y.size()) return false;
      for (std::size_t i = 0; i < x.size(); ++i) {
        if (!same_value(x[i], y[i])) return false;
      }
      return true;
    }
    case ic::Kind::map: {
      const auto& x = a.as_map();
      const auto& y = b.as_map();
      if (x.entries.size() != y.entries.size()) return false;
      for (const auto& [k, v] : x.entries) {
        const ic::Value* other = y.find(ic::KeyRef::of(k));
        if (other == nullptr || !same_value(v, *other)) return false;
      }
      return true;
    }
    default: {
      ic::Value r = ic::equals(a, b);
      return !r.is_error() && r.as_bool();
    }
  }
}

struct Outcome {
  bool pass = false;
  std::string detail;
};

Outcome run_case(const json& t, bool* checker_rejected, std::string* checker_message = nullptr) {
  auto env = std::make_shared<dc::Env>();
  const json bindings = t.value("bindings", json::object());
  for (auto it = bindings.begin(); it != bindings.end(); ++it) env->declare(it.key(), dc::types::dyn());
  for (const auto& d : t.value("typeEnv", json::array())) {
    if (d.contains("name")) env->declare(d["name"].get<std::string>(), dc::types::dyn());
  }
  ic::CompileOptions options;
  options.check = false;
  options.parse.enable_macros = !t.value("disableMacros", false);
  const std::string expr = t.value("expr", std::string());
  auto compiled = ic::compile(expr, env, options);
  // Exercise the checker too (against dyn declarations); its verdict is only
  // reported, since the suite's expectations are about evaluation.
  {
    auto parsed = dc::parse(expr, options.parse);
    if (parsed.ok() && checker_rejected != nullptr && !t.value("disableCheck", false)) {
      auto checked = dc::check(*parsed.expr, *env);
      *checker_rejected = !checked.ok();
      if (!checked.ok() && checker_message != nullptr) *checker_message = checked.issues.front().message;
    }
  }
  const bool want_error = t.contains("evalError");
  if (!compiled.ok()) {
    std::string msg = compiled.issues.empty() ? "?" : compiled.issues.front().message;
    return {false, "compile error: " + msg};
  }
  ic::Activation act(env);
  for (auto it = bindings.begin(); it != bindings.end(); ++it) {
    auto v = to_value(it.value().value("value", json::object()));
    if (!v) return {false, "unsupported binding"};
    act.bind(it.key(), *v);
  }
  ic::Value got = compiled.program->evaluate(act);
  if (want_error) {
    if (got.is_error()) return {true, {}};
    return {false, "expected error, got " + got.debug_string()};
  }
  if (!t.contains("value")) {
    return {!got.is_error(), "no expected value; got " + got.debug_string()};
  }
  auto want = to_value(t["value"]);
  if (!want) return {false, "unsupported expected value"};
  if (same_value(*want, got)) return {true, {}};
  return {false, "expected " + want->debug_string() + ", got " + got.debug_string()};
}

struct Tally {
  int passed = 0;
  int failed = 0;
  int skipped = 0;
  int checker_rejected = 0;
  std::map<std::string, int> skip_rules;
};

void print_tally(const std::string& label, const Tally& t, bool all_rules) {
  std::cout << label << "CEL conformance: " << t.passed << " passed, " << t.failed << " failed, "
            << t.skipped << " skipped\n";
  for (const auto& rule : kSkipRules) {
    auto it = t.skip_rules.find(rule);
    const int n = it == t.skip_rules.end() ? 0 : it->second;
    if (n > 0 || all_rules) std::cout << "    skipped by rule '" << rule << "': " << n << "\n";
  }
}

TEST(CelConformance, InScopeFilesPass) {
  Tally total;
  std::vector<std::string> failures;
  std::vector<std::string> checker_disagreements;
  for (const auto& file : kInScope) {
    Tally tally;
    for (const auto& t : load(file)) {
      const std::string reason = skip_reason(t);
      if (!reason.empty()) {
        ++tally.skipped;
        ++tally.skip_rules[reason];
        ++total.skip_rules[reason];
        continue;
      }
      bool rejected = false;
      std::string checker_message;
      Outcome o = run_case(t, &rejected, &checker_message);
      if (rejected) {
        ++tally.checker_rejected;
        if (!t.contains("evalError")) {
          checker_disagreements.push_back(file + "/" + t.value("name", "") + ": `" + t.value("expr", "").substr(0, 80) +
                                          "`: " + checker_message);
        }
      }
      if (o.pass) {
        ++tally.passed;
      } else {
        ++tally.failed;
        failures.push_back(file + "/" + t.value("section", "") + "/" + t.value("name", "") + ": `" +
                           t.value("expr", "").substr(0, 120) + "` " + o.detail);
      }
    }
    print_tally("[" + file + "] ", tally, false);
    total.passed += tally.passed;
    total.failed += tally.failed;
    total.skipped += tally.skipped;
    total.checker_rejected += tally.checker_rejected;
  }
  print_tally("", total, true);
  std::cout << "(type checker, every binding declared dyn, cases without disableCheck: rejected "
            << total.checker_rejected << " of the evaluated cases; informational only)\n";
  if (!checker_disagreements.empty()) {
    std::cout << "Cases with an expected value that the checker rejects (first 10; mostly\n"
                 "expressions the CEL checker itself rejects, e.g. mixed-type lists):\n";
    for (std::size_t i = 0; i < checker_disagreements.size() && i < 10; ++i) {
      std::cout << "  " << checker_disagreements[i] << "\n";
    }
  }
  if (!failures.empty()) {
    std::cout << "First failing cases:\n";
    for (std::size_t i = 0; i < failures.size() && i < 30; ++i) std::cout << "  " << failures[i] << "\n";
  }
  const int run = total.passed + total.failed;
  ASSERT_GT(run, 0);
  EXPECT_GE(static_cast<double>(total.passed) / run, 0.95)
      << total.passed << " of " << run << " non-skipped in-scope cases passed";
}

TEST(CelConformance, OutOfScopeFilesDoNotCrash) {
  // No pass-rate requirement: these need protobuf and CEL extensions.
  // Nothing is caught here: a crash fails the test binary.
  Tally total;
  for (const auto& file : kOutOfScope) {
    for (const auto& t : load(file)) {
      Outcome o = run_case(t, nullptr);
      if (o.pass) {
        ++total.passed;
      } else {
        ++total.failed;
      }
    }
  }
  std::cout << "[out of scope, informational] CEL conformance: " << total.passed << " passed, "
            << total.failed << " failed, 0 skipped\n";
  SUCCEED();
}

}  // namespace
