#include "support/in_netns.hpp"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

namespace datafold::net::testing {

bool run_in_netns(const std::string& netns, const std::function<void()>& work, std::string& why_not) {
  bool entered = false;
  // A thread of its own: setns() moves only the calling thread, and the test's
  // main thread must stay where it is.
  std::thread runner([&] {
    const std::string path = "/run/netns/" + netns;
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      why_not = "cannot open " + path + ": " + std::strerror(errno);
      return;
    }
    const bool joined = ::setns(fd, CLONE_NEWNET) == 0;
    if (!joined) why_not = "setns(" + path + "): " + std::strerror(errno);
    ::close(fd);
    if (!joined) return;
    entered = true;
    work();
  });
  runner.join();
  return entered;
}

}  // namespace datafold::net::testing
