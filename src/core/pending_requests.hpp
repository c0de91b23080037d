// PendingRequests: the requests one connection is waiting on, matched by id,
// each with a deadline. A plain class fed a clock, so tests drive it without sockets.
// Not thread-safe: a connection uses it only from its strand.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <queue>
#include <utility>
#include <vector>

#include "core/uuid_table.hpp"
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
  // As add(), for a request answered in parts (a streamed query): `done` runs for
  // each part and then once more with the final reply or an error, and the
  // deadline restarts at every part, `idle` after it.
  bool add_streamed(const Uuid& id, Clock::time_point now, Clock::duration idle, Completion& done);

  // Hands `part`, a non-final part of `id`'s answer, to its completion and restarts
  // its deadline. False when no request asked in parts waits for `id`.
  bool deliver_part(const Uuid& id, Message part, Clock::time_point now);
  // Restarts the deadline of `id`, answered in parts: the asker just made room for
  // another part (it sent credit), so the wait for it starts now. The new deadline;
  // none if no request asked in parts waits for `id`.
  std::optional<Clock::time_point> restart_deadline(const Uuid& id, Clock::time_point now);

  // Completes `id` with `outcome`. False when nothing waits for it: a late or
  // unsolicited reply, which the caller drops.
  bool complete(const Uuid& id, NetworkResult<Message>&& outcome);

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
    Clock::duration idle{};  // > 0: answered in parts, each restarting the deadline
  };
  using Deadline = std::pair<Clock::time_point, Uuid>;

  // add(): the new entry, or null if `id` is already pending.
  Entry* insert(const Uuid& id, Clock::time_point now, Clock::time_point deadline, Completion& done);
  void drop_stale_deadlines();
  // Rebuilds the heap when stale entries outnumber live ones.
  void compact_deadlines();

  UuidTable<Entry> entries_;
  // Min-heap of deadlines. Completed requests leave stale entries behind, removed
  // lazily; the heap is rebuilt when stale entries outnumber live ones.
  std::priority_queue<Deadline, std::vector<Deadline>, std::greater<>> deadlines_;
};

}  // namespace datafold::net::detail
