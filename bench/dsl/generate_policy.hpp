#pragma once
// A deterministic generator of large, valid policies for benchmarks.
//
// generate_policy(apps, roles_per_app, seed) returns the text of one policy
// file shaped like a real catalog: providers (Okta, Entra), a tracker and a
// chat integration, approver pools per department, risk buckets, `apps`
// apps with `roles_per_app` roles each (grants to one or two provider
// groups, a few manual roles, conditional routes with CEL conditions,
// quorum steps, durations, expiry and requirements), plus separation-of-
// duties conflicts and access reviews in proportion to the catalog.
//
// The same arguments always give the same bytes, on every platform: the
// generator uses its own PRNG (splitmix64), not <random> distributions,
// whose output is implementation-defined. The policy is meant to pass
// `portcullis check` without errors or warnings.
//
// Preconditions: apps >= 1, roles_per_app >= 1 (values below are clamped).
// Pure and thread-safe; the result is roughly 1 KB per app at 5 roles.

#include <string>

namespace portcullis::bench {

std::string generate_policy(int apps, int roles_per_app, unsigned seed);

}  // namespace portcullis::bench
