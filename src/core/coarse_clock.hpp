// Clocks read at the kernel's tick (CLOCK_MONOTONIC_COARSE, CLOCK_REALTIME_COARSE):
// for times that only need to be right to a few milliseconds (a connection's last
// activity against an idle timeout of minutes, a replay window of 120 s, how often a
// file is looked at). On a virtual machine a precise read costs a TSC read the
// hypervisor may trap (about 30 ns here, several per request); a coarse one reads
// the tick the kernel last stored (about 6 ns). Both are on the same timelines as
// std::chrono::steady_clock and system_clock: a coarse reading is at most one tick
// (1-10 ms) behind a precise one, never ahead.
#pragma once

#include <chrono>
#include <cstdint>
#include <ctime>

namespace datafold::net::detail {

inline std::chrono::nanoseconds coarse_read(clockid_t clock) {
  timespec now{};
  ::clock_gettime(clock, &now);
  return std::chrono::seconds(now.tv_sec) + std::chrono::nanoseconds(now.tv_nsec);
}

inline std::chrono::steady_clock::time_point coarse_steady_now() {
  return std::chrono::steady_clock::time_point(
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(coarse_read(CLOCK_MONOTONIC_COARSE)));
}

inline std::int64_t coarse_system_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(coarse_read(CLOCK_REALTIME_COARSE)).count();
}

}  // namespace datafold::net::detail
