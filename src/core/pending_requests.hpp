// PendingRequests: the requests one connection is waiting on, matched by id,
// each with a deadline. A plain class fed a clock, so tests drive it without sockets.
// Not thread-safe: a connection uses it only from its strand.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <queue>
#include <unordered_map>
#include <utility>
#include <vector>

#include "datafold/net/error.hpp"
#include "datafold/net/message.hpp"
#include "datafold/net/uuid.hpp"

namespace datafold::net::detail {

class PendingRequests {
 public:
  using Clock = std::chrono::steady_clock;
  using Completion = std::function<void(NetworkResult<Message>)>;

  // False (and `done` untouched) if `id` is already pending.
  bool add(const Uuid& id, Clock::time_point now, Clock::time_point deadline, Completion& done);

  // Completes `id` with `outcome`. False when nothing waits for it: a late or
  // unsolicited reply, which the caller drops.
  bool complete(const Uuid& id, NetworkResult<Message> outcome);

  // Completes every request whose deadline is at or before `now` with a Timeout
  // error; returns how many.
  std::size_t expire(Clock::time_point now);

  // Completes every pending request with `error` (the connection died or closed).
  void fail_all(const NetworkError& error);

  std::optional<Clock::time_point> next_deadline();
  std::size_t size() const noexcept { return entries_.size(); }
  bool empty() const noexcept { return entries_.empty(); }

 private:
  struct Entry {
    Clock::time_point started;
    Clock::time_point deadline;
    Completion done;
  };
  using Deadline = std::pair<Clock::time_point, Uuid>;

  void drop_stale_deadlines();

  std::unordered_map<Uuid, Entry> entries_;
  // Min-heap of deadlines. Completed requests leave stale entries behind, removed
  // lazily; the heap is rebuilt when stale entries outnumber live ones.
  std::priority_queue<Deadline, std::vector<Deadline>, std::greater<>> deadlines_;
};

}  // namespace datafold::net::detail
