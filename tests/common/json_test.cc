#include "common/json.h"

#include <gtest/gtest.h>

namespace relay::common {
namespace {

TEST(Json, Int64FromNumbersAndDecimalStrings) {
  auto obj = parse_json_object(
      R"({"a":5,"b":"9223372036854775807","c":1.5,"d":"12x","e":18446744073709551615,"f":1e3})");
  ASSERT_TRUE(obj.ok());
  EXPECT_EQ(*json_get_int64(*obj, "a"), 5);
  EXPECT_EQ(*json_get_int64(*obj, "b"), INT64_MAX);
  EXPECT_FALSE(json_get_int64(*obj, "c").ok());
  EXPECT_FALSE(json_get_int64(*obj, "d").ok());
  EXPECT_FALSE(json_get_int64(*obj, "e").ok());
  EXPECT_FALSE(json_get_int64(*obj, "f").ok());
  EXPECT_EQ(json_get_int64(*obj, "missing").error().message, "missing: is required");
  EXPECT_EQ(*json_get_int64_or(*obj, "missing", 7), 7);
}

TEST(Json, MalformedTextIsAnError) {
  EXPECT_FALSE(parse_json_object("{").ok());
  EXPECT_FALSE(parse_json_object("[1]").ok());
  EXPECT_FALSE(parse_json_object(std::string(10000, '[')).ok());
}

}  // namespace
}  // namespace relay::common
