#include "support/link_lan.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <random>
#include <thread>

#include "support/netns_processes.hpp"
#include "support/netns_sweep.hpp"

namespace datafold::net::testing {

namespace {

// The first line of a command's output ("" if none or it failed).
std::string first_line_of(const std::string& command) {
  std::FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return {};
  char line[256] = {};
  const bool got = std::fgets(line, sizeof line, pipe) != nullptr;
  ::pclose(pipe);
  if (!got) return {};
  std::string out(line);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}


}  // namespace

std::unique_ptr<LinkLan> LinkLan::create(Options options, std::string& why_not) {
  if (::geteuid() != 0) {
    why_not = "network namespaces need root";
    return nullptr;
  }
  if (run_quietly({"ip", "-V"}) != 0) {
    why_not = "iproute2 ('ip') is not installed";
    return nullptr;
  }
  std::unique_ptr<LinkLan> lan(new LinkLan());
  if (!lan->build(options, why_not)) return nullptr;  // the destructor removed what was made
  return lan;
}

bool LinkLan::build(const Options& options, std::string& why_not) {
  std::random_device rd;
  // Interface names are at most 15 bytes: "l6XXXXi12".
  const std::string tag = "l6" + std::to_string(1000 + rd() % 9000);
  // Namespaces carry the creating process's id, so a run that died before its
  // destructor (a sanitizer abort, SIGKILL) has its namespaces swept by the next.
  sweep_netns_of_dead_processes("l6-");
  const std::string netns_prefix = "l6-" + std::to_string(::getpid()) + "-" + tag;
  switch_netns_ = netns_prefix + "-sw";
  if (run_quietly({"ip", "netns", "add", switch_netns_}) != 0) {
    switch_netns_.clear();
    why_not = "cannot create a network namespace (no CAP_SYS_ADMIN?)";
    return false;
  }
  const std::string bridge = tag + "b";
  // No multicast snooping: every port hears every group, as on a plain hub, and
  // the test does not depend on MLD reports racing the first announcement.
  if (run_quietly({"ip", "-n", switch_netns_, "link", "add", bridge, "type", "bridge", "mcast_snooping", "0"}) != 0 ||
      run_quietly({"ip", "-n", switch_netns_, "link", "set", bridge, "up"}) != 0) {
    why_not = "cannot create a bridge (no CAP_NET_ADMIN?)";
    return false;
  }
  for (int i = 0; i < options.hosts; ++i) {
    Host host;
    host.netns = netns_prefix + "-h" + std::to_string(i);
    host.inner = tag + "i" + std::to_string(i);
    host.outer = tag + "o" + std::to_string(i);
    host.ipv6 = "fd77::" + std::to_string(i + 10);
    if (options.ipv4) host.ipv4 = "10.77.0." + std::to_string(i + 10);
    const auto in_host = [&](std::vector<std::string> argv) {
      argv.insert(argv.begin(), {"ip", "netns", "exec", host.netns});
      return run_quietly(argv) == 0;
    };
    bool ok = run_quietly({"ip", "netns", "add", host.netns}) == 0;
    hosts_.push_back(host);
    ok = ok && in_host({"sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0",
                        "net.ipv6.conf.all.disable_ipv6=0", "net.ipv6.conf.default.disable_ipv6=0"}) &&
         run_quietly({"ip", "link", "add", host.inner, "netns", host.netns, "type", "veth", "peer", "name",
                      host.outer, "netns", switch_netns_}) == 0 &&
         run_quietly({"ip", "-n", switch_netns_, "link", "set", host.outer, "master", bridge}) == 0 &&
         run_quietly({"ip", "-n", switch_netns_, "link", "set", host.outer, "up"}) == 0 &&
         run_quietly({"ip", "-n", host.netns, "-6", "addr", "add", host.ipv6 + "/64", "dev", host.inner, "nodad"}) == 0 &&
         (host.ipv4.empty() ||
          run_quietly({"ip", "-n", host.netns, "addr", "add", host.ipv4 + "/24", "brd", "+", "dev", host.inner}) == 0) &&
         run_quietly({"ip", "-n", host.netns, "link", "set", host.inner, "up"}) == 0 &&
         run_quietly({"ip", "-n", host.netns, "link", "set", "lo", "up"}) == 0;
    if (!ok) {
      why_not = "cannot set up namespace " + host.netns;
      return false;
    }
  }
  // The kernel gives each interface its link-local address once the link is up.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (auto& host : hosts_) {
    const std::string query = "ip -n " + host.netns + " -6 -o addr show dev " + host.inner +
                              " scope link | awk '{print $4}' | cut -d/ -f1";
    while ((host.link_local = first_line_of(query)).empty()) {
      if (std::chrono::steady_clock::now() >= deadline) {
        why_not = "no link-local IPv6 address on " + host.inner + " within 10 s";
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    host.link_local += "%" + host.inner;
  }
  return true;
}

LinkLan::~LinkLan() {
  // Deleting a namespace deletes its end of each veth pair, and so the pair.
  for (const auto& host : hosts_) run_quietly({"ip", "netns", "del", host.netns});
  if (!switch_netns_.empty()) run_quietly({"ip", "netns", "del", switch_netns_});
}

}  // namespace datafold::net::testing
