#include "datafold/net/uuid.hpp"

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <unordered_set>
#include <vector>

#include "core/keyed_uuid_hash.hpp"

namespace datafold::net {
namespace {

TEST(Uuid, DefaultIsNil) {
  EXPECT_TRUE(Uuid{}.is_nil());
  EXPECT_EQ(Uuid{}.to_string(), "00000000-0000-0000-0000-000000000000");
}

TEST(Uuid, RandomHasVersion4AndRfc4122Variant) {
  for (int i = 0; i < 200; ++i) {
    const Uuid id = Uuid::random();
    EXPECT_FALSE(id.is_nil());
    EXPECT_EQ(id.bytes()[6] >> 4, 4);
    EXPECT_EQ(id.bytes()[8] >> 6, 2);
    const std::string text = id.to_string();
    EXPECT_EQ(text[14], '4') << text;
    EXPECT_NE(std::string("89ab").find(text[19]), std::string::npos) << text;
  }
}

TEST(Uuid, RandomIdsAreDistinct) {
  std::unordered_set<Uuid> ids;
  for (int i = 0; i < 10000; ++i) ids.insert(Uuid::random());
  EXPECT_EQ(ids.size(), 10000u);
}

TEST(Uuid, ToStringIsLowerCaseHexInGroups) {
  const Uuid id({0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc,
                 0xdd, 0xee, 0xff});
  EXPECT_EQ(id.to_string(), "00112233-4455-6677-8899-aabbccddeeff");
  EXPECT_FALSE(id.is_nil());
}

TEST(Uuid, FromBytesRequiresExactly16Bytes) {
  std::vector<std::uint8_t> bytes(16);
  bytes[15] = 1;
  const auto id = Uuid::from_bytes(bytes);
  ASSERT_TRUE(id);
  EXPECT_EQ(id->to_string(), "00000000-0000-0000-0000-000000000001");
  EXPECT_FALSE(Uuid::from_bytes(std::vector<std::uint8_t>(15)));
  EXPECT_FALSE(Uuid::from_bytes(std::vector<std::uint8_t>(17)));
  EXPECT_FALSE(Uuid::from_bytes({}));
}

TEST(Uuid, OrdersByBytes) {
  std::array<std::uint8_t, Uuid::kSize> low{}, high{};
  low[0] = 1;
  high[0] = 2;
  EXPECT_LT(Uuid{low}, Uuid{high});
  EXPECT_EQ(Uuid{low}, *Uuid::from_bytes(low));
}

// Ids a peer picks to share their first eight bytes (all std::hash<Uuid> reads)
// still spread over the buckets of a table hashed with KeyedUuidHash.
TEST(Uuid, KeyedHashSpreadsIdsThatShareTheirFirstBytes) {
  const detail::KeyedUuidHash hash;
  std::unordered_set<std::size_t> plain;
  std::unordered_set<std::size_t> keyed;
  for (unsigned i = 0; i < 1000; ++i) {
    std::array<std::uint8_t, 16> bytes{1, 2, 3, 4, 5, 6, 7, 8};
    bytes[14] = static_cast<std::uint8_t>(i >> 8);
    bytes[15] = static_cast<std::uint8_t>(i);
    const auto id = *Uuid::from_bytes(bytes);
    EXPECT_EQ(hash(id), hash(id));
    plain.insert(std::hash<Uuid>{}(id));
    keyed.insert(hash(id));
  }
  EXPECT_EQ(plain.size(), 1u);  // what the keyed hash is for
  EXPECT_EQ(keyed.size(), 1000u);
}

}  // namespace
}  // namespace datafold::net
