// DialPlan: the schedule of one Happy Eyeballs dial (RFC 8305 section 5) over a
// node's addresses, without sockets. The node starts the attempts it is told to,
// reports how each ended, and wakes the plan at next_wakeup(); the plan says which
// attempt wins and, if none does, which error to report.
//
//  - Attempt 0 starts at once. Attempt i+1 starts `stagger` after attempt i
//    started, or as soon as attempt i fails if that is sooner.
//  - The first attempt to succeed (TCP, TLS, Hello, and the key of the node
//    expected) wins; every other attempt is to be cancelled.
//  - Every attempt failed, or the budget (connect + handshake timeout) ran out:
//    the dial fails with the most informative error seen (see error()).
//
// Not thread-safe: one dial, one serial executor.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <vector>

#include "datafold/net/error.hpp"

namespace datafold::net::detail {

class DialPlan {
 public:
  using Clock = std::chrono::steady_clock;
  using TimePoint = Clock::time_point;

  // `attempts` addresses, tried in index order from `start`; the whole dial ends
  // at start + budget whatever is still running.
  DialPlan(std::size_t attempts, std::chrono::milliseconds stagger, TimePoint start, std::chrono::milliseconds budget);

  // The attempts to start now, in order. Each index is returned once; none once
  // the dial is finished.
  std::vector<std::size_t> due(TimePoint now);
  // Attempt `attempt` ended without a connection.
  void on_failed(std::size_t attempt, NetworkError error, TimePoint now);
  // Attempt `attempt` has an authenticated connection at `now`. True: it wins, use
  // it. False: the dial was already decided (won, or out of time); close it.
  bool on_succeeded(std::size_t attempt, TimePoint now);

  // Won, every attempt failed, or the budget ran out at `now`.
  bool finished(TimePoint now) const;
  std::optional<std::size_t> winner() const noexcept { return winner_; }
  // When due() or finished() may next change on their own (a stagger ends, the budget
  // runs out); nullopt once finished.
  std::optional<TimePoint> next_wakeup(TimePoint now) const;
  // Attempts started and neither failed nor the winner: the ones to cancel.
  std::vector<std::size_t> running() const;
  // For a dial without a winner: the most informative error of an attempt
  // (Authentication, then any other kind such as Protocol or ResourceExhausted,
  // then Connection, then Timeout; the earlier attempt among equals), or a Timeout
  // if the budget ran out first.
  NetworkError error() const;

  std::size_t size() const noexcept { return attempts_.size(); }
  TimePoint deadline() const noexcept { return deadline_; }

 private:
  enum class State { Waiting, Running, Failed, Won };
  struct Attempt {
    State state = State::Waiting;
    TimePoint started{};
    TimePoint ended{};  // Failed: when
    std::optional<NetworkError> error;
  };
  // When attempt `i` (Waiting) may start, given the one before it.
  std::optional<TimePoint> start_time(std::size_t i) const;

  std::vector<Attempt> attempts_;
  std::chrono::milliseconds stagger_;
  TimePoint start_;
  TimePoint deadline_;
  std::chrono::milliseconds budget_;
  std::size_t next_ = 0;  // the first attempt not yet started
  std::optional<std::size_t> winner_;
};

// How informative an error is for a failed dial: higher wins.
int dial_error_rank(const NetworkError& error) noexcept;

}  // namespace datafold::net::detail
