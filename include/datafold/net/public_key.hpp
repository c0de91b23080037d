// PublicKey: a raw 32-byte Ed25519 public key.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "datafold/net/node_id.hpp"

namespace datafold::net {

class PublicKey {
 public:
  static constexpr std::size_t kSize = 32;

  PublicKey() = default;
  explicit PublicKey(const std::array<std::uint8_t, kSize>& bytes) : bytes_(bytes) {}

  static std::optional<PublicKey> from_bytes(std::span<const std::uint8_t> bytes);
  // Text form: standard base64 of the 32 raw bytes (44 characters, padded), as the CLI prints keys.
  static std::optional<PublicKey> from_string(std::string_view text);
  std::string to_string() const;

  NodeId node_id() const { return NodeId::from_public_key(bytes_); }
  // Ed25519 verification of `signature` over `message`.
  bool verify(std::span<const std::uint8_t> message, std::span<const std::uint8_t> signature) const;

  bool empty() const noexcept;
  const std::array<std::uint8_t, kSize>& bytes() const noexcept { return bytes_; }

  friend auto operator<=>(const PublicKey&, const PublicKey&) = default;
  friend bool operator==(const PublicKey&, const PublicKey&) = default;

 private:
  std::array<std::uint8_t, kSize> bytes_{};
};

}  // namespace datafold::net
