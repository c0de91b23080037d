#include "services/released_values.hpp"

#include <gtest/gtest.h>

namespace datafold::net::detail {
namespace {

TEST(ReleasedValues, ArraysAreEmptiedAndFieldsErrorsAndOtherValuesStay) {
  QueryResult result{{{"rows", Json::array({"a", Json::array({1, Json::object({{"k", Json::array({2})}})}), nullptr})},
                      {"one", Json("b")},
                      {"denied", SchemaError{SchemaError::Kind::InvalidPermission, "no"}}}};
  result.cursor = "c";
  release_values(result);
  ASSERT_EQ(result.results.size(), 3u);
  EXPECT_EQ(result.results[0].field, "rows");
  EXPECT_EQ(result.results[0].value(), Json::array());
  EXPECT_EQ(result.results[1].value(), Json("b"));
  EXPECT_FALSE(result.results[2].ok());
  EXPECT_EQ(result.cursor, "c");
}

TEST(ReleasedValues, OnlyAQueryResponseIsTouched) {
  QueryResponseMessage response;
  response.result.results.push_back({"rows", Json::array({1, 2})});
  Message reply = response;
  release_values(reply);
  EXPECT_EQ(std::get<QueryResponseMessage>(reply).result.results[0].value(), Json::array());

  Message other = ErrorMessage{};
  release_values(other);  // nothing to free, nothing broken
  EXPECT_TRUE(std::holds_alternative<ErrorMessage>(other));
}

// Deeply nested rows are still freed without recursing once per level. (Built by
// moves only: copying a Json recurses once per level, as an initializer list would.)
TEST(ReleasedValues, DeepNestingIsFreedWithoutExhaustingTheStack) {
  Json deep = Json::array();
  for (int i = 0; i < 100000; ++i) {
    Json outer = Json::array();
    outer.get_ref<Json::array_t&>().push_back(std::move(deep));
    deep = std::move(outer);
  }
  QueryResult result;
  result.results.push_back(FieldResult{"rows", Json::array()});
  std::get<Json>(result.results[0].outcome).get_ref<Json::array_t&>().push_back(std::move(deep));
  release_values(result);
  EXPECT_EQ(result.results[0].value(), Json::array());
}

}  // namespace
}  // namespace datafold::net::detail
