// TokenBucket: a request-rate limit that allows bursts. Holds up to `burst`
// tokens, refilled at `rate_per_second`; each admitted request takes one.
// Not thread-safe: the owner serializes access. Time is passed in, so tests
// drive it with a fake clock.
#pragma once

#include <algorithm>
#include <chrono>

namespace datafold::net::detail {

class TokenBucket {
 public:
  using Clock = std::chrono::steady_clock;

  TokenBucket(double rate_per_second, double burst, Clock::time_point now)
      : rate_per_second_(rate_per_second), burst_(burst), tokens_(burst), updated_(now) {}

  // Takes a token if one is there; false means "over the rate, refuse".
  bool try_take(Clock::time_point now) {
    refill(now);
    if (tokens_ < 1.0) return false;
    tokens_ -= 1.0;
    return true;
  }

  // Takes a token even when none is there, going into debt (at most `burst`
  // tokens of it): returns how long until the debt is paid, zero when a token
  // was there. The request is served; its sender waits that long before the
  // next is read (backpressure, not an Error per excess request).
  Clock::duration take_owing(Clock::time_point now) {
    refill(now);
    tokens_ = std::max(tokens_ - 1.0, -burst_);
    if (tokens_ >= 0.0 || rate_per_second_ <= 0.0) return Clock::duration::zero();
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(-tokens_ / rate_per_second_));
  }

  // True when the bucket is full again: it remembers nothing worth keeping.
  bool full(Clock::time_point now) const { return tokens_at(now) >= burst_; }

 private:
  double tokens_at(Clock::time_point now) const {
    if (now <= updated_) return tokens_;
    const std::chrono::duration<double> elapsed = now - updated_;
    return std::min(burst_, tokens_ + elapsed.count() * rate_per_second_);
  }
  void refill(Clock::time_point now) {
    tokens_ = tokens_at(now);
    updated_ = std::max(updated_, now);
  }

  double rate_per_second_;
  double burst_;
  double tokens_;
  Clock::time_point updated_;
};

}  // namespace datafold::net::detail
