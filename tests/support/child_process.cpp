#include "support/child_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

namespace datafold::net::testing {

void die_with_test(pid_t test_pid) {
  // If the test ended between fork() and prctl(), no signal will come: this child's
  // parent is then already someone else.
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || ::getppid() != test_pid) ::_exit(125);
}

pid_t spawn_child(const std::vector<std::string>& argv, const std::string& log_file) {
  // Built before fork(): the child of a threaded process may not allocate.
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t test_pid = ::getpid();
  const pid_t pid = ::fork();
  if (pid != 0) return pid;
  die_with_test(test_pid);
  const int out = log_file.empty() ? ::open("/dev/null", O_WRONLY)
                                   : ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (out >= 0) {
    ::dup2(out, STDOUT_FILENO);
    ::dup2(out, STDERR_FILENO);
  }
  const int in = ::open("/dev/null", O_RDONLY);
  if (in >= 0) ::dup2(in, STDIN_FILENO);
  ::setpgid(0, 0);
  ::execvp(args[0], args.data());
  ::_exit(127);
}

}  // namespace datafold::net::testing
