#include "datafold/net/uuid.hpp"

#include <gtest/gtest.h>

#include <string>
#include <unordered_set>
#include <vector>

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

}  // namespace
}  // namespace datafold::net
