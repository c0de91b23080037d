// VirtualLan: hosts as Linux network namespaces, each joined by a veth pair to one
// bridge, with processes started inside them. Needs root (CAP_NET_ADMIN); create()
// says why not when it can't, so tests report skipped rather than passed.
//
// Addresses: 10.<subnet>.0.0/16, host i at 10.<subnet>.<i / 200>.<i % 200 + 10>, the
// bridge (the test process's own door into the LAN) at 10.<subnet>.255.1. No host
// has a route anywhere else, so nothing leaves the LAN.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace datafold::net::testing {

class VirtualLan {
 public:
  // nullptr and `why_not` filled when namespaces cannot be made here.
  static std::unique_ptr<VirtualLan> create(int hosts, std::string& why_not);
  ~VirtualLan();  // kills every process it started, deletes namespaces and links

  VirtualLan(const VirtualLan&) = delete;
  VirtualLan& operator=(const VirtualLan&) = delete;

  int size() const { return static_cast<int>(hosts_.size()); }
  const std::string& ip(int host) const { return hosts_[host].ip; }
  const std::string& netns(int host) const { return hosts_[host].netns; }
  // The host's interface inside its namespace (what discovery is told to use).
  const std::string& interface(int host) const { return hosts_[host].inner; }

  // Cut or restore the host's cable (its bridge-side veth goes down or up).
  bool set_link(int host, bool up);

  // Starts `argv` inside the host's namespace, stdout and stderr to `log_file`.
  // Returns the pid, or -1.
  pid_t spawn(int host, const std::vector<std::string>& argv, const std::string& log_file);
  // Sends `signal` (0: none) and reaps the process, waiting at most `deadline`, then
  // SIGKILL. Its exit code if it exited within the deadline; nullopt if a signal
  // ended it or it had to be killed.
  std::optional<int> stop_process(pid_t pid, int signal, std::chrono::milliseconds deadline = std::chrono::seconds(10));
  bool running(pid_t pid);

 private:
  struct Host {
    std::string netns, outer, inner, ip;
  };
  VirtualLan() = default;
  bool build(int hosts, std::string& why_not);

  std::string tag_;
  std::string bridge_;
  std::vector<Host> hosts_;
  std::vector<pid_t> processes_;
  std::map<pid_t, int> reaped_status_;  // wait status of processes running() reaped
};

}  // namespace datafold::net::testing
