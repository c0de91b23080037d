// Uuid: the 16-byte UUIDv4 that identifies every message on the wire.
#pragma once

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>

namespace datafold::net {

class Uuid {
 public:
  static constexpr std::size_t kSize = 16;

  Uuid() = default;  // the nil UUID
  explicit Uuid(const std::array<std::uint8_t, kSize>& bytes) : bytes_(bytes) {}

  // A random version-4 UUID.
  static Uuid random();
  static std::optional<Uuid> from_bytes(std::span<const std::uint8_t> bytes);

  bool is_nil() const noexcept;
  std::string to_string() const;  // 8-4-4-4-12 hex
  const std::array<std::uint8_t, kSize>& bytes() const noexcept { return bytes_; }

  friend auto operator<=>(const Uuid&, const Uuid&) = default;
  friend bool operator==(const Uuid&, const Uuid&) = default;

 private:
  std::array<std::uint8_t, kSize> bytes_{};
};

}  // namespace datafold::net

template <>
struct std::hash<datafold::net::Uuid> {
  std::size_t operator()(const datafold::net::Uuid& id) const noexcept {
    std::size_t h = 0;
    for (std::size_t i = 0; i < sizeof(h); ++i) h = (h << 8) ^ id.bytes()[i];
    return h;
  }
};
