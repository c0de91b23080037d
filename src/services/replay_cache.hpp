// The cache that refuses replayed query ids (DESIGN.md section 9, PROTOCOL.md 7.2).
// Private to the library; QueryService is the user.
#pragma once

#include <atomic>
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
  // Starts loading the table slot remember(id) will look at, for a caller that
  // remembers `id` shortly: a full cache's table is a megabyte, so that lookup is a
  // cache miss, which whatever the caller does in between then hides. Takes no lock.
  void prefetch(const Uuid& id) const noexcept;

 private:
  void forget_oldest();
  // `id`'s fingerprint. prefetch() and remember() of one id mostly run one after the
  // other on one thread, which then hashes it once (a memo per thread).
  std::uint64_t fingerprint_of(const Uuid& id) const noexcept;

  const std::int64_t retention_ms_;
  const std::size_t capacity_;
  const SipKey key_;
  mutable std::mutex mutex_;
  std::deque<std::pair<std::int64_t, std::uint64_t>> by_age_;  // (forget at, fingerprint), oldest first
  FingerprintSet fingerprints_;
  // The table as prefetch() reads it without the lock: set whenever the table grows.
  // A stale pair of these only loads a useless line, as a prefetch never faults. On a
  // line of their own: the members above change at every call, and a reader on
  // another core would wait for the line each time.
  alignas(64) std::atomic<const std::uint64_t*> table_{nullptr};
  std::atomic<std::size_t> table_mask_{0};
};

}  // namespace datafold::net::detail
