// resolve() reads each role's plan block first and falls back to the role
// itself for the cases the block does not cover. Both paths must give the
// same Plan, field for field (spans included): this compares them over the
// acme example and generated catalogs, for every role and a spread of
// requests (default and asked-for durations, permanent, missing fields,
// requesters with and without a directory entry, held conflicting grants).
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "bench/dsl/generate_policy.hpp"
#include "interpreter/directory.hpp"
#include "interpreter/model.hpp"
#include "interpreter/route.hpp"
#include "runtime/codec.hpp"

namespace portcullis::interpreter {
namespace {

constexpr Time kNow = 1'767'225'600;  // 2026-01-01T00:00:00Z

std::vector<AccessRequest> variants(const std::string& app, const std::string& role,
                                    const std::vector<std::string>& requesters) {
  std::vector<AccessRequest> out;
  for (const auto& requester : requesters) {
    AccessRequest plain{requester, app, role, std::nullopt, false, "needed for the launch", "ACC-1"};
    out.push_back(plain);
    AccessRequest bare = plain;
    bare.justification.clear();
    bare.ticket.clear();
    out.push_back(bare);
    AccessRequest hour = plain;
    hour.duration = 3600;
    out.push_back(hour);
    AccessRequest long_one = plain;
    long_one.duration = 400 * 86400;
    out.push_back(long_one);
    AccessRequest permanent = plain;
    permanent.permanent = true;
    out.push_back(permanent);
  }
  return out;
}

// Compares both paths for every role; returns how many roles have a block.
std::size_t expect_same_plans(const Policy& policy, const Directory* directory,
                              const std::vector<std::string>& requesters) {
  std::vector<std::pair<std::string, std::string>> all_roles;
  for (const auto& [name, app] : policy.apps()) {
    for (const auto& role : app.roles) all_roles.emplace_back(app.name, role.name);
  }
  std::size_t with_block = 0;
  std::size_t compared = 0;
  for (std::size_t i = 0; i < all_roles.size(); ++i) {
    const auto& [app, role] = all_roles[i];
    if (policy.find_role_entry(app, role).plan != nullptr) ++with_block;
    // Facts: nothing held, and (for every third role) a neighbour's role
    // held, which is where conflicts come from.
    std::vector<Facts> facts(2);
    facts[0].directory = directory;
    facts[1].directory = directory;
    facts[1].current_grants = {all_roles[(i + 1) % all_roles.size()], all_roles[(i + 7) % all_roles.size()]};
    for (const auto& f : facts) {
      for (const auto& request : variants(app, role, requesters)) {
        const auto fast = runtime::codec::encode_plan(resolve(policy, request, f, kNow));
        const auto reference = runtime::codec::encode_plan(resolve_without_plan_blocks(policy, request, f, kNow));
        if (fast != reference) {
          ADD_FAILURE() << app << "." << role << " for " << request.requester << "\nplan block: " << fast.dump(2)
                        << "\nrole path: " << reference.dump(2);
          return with_block;
        }
        ++compared;
      }
    }
  }
  EXPECT_GT(compared, 0u);
  return with_block;
}

TEST(PlanBlocks, AgreeWithTheRolePathOnTheAcmeExample) {
  const std::string root = PORTCULLIS_SOURCE_DIR;
  auto compiled = load_policy(root + "/examples/acme/acme.policy", dsl::read_file_from_disk);
  ASSERT_TRUE(compiled.policy);
  std::ifstream in(root + "/examples/acme/directory.json");
  std::stringstream text;
  text << in.rdbuf();
  std::string error;
  auto directory = Directory::from_json(nlohmann::json::parse(text.str()), error);
  ASSERT_TRUE(directory) << error;
  const std::vector<std::string> requesters = {"alice.nguyen@acme.com", "dana.whitfield@acme.com",
                                               "nobody.known@acme.com"};
  expect_same_plans(*compiled.policy, &*directory, requesters);
  expect_same_plans(*compiled.policy, nullptr, requesters);
}

TEST(PlanBlocks, AgreeWithTheRolePathOnGeneratedCatalogs) {
  for (unsigned seed : {1u, 2u, 3u}) {
    const std::string text = bench::generate_policy(120, 5, seed);
    const dsl::FileReader reader = [&text](const std::string& path) -> std::optional<std::string> {
      if (path == "generated.policy") return text;
      return std::nullopt;
    };
    auto compiled = load_policy("generated.policy", reader);
    ASSERT_TRUE(compiled.policy) << "seed " << seed;
    Directory directory;
    std::vector<std::string> requesters;
    for (const char* dept : {"engineering", "sales", "finance", "security", "it"}) {
      const std::string d = dept;
      for (int i = 0; i < 2; ++i) {
        Person p;
        p.email = d + std::to_string(i) + "@acme.com";
        p.department = d;
        p.employment = i == 1 ? "contractor" : "full_time";
        p.manager = d + "-manager@acme.com";
        directory.put(p);
        requesters.push_back(p.email);
      }
      directory.set_group(d + "-leads", {d + "-lead1@acme.com", d + "-lead2@acme.com", requesters.back()});
      directory.set_group(d + "-app-owners", {d + "-owner1@acme.com", d + "-owner2@acme.com"});
    }
    directory.set_group("it-ops", {"it1@acme.com", "it2@acme.com"});
    directory.set_group("security-oncall", {"sec1@acme.com", "sec2@acme.com"});
    requesters.push_back("stranger@elsewhere.com");
    const std::size_t with_block = expect_same_plans(*compiled.policy, &directory, requesters);
    // The comparison means something only if most roles take the block path.
    EXPECT_GT(with_block, compiled.policy->apps().size() * 5 / 2) << "seed " << seed;
  }
}

}  // namespace
}  // namespace portcullis::interpreter
