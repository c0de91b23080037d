// The circuit join preamble (PROTOCOL.md section 14.3): "DFRC" | 01 | token. It
// round-trips, and a relay's listener refuses anything else — wrong magic, version
// or length, or the all-zero token no one is ever issued.
#include "relay/circuit_join.hpp"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace datafold::net::detail {
namespace {

RelayToken vector_token() {
  RelayToken token;
  for (std::size_t i = 0; i < token.size(); ++i) token[i] = static_cast<std::uint8_t>(0xa0 + i);
  return token;
}

std::vector<std::uint8_t> join_bytes(const RelayToken& token) {
  const auto encoded = encode_circuit_join(token);
  return {encoded.begin(), encoded.end()};
}

TEST(CircuitJoin, EncodesAsTheSpecSaysAndDecodesBack) {
  const auto bytes = join_bytes(vector_token());
  ASSERT_EQ(bytes.size(), 37u);
  EXPECT_EQ(bytes[0], 0x44);  // D
  EXPECT_EQ(bytes[1], 0x46);  // F
  EXPECT_EQ(bytes[2], 0x52);  // R
  EXPECT_EQ(bytes[3], 0x43);  // C
  EXPECT_EQ(bytes[4], 0x01);
  for (std::size_t i = 0; i < kRelayTokenSize; ++i) EXPECT_EQ(bytes[5 + i], 0xa0 + i) << i;
  auto token = decode_circuit_join(bytes);
  ASSERT_TRUE(token);
  EXPECT_EQ(*token, vector_token());
}

TEST(CircuitJoin, ATokenWithZeroBytesInItStillRoundTrips) {
  RelayToken token{};
  token[31] = 1;  // only the all-zero token is refused
  auto decoded = decode_circuit_join(join_bytes(token));
  ASSERT_TRUE(decoded);
  EXPECT_EQ(*decoded, token);
}

TEST(CircuitJoin, ItsFirstByteTellsItFromATlsRecord) {
  EXPECT_TRUE(starts_circuit_join(join_bytes(vector_token()).front()));
  EXPECT_FALSE(starts_circuit_join(0x16));  // a TLS handshake record
  EXPECT_FALSE(starts_circuit_join(0x00));
}

TEST(CircuitJoin, EachWrongMagicByteIsRefused) {
  for (std::size_t i = 0; i < kCircuitJoinMagic.size(); ++i) {
    auto bytes = join_bytes(vector_token());
    bytes[i] ^= 0x20;  // "dFRC", "DfRC", ...
    EXPECT_FALSE(decode_circuit_join(bytes)) << i;
  }
}

TEST(CircuitJoin, AnyOtherVersionIsRefused) {
  for (int version : {0, 2, 0x7f, 0xff}) {
    auto bytes = join_bytes(vector_token());
    bytes[4] = static_cast<std::uint8_t>(version);
    EXPECT_FALSE(decode_circuit_join(bytes)) << version;
  }
}

TEST(CircuitJoin, AnyOtherLengthIsRefused) {
  const auto bytes = join_bytes(vector_token());
  for (std::size_t length = 0; length < bytes.size(); ++length)
    EXPECT_FALSE(decode_circuit_join(std::span(bytes).first(length))) << length;
  auto longer = bytes;
  longer.push_back(0x16);  // a join followed by what comes after it is not a join
  EXPECT_FALSE(decode_circuit_join(longer));
}

TEST(CircuitJoin, TheAllZeroTokenIsRefused) {
  EXPECT_FALSE(decode_circuit_join(join_bytes(RelayToken{})));
}

// The fuzzer's seeds (fuzz/corpus/circuit_join/), replayed in the normal build: each
// is named "<join|refused>.<what>" and must decode (to a token it carries) or not.
TEST(CircuitJoinSeeds, EachSeedDecodesOrIsRefusedAsItsNameSays) {
  const std::filesystem::path dir = DATAFOLD_SOURCE_DIR "/fuzz/corpus/circuit_join";
  std::size_t joins = 0;
  std::size_t refused = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    const std::string verdict = name.substr(0, name.find('.'));
    std::ifstream in(entry.path(), std::ios::binary);
    const std::vector<std::uint8_t> bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    auto token = decode_circuit_join(bytes);
    if (verdict == "join") {
      ASSERT_TRUE(token) << name;
      EXPECT_TRUE(std::equal(token->begin(), token->end(), bytes.begin() + 5)) << name;
      EXPECT_EQ(join_bytes(*token), bytes) << name;
      ++joins;
    } else {
      EXPECT_EQ(verdict, "refused") << name;
      EXPECT_FALSE(token) << name;
      ++refused;
    }
  }
  EXPECT_GE(joins, 2u);
  EXPECT_GE(refused, 5u);
}

}  // namespace
}  // namespace datafold::net::detail
