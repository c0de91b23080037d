// RoutedNetwork: subnets joined by one router, the wide-area topology of DESIGN.md
// section 13. Every host is a network namespace with one interface, "eth0", cabled
// (a veth pair) to its subnet's bridge; the router namespace has one interface per
// subnet and forwards between them (IPv4 and IPv6), with no multicast routing, so
// LAN discovery stays inside a subnet. Hosts' default routes point at the router.
//
//   host namespaces  <tag>-<pid>-h<i>   eth0
//   switch namespace <tag>-<pid>-sw     bridges br<k>, cables h<i> and r<k>
//   router namespace <tag>-<pid>-r      sub<k> on subnet k, door towards the test
//
// Addresses (A: random per network, 200..249; X: A in hex):
//   subnet k IPv4  10.A.k.0/24,        router 10.A.k.1,        host j of the subnet 10.A.k.(10+j)
//   subnet k IPv6  fd00:dfX:k::/64,    router fd00:dfX:k::1,   host j fd00:dfX:k::(10+j)
// (IPv6 addresses are kept as inet_ntop writes them, "fd00:dfca::10" for subnet 0,
// so they compare equal to what a node or getifaddrs reports.) An IPv4-only subnet
// has IPv6 off on its interfaces, link-local included; an IPv6-only one has no IPv4
// address at all.
//
// The test process reaches every host through one veth into the router ("the
// door": 10.A.254.1/30 and fd00:dfX:fe::1/64 on its side) and two routes in the
// root namespace that cover only these prefixes: no default route changes, and
// the router has no route anywhere else, so no packet leaves for the real network.
//
// Needs root; create() says why not when it can't, so tests report skipped. The
// destructor kills every process started here and deletes every namespace (and
// with them every veth, bridge and nftables table); create() first deletes what a
// crashed earlier run left (namespaces whose creating process is gone).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "support/netns_processes.hpp"

namespace datafold::net::testing {

struct SubnetSpec {
  int hosts = 4;
  bool ipv4 = true;
  bool ipv6 = false;
};

class RoutedNetwork {
 public:
  // nullptr and `why_not` filled when the topology cannot be made here.
  static std::unique_ptr<RoutedNetwork> create(const std::vector<SubnetSpec>& subnets, std::string& why_not);
  ~RoutedNetwork();

  RoutedNetwork(const RoutedNetwork&) = delete;
  RoutedNetwork& operator=(const RoutedNetwork&) = delete;

  int size() const { return static_cast<int>(hosts_.size()); }
  int subnet_count() const { return static_cast<int>(subnets_.size()); }
  int subnet_of(int host) const { return hosts_[host].subnet; }
  std::vector<int> hosts_in(int subnet) const;

  const std::string& ipv4(int host) const { return hosts_[host].ipv4; }  // "" on an IPv6-only host
  const std::string& ipv6(int host) const { return hosts_[host].ipv6; }  // "" on an IPv4-only host
  // The host's address the test process talks to: its IPv4 one if it has one.
  const std::string& ip(int host) const { return ipv4(host).empty() ? ipv6(host) : ipv4(host); }
  // "ip:port", "[ip]:port" for IPv6.
  static std::string endpoint(const std::string& ip, int port);
  const std::string& netns(int host) const { return hosts_[host].netns; }
  // The host's only interface, in its namespace (what discovery is told to use).
  static const std::string& interface() { return kHostInterface; }
  const std::string& router_netns() const { return router_; }
  // The test process's interface into the router (in the root namespace).
  const std::string& door() const { return door_; }

  // Cuts or restores the host's cable (its switch-side veth goes down or up).
  bool set_link(int host, bool up);
  // Gives the host `new_ip` (in its subnet) in place of its address of that family,
  // default route kept, and makes the router and its neighbours forget the old
  // and new addresses' link-layer owners (so an address that moved to another host
  // is reached there at once).
  bool change_ip(int host, const std::string& new_ip);
  // An address in the host's subnet that no host holds, IPv6 if `v6`.
  std::string unused_ip(int host, bool v6 = false) const;

  // TCP SYNs that `host` sends to ip:port vanish (no reset, no ICMP): a black hole,
  // so a dial there hangs until its own timeout. Kept in an nftables table of the
  // host's namespace (needs `nft`), deleted by clear_drops() or with the namespace.
  bool drop_tcp_to(int host, const std::string& ip, int port);
  bool clear_drops(int host);

  // Starts `argv` inside the host's namespace, stdout and stderr to `log_file`.
  // Returns the pid, or -1.
  pid_t spawn(int host, const std::vector<std::string>& argv, const std::string& log_file);
  NetnsProcesses& processes() { return processes_; }

 private:
  struct Host {
    int subnet = 0;
    int index = 0;  // within its subnet
    std::string netns, cable, ipv4, ipv6;
    bool drops = false;
  };
  static const std::string kHostInterface;

  RoutedNetwork() = default;
  bool build(const std::vector<SubnetSpec>& subnets, std::string& why_not);
  bool build_router(std::string& why_not);
  bool build_door(std::string& why_not);
  bool build_host(int subnet, int index, std::string& why_not);
  std::string v4_prefix(int subnet) const;  // "10.A.k."
  std::string v6_site() const;              // "fd00:dfX:"
  std::string v6_prefix(int subnet) const;  // "fd00:dfX:k::"

  int a_ = 0;
  std::string tag_;  // "dr<4 digits>-<pid>"
  std::string switch_, router_, door_;
  bool door_v6_ = false;
  std::vector<SubnetSpec> subnets_;
  std::vector<Host> hosts_;
  std::vector<std::string> namespaces_;  // every one made, deleted in reverse
  NetnsProcesses processes_;             // declared last: its processes die before the namespaces go
};

// Deletes namespaces named by a RoutedNetwork whose creating process no longer
// exists. create() calls it; exposed for tools that clean up by hand.
void sweep_leftover_routed_networks();

}  // namespace datafold::net::testing
