#include "datafold/net/node_id.hpp"

#include <gtest/gtest.h>

#include <cctype>
#include <string>
#include <unordered_set>

#include "core/encoding.hpp"

namespace datafold::net {
namespace {

// RFC 8032 section 7.1, test 1.
constexpr std::string_view kRfc8032KeyHex =
    "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
// Computed independently of this code:
//   printf <public key hex> | xxd -r -p | sha256sum
//   python3: base64.b32encode(digest).decode().lower().rstrip('=')
constexpr std::string_view kRfc8032DigestHex =
    "21fe31dfa154a261626bf854046fd2271b7bed4b6abe45aa58877ef47f9721b9";
constexpr std::string_view kRfc8032IdText = "eh7ddx5bksrgcytl7bkai36se4nxx3klnk7elksyq57pi74xeg4q";

NodeId rfc8032_id() { return NodeId::from_public_key(*detail::hex_decode(kRfc8032KeyHex)); }

TEST(NodeId, IsSha256OfRawPublicKey) {
  const NodeId id = rfc8032_id();
  EXPECT_EQ(detail::hex_encode(id.bytes()), kRfc8032DigestHex);
  EXPECT_EQ(id.to_string(), kRfc8032IdText);
  EXPECT_EQ(id.to_string().size(), NodeId::kTextSize);
}

TEST(NodeId, TextRoundTripsInEitherCase) {
  const NodeId id = rfc8032_id();
  EXPECT_EQ(NodeId::from_string(kRfc8032IdText), id);
  std::string upper(kRfc8032IdText);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(NodeId::from_string(upper), id);
}

TEST(NodeId, FromStringRejectsWrongLength) {
  const std::string text(kRfc8032IdText);
  EXPECT_FALSE(NodeId::from_string(""));
  EXPECT_FALSE(NodeId::from_string(text.substr(0, 51)));
  EXPECT_FALSE(NodeId::from_string(text + "a"));
  EXPECT_FALSE(NodeId::from_string(text + "===="));  // padded form
}

TEST(NodeId, FromStringRejectsBadCharacters) {
  for (char bad : {'0', '1', '8', '9', '=', '-', ' ', '\0'}) {
    std::string text(kRfc8032IdText);
    text[10] = bad;
    EXPECT_FALSE(NodeId::from_string(text)) << "char code " << int(bad);
  }
}

TEST(NodeId, FromStringRejectsNonCanonicalTrailingBits) {
  // 52 characters carry 260 bits; the last 4 must be zero, so exactly one
  // text names each id.
  std::string text(kRfc8032IdText);
  ASSERT_EQ(text.back(), 'q');
  text.back() = 'r';
  EXPECT_FALSE(NodeId::from_string(text));
}

TEST(NodeId, FromBytesRequiresExactly32Bytes) {
  const NodeId id = rfc8032_id();
  EXPECT_EQ(NodeId::from_bytes(id.bytes()), id);
  const std::vector<std::uint8_t> short_bytes(31), long_bytes(33);
  EXPECT_FALSE(NodeId::from_bytes(short_bytes));
  EXPECT_FALSE(NodeId::from_bytes(long_bytes));
}

TEST(NodeId, MatchesPrefixIgnoringCase) {
  const NodeId id = rfc8032_id();
  EXPECT_TRUE(id.matches_prefix("eh7d"));
  EXPECT_TRUE(id.matches_prefix("EH7D"));
  EXPECT_TRUE(id.matches_prefix("eH7dDx5"));
  EXPECT_TRUE(id.matches_prefix(kRfc8032IdText));
  EXPECT_TRUE(id.matches_prefix(""));
  EXPECT_FALSE(id.matches_prefix("eh7e"));
  EXPECT_FALSE(id.matches_prefix("h7dd"));  // a substring is not a prefix
  EXPECT_FALSE(id.matches_prefix(std::string(kRfc8032IdText) + "a"));
}

TEST(NodeId, ShortStringIsTextPrefix) {
  EXPECT_EQ(rfc8032_id().short_string(), "eh7ddx5bksrg");
  EXPECT_EQ(rfc8032_id().short_string(4), "eh7d");
}

TEST(NodeId, EmptyMeansAllZero) {
  EXPECT_TRUE(NodeId{}.empty());
  EXPECT_EQ(NodeId{}.to_string(), std::string(NodeId::kTextSize, 'a'));
  EXPECT_FALSE(rfc8032_id().empty());
  std::array<std::uint8_t, NodeId::kSize> one_bit{};
  one_bit[31] = 1;
  EXPECT_FALSE(NodeId{one_bit}.empty());
}

TEST(NodeId, OrdersByBytesAndHashes) {
  std::array<std::uint8_t, NodeId::kSize> low{}, high{};
  low[0] = 1;
  high[0] = 2;
  EXPECT_LT(NodeId{low}, NodeId{high});
  std::unordered_set<NodeId> ids{NodeId{low}, NodeId{high}, NodeId{low}, rfc8032_id()};
  EXPECT_EQ(ids.size(), 3u);
  EXPECT_EQ(ids.count(rfc8032_id()), 1u);
}

}  // namespace
}  // namespace datafold::net
