#include "services/replay_cache.hpp"

namespace datafold::net::detail {

ReplayCache::ReplayCache(std::chrono::milliseconds retention, std::size_t capacity)
    : retention_ms_(retention.count()), capacity_(capacity == 0 ? 1 : capacity) {}

void ReplayCache::forget_oldest() {
  ids_.erase(by_age_.front().second);
  by_age_.pop_front();
}

bool ReplayCache::remember(const Uuid& id, std::int64_t now_ms) {
  std::lock_guard lock(mutex_);
  while (!by_age_.empty() && by_age_.front().first <= now_ms) forget_oldest();
  if (ids_.contains(id)) return false;
  if (ids_.size() >= capacity_) forget_oldest();
  ids_.insert(id);
  by_age_.emplace_back(now_ms + retention_ms_, id);
  return true;
}

std::size_t ReplayCache::size() const {
  std::lock_guard lock(mutex_);
  return ids_.size();
}

}  // namespace datafold::net::detail
