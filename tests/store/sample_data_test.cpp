#include "store/sample_data.hpp"

#include <gtest/gtest.h>

#include "temp_dir.hpp"

namespace datafold::store {
namespace {

using net::Json;

TEST(SampleData, SchemaCarriesDifferentPolicies) {
  auto parsed = schema_from_json(sample_schema_json());
  ASSERT_TRUE(parsed) << parsed.error().message;
  const SchemaDefinition schema = sample_schema();
  EXPECT_EQ(schema, *parsed);
  EXPECT_EQ(schema.name, kSampleSchemaName);
  ASSERT_EQ(schema.fields.size(), 4u);
  EXPECT_FALSE(schema.find_field("username")->policy.max_distance);
  EXPECT_FALSE(schema.find_field("display_name")->policy.max_distance);
  EXPECT_EQ(schema.find_field("email")->policy.max_distance, 1u);
  EXPECT_EQ(schema.find_field("phone")->policy.max_distance, 0u);
}

TEST(SampleData, SeedingTwiceLeavesOneCopy) {
  testutil::TempDir dir;
  auto store = SqliteStore::open(dir.db());
  ASSERT_TRUE(store) << store.error().message;
  auto first = seed_sample(*store);
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(*first, sample_rows().size());
  auto second = seed_sample(*store);
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_EQ(*second, 0u);
  EXPECT_EQ(store->count_rows(kSampleSchemaName).value(), sample_rows().size());
  auto names = store->query(kSampleSchemaName, {"username"});
  ASSERT_TRUE(names);
  EXPECT_EQ((*names)[0], Json::parse(R"(["alice", "bob", "carol"])"));
}

}  // namespace
}  // namespace datafold::store
