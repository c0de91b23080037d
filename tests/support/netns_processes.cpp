#include "support/netns_processes.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <thread>

#include "support/child_process.hpp"

namespace datafold::net::testing {

namespace {

std::vector<std::string> in_netns(const std::string& netns, const std::vector<std::string>& argv) {
  std::vector<std::string> full = {"ip", "netns", "exec", netns};
  full.insert(full.end(), argv.begin(), argv.end());
  return full;
}

}  // namespace

int run_quietly(const std::vector<std::string>& argv) {
  const pid_t pid = spawn_child(argv, "");
  if (pid < 0) return -1;
  int status = 0;
  if (::waitpid(pid, &status, 0) < 0) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int run_in(const std::string& netns, std::vector<std::string> argv) { return run_quietly(in_netns(netns, argv)); }

NetnsProcesses::~NetnsProcesses() { stop_all(); }

void NetnsProcesses::stop_all() {
  for (pid_t pid : std::vector<pid_t>(processes_))
    if (running(pid)) stop(pid, SIGKILL, std::chrono::seconds(5));
}

pid_t NetnsProcesses::spawn(const std::string& netns, const std::vector<std::string>& argv,
                            const std::string& log_file) {
  const pid_t pid = spawn_child(in_netns(netns, argv), log_file);
  if (pid > 0) processes_.push_back(pid);
  return pid;
}

bool NetnsProcesses::running(pid_t pid) {
  if (std::find(processes_.begin(), processes_.end(), pid) == processes_.end()) return false;
  int status = 0;
  const pid_t r = ::waitpid(pid, &status, WNOHANG);
  if (r == pid) {
    processes_.erase(std::remove(processes_.begin(), processes_.end(), pid), processes_.end());
    reaped_status_[pid] = status;
    return false;
  }
  return r == 0;
}

std::optional<int> NetnsProcesses::wait_exit(pid_t pid, std::chrono::milliseconds deadline) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (running(pid)) {
    if (std::chrono::steady_clock::now() >= until) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const auto reaped = reaped_status_.find(pid);
  if (reaped == reaped_status_.end()) return std::nullopt;
  const int status = reaped->second;
  reaped_status_.erase(reaped);
  if (!WIFEXITED(status)) return std::nullopt;
  return WEXITSTATUS(status);
}

std::optional<int> NetnsProcesses::stop(pid_t pid, int signal, std::chrono::milliseconds deadline) {
  // The group, so whatever it runs goes too; the pid alone if it has not made its group yet.
  if (signal != 0 && running(pid) && ::kill(-pid, signal) != 0) ::kill(pid, signal);
  const auto until = std::chrono::steady_clock::now() + deadline;
  bool killed = false;
  while (running(pid)) {
    if (std::chrono::steady_clock::now() >= until) {
      if (::kill(-pid, SIGKILL) != 0) ::kill(pid, SIGKILL);
      int status = 0;
      ::waitpid(pid, &status, 0);
      killed = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  processes_.erase(std::remove(processes_.begin(), processes_.end(), pid), processes_.end());
  const auto reaped = reaped_status_.find(pid);
  if (reaped == reaped_status_.end()) return std::nullopt;  // killed, or not ours
  const int status = reaped->second;
  reaped_status_.erase(reaped);
  if (killed || !WIFEXITED(status)) return std::nullopt;
  return WEXITSTATUS(status);
}

}  // namespace datafold::net::testing
