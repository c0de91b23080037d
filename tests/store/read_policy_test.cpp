#include "store/read_policy.hpp"

#include <gtest/gtest.h>

#include <array>
#include <limits>

namespace datafold::store {
namespace {

net::PublicKey key_of(std::uint8_t fill) {
  std::array<std::uint8_t, net::PublicKey::kSize> bytes{};
  bytes.fill(fill);
  return net::PublicKey(bytes);
}

net::RequestContext at(std::uint32_t distance, net::PublicKey key = key_of(0x42)) {
  net::RequestContext context;
  context.public_key = key;
  context.node_id = key.node_id();
  context.trust_distance = distance;
  return context;
}

FieldPolicy distance(std::uint32_t n) {
  FieldPolicy policy;
  policy.max_distance = n;
  return policy;
}

constexpr std::uint32_t kUntrusted = std::numeric_limits<std::uint32_t>::max();

TEST(ReadPolicy, NoRequirementAllowsAnyone) {
  const FieldPolicy open;
  EXPECT_TRUE(decide(open, at(kUntrusted)).allowed);
  EXPECT_TRUE(decide(open, at(5, net::PublicKey{})).allowed);
}

TEST(ReadPolicy, DistanceIsInclusiveBoundary) {
  const FieldPolicy policy = distance(2);
  EXPECT_TRUE(decide(policy, at(1)).allowed);
  EXPECT_TRUE(decide(policy, at(2)).allowed);
  const ReadDecision denied = decide(policy, at(3));
  EXPECT_FALSE(denied.allowed);
  EXPECT_EQ(denied.required_distance, 2u);
  EXPECT_EQ(denied.reason, "needs trust distance <= 2, requester is at 3");
  EXPECT_FALSE(decide(policy, at(kUntrusted)).allowed);
  // 4294967295 is no distance anyone would recognise: it is the one unknown keys get.
  EXPECT_EQ(decide(policy, at(kUntrusted)).reason,
            "needs trust distance <= 2, requester is unknown (not in the trust store)");
}

TEST(ReadPolicy, NodeItselfReadsEverything) {
  EXPECT_TRUE(decide(distance(0), at(0)).allowed);
  EXPECT_FALSE(decide(distance(0), at(1)).allowed);
  EXPECT_TRUE(decide(FieldPolicy{}, at(0)).allowed);
}

TEST(ReadPolicy, ExplicitAllowListAdmitsListedKeysAtAnyDistance) {
  FieldPolicy policy = distance(1);
  // The count is fold_db's; any listed key reads, even with count 0.
  policy.explicit_readers.emplace(key_of(0x42), 0);
  EXPECT_TRUE(decide(policy, at(kUntrusted, key_of(0x42))).allowed);
  EXPECT_FALSE(decide(policy, at(kUntrusted, key_of(0x43))).allowed);
  EXPECT_TRUE(decide(policy, at(1, key_of(0x43))).allowed);
}

TEST(ReadPolicy, RequesterWithoutKeyNeverMatchesAllowList) {
  FieldPolicy policy = distance(0);
  policy.explicit_readers.emplace(net::PublicKey{}, 1);  // an all-zero key, valid base64
  EXPECT_FALSE(decide(policy, at(7, net::PublicKey{})).allowed);
}

TEST(ReadPolicy, CanReadAnythingNeedsOneReadableField) {
  SchemaDefinition schema;
  schema.name = "Secrets";
  schema.fields = {FieldDefinition{"a", distance(0), std::nullopt}, FieldDefinition{"b", distance(1), std::nullopt}};
  EXPECT_TRUE(can_read_anything(schema, at(0)));
  EXPECT_TRUE(can_read_anything(schema, at(1)));
  EXPECT_FALSE(can_read_anything(schema, at(2)));
  schema.fields[0].policy.explicit_readers.emplace(key_of(9), 1);
  EXPECT_TRUE(can_read_anything(schema, at(kUntrusted, key_of(9))));
  EXPECT_FALSE(can_read_anything(schema, at(kUntrusted, key_of(8))));
}

}  // namespace
}  // namespace datafold::store
