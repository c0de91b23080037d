#include "datafold/net/public_key.hpp"

#include <gtest/gtest.h>
#include <openssl/err.h>

#include <algorithm>
#include <string>
#include <vector>

#include "core/encoding.hpp"

namespace datafold::net {
namespace {

// RFC 8032 section 7.1, test 1 (empty message).
constexpr std::string_view kPublicKeyHex =
    "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
constexpr std::string_view kSignatureHex =
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9"
    "b46bd25bf5f0595bbe24655141438e7a100b";
// python3: base64.b64encode(bytes.fromhex(kPublicKeyHex))
constexpr std::string_view kPublicKeyBase64 = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";

std::vector<std::uint8_t> unhex(std::string_view hex) { return *detail::hex_decode(hex); }
PublicKey rfc_key() { return *PublicKey::from_bytes(unhex(kPublicKeyHex)); }

TEST(PublicKey, TextFormIsPaddedStandardBase64) {
  EXPECT_EQ(rfc_key().to_string(), kPublicKeyBase64);
  EXPECT_EQ(rfc_key().to_string().size(), 44u);
  EXPECT_EQ(PublicKey::from_string(kPublicKeyBase64), rfc_key());
}

TEST(PublicKey, FromStringRejectsAnythingButExactly32Bytes) {
  EXPECT_FALSE(PublicKey::from_string(""));
  EXPECT_FALSE(PublicKey::from_string(detail::base64_encode(std::vector<std::uint8_t>(31, 7))));
  EXPECT_FALSE(PublicKey::from_string(detail::base64_encode(std::vector<std::uint8_t>(33, 7))));
  EXPECT_FALSE(PublicKey::from_string(kPublicKeyBase64.substr(0, 43)));  // padding dropped
  EXPECT_FALSE(PublicKey::from_string(std::string(kPublicKeyBase64) + "\n"));
  EXPECT_FALSE(PublicKey::from_string(kPublicKeyHex));
  EXPECT_TRUE(PublicKey::from_string(detail::base64_encode(std::vector<std::uint8_t>(32, 7))));
}

TEST(PublicKey, FromBytesRequiresExactly32Bytes) {
  EXPECT_FALSE(PublicKey::from_bytes(std::vector<std::uint8_t>(31)));
  EXPECT_FALSE(PublicKey::from_bytes(std::vector<std::uint8_t>(33)));
  const std::vector<std::uint8_t> raw = unhex(kPublicKeyHex);
  const PublicKey key = rfc_key();
  EXPECT_TRUE(std::equal(raw.begin(), raw.end(), key.bytes().begin(), key.bytes().end()));
}

TEST(PublicKey, NodeIdIsHashOfKey) {
  EXPECT_EQ(rfc_key().node_id(), NodeId::from_public_key(unhex(kPublicKeyHex)));
  EXPECT_EQ(rfc_key().node_id().to_string(), "eh7ddx5bksrgcytl7bkai36se4nxx3klnk7elksyq57pi74xeg4q");
}

TEST(PublicKey, VerifiesRfc8032Test1) {
  EXPECT_TRUE(rfc_key().verify({}, unhex(kSignatureHex)));
}

TEST(PublicKey, VerifyRejectsAnyFlippedSignatureBit) {
  const std::vector<std::uint8_t> good = unhex(kSignatureHex);
  for (std::size_t bit = 0; bit < good.size() * 8; ++bit) {
    std::vector<std::uint8_t> bad = good;
    bad[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
    EXPECT_FALSE(rfc_key().verify({}, bad)) << "bit " << bit;
  }
}

TEST(PublicKey, VerifyRejectsOtherMessageAndOtherKey) {
  const std::vector<std::uint8_t> signature = unhex(kSignatureHex);
  const std::vector<std::uint8_t> one_byte{0x00};
  EXPECT_FALSE(rfc_key().verify(one_byte, signature));

  auto other = rfc_key().bytes();
  other[0] ^= 0x01;
  EXPECT_FALSE(PublicKey{other}.verify({}, signature));
}

TEST(PublicKey, VerifyReturnsFalseOnMalformedInputWithoutLeavingErrors) {
  const std::vector<std::uint8_t> signature = unhex(kSignatureHex);
  EXPECT_FALSE(rfc_key().verify({}, std::vector<std::uint8_t>(63)));
  EXPECT_FALSE(rfc_key().verify({}, std::vector<std::uint8_t>(65)));
  EXPECT_FALSE(rfc_key().verify({}, {}));
  EXPECT_FALSE(PublicKey{}.verify({}, signature));  // all-zero key
  std::array<std::uint8_t, 32> not_a_point{};
  not_a_point.fill(0xff);
  EXPECT_FALSE(PublicKey{not_a_point}.verify({}, signature));
  // A later TLS call must not trip over errors left from these.
  EXPECT_EQ(ERR_peek_error(), 0u);
}

TEST(PublicKey, EmptyMeansAllZero) {
  EXPECT_TRUE(PublicKey{}.empty());
  EXPECT_FALSE(rfc_key().empty());
}

}  // namespace
}  // namespace datafold::net
