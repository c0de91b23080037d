#include "datafold/net/uuid.hpp"

#include <openssl/err.h>
#include <openssl/rand.h>

#include <algorithm>
#include <random>

#include "encoding.hpp"

namespace datafold::net {
namespace {

// Message ids must be unique, not secret. If the OpenSSL CSPRNG is ever
// unavailable, the OS generator behind std::random_device is good enough.
void fill_random(std::array<std::uint8_t, Uuid::kSize>& bytes) noexcept {
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) == 1) return;
  ERR_clear_error();
  try {
    std::random_device device;
    for (auto& b : bytes) b = static_cast<std::uint8_t>(device());
  } catch (...) {
    // Leave what RAND_bytes wrote; still a valid v4 layout below.
  }
}

}  // namespace

Uuid Uuid::random() {
  std::array<std::uint8_t, kSize> bytes{};
  fill_random(bytes);
  bytes[6] = static_cast<std::uint8_t>((bytes[6] & 0x0f) | 0x40);  // version 4
  bytes[8] = static_cast<std::uint8_t>((bytes[8] & 0x3f) | 0x80);  // RFC 4122 variant
  return Uuid{bytes};
}

std::optional<Uuid> Uuid::from_bytes(std::span<const std::uint8_t> bytes) {
  if (bytes.size() != kSize) return std::nullopt;
  std::array<std::uint8_t, kSize> out{};
  std::copy(bytes.begin(), bytes.end(), out.begin());
  return Uuid{out};
}

bool Uuid::is_nil() const noexcept {
  return std::all_of(bytes_.begin(), bytes_.end(), [](std::uint8_t b) { return b == 0; });
}

std::string Uuid::to_string() const {
  const std::span<const std::uint8_t> b(bytes_);
  return detail::hex_encode(b.subspan(0, 4)) + '-' + detail::hex_encode(b.subspan(4, 2)) + '-' +
         detail::hex_encode(b.subspan(6, 2)) + '-' + detail::hex_encode(b.subspan(8, 2)) + '-' +
         detail::hex_encode(b.subspan(10, 6));
}

}  // namespace datafold::net
