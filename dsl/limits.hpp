#pragma once
// Hard limits of the policy language. Each one exceeded is a diagnostic
// (E09xx or E0902), never a crash or a hang; they bound memory and time on
// hostile input while leaving room for the largest real catalogs.

#include <cstddef>

namespace portcullis::dsl::limits {

inline constexpr std::size_t kMaxFileBytes = 64u << 20;       // one policy file
inline constexpr std::size_t kMaxFiles = 1000;                // files in one program (imports)
inline constexpr std::size_t kMaxListItems = 10000;           // items in any list value
inline constexpr std::size_t kMaxValueNesting = 16;           // nested list values
inline constexpr std::size_t kMaxGrantsPerRole = 64;
inline constexpr std::size_t kMaxRolesPerApp = 1000;
inline constexpr std::size_t kMaxRouteBranches = 32;
inline constexpr std::size_t kMaxRouteSteps = 16;
inline constexpr std::size_t kMaxQuorum = 100;
inline constexpr std::size_t kMaxPeople = 1000;               // people in one pool
inline constexpr std::size_t kMaxAllowedDurations = 32;       // one_of(...)
inline constexpr std::size_t kMaxTestStatements = 1000;
inline constexpr std::size_t kMaxPendingPieces = 20000;    // entries of one item awaiting their list's end
inline constexpr std::size_t kMaxDiagnostics = 1000;          // per file; later ones are dropped
inline constexpr long long kMaxDurationSeconds = 100LL * 366 * 24 * 3600;  // a century

}  // namespace portcullis::dsl::limits
