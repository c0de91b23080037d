#include "datafold/net/node_id.hpp"

#include <openssl/evp.h>

#include <algorithm>

#include "core/encoding.hpp"

namespace datafold::net {

NodeId NodeId::from_public_key(std::span<const std::uint8_t> raw_public_key) {
  std::array<std::uint8_t, kSize> digest{};
  unsigned int length = 0;
  // SHA-256 cannot fail on valid input short of an allocation failure inside
  // OpenSSL; the empty id is then the safe answer, because nothing matches it.
  if (EVP_Digest(raw_public_key.data(), raw_public_key.size(), digest.data(), &length,
                 EVP_sha256(), nullptr) != 1 ||
      length != kSize) {
    return NodeId{};
  }
  return NodeId{digest};
}

std::optional<NodeId> NodeId::from_bytes(std::span<const std::uint8_t> bytes) {
  if (bytes.size() != kSize) return std::nullopt;
  std::array<std::uint8_t, kSize> out{};
  std::copy(bytes.begin(), bytes.end(), out.begin());
  return NodeId{out};
}

std::optional<NodeId> NodeId::from_string(std::string_view text) {
  if (text.size() != kTextSize) return std::nullopt;
  auto bytes = detail::base32_decode(text);
  if (!bytes) return std::nullopt;
  return from_bytes(*bytes);
}

std::string NodeId::to_string() const { return detail::base32_encode(bytes_); }

bool NodeId::matches_prefix(std::string_view prefix) const {
  if (prefix.size() > kTextSize) return false;
  const std::string text = to_string();
  return std::equal(prefix.begin(), prefix.end(), text.begin(), [](char p, char t) {
    // The text form is lower-case, so folding the prefix is enough.
    return (p >= 'A' && p <= 'Z' ? static_cast<char>(p - 'A' + 'a') : p) == t;
  });
}

bool NodeId::empty() const noexcept {
  return std::all_of(bytes_.begin(), bytes_.end(), [](std::uint8_t b) { return b == 0; });
}

}  // namespace datafold::net
