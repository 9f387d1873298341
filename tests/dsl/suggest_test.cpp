#include "dsl/suggest.hpp"

#include <gtest/gtest.h>

namespace portcullis::dsl {
namespace {

TEST(EditDistance, CountsInsertDeleteSubstituteAndTranspose) {
  EXPECT_EQ(edit_distance("privileged", "privileged"), 0u);
  EXPECT_EQ(edit_distance("privilegd", "privileged"), 1u);   // insert
  EXPECT_EQ(edit_distance("privilegeed", "privileged"), 1u); // delete
  EXPECT_EQ(edit_distance("privilaged", "privileged"), 1u);  // substitute
  EXPECT_EQ(edit_distance("privielged", "privileged"), 1u);  // transpose
  EXPECT_EQ(edit_distance("", "abc"), 3u);
}

TEST(ClosestMatch, SuggestsOnlyPlausibleTypos) {
  const std::vector<std::string> buckets = {"routine", "sensitive", "privileged", "unknown"};
  EXPECT_EQ(closest_match("privilegd", buckets), "privileged");
  EXPECT_EQ(closest_match("sensitve", buckets), "sensitive");
  EXPECT_EQ(closest_match("banana", buckets), std::nullopt);
  EXPECT_EQ(closest_match("routine", buckets), std::nullopt) << "an exact name is not a suggestion";
}

}  // namespace
}  // namespace portcullis::dsl
