// Processes started inside network namespaces (`ip netns exec`), each in its own
// process group, all killed and reaped when this object goes. The topologies
// (RoutedNetwork) own one; tests start and stop processes through them.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace datafold::net::testing {

class NetnsProcesses {
 public:
  NetnsProcesses() = default;
  ~NetnsProcesses();  // SIGKILLs and reaps every process still running

  NetnsProcesses(const NetnsProcesses&) = delete;
  NetnsProcesses& operator=(const NetnsProcesses&) = delete;

  // Starts `argv` inside namespace `netns`, stdout and stderr appended to `log_file`
  // ("" discards them). Returns the pid, or -1.
  pid_t spawn(const std::string& netns, const std::vector<std::string>& argv, const std::string& log_file);
  // Sends `signal` (0: none) and reaps the process, waiting at most `deadline`, then
  // SIGKILL. Its exit code if it exited within the deadline; nullopt if a signal
  // ended it, it had to be killed, or it is not one of ours.
  std::optional<int> stop(pid_t pid, int signal, std::chrono::milliseconds deadline);
  // Waits up to `deadline` for the process to exit by itself; its exit code, or
  // nullopt (still running: then it is left running; or a signal ended it).
  std::optional<int> wait_exit(pid_t pid, std::chrono::milliseconds deadline);
  bool running(pid_t pid);
  // SIGKILLs and reaps every process still running.
  void stop_all();

 private:
  std::vector<pid_t> processes_;
  std::map<pid_t, int> reaped_status_;  // wait status of processes running() reaped
};

// Runs `argv` (no namespace change), output discarded; its exit status, -1 if it
// could not run or a signal ended it.
int run_quietly(const std::vector<std::string>& argv);
// Same, inside namespace `netns` (`ip netns exec`).
int run_in(const std::string& netns, std::vector<std::string> argv);

}  // namespace datafold::net::testing
