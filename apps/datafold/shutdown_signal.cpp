#include "shutdown_signal.hpp"

#include <pthread.h>

#include <cerrno>
#include <ctime>

namespace datafold::app {

ShutdownSignal::ShutdownSignal() {
  sigemptyset(&signals_);
  sigaddset(&signals_, SIGINT);
  sigaddset(&signals_, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals_, &previous_);
}

ShutdownSignal::~ShutdownSignal() { pthread_sigmask(SIG_SETMASK, &previous_, nullptr); }

int ShutdownSignal::wait_until(std::optional<Clock::time_point> until) {
  // Wake at least once a second so a deadline is never overslept by much, whatever
  // the clock does meanwhile.
  constexpr auto kMaxSlice = std::chrono::seconds(1);
  for (;;) {
    auto slice = std::chrono::nanoseconds(kMaxSlice);
    if (until) {
      const auto left = *until - Clock::now();
      if (left <= Clock::duration::zero()) return 0;
      if (left < slice) slice = left;
    }
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(slice);
    timespec timeout{};
    timeout.tv_sec = static_cast<time_t>(seconds.count());
    timeout.tv_nsec = static_cast<long>((slice - seconds).count());
    const int signal_number = ::sigtimedwait(&signals_, nullptr, &timeout);
    if (signal_number > 0) return signal_number;
    // EAGAIN: the slice ran out; EINTR: another signal (e.g. SIGWINCH) interrupted us.
    if (errno != EAGAIN && errno != EINTR) return 0;
  }
}

const char* signal_name(int signal_number) {
  switch (signal_number) {
    case SIGINT: return "SIGINT";
    case SIGTERM: return "SIGTERM";
    default: return "signal";
  }
}

}  // namespace datafold::app
