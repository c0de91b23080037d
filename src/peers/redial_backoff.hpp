// RedialBackoff: when to try a peer again after failed dials. Exponential
// (initial, 2×, 4×, … up to a ceiling) with ±50 % jitter, so the nodes of a
// network that lost a peer together do not all knock on its door at once when
// it comes back. One per peer; not thread-safe (the owner locks).
#pragma once

#include <chrono>
#include <cstdint>
#include <random>

namespace datafold::net::detail {

struct RedialPolicy {
  std::chrono::milliseconds initial{1'000};
  std::chrono::milliseconds ceiling{300'000};
};

class RedialBackoff {
 public:
  using Clock = std::chrono::steady_clock;

  // Records a failed dial at `now`; returns how long to wait before the next one.
  std::chrono::milliseconds record_failure(const RedialPolicy& policy, Clock::time_point now, std::mt19937_64& random);
  // A dial succeeded, or the peer showed signs of life: the next dial may go at once.
  void reset() noexcept {
    failures_ = 0;
    next_attempt_ = {};
  }

  std::uint32_t failures() const noexcept { return failures_; }
  // True while a dial now would be too soon.
  bool waiting(Clock::time_point now) const noexcept { return failures_ > 0 && now < next_attempt_; }
  Clock::time_point next_attempt() const noexcept { return next_attempt_; }

 private:
  std::uint32_t failures_ = 0;
  Clock::time_point next_attempt_{};
};

}  // namespace datafold::net::detail
