// Waiting for SIGINT / SIGTERM without a signal handler.
#pragma once

#include <chrono>
#include <csignal>
#include <optional>

namespace datafold::app {

// Blocks SIGINT and SIGTERM in the constructing thread; threads started afterwards
// inherit the mask, so the signals stay pending until wait_until() takes them with
// sigtimedwait(). Nothing runs in signal-handler context, so the waiter may do anything
// (log, call NetworkCore::stop()) once it returns. Construct it before starting any
// thread that must not receive the signals; the destructor restores the old mask.
class ShutdownSignal {
 public:
  using Clock = std::chrono::steady_clock;

  ShutdownSignal();
  ~ShutdownSignal();
  ShutdownSignal(const ShutdownSignal&) = delete;
  ShutdownSignal& operator=(const ShutdownSignal&) = delete;

  // Waits for SIGINT or SIGTERM until `until` (if given). Returns the signal number,
  // or 0 when `until` passed first.
  int wait_until(std::optional<Clock::time_point> until);

 private:
  sigset_t signals_{};
  sigset_t previous_{};
};

// "SIGINT", "SIGTERM", or the number.
const char* signal_name(int signal_number);

}  // namespace datafold::app
