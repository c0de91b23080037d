// MemoryBudget: the bytes peers can make one node hold (write queues, read
// buffers, requests being answered), counted against one total, with a share per
// peer connection. Socket-free and thread-safe (atomics): every connection of a
// node charges the same budget from its own strand, and stats read it from any
// thread.
//
// The share decides when a connection is slowed (it stops reading from its peer,
// so TCP pushes back at no cost to the node); the total decides when one holding
// more than its share is closed. BudgetAccount is one connection's view of it;
// BudgetHold counts what a reader keeps of a connection's replies.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>

namespace datafold::net::detail {

class MemoryBudget {
 public:
  // A share never below this: a peer must be able to hold a few replies in its
  // write queue and a read chunk before being slowed, however many connections
  // the node allows.
  static constexpr std::size_t kMinPeerShareBytes = 1u << 20;

  // `total_bytes` >= 1; the share is peer_share_for(total_bytes, max_connections).
  MemoryBudget(std::size_t total_bytes, std::size_t max_connections);

  // max(total / max_connections, 1 MiB), at most total: with every connection
  // at its share the node is at its budget (or, with many connections and a
  // small budget, the floor keeps one reply's worth per peer, and the total
  // closes the peers that hold the most).
  static std::size_t peer_share_for(std::size_t total_bytes, std::size_t max_connections);

  // Charges `bytes` if the total allows it; false (nothing charged) if it does not.
  bool try_charge(std::size_t bytes) noexcept;
  // Charges `bytes` even past the total: for bytes already held (a reply computed
  // for a peer whose replies are flowing), so the count stays true.
  void charge(std::size_t bytes) noexcept;
  void release(std::size_t bytes) noexcept;

  std::size_t total() const noexcept { return total_; }
  std::size_t peer_share() const noexcept { return peer_share_; }
  std::size_t in_use() const noexcept { return in_use_.load(std::memory_order_relaxed); }
  std::size_t peak() const noexcept { return peak_.load(std::memory_order_relaxed); }
  // The node holds all it may: readers pause, and connections over their share close.
  bool spent() const noexcept { return in_use() >= total_; }

 private:
  void note_peak(std::size_t now_in_use) noexcept;

  const std::size_t total_;
  const std::size_t peer_share_;
  std::atomic<std::size_t> in_use_{0};
  std::atomic<std::size_t> peak_{0};
};

// One connection's charges against a MemoryBudget. Not thread-safe: used on the
// connection's strand only. A null budget counts but never refuses. Releases all
// it holds when destroyed.
class BudgetAccount {
 public:
  explicit BudgetAccount(MemoryBudget* budget) noexcept : budget_(budget) {}
  ~BudgetAccount() { release_all(); }
  BudgetAccount(const BudgetAccount&) = delete;
  BudgetAccount& operator=(const BudgetAccount&) = delete;

  bool try_charge(std::size_t bytes) noexcept;
  void charge(std::size_t bytes) noexcept;
  void release(std::size_t bytes) noexcept;
  void release_all() noexcept;

  std::size_t held() const noexcept { return held_; }
  // Holds at least its share: its reader pauses until the write queue drains.
  bool over_share() const noexcept { return budget_ && held_ >= budget_->peer_share(); }
  bool budget_spent() const noexcept { return budget_ && budget_->spent(); }

 private:
  MemoryBudget* budget_;
  std::size_t held_ = 0;
};

// Bytes kept off any connection's strand once they have arrived: an answer's parts
// waiting for their reader, or an answer being joined. Charged to the node's budget
// while held, so a reader that keeps what it is sent slows the node's readers as a
// peer's backlog would. Thread-safe. A null budget counts but never refuses.
// Releases all it holds when destroyed.
class BudgetHold {
 public:
  explicit BudgetHold(std::shared_ptr<MemoryBudget> budget) noexcept : budget_(std::move(budget)) {}
  // No lock: nothing else can use a hold being destroyed (and most end holding nothing).
  ~BudgetHold() {
    if (held_ != 0 && budget_) budget_->release(held_);
  }
  BudgetHold(const BudgetHold&) = delete;
  BudgetHold& operator=(const BudgetHold&) = delete;

  // Charges `bytes` if the node's total allows it; false (nothing charged) if not.
  bool try_charge(std::size_t bytes) noexcept;
  // Charges `bytes` even past the total: they are held already.
  void charge(std::size_t bytes) noexcept;
  void release(std::size_t bytes) noexcept;
  void release_all() noexcept;
  std::size_t held() const noexcept;

 private:
  const std::shared_ptr<MemoryBudget> budget_;
  mutable std::mutex mutex_;
  std::size_t held_ = 0;
};

}  // namespace datafold::net::detail
