// The first bytes of a circuit join (PROTOCOL.md section 14.3): what each end of a
// relayed circuit sends on its new TCP connection to the relay, in place of a TLS
// ClientHello. The relay's listener tells the two apart by the first byte (a TLS
// record starts 0x16; a join starts 'D').
//
//   "DFRC" | version (1 byte, 1) | token (32 bytes)
//
// After it the connection carries only the circuit's bytes: the two ends' own TLS.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "datafold/net/message.hpp"

namespace datafold::net::detail {

inline constexpr std::array<std::uint8_t, 4> kCircuitJoinMagic{'D', 'F', 'R', 'C'};
inline constexpr std::uint8_t kCircuitJoinVersion = 1;
inline constexpr std::size_t kCircuitJoinBytes = kCircuitJoinMagic.size() + 1 + kRelayTokenSize;

std::array<std::uint8_t, kCircuitJoinBytes> encode_circuit_join(const RelayToken& token);

// The token, or nullopt when `bytes` (exactly kCircuitJoinBytes) is not a join.
std::optional<RelayToken> decode_circuit_join(std::span<const std::uint8_t> bytes);

// True when a connection's first byte says it is a circuit join rather than TLS.
inline bool starts_circuit_join(std::uint8_t first_byte) { return first_byte == kCircuitJoinMagic[0]; }

}  // namespace datafold::net::detail
