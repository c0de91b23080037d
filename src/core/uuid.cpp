#include "datafold/net/uuid.hpp"

#include <openssl/err.h>
#include <openssl/rand.h>

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <random>

#include "core/encoding.hpp"

namespace datafold::net {
namespace {

// Message ids must be unique, not secret, and one is made per message: so each
// thread draws them from a fast generator (xoshiro256**) seeded from the OpenSSL
// CSPRNG, rather than asking OpenSSL for every id (which costs system calls).
// A forked child reseeds, so parent and child never repeat each other's ids.
std::atomic<std::uint64_t> g_fork_generation{0};

void seed(std::array<std::uint64_t, 4>& state) noexcept {
  if (RAND_bytes(reinterpret_cast<unsigned char*>(state.data()), sizeof(state)) != 1) {
    ERR_clear_error();
    try {
      std::random_device device;
      for (auto& word : state) word = (std::uint64_t{device()} << 32) ^ device();
    } catch (...) {
      state = {0x9e3779b97f4a7c15ULL, 0xbf58476d1ce4e5b9ULL, 0x94d049bb133111ebULL,
               reinterpret_cast<std::uintptr_t>(&state)};
    }
  }
  if ((state[0] | state[1] | state[2] | state[3]) == 0) state[0] = 1;  // the one state xoshiro cannot leave
}

std::uint64_t rotl(std::uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }

std::uint64_t next(std::array<std::uint64_t, 4>& s) noexcept {
  const std::uint64_t result = rotl(s[1] * 5, 7) * 9;
  const std::uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

void fill_random(std::array<std::uint8_t, Uuid::kSize>& bytes) noexcept {
  static const bool registered = [] {
    pthread_atfork(nullptr, nullptr, [] { g_fork_generation.fetch_add(1); });
    return true;
  }();
  (void)registered;
  thread_local std::array<std::uint64_t, 4> state{};
  thread_local std::uint64_t seeded_generation = ~std::uint64_t{0};
  const auto generation = g_fork_generation.load(std::memory_order_relaxed);
  if (seeded_generation != generation) {
    seed(state);
    seeded_generation = generation;
  }
  const std::uint64_t a = next(state), b = next(state);
  std::memcpy(bytes.data(), &a, 8);
  std::memcpy(bytes.data() + 8, &b, 8);
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
