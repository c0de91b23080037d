// SipHash-2-4 (Aumasson and Bernstein, 2012): a keyed hash for tables whose keys
// a peer chooses. Without the key nobody can pick keys that collide, so a hash
// table stays constant-time under attack; the key is drawn at random per table.
#pragma once

#include <array>
#include <cstdint>
#include <span>

namespace datafold::net::detail {

using SipKey = std::array<std::uint64_t, 2>;

std::uint64_t siphash24(const SipKey& key, std::span<const std::uint8_t> data) noexcept;

// A key from the OpenSSL CSPRNG.
SipKey random_sip_key();

}  // namespace datafold::net::detail
