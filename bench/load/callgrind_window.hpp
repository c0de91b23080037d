// Marks a load's measured window for valgrind's callgrind, so instructions per query
// can be counted exactly (scripts/instructions_per_query.sh): when the window opens
// the counts are zeroed, and when it closes they are dumped to a file of their own.
// That file's total over the run's `completed` is the cost of one query, with start-up,
// handshakes, warm-up and shutdown left out. Outside valgrind each call costs a few
// instructions; without valgrind's headers at build time they do nothing.
#pragma once

#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#define DATAFOLD_BENCH_HAS_CALLGRIND 1
#endif

namespace datafold::bench {

inline void callgrind_window_opens() noexcept {
#ifdef DATAFOLD_BENCH_HAS_CALLGRIND
  CALLGRIND_ZERO_STATS;
#endif
}

inline void callgrind_window_closes() noexcept {
#ifdef DATAFOLD_BENCH_HAS_CALLGRIND
  CALLGRIND_DUMP_STATS_AT("measured window");
#endif
}

}  // namespace datafold::bench
