// When each host of the chaos test was down (killed or stopped) or cut off, so a
// query's outcome can be judged against what was happening while it ran.
#pragma once

#include <chrono>
#include <mutex>
#include <optional>
#include <vector>

namespace datafold::net::testing {

class FaultLog {
 public:
  using Clock = std::chrono::steady_clock;

  explicit FaultLog(int hosts) : spans_(static_cast<std::size_t>(hosts)) {}

  // Called just before the fault is made, so anything it breaks falls inside the span.
  void fault_began(int host) {
    std::lock_guard lock(mutex_);
    spans_[host].push_back({Clock::now(), std::nullopt});
  }
  // Called once the host is back (its API answers again, or its cable is plugged in).
  void fault_ended(int host) {
    std::lock_guard lock(mutex_);
    if (!spans_[host].empty() && !spans_[host].back().end) spans_[host].back().end = Clock::now();
  }

  // True if `host` was down or cut off at any moment of [from, to].
  bool faulted_during(int host, Clock::time_point from, Clock::time_point to) const {
    std::lock_guard lock(mutex_);
    for (const auto& span : spans_[host])
      if (span.begin <= to && (!span.end || *span.end >= from)) return true;
    return false;
  }
  bool any_fault_during(Clock::time_point from, Clock::time_point to) const {
    for (int host = 0; host < static_cast<int>(spans_.size()); ++host)
      if (faulted_during(host, from, to)) return true;
    return false;
  }

 private:
  struct Span {
    Clock::time_point begin;
    std::optional<Clock::time_point> end;  // none while the fault lasts
  };
  mutable std::mutex mutex_;
  std::vector<std::vector<Span>> spans_;
};

}  // namespace datafold::net::testing
