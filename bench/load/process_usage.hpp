#pragma once

#include <cstdint>

namespace datafold::bench {

// Resource use of the whole process (every thread), as getrusage(RUSAGE_SELF) sees it.
// To charge a load its CPU, sample before and after and subtract cpu_seconds; peak RSS
// is a high-water mark for the life of the process, so it can't be subtracted.
struct ProcessUsage {
  double user_seconds = 0;
  double system_seconds = 0;
  double cpu_seconds = 0;  // user + system
  std::uint64_t peak_rss_kib = 0;  // ru_maxrss (Linux reports KiB)
};

ProcessUsage sample_process_usage() noexcept;

// Resident set size now, from /proc/self/statm; 0 if it can't be read.
std::uint64_t current_rss_kib() noexcept;

}  // namespace datafold::bench
