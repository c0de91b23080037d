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
#pragma once

namespace datafold::bench {

void measured_window_opens() noexcept;
void measured_window_closes() noexcept;

}  // namespace datafold::bench
