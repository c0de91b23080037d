#include "load/process_usage.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>

namespace datafold::bench {
namespace {

double to_seconds(const timeval& tv) noexcept {
  return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
}

}  // namespace

ProcessUsage sample_process_usage() noexcept {
  ProcessUsage usage;
  rusage ru{};
  if (getrusage(RUSAGE_SELF, &ru) != 0) return usage;
  usage.user_seconds = to_seconds(ru.ru_utime);
  usage.system_seconds = to_seconds(ru.ru_stime);
  usage.cpu_seconds = usage.user_seconds + usage.system_seconds;
  usage.peak_rss_kib = ru.ru_maxrss > 0 ? static_cast<std::uint64_t>(ru.ru_maxrss) : 0;
  return usage;
}

std::uint64_t current_rss_kib() noexcept {
  // statm: size resident shared text lib data dt, all in pages.
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  unsigned long long size_pages = 0;
  unsigned long long resident_pages = 0;
  const int fields = std::fscanf(f, "%llu %llu", &size_pages, &resident_pages);
  std::fclose(f);
  if (fields != 2) return 0;
  const long page_size = sysconf(_SC_PAGESIZE);
  if (page_size <= 0) return 0;
  return resident_pages * static_cast<std::uint64_t>(page_size) / 1024;
}

}  // namespace datafold::bench
