#include "relay/circuit_join.hpp"

#include <algorithm>

namespace datafold::net::detail {

std::array<std::uint8_t, kCircuitJoinBytes> encode_circuit_join(const RelayToken& token) {
  std::array<std::uint8_t, kCircuitJoinBytes> out{};
  auto* p = std::copy(kCircuitJoinMagic.begin(), kCircuitJoinMagic.end(), out.begin());
  *p++ = kCircuitJoinVersion;
  std::copy(token.begin(), token.end(), p);
  return out;
}

std::optional<RelayToken> decode_circuit_join(std::span<const std::uint8_t> bytes) {
  if (bytes.size() != kCircuitJoinBytes) return std::nullopt;
  if (!std::equal(kCircuitJoinMagic.begin(), kCircuitJoinMagic.end(), bytes.begin())) return std::nullopt;
  if (bytes[kCircuitJoinMagic.size()] != kCircuitJoinVersion) return std::nullopt;
  RelayToken token;
  std::copy(bytes.begin() + kCircuitJoinMagic.size() + 1, bytes.end(), token.begin());
  // An all-zero token is never issued (it is what an unset one looks like).
  if (token == RelayToken{}) return std::nullopt;
  return token;
}

}  // namespace datafold::net::detail
