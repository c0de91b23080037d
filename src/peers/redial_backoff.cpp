#include "peers/redial_backoff.hpp"

#include <algorithm>

namespace datafold::net::detail {

std::chrono::milliseconds RedialBackoff::record_failure(const RedialPolicy& policy, Clock::time_point now,
                                                        std::mt19937_64& random) {
  ++failures_;
  // initial × 2^(failures-1), computed without overflow: stop doubling at the ceiling.
  auto delay = policy.initial;
  for (std::uint32_t i = 1; i < failures_ && delay < policy.ceiling; ++i) delay *= 2;
  delay = std::min(delay, policy.ceiling);
  std::uniform_real_distribution<double> jitter(0.5, 1.5);
  const auto jittered = std::chrono::milliseconds(
      static_cast<std::chrono::milliseconds::rep>(static_cast<double>(delay.count()) * jitter(random)));
  next_attempt_ = now + jittered;
  return jittered;
}

}  // namespace datafold::net::detail
