// The cache that refuses replayed query ids (DESIGN.md section 9, PROTOCOL.md 7.2).
// Private to the library; QueryService is the user.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <utility>

#include "core/fingerprint_set.hpp"
#include "core/siphash.hpp"
#include "datafold/net/uuid.hpp"

namespace datafold::net::detail {

// Query ids seen recently, so a query cannot be answered twice. Memory is
// bounded whatever peers send: ids are forgotten `retention` after they were
// seen, and past `capacity` the oldest is forgotten first.
//
// Every query passes here, so an id is kept as its 64-bit SipHash under a key
// drawn per cache, in a flat table (FingerprintSet) that stays in the CPU's cache.
// Peers choose ids but, without the key, can neither make lookups slow nor make
// two ids collide. By chance (63 bits vary: the top one marks a used slot), a new
// id matches one of a full cache's fingerprints with odds of 2^-47 (65,536 / 2^63);
// that query alone is refused, and counted against its peer as a refused proof.
// Thread-safe.
class ReplayCache {
 public:
  ReplayCache(std::chrono::milliseconds retention, std::size_t capacity);

  // Remembers `id` and returns true; false if it was already remembered.
  // `now_ms` is the caller's clock (Unix ms); it only decides expiry.
  bool remember(const Uuid& id, std::int64_t now_ms);
  std::size_t size() const;

 private:
  void forget_oldest();

  const std::int64_t retention_ms_;
  const std::size_t capacity_;
  const SipKey key_;
  mutable std::mutex mutex_;
  std::deque<std::pair<std::int64_t, std::uint64_t>> by_age_;  // (forget at, fingerprint), oldest first
  FingerprintSet fingerprints_;
};

}  // namespace datafold::net::detail
