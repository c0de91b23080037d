#include "core/encoding.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace datafold::net::detail {
namespace {

std::vector<std::uint8_t> bytes_of(std::string_view s) { return {s.begin(), s.end()}; }

struct Vector {
  std::string_view plain;
  std::string_view base32;
  std::string_view base64;
  std::string_view hex;
};

// RFC 4648 section 10; base32 lower-cased and unpadded, as we spell it.
constexpr Vector kRfc4648[] = {
    {"", "", "", ""},
    {"f", "my", "Zg==", "66"},
    {"fo", "mzxq", "Zm8=", "666f"},
    {"foo", "mzxw6", "Zm9v", "666f6f"},
    {"foob", "mzxw6yq", "Zm9vYg==", "666f6f62"},
    {"fooba", "mzxw6ytb", "Zm9vYmE=", "666f6f6261"},
    {"foobar", "mzxw6ytboi", "Zm9vYmFy", "666f6f626172"},
};

TEST(Encoding, Base32MatchesRfc4648) {
  for (const auto& v : kRfc4648) {
    EXPECT_EQ(base32_encode(bytes_of(v.plain)), v.base32) << v.plain;
    EXPECT_EQ(base32_decode(v.base32), bytes_of(v.plain)) << v.base32;
  }
}

TEST(Encoding, Base64MatchesRfc4648) {
  for (const auto& v : kRfc4648) {
    EXPECT_EQ(base64_encode(bytes_of(v.plain)), v.base64) << v.plain;
    EXPECT_EQ(base64_decode(v.base64), bytes_of(v.plain)) << v.base64;
  }
}

TEST(Encoding, HexMatchesRfc4648) {
  for (const auto& v : kRfc4648) {
    EXPECT_EQ(hex_encode(bytes_of(v.plain)), v.hex) << v.plain;
    EXPECT_EQ(hex_decode(v.hex), bytes_of(v.plain)) << v.hex;
  }
}

TEST(Encoding, Base32DecodeAcceptsUpperCase) {
  EXPECT_EQ(base32_decode("MZXW6YTBOI"), bytes_of("foobar"));
  EXPECT_EQ(base32_decode("MzXw6YtBoI"), bytes_of("foobar"));
}

TEST(Encoding, Base32DecodeRejectsMalformedText) {
  EXPECT_FALSE(base32_decode("my======"));  // padding
  EXPECT_FALSE(base32_decode("my="));
  EXPECT_FALSE(base32_decode("m1"));   // '1' is not in the alphabet
  EXPECT_FALSE(base32_decode("m8"));
  EXPECT_FALSE(base32_decode("m y"));
  EXPECT_FALSE(base32_decode("m"));    // 5 bits: no whole byte
  EXPECT_FALSE(base32_decode("mzx"));  // 15 bits: 7 left over
  EXPECT_FALSE(base32_decode("mzxw6y"));
  EXPECT_FALSE(base32_decode("mz"));   // "f" is "my"; "mz" sets a trailing bit
}

TEST(Encoding, Base64DecodeRejectsMalformedText) {
  EXPECT_FALSE(base64_decode("Zg"));    // padding is required
  EXPECT_FALSE(base64_decode("Zg="));
  EXPECT_FALSE(base64_decode("Z==="));
  EXPECT_FALSE(base64_decode("===="));
  EXPECT_FALSE(base64_decode("Zg=A"));  // '=' only at the end
  EXPECT_FALSE(base64_decode("Zh=="));  // "f" is "Zg=="; "Zh==" sets a trailing bit
  EXPECT_FALSE(base64_decode("Zm9"));
  EXPECT_FALSE(base64_decode("Zm9v\n"));
  EXPECT_FALSE(base64_decode("Zm 9"));
  EXPECT_FALSE(base64_decode("Zm9-"));  // URL-safe alphabet is not ours
  EXPECT_FALSE(base64_decode("Zm9_"));
}

TEST(Encoding, HexDecodeAcceptsEitherCaseAndRejectsMalformedText) {
  EXPECT_EQ(hex_decode("666F6F"), bytes_of("foo"));
  EXPECT_EQ(hex_decode("00ff7F"), (std::vector<std::uint8_t>{0x00, 0xff, 0x7f}));
  EXPECT_FALSE(hex_decode("666"));
  EXPECT_FALSE(hex_decode("6g"));
  EXPECT_FALSE(hex_decode("0x66"));
}

TEST(Encoding, EveryLengthRoundTrips) {
  std::mt19937 rng(42);  // fixed seed: a failure reproduces
  for (std::size_t n = 0; n <= 70; ++n) {
    std::vector<std::uint8_t> data(n);
    for (auto& b : data) b = static_cast<std::uint8_t>(rng());
    EXPECT_EQ(base32_decode(base32_encode(data)), data) << n;
    EXPECT_EQ(base64_decode(base64_encode(data)), data) << n;
    EXPECT_EQ(hex_decode(hex_encode(data)), data) << n;
    EXPECT_EQ(base32_encode(data).size(), (n * 8 + 4) / 5) << n;
    EXPECT_EQ(base64_encode(data).size(), (n + 2) / 3 * 4) << n;
  }
}

}  // namespace
}  // namespace datafold::net::detail
