#include "transport/memory_budget.hpp"

#include <algorithm>

namespace datafold::net::detail {

MemoryBudget::MemoryBudget(std::size_t total_bytes, std::size_t max_connections)
    : total_(std::max<std::size_t>(total_bytes, 1)), peer_share_(peer_share_for(total_, max_connections)) {}

std::size_t MemoryBudget::peer_share_for(std::size_t total_bytes, std::size_t max_connections) {
  const std::size_t even = total_bytes / std::max<std::size_t>(max_connections, 1);
  return std::min(std::max(even, kMinPeerShareBytes), std::max<std::size_t>(total_bytes, 1));
}

bool MemoryBudget::try_charge(std::size_t bytes) noexcept {
  std::size_t current = in_use_.load(std::memory_order_relaxed);
  do {
    if (bytes > total_ || current > total_ - bytes) return false;
  } while (!in_use_.compare_exchange_weak(current, current + bytes, std::memory_order_relaxed));
  note_peak(current + bytes);
  return true;
}

void MemoryBudget::charge(std::size_t bytes) noexcept {
  note_peak(in_use_.fetch_add(bytes, std::memory_order_relaxed) + bytes);
}

void MemoryBudget::release(std::size_t bytes) noexcept { in_use_.fetch_sub(bytes, std::memory_order_relaxed); }

void MemoryBudget::note_peak(std::size_t now_in_use) noexcept {
  std::size_t peak = peak_.load(std::memory_order_relaxed);
  while (now_in_use > peak && !peak_.compare_exchange_weak(peak, now_in_use, std::memory_order_relaxed)) {
  }
}

bool BudgetAccount::try_charge(std::size_t bytes) noexcept {
  if (budget_ && !budget_->try_charge(bytes)) return false;
  held_ += bytes;
  return true;
}

void BudgetAccount::charge(std::size_t bytes) noexcept {
  if (budget_) budget_->charge(bytes);
  held_ += bytes;
}

void BudgetAccount::release(std::size_t bytes) noexcept {
  bytes = std::min(bytes, held_);
  if (budget_) budget_->release(bytes);
  held_ -= bytes;
}

void BudgetAccount::release_all() noexcept { release(held_); }

bool BudgetHold::try_charge(std::size_t bytes) noexcept {
  std::lock_guard lock(mutex_);
  if (budget_ && !budget_->try_charge(bytes)) return false;
  held_ += bytes;
  return true;
}

void BudgetHold::charge(std::size_t bytes) noexcept {
  std::lock_guard lock(mutex_);
  if (budget_) budget_->charge(bytes);
  held_ += bytes;
}

void BudgetHold::release(std::size_t bytes) noexcept {
  std::lock_guard lock(mutex_);
  bytes = std::min(bytes, held_);
  if (budget_) budget_->release(bytes);
  held_ -= bytes;
}

void BudgetHold::release_all() noexcept {
  std::lock_guard lock(mutex_);
  if (budget_) budget_->release(held_);
  held_ = 0;
}

std::size_t BudgetHold::held() const noexcept {
  std::lock_guard lock(mutex_);
  return held_;
}

}  // namespace datafold::net::detail
