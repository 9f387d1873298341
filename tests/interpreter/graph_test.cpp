#include "interpreter/graph.hpp"

#include <gtest/gtest.h>

#include <set>

#include "interpreter_test_support.hpp"

namespace portcullis::interpreter {
namespace {

using namespace itest;

const std::string kPolicy = R"(provider sandbox "okta" {}
approvers security = group "security-oncall"
bucket routine { approve: auto when requester.employment == "full_time" else manager }
bucket privileged {
  approve: app.owner then security
  duration: one_of(1h, 6h, 24h) default 1h
  expiry: required
  renew: at_most 1 times
  remind: after 2h
  require: justification
}
bucket unknown { approve: group "it-ops" }
app figma "Figma" {
  owner: "dana@acme.com"
  bucket: routine
  role guest { grants: sandbox.okta group "figma-guests"; approve: auto }
  role viewer { grants: sandbox.okta group "figma-viewers" }
  role admin { grants: sandbox.okta group "figma-admins"; bucket: privileged }
  role billing { manual "Dana adds the person in Figma > Billing"; bucket: privileged }
  role closed { grants: sandbox.okta group "figma-closed"; approve: deny "retired" }
}
)";

// Checks the DOT structure the renderer promises: one digraph, balanced
// braces and brackets outside strings, statements ended by `;`, and every
// edge's two ends declared as nodes before it. Returns "" when valid.
std::string validate_dot(const std::string& dot, std::set<std::string>* declared_out = nullptr) {
  std::vector<std::string> tokens;
  for (std::size_t i = 0; i < dot.size();) {
    const char c = dot[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
    } else if (c == '"') {
      std::string s = "\"";
      ++i;
      while (i < dot.size() && dot[i] != '"') {
        if (dot[i] == '\\' && i + 1 < dot.size()) s += dot[i++];
        s += dot[i++];
      }
      if (i >= dot.size()) return "unterminated string";
      ++i;
      tokens.push_back(s + "\"");
    } else if (c == '-' && i + 1 < dot.size() && dot[i + 1] == '>') {
      tokens.push_back("->");
      i += 2;
    } else if (std::string("{}[];,=").find(c) != std::string::npos) {
      tokens.push_back(std::string(1, c));
      ++i;
    } else {
      std::string word;
      while (i < dot.size() && (std::isalnum(static_cast<unsigned char>(dot[i])) || dot[i] == '_' || dot[i] == '.')) {
        word += dot[i++];
      }
      if (word.empty()) return std::string("unexpected character ") + c;
      tokens.push_back(word);
    }
  }
  if (tokens.size() < 4 || tokens[0] != "digraph" || tokens[2] != "{" || tokens.back() != "}") {
    return "not a `digraph NAME { ... }`";
  }
  int braces = 0;
  int brackets = 0;
  for (const auto& t : tokens) {
    braces += t == "{" ? 1 : t == "}" ? -1 : 0;
    brackets += t == "[" ? 1 : t == "]" ? -1 : 0;
    if (braces < 0 || brackets < 0) return "unbalanced";
  }
  if (braces != 0 || brackets != 0) return "unbalanced braces or brackets";

  std::set<std::string> declared;
  std::vector<std::string> statement;
  int depth = 0;
  for (std::size_t i = 3; i + 1 < tokens.size(); ++i) {
    const auto& t = tokens[i];
    depth += t == "[" ? 1 : t == "]" ? -1 : 0;
    if (t != ";" || depth > 0) {
      statement.push_back(t);
      continue;
    }
    if (statement.empty()) return "empty statement";
    const std::string& head = statement[0];
    if (head == "graph" || head == "node" || head == "edge") {
      // attribute statement
    } else if (statement.size() >= 3 && statement[1] == "->") {
      if (!declared.count(statement[0])) return "edge from undeclared node " + statement[0];
      if (!declared.count(statement[2])) return "edge to undeclared node " + statement[2];
      if (statement.size() > 3 && statement[3] != "[") return "junk after edge";
    } else if (head.front() == '"') {
      if (statement.size() > 1 && statement[1] != "[") return "junk after node " + head;
      declared.insert(head);
    } else {
      return "unknown statement " + head;
    }
    statement.clear();
  }
  if (!statement.empty()) return "statement without `;`";
  if (declared_out) *declared_out = declared;
  return "";
}

bool has_state(const StateGraph& g, const std::string& state) {
  for (const auto& n : g.nodes) {
    if (n.state == state) return true;
  }
  return false;
}

std::size_t count_state(const StateGraph& g, const std::string& state) {
  std::size_t k = 0;
  for (const auto& n : g.nodes) k += n.state == state;
  return k;
}

const GraphEdge* edge(const StateGraph& g, const std::string& from, const std::string& to) {
  for (const auto& e : g.edges) {
    if (e.from == from && e.to == to) return &e;
  }
  return nullptr;
}

StateGraph graph_of(const Policy& policy, const std::string& role) {
  const Role* r = policy.find_role("figma", role);
  EXPECT_TRUE(r) << role;
  return r ? role_graph(policy, *r) : StateGraph{};
}

void expect_well_formed(const StateGraph& g) {
  EXPECT_EQ(validate_dot(to_dot(g)), "") << to_dot(g);
  for (const auto& e : g.edges) {
    EXPECT_TRUE(g.find(e.from)) << e.from;
    EXPECT_TRUE(g.find(e.to)) << e.to;
  }
}

TEST(RoleGraph, AutoRoleSkipsApproval) {
  auto policy = compile_text(kPolicy);
  ASSERT_TRUE(policy);
  const auto g = graph_of(*policy, "guest");
  expect_well_formed(g);
  EXPECT_FALSE(has_state(g, "awaiting_approval"));
  for (const char* s : {"submitted", "approved", "provisioning", "active", "deprovisioning", "revoked", "failed"}) {
    EXPECT_TRUE(has_state(g, s)) << s;
  }
  const GraphEdge* e = edge(g, "submitted", "approved");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->label, "approved automatically");
  // Permanent: nothing expires.
  EXPECT_FALSE(has_state(g, "expired"));
  EXPECT_NE(g.find("active")->label.find("permanent until revoked"), std::string::npos);
  EXPECT_NE(g.find("provisioning")->label.find("figma-guests"), std::string::npos);
}

TEST(RoleGraph, TwoStepPrivilegedRoleWithExpiry) {
  auto policy = compile_text(kPolicy);
  ASSERT_TRUE(policy);
  const auto g = graph_of(*policy, "admin");
  expect_well_formed(g);
  EXPECT_EQ(count_state(g, "awaiting_approval"), 2u);
  const GraphNode* first = g.find("b1_step1");
  const GraphNode* second = g.find("b1_step2");
  ASSERT_TRUE(first && second);
  EXPECT_NE(first->label.find("step 1 of 2: app.owner"), std::string::npos) << first->label;
  EXPECT_NE(first->label.find("dana@acme.com"), std::string::npos) << first->label;
  EXPECT_NE(second->label.find("step 2 of 2: security"), std::string::npos) << second->label;
  EXPECT_NE(second->label.find("security-oncall"), std::string::npos) << second->label;
  EXPECT_TRUE(edge(g, "submitted", "b1_step1"));
  EXPECT_TRUE(edge(g, "b1_step1", "b1_step2"));
  EXPECT_TRUE(edge(g, "b1_step2", "approved"));
  EXPECT_TRUE(edge(g, "b1_step1", "denied"));
  EXPECT_TRUE(edge(g, "b1_step2", "cancelled"));
  ASSERT_TRUE(edge(g, "b1_step1", "b1_step1"));
  EXPECT_EQ(edge(g, "b1_step1", "b1_step1")->label, "after 2h: remind");
  EXPECT_NE(g.find("active")->label.find("expires after 1h"), std::string::npos);
  EXPECT_TRUE(edge(g, "active", "active"));  // renewal
  for (const char* s : {"provisioning", "deprovisioning", "expired", "revoked", "failed", "denied", "cancelled"}) {
    EXPECT_TRUE(has_state(g, s)) << s;
  }
  const GraphEdge* intake = edge(g, "submitted", "denied");
  ASSERT_TRUE(intake);
  EXPECT_NE(intake->label.find("no justification"), std::string::npos);
  EXPECT_FALSE(has_state(g, "awaiting_fulfilment"));
}

TEST(RoleGraph, ManualRoleWaitsForFulfilment) {
  auto policy = compile_text(kPolicy);
  ASSERT_TRUE(policy);
  const auto g = graph_of(*policy, "billing");
  expect_well_formed(g);
  EXPECT_TRUE(has_state(g, "awaiting_fulfilment"));
  EXPECT_FALSE(has_state(g, "provisioning"));
  EXPECT_FALSE(has_state(g, "failed"));
  EXPECT_TRUE(edge(g, "approved", "awaiting_fulfilment"));
  ASSERT_TRUE(edge(g, "awaiting_fulfilment", "active"));
  EXPECT_EQ(edge(g, "awaiting_fulfilment", "active")->label, "confirm by fulfiller");
  EXPECT_NE(g.find("awaiting_fulfilment")->label.find("Figma > Billing"), std::string::npos);
  EXPECT_TRUE(edge(g, "deprovisioning", "expired"));
}

TEST(RoleGraph, ConditionalRouteShowsEachBranch) {
  auto policy = compile_text(kPolicy);
  ASSERT_TRUE(policy);
  const auto g = graph_of(*policy, "viewer");
  expect_well_formed(g);
  const GraphEdge* automatic = edge(g, "submitted", "approved");
  ASSERT_TRUE(automatic);
  EXPECT_EQ(automatic->label, "approved automatically\nwhen requester.employment == \"full_time\"");
  const GraphEdge* manager = edge(g, "submitted", "b2_step1");
  ASSERT_TRUE(manager);
  EXPECT_EQ(manager->label, "otherwise");
  EXPECT_NE(g.find("b2_step1")->label.find("step 1 of 1: manager"), std::string::npos);
  // A condition that cannot be evaluated goes to triage.
  EXPECT_TRUE(has_state(g, "awaiting_triage"));
  EXPECT_TRUE(edge(g, "submitted", "awaiting_triage"));
  // Quotes in conditions are escaped in DOT.
  EXPECT_NE(to_dot(g).find(R"(when requester.employment == \"full_time\")"), std::string::npos);
}

TEST(RoleGraph, DenyingRouteEndsAtDenied) {
  auto policy = compile_text(kPolicy);
  ASSERT_TRUE(policy);
  const auto g = graph_of(*policy, "closed");
  expect_well_formed(g);
  ASSERT_TRUE(edge(g, "submitted", "denied"));
  EXPECT_EQ(edge(g, "submitted", "denied")->label, "denied by policy: retired");
  EXPECT_FALSE(has_state(g, "approved"));
  EXPECT_FALSE(has_state(g, "active"));
}

TEST(RoleGraph, TriageForRequestsOutsideTheCatalog) {
  auto policy = compile_text(kPolicy);
  ASSERT_TRUE(policy);
  const auto g = triage_graph(*policy);
  expect_well_formed(g);
  ASSERT_TRUE(g.find("awaiting_triage"));
  EXPECT_NE(g.find("awaiting_triage")->label.find("group \"it-ops\""), std::string::npos);
  EXPECT_TRUE(edge(g, "awaiting_triage", "denied"));
  EXPECT_TRUE(edge(g, "awaiting_triage", "cancelled"));
  EXPECT_TRUE(edge(g, "awaiting_triage", "mapped"));
}

TEST(RoleGraph, ConflictEscalationAddsAStep) {
  auto policy = compile_text(kPolicy + R"(conflict "two hats" {
  roles: figma.admin, figma.billing
  action: escalate to "ciso@acme.com"
}
)");
  ASSERT_TRUE(policy);
  const auto g = graph_of(*policy, "admin");
  expect_well_formed(g);
  ASSERT_TRUE(g.find("b1_conflict"));
  EXPECT_NE(g.find("b1_conflict")->label.find("ciso@acme.com"), std::string::npos);
  EXPECT_TRUE(edge(g, "b1_step2", "b1_conflict"));
  EXPECT_TRUE(edge(g, "b1_conflict", "approved"));
}

TEST(RoleGraph, ConflictEscalationAlsoStopsAnAutomaticRoute) {
  auto policy = compile_text(kPolicy + R"(conflict "guest and admin" {
  roles: figma.guest, figma.admin
  action: escalate to "ciso@acme.com"
}
)");
  ASSERT_TRUE(policy);
  const auto g = graph_of(*policy, "guest");
  expect_well_formed(g);
  ASSERT_TRUE(edge(g, "submitted", "b1_conflict"));
  EXPECT_EQ(edge(g, "submitted", "b1_conflict")->label, "requester holds a conflicting role");
  ASSERT_TRUE(edge(g, "submitted", "approved"));
  EXPECT_EQ(edge(g, "submitted", "approved")->label, "approved automatically\nno conflicting role held");
  EXPECT_TRUE(edge(g, "b1_conflict", "approved"));
}

TEST(RoleGraph, EveryAcmeRoleDrawsValidDot) {
  auto policy = load_repo_policy("examples/acme/acme.policy");
  ASSERT_TRUE(policy);
  std::size_t roles = 0;
  for (const auto& [name, app] : policy->apps()) {
    for (const auto& role : app.roles) {
      const auto dot = to_dot(role_graph(*policy, role));
      EXPECT_EQ(validate_dot(dot), "") << role.qualified() << "\n" << dot;
      ++roles;
    }
  }
  EXPECT_GT(roles, 20u);
  EXPECT_EQ(validate_dot(to_dot(triage_graph(*policy))), "");
}

TEST(DotValidator, RejectsBrokenDot) {
  EXPECT_NE(validate_dot("digraph \"x\" { \"a\" -> \"b\"; }"), "");
  EXPECT_NE(validate_dot("digraph \"x\" { \"a\"; "), "");
  EXPECT_EQ(validate_dot("digraph \"x\" { \"a\"; \"b\" [label=\"}\"]; \"a\" -> \"b\"; }"), "");
}

}  // namespace
}  // namespace portcullis::interpreter
