#include "load/measured_window.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#define DATAFOLD_BENCH_HAS_CALLGRIND 1
#endif

namespace datafold::bench {

namespace {

// How long a window waits for perf to say its counters are on (or off). perf answers
// in microseconds; a perf that stopped answering must not stop the load.
constexpr int kPerfAckTimeoutMs = 1000;

// perf stat's FIFOs, open for the life of the process once the first window asks,
// and which window perf counts (0: every one).
struct PerfControl {
  int ctl = -1;
  int ack = -1;
  unsigned window = 0;
};

PerfControl open_perf_control() {
  PerfControl control;
  const char* named = std::getenv("DATAFOLD_PERF_CONTROL");
  if (named == nullptr || *named == '\0') return control;
  const std::string both(named);
  const auto comma = both.find(',');
  if (comma == std::string::npos) {
    std::fprintf(stderr, "DATAFOLD_PERF_CONTROL: expected CTL,ACK (two FIFO paths), not '%s'\n", named);
    return control;
  }
  // perf holds both FIFOs open for reading and writing, so neither open blocks.
  control.ctl = ::open(both.substr(0, comma).c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  control.ack = ::open(both.substr(comma + 1).c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (control.ctl < 0 || control.ack < 0) {
    std::fprintf(stderr, "DATAFOLD_PERF_CONTROL: cannot open perf's FIFOs %s: %s\n", named, std::strerror(errno));
    if (control.ctl >= 0) ::close(control.ctl);
    if (control.ack >= 0) ::close(control.ack);
    return PerfControl{};
  }
  // perf stat sums what it counts over the run: to have one window's counts, a run
  // counts only that one (DATAFOLD_PERF_WINDOW=N, the Nth to open, from 1).
  if (const char* window = std::getenv("DATAFOLD_PERF_WINDOW"); window != nullptr && *window != '\0')
    control.window = static_cast<unsigned>(std::strtoul(window, nullptr, 10));
  return control;
}

const PerfControl& perf_control() {
  static const PerfControl control = open_perf_control();
  return control;
}

// How many windows this process has opened: the number (from 1) of the one open now.
std::atomic<unsigned> windows_opened{0};

bool perf_counts(unsigned window) {
  const unsigned counted = perf_control().window;
  return counted == 0 || counted == window;
}

// Sends perf a command and waits (a while at most) for its acknowledgement, so the
// counters are on before the measured load goes on, and off before what follows it.
void tell_perf(const char* command) noexcept {
  const PerfControl& control = perf_control();
  if (control.ctl < 0) return;
  const std::string line = std::string(command) + "\n";
  if (::write(control.ctl, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
    std::fprintf(stderr, "DATAFOLD_PERF_CONTROL: cannot tell perf to %s: %s\n", command, std::strerror(errno));
    return;
  }
  pollfd answer{control.ack, POLLIN, 0};
  if (::poll(&answer, 1, kPerfAckTimeoutMs) <= 0) {
    std::fprintf(stderr, "DATAFOLD_PERF_CONTROL: perf did not acknowledge '%s'\n", command);
    return;
  }
  char ack[64];
  (void)::read(control.ack, ack, sizeof ack);
}

void measured_window_opens() noexcept {
#ifdef DATAFOLD_BENCH_HAS_CALLGRIND
  CALLGRIND_ZERO_STATS;
#endif
  if (perf_counts(windows_opened.fetch_add(1) + 1)) tell_perf("enable");
}

void measured_window_closes() noexcept {
  if (perf_counts(windows_opened.load())) tell_perf("disable");
#ifdef DATAFOLD_BENCH_HAS_CALLGRIND
  CALLGRIND_DUMP_STATS_AT("measured window");
#endif
}

}  // namespace

WindowEdge open_measured_window(const std::function<std::uint64_t()>& answered) {
  WindowEdge edge;
  edge.usage = sample_process_usage();
  measured_window_opens();
  edge.answered = answered();
  edge.at = std::chrono::steady_clock::now();
  return edge;
}

WindowEdge close_measured_window(const std::function<std::uint64_t()>& answered) {
  WindowEdge edge;
  edge.at = std::chrono::steady_clock::now();
  edge.answered = answered();
  measured_window_closes();
  edge.usage = sample_process_usage();
  return edge;
}

}  // namespace datafold::bench
