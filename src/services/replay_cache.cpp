#include "services/replay_cache.hpp"

#include <optional>

namespace datafold::net::detail {

ReplayCache::ReplayCache(std::chrono::milliseconds retention, std::size_t capacity)
    : retention_ms_(retention.count()), capacity_(capacity == 0 ? 1 : capacity), key_(random_sip_key()) {}

std::uint64_t ReplayCache::fingerprint_of(const Uuid& id) const noexcept {
  // Kept with the key it was made under: another cache has another key.
  struct Memo {
    std::optional<SipKey> key;
    Uuid id;
    std::uint64_t fingerprint = 0;
  };
  thread_local Memo last;
  if (last.key != key_ || last.id != id)
    last = Memo{key_, id, FingerprintSet::fingerprint(siphash24(key_, id.bytes()))};
  return last.fingerprint;
}

void ReplayCache::prefetch(const Uuid& id) const noexcept {
  const std::uint64_t* table = table_.load(std::memory_order_relaxed);
  if (table == nullptr) return;
  __builtin_prefetch(table + (fingerprint_of(id) & table_mask_.load(std::memory_order_relaxed)));
}

void ReplayCache::forget_oldest() {
  fingerprints_.erase(by_age_.front().second);
  by_age_.pop_front();
}

bool ReplayCache::remember(const Uuid& id, std::int64_t now_ms) {
  const std::uint64_t fingerprint = fingerprint_of(id);
  std::lock_guard lock(mutex_);
  // The id's slot, unless prefetch() started loading it already.
  fingerprints_.prefetch(fingerprint);
  while (!by_age_.empty() && by_age_.front().first <= now_ms) forget_oldest();
  if (fingerprints_.contains(fingerprint)) return false;
  if (fingerprints_.size() >= capacity_) forget_oldest();
  fingerprints_.insert(fingerprint);
  by_age_.emplace_back(now_ms + retention_ms_, fingerprint);
  if (fingerprints_.slots() != table_.load(std::memory_order_relaxed)) {
    table_mask_.store(fingerprints_.slot_count() - 1, std::memory_order_relaxed);
    table_.store(fingerprints_.slots(), std::memory_order_relaxed);
  }
  // The id the next call forgets, in a full cache: its slot is loaded well before then.
  fingerprints_.prefetch(by_age_.front().second);
  return true;
}

std::size_t ReplayCache::size() const {
  std::lock_guard lock(mutex_);
  return fingerprints_.size();
}

}  // namespace datafold::net::detail
