#include "support/virtual_lan.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <random>
#include <set>
#include <string_view>
#include <thread>

#include "support/child_process.hpp"
#include "support/netns_processes.hpp"
#include "support/netns_sweep.hpp"

namespace datafold::net::testing {

std::unique_ptr<VirtualLan> VirtualLan::create(int hosts, std::string& why_not) {
  if (::geteuid() != 0) {
    why_not = "network namespaces need root";
    return nullptr;
  }
  if (run_quietly({"ip", "-V"}) != 0) {
    why_not = "iproute2 ('ip') is not installed";
    return nullptr;
  }
  std::unique_ptr<VirtualLan> lan(new VirtualLan());
  if (!lan->build(hosts, why_not)) return nullptr;
  return lan;
}

namespace {

// Host namespaces are "dfl-<pid>-<tag>-h<i>": carrying the creating process's id, those
// of a run that died before its destructor (a sanitizer abort, SIGKILL) are swept by
// the next. The veth pairs go with them; the bridge, in the root namespace, is
// removed by its tag.
constexpr const char* kNetnsPrefix = "dfl-";

void sweep_lans_of_dead_processes() {
  std::set<std::string> tags;  // one per LAN, whose hosts' namespaces are several
  sweep_netns_of_dead_processes(kNetnsPrefix, [&tags](const std::string& netns) {
    const auto tag_at = netns.find('-', std::string_view(kNetnsPrefix).size()) + 1;
    const auto tag_end = netns.find('-', tag_at);
    if (tag_end != std::string::npos) tags.insert(netns.substr(tag_at, tag_end - tag_at));
  });
  for (const auto& tag : tags) run_quietly({"ip", "link", "del", tag + "b"});
}

}  // namespace

bool VirtualLan::build(int hosts, std::string& why_not) {
  sweep_lans_of_dead_processes();
  std::random_device rd;
  // Interface names are at most 15 bytes: "dfXXXXb", "dfXXXXo123", "dfXXXXi123".
  tag_ = "df" + std::to_string(1000 + rd() % 9000);
  const std::string netns_prefix = kNetnsPrefix + std::to_string(::getpid()) + "-" + tag_;
  const int subnet = 100 + static_cast<int>(rd() % 100);
  bridge_ = tag_ + "b";
  if (run_quietly({"ip", "link", "add", bridge_, "type", "bridge"}) != 0) {
    why_not = "cannot create a bridge (no CAP_NET_ADMIN?)";
    return false;
  }
  const std::string prefix = "10." + std::to_string(subnet) + ".";
  run_quietly({"ip", "addr", "add", prefix + "255.1/16", "brd", "+", "dev", bridge_});
  run_quietly({"ip", "link", "set", bridge_, "up"});
  for (int i = 0; i < hosts; ++i) {
    Host host;
    host.netns = netns_prefix + "-h" + std::to_string(i);
    host.outer = tag_ + "o" + std::to_string(i);
    host.inner = tag_ + "i" + std::to_string(i);
    host.ip = prefix + std::to_string(i / 200) + "." + std::to_string(i % 200 + 10);
    const bool ok =
        run_quietly({"ip", "netns", "add", host.netns}) == 0 &&
        run_quietly({"ip", "link", "add", host.outer, "type", "veth", "peer", "name", host.inner}) == 0 &&
        run_quietly({"ip", "link", "set", host.inner, "netns", host.netns}) == 0 &&
        run_quietly({"ip", "link", "set", host.outer, "master", bridge_}) == 0 &&
        run_quietly({"ip", "link", "set", host.outer, "up"}) == 0 &&
        run_quietly({"ip", "netns", "exec", host.netns, "ip", "addr", "add", host.ip + "/16", "brd", "+", "dev",
                     host.inner}) == 0 &&
        run_quietly({"ip", "netns", "exec", host.netns, "ip", "link", "set", host.inner, "up"}) == 0 &&
        run_quietly({"ip", "netns", "exec", host.netns, "ip", "link", "set", "lo", "up"}) == 0;
    hosts_.push_back(host);
    if (!ok) {
      why_not = "cannot set up namespace " + host.netns;
      return false;
    }
  }
  return true;
}

VirtualLan::~VirtualLan() {
  for (pid_t pid : processes_)
    if (running(pid)) stop_process(pid, SIGKILL);
  for (const auto& host : hosts_) {
    run_quietly({"ip", "netns", "del", host.netns});  // takes the inner veth, and so its peer
    run_quietly({"ip", "link", "del", host.outer});
  }
  if (!bridge_.empty()) run_quietly({"ip", "link", "del", bridge_});
}

bool VirtualLan::set_link(int host, bool up) {
  return run_quietly({"ip", "link", "set", hosts_[host].outer, up ? "up" : "down"}) == 0;
}

pid_t VirtualLan::spawn(int host, const std::vector<std::string>& argv, const std::string& log_file) {
  std::vector<std::string> full = {"ip", "netns", "exec", hosts_[host].netns};
  full.insert(full.end(), argv.begin(), argv.end());
  const pid_t pid = spawn_child(full, log_file);
  if (pid > 0) processes_.push_back(pid);
  return pid;
}

bool VirtualLan::running(pid_t pid) {
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

std::optional<int> VirtualLan::stop_process(pid_t pid, int signal, std::chrono::milliseconds deadline) {
  if (signal != 0) ::kill(pid, signal);
  const auto until = std::chrono::steady_clock::now() + deadline;
  bool killed = false;
  while (running(pid)) {
    if (std::chrono::steady_clock::now() >= until) {
      ::kill(pid, SIGKILL);
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
