// Marks a load's measured window for the tools that count what a query costs, costs
// that do not move when the machine is busy (DESIGN section 14):
// - valgrind's callgrind (scripts/instructions_per_query.sh): when the window opens the
//   counts are zeroed, and when it closes they are dumped to a file of their own;
// - perf stat (scripts/syscalls_per_query.sh): when DATAFOLD_PERF_CONTROL names perf's
//   control and acknowledgement FIFOs ("CTL,ACK", as `perf stat --control
//   fifo:CTL,ACK` takes them), the counters are enabled for the window only: for
//   every window, or with DATAFOLD_PERF_WINDOW=N only for the Nth to open (perf stat
//   sums over its run, so one window's counts take a run of their own).
// Either tool's totals over the run's `completed` are the cost of one query, with
// start-up, handshakes, warm-up and shutdown left out. Outside both tools each call
// costs a few instructions.
//
// A load's `completed` is what it answered between the moments its window really
// opened and closed (WindowEdge), not between the times the window was planned for:
// the thread that opens and closes it may wake late, and under valgrind, whose
// threads take turns, a busy load kept it waiting for seconds: the gRPC peer's window
// at 16x16, planned for 3 s, was open for 0.9, and divided by the answers of all 3 s
// it read 21 k instructions a query where about 150 k is right.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>

#include "load/process_usage.hpp"

namespace datafold::bench {

// One edge of a measured window, as the thread that opened or closed it saw it: the
// process's CPU, how many queries the load had answered, and when.
struct WindowEdge {
  ProcessUsage usage;
  std::uint64_t answered = 0;
  std::chrono::steady_clock::time_point at;
};

// Samples the CPU, opens the window (for callgrind and perf), then reads `answered`
// (the load's count so far, from any thread) and the clock.
WindowEdge open_measured_window(const std::function<std::uint64_t()>& answered);
// Reads the clock and `answered`, closes the window (for both tools), then
// samples the CPU: the tools count a little more than the answers, never less.
WindowEdge close_measured_window(const std::function<std::uint64_t()>& answered);

}  // namespace datafold::bench
