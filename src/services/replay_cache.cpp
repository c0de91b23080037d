#include "services/replay_cache.hpp"

namespace datafold::net::detail {

ReplayCache::ReplayCache(std::chrono::milliseconds retention, std::size_t capacity)
    : retention_ms_(retention.count()), capacity_(capacity == 0 ? 1 : capacity), key_(random_sip_key()) {}

void ReplayCache::forget_oldest() {
  fingerprints_.erase(by_age_.front().second);
  by_age_.pop_front();
}

bool ReplayCache::remember(const Uuid& id, std::int64_t now_ms) {
  const std::uint64_t fingerprint = FingerprintSet::fingerprint(siphash24(key_, id.bytes()));
  std::lock_guard lock(mutex_);
  // The id's slot and the oldest id's (forgotten below when it has expired or the
  // cache is full): far apart in the table, loaded at once they cost one wait, not two.
  fingerprints_.prefetch(fingerprint);
  if (!by_age_.empty()) fingerprints_.prefetch(by_age_.front().second);
  while (!by_age_.empty() && by_age_.front().first <= now_ms) forget_oldest();
  if (fingerprints_.contains(fingerprint)) return false;
  if (fingerprints_.size() >= capacity_) forget_oldest();
  fingerprints_.insert(fingerprint);
  by_age_.emplace_back(now_ms + retention_ms_, fingerprint);
  return true;
}

std::size_t ReplayCache::size() const {
  std::lock_guard lock(mutex_);
  return fingerprints_.size();
}

}  // namespace datafold::net::detail
