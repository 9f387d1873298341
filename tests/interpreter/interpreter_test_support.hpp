#pragma once
// Helpers shared by the interpreter tests: compile a policy from text or
// from the repository, load the example directory, and drive a request
// through the state machine the way the runtime would (provisioning
// succeeds at once, timers fire when asked).

#include <gtest/gtest.h>

#include <deque>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "dsl/diagnostics.hpp"
#include "dsl/loader.hpp"
#include "interpreter/directory.hpp"
#include "interpreter/model.hpp"
#include "interpreter/route.hpp"
#include "interpreter/state_machine.hpp"

namespace portcullis::interpreter::itest {

constexpr Time kNow = 1767225600;  // 2026-01-01T00:00:00Z
constexpr Seconds kHour = 3600;
constexpr Seconds kDay = 24 * kHour;

inline std::string render(const dsl::Diagnostics& diagnostics) {
  std::string out;
  for (const auto& d : diagnostics.items()) out += dsl::render_text(d) + "\n";
  return out;
}

// Compiles in-memory files; `files` maps path to text, the first key given
// as `root` is the root file. Fails the current test (and returns null)
// when the policy does not compile.
inline PolicyPtr compile_files(const std::map<std::string, std::string>& files, const std::string& root) {
  const dsl::FileReader reader = [&files](const std::string& path) -> std::optional<std::string> {
    const auto it = files.find(path);
    if (it == files.end()) return std::nullopt;
    return it->second;
  };
  CompiledPolicy compiled = load_policy(root, reader);
  EXPECT_TRUE(compiled.policy) << render(compiled.diagnostics);
  return compiled.policy;
}

inline PolicyPtr compile_text(const std::string& text) { return compile_files({{"test.policy", text}}, "test.policy"); }

inline std::string source_path(const std::string& relative) { return std::string(PORTCULLIS_SOURCE_DIR) + "/" + relative; }

inline PolicyPtr load_repo_policy(const std::string& relative) {
  CompiledPolicy compiled = load_policy(source_path(relative), dsl::read_file_from_disk);
  EXPECT_TRUE(compiled.policy) << render(compiled.diagnostics);
  return compiled.policy;
}

inline Directory load_acme_directory() {
  std::ifstream in(source_path("examples/acme/directory.json"));
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string error;
  auto directory = Directory::from_json(nlohmann::json::parse(buffer.str()), error);
  EXPECT_TRUE(directory) << error;
  return directory ? std::move(*directory) : Directory{};
}

inline Person person(std::string email, std::string employment = "full_time", std::string manager = "",
                     std::string department = "engineering") {
  Person p;
  p.email = std::move(email);
  p.employment = std::move(employment);
  p.manager = std::move(manager);
  p.department = std::move(department);
  return p;
}

inline AccessRequest request_for(std::string requester, std::string app, std::string role) {
  AccessRequest r;
  r.requester = std::move(requester);
  r.app = std::move(app);
  r.role = std::move(role);
  return r;
}

inline bool has_reason_containing(const Plan& plan, const std::string& text) {
  for (const auto& r : plan.reasons) {
    if (r.text.find(text) != std::string::npos) return true;
  }
  return false;
}

// The policy line (1-based) a reason containing `text` points at; 0 when
// no such reason or its span is invalid.
inline std::uint32_t reason_line(const Plan& plan, const std::string& text) {
  for (const auto& r : plan.reasons) {
    if (r.text.find(text) != std::string::npos) return r.span.valid() ? r.span.line : 0;
  }
  return 0;
}

template <typename E>
std::vector<E> effects_of(const Transition& t) {
  std::vector<E> out;
  for (const auto& e : t.effects) {
    if (const auto* x = std::get_if<E>(&e)) out.push_back(*x);
  }
  return out;
}

inline bool has_evidence_containing(const Transition& t, const std::string& text) {
  for (const auto& e : effects_of<EvidenceEffect>(t)) {
    if (e.text.find(text) != std::string::npos) return true;
  }
  return false;
}

// Performs the membership effects of a transition as a connector that
// always succeeds would, feeding each result back into the machine. The
// effects of every transition along the way are appended to `all`.
inline RequestState settle(Transition t, const StepContext& context, std::vector<Effect>* all = nullptr) {
  std::deque<Effect> pending(t.effects.begin(), t.effects.end());
  if (all) all->insert(all->end(), t.effects.begin(), t.effects.end());
  RequestState state = std::move(t.state);
  while (!pending.empty()) {
    Effect effect = std::move(pending.front());
    pending.pop_front();
    std::optional<Event> follow;
    if (const auto* add = std::get_if<AddMembershipEffect>(&effect)) {
      follow = ProvisionResultEvent{add->group, true, true, ""};
    } else if (const auto* remove = std::get_if<RemoveMembershipEffect>(&effect)) {
      follow = ProvisionResultEvent{remove->group, false, true, ""};
    }
    if (!follow) continue;
    Transition next = step(state, *follow, context);
    EXPECT_FALSE(next.refusal) << *next.refusal;
    if (all) all->insert(all->end(), next.effects.begin(), next.effects.end());
    pending.insert(pending.end(), next.effects.begin(), next.effects.end());
    state = std::move(next.state);
  }
  return state;
}

inline StepContext at(Time now) {
  StepContext c;
  c.now = now;
  return c;
}

}  // namespace portcullis::interpreter::itest
