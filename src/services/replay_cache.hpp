// The cache that refuses replayed query ids (DESIGN.md section 9, PROTOCOL.md 7.2).
// Private to the library; QueryService is the user.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <utility>

#include "core/uuid_set.hpp"
#include "datafold/net/uuid.hpp"

namespace datafold::net::detail {

// Query ids seen recently, so a query cannot be answered twice. Memory is
// bounded whatever peers send: ids are forgotten `retention` after they were
// seen, and past `capacity` the oldest is forgotten first. Every query passes
// here, so a lookup is a keyed hash and a probe (UuidSet): ids are chosen by
// peers, who cannot make lookups slow without the key. Thread-safe.
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
  mutable std::mutex mutex_;
  std::deque<std::pair<std::int64_t, Uuid>> by_age_;  // (forget at, id), oldest first
  UuidSet ids_;
};

}  // namespace datafold::net::detail
