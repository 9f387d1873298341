#pragma once
// Random, syntactically valid policy files for property tests of the
// formatter (and anything else that must hold for every policy).
//
// random_policy(seed) is deterministic for a seed on every platform (it
// draws from std::mt19937 directly, never through a std distribution). Each
// file mixes every construct of the language (module, imports, providers with
// all value kinds, trackers, chats, approver pools, buckets, apps and roles,
// conflicts, reviews, tests with every statement and expectation), with
// comments sprinkled where the grammar allows them and a random layout:
// single-line blocks, `;` separators, odd spacing, tabs, blank lines, CRLF.
// The files parse without errors; they need not pass the checker (names
// refer to nothing in particular).

#include <cstdint>
#include <string>

namespace portcullis::dsl::testing {

std::string random_policy(std::uint32_t seed);

}  // namespace portcullis::dsl::testing
