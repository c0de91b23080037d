// A test runner killed mid-test (ctest's timeout, a CI job cut short) runs no
// destructor: the processes its tests started must die with it, not go on holding
// ports and namespaces (support/child_process.hpp).
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <fstream>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "support/child_process.hpp"

namespace datafold::net {
namespace {

// Gone, or dead and waiting to be reaped by whoever adopted it.
bool process_gone(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!stat || !std::getline(stat, line)) return true;
  const auto name_end = line.rfind(')');
  return name_end == std::string::npos || name_end + 2 >= line.size() || line[name_end + 2] == 'Z';
}

// The process has exec'd `name` (and so is past everything it did after fork).
bool process_runs(pid_t pid, const std::string& name) {
  std::ifstream comm("/proc/" + std::to_string(pid) + "/comm");
  std::string line;
  return comm && std::getline(comm, line) && line == name && !process_gone(pid);
}

// Polls `done` every 20 ms until it holds or 10 s pass.
template <class Done>
bool within_ten_seconds(Done done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!done() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  return done();
}

// Waits for `pid`, which is not this process's child, to end: its pidfd turns
// readable when it does.
bool ends_within(pid_t pid, std::chrono::milliseconds deadline) {
  const int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) return errno == ESRCH;  // already ended and reaped
  pollfd ready{fd, POLLIN, 0};
  const bool ended = ::poll(&ready, 1, static_cast<int>(deadline.count())) == 1;
  ::close(fd);
  return ended;
}

TEST(TestChildren, AProcessATestStartedDiesWhenTheTestIsKilled) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  // Stands in for the test runner: it starts a long-running process, then is SIGKILLed.
  const pid_t runner = ::fork();
  ASSERT_GE(runner, 0);
  if (runner == 0) {
    ::close(fds[0]);
    const pid_t child = testing::spawn_child({"sleep", "60"}, "");
    (void)!::write(fds[1], &child, sizeof child);
    for (;;) ::pause();
  }
  ::close(fds[1]);
  pid_t child = -1;
  // The runner writes at once; if it died first the read sees end of file.
  const auto got = ::read(fds[0], &child, sizeof child);
  ::close(fds[0]);
  // Killed only once the child runs `sleep`: a child whose runner is gone before it
  // got going exits by itself, which would pass this test without the kernel's help.
  const bool started = got == static_cast<ssize_t>(sizeof child) && child > 0 &&
                       within_ten_seconds([&] { return process_runs(child, "sleep"); });
  ::kill(runner, SIGKILL);
  ::waitpid(runner, nullptr, 0);
  ASSERT_TRUE(started) << "the runner's child never ran sleep";

  const bool gone = ends_within(child, std::chrono::seconds(10));
  if (!gone) ::kill(child, SIGKILL);  // leave nothing behind, even failing
  EXPECT_TRUE(gone) << "the process the killed runner started (pid " << child << ") was still running 10 s later";
}

}  // namespace
}  // namespace datafold::net
