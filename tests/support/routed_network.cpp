#include "support/routed_network.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <utility>

#include "support/in_netns.hpp"

namespace datafold::net::testing {

const std::string RoutedNetwork::kHostInterface = "eth0";

namespace {

constexpr int kDoorOctet = 254;        // 10.A.254.0/30: the door
constexpr const char* kDoorV6Group = "fe";  // fd00:dfX:fe::/64: the door
constexpr const char* kDropTable = "netsim_blackhole";
constexpr const char* kDropChain = "syn_out";  // not "output": chain names that are keywords fail

using Sysctls = std::vector<std::pair<std::string, std::string>>;

// Writes /proc/sys entries as seen from inside `netns` (a thread there sees that
// namespace's net.* values), without a child process per value.
bool write_routed_sysctls(const std::string& netns, const Sysctls& values, std::string& why_not) {
  bool ok = true;
  std::string failed;
  const bool entered = run_in_netns(
      netns,
      [&] {
        // A kernel without IPv6 has no net/ipv6 entries, and nothing of it to turn off.
        const bool have_ipv6 = std::filesystem::exists("/proc/sys/net/ipv6");
        for (const auto& [key, value] : values) {
          if (!have_ipv6 && key.starts_with("net/ipv6/")) continue;
          std::ofstream out("/proc/sys/" + key);
          out << value;
          out.flush();
          if (!out) {
            ok = false;
            failed = key;
            return;
          }
        }
      },
      why_not);
  if (entered && !ok) why_not = "cannot set " + failed + " in " + netns;
  return entered && ok;
}

// The text inet_ntop gives (what a node reports, what getifaddrs shows): "fd00:dfca::10",
// not "fd00:dfca:0::10".
std::string canonical(const std::string& ip) {
  in6_addr address{};
  if (ip.find(':') == std::string::npos || ::inet_pton(AF_INET6, ip.c_str(), &address) != 1) return ip;
  char text[INET6_ADDRSTRLEN] = {};
  ::inet_ntop(AF_INET6, &address, text, sizeof text);
  return text;
}

bool all_routed_ok(std::initializer_list<int> statuses) {
  for (int s : statuses)
    if (s != 0) return false;
  return true;
}

}  // namespace

void sweep_leftover_routed_networks() {
  static const std::regex kOurs("dr[0-9]{4}-([0-9]+)-.*");
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/run/netns", ec)) {
    const std::string name = entry.path().filename().string();
    std::smatch match;
    if (!std::regex_match(name, match, kOurs)) continue;
    const pid_t owner = static_cast<pid_t>(std::stol(match[1].str()));
    if (owner == ::getpid() || ::kill(owner, 0) == 0 || errno != ESRCH) continue;
    run_quietly({"ip", "netns", "del", name});  // takes its veths, and so their peers
  }
}

std::unique_ptr<RoutedNetwork> RoutedNetwork::create(const std::vector<SubnetSpec>& subnets, std::string& why_not) {
  if (::geteuid() != 0) {
    why_not = "network namespaces need root";
    return nullptr;
  }
  if (run_quietly({"ip", "-V"}) != 0) {
    why_not = "iproute2 ('ip') is not installed";
    return nullptr;
  }
  if (subnets.empty() || subnets.size() > 200) {
    why_not = "1 to 200 subnets";
    return nullptr;
  }
  for (const auto& s : subnets)
    if (s.hosts < 0 || s.hosts > 200 || (!s.ipv4 && !s.ipv6)) {
      why_not = "each subnet: 0 to 200 hosts, IPv4 or IPv6 or both";
      return nullptr;
    }
  sweep_leftover_routed_networks();
  std::unique_ptr<RoutedNetwork> net(new RoutedNetwork());
  if (!net->build(subnets, why_not)) return nullptr;  // the destructor removes the part built
  return net;
}

std::string RoutedNetwork::v4_prefix(int subnet) const {
  return "10." + std::to_string(a_) + "." + std::to_string(subnet) + ".";
}

std::string RoutedNetwork::v6_site() const {
  char group[8];
  std::snprintf(group, sizeof group, "df%02x", a_);
  return std::string("fd00:") + group + ":";
}

std::string RoutedNetwork::v6_prefix(int subnet) const { return v6_site() + std::to_string(subnet) + "::"; }

std::string RoutedNetwork::endpoint(const std::string& ip, int port) {
  if (ip.find(':') != std::string::npos) return "[" + ip + "]:" + std::to_string(port);
  return ip + ":" + std::to_string(port);
}

std::vector<int> RoutedNetwork::hosts_in(int subnet) const {
  std::vector<int> out;
  for (int i = 0; i < size(); ++i)
    if (hosts_[i].subnet == subnet) out.push_back(i);
  return out;
}

bool RoutedNetwork::build(const std::vector<SubnetSpec>& subnets, std::string& why_not) {
  subnets_ = subnets;
  for (const auto& s : subnets) door_v6_ = door_v6_ || s.ipv6;
  if (door_v6_) {
    std::ifstream disabled("/proc/sys/net/ipv6/conf/all/disable_ipv6");
    int value = 1;
    if (!(disabled >> value) || value != 0) {
      why_not = "IPv6 is off in this namespace";
      return false;
    }
  }
  std::random_device rd;
  tag_ = "dr" + std::to_string(1000 + rd() % 9000) + "-" + std::to_string(::getpid());
  switch_ = tag_ + "-sw";
  router_ = tag_ + "-r";
  for (const auto& ns : {switch_, router_}) {
    if (run_quietly({"ip", "netns", "add", ns}) != 0) {
      why_not = "cannot create namespace " + ns + " (no CAP_SYS_ADMIN?)";
      return false;
    }
    namespaces_.push_back(ns);
  }
  // The switch only bridges: no addresses, no IPv6 chatter of its own.
  if (!write_routed_sysctls(switch_, {{"net/ipv6/conf/all/disable_ipv6", "1"}, {"net/ipv6/conf/default/disable_ipv6", "1"}},
                     why_not))
    return false;
  // The door first: it picks A, which every address below is made from.
  if (!build_door(why_not) || !build_router(why_not)) return false;
  for (int k = 0; k < subnet_count(); ++k)
    for (int j = 0; j < subnets_[k].hosts; ++j)
      if (!build_host(k, j, why_not)) return false;
  return true;
}

bool RoutedNetwork::build_router(std::string& why_not) {
  if (!write_routed_sysctls(router_,
                     {{"net/ipv4/ip_forward", "1"},
                      {"net/ipv6/conf/all/forwarding", "1"},
                      {"net/ipv6/conf/default/accept_dad", "0"},
                      {"net/ipv6/conf/all/accept_dad", "0"}},
                     why_not))
    return false;
  for (int k = 0; k < subnet_count(); ++k) {
    const std::string bridge = "br" + std::to_string(k);
    const std::string cable = "r" + std::to_string(k);
    const std::string inner = "sub" + std::to_string(k);
    // mcast_snooping off: the bridge floods multicast to every port, as a plain
    // switch does, instead of waiting on IGMP/MLD reports to learn who listens.
    bool ok = all_routed_ok({run_in(switch_, {"ip", "link", "add", bridge, "type", "bridge", "mcast_snooping", "0"}),
                      run_in(switch_, {"ip", "link", "set", bridge, "up"}),
                      run_in(switch_, {"ip", "link", "add", cable, "type", "veth", "peer", "name", inner, "netns", router_}),
                      run_in(switch_, {"ip", "link", "set", cable, "master", bridge}),
                      run_in(switch_, {"ip", "link", "set", cable, "up"})});
    if (ok && !subnets_[k].ipv6)
      ok = write_routed_sysctls(router_, {{"net/ipv6/conf/" + inner + "/disable_ipv6", "1"}}, why_not);
    if (ok && subnets_[k].ipv4)
      ok = run_in(router_, {"ip", "addr", "add", v4_prefix(k) + "1/24", "dev", inner}) == 0;
    if (ok && subnets_[k].ipv6)
      ok = run_in(router_, {"ip", "addr", "add", v6_prefix(k) + "1/64", "dev", inner, "nodad"}) == 0;
    ok = ok && run_in(router_, {"ip", "link", "set", inner, "up"}) == 0;
    if (!ok) {
      if (why_not.empty()) why_not = "cannot wire subnet " + std::to_string(k) + " to the router";
      return false;
    }
  }
  return run_in(router_, {"ip", "link", "set", "lo", "up"}) == 0;
}

bool RoutedNetwork::build_door(std::string& why_not) {
  // A second octet no other RoutedNetwork here uses: the root route for 10.A.0.0/16
  // is refused ("File exists") when another one holds it, and then the next is tried.
  std::random_device rd;
  const int first = 200 + static_cast<int>(rd() % 50);
  for (int attempt = 0; attempt < 50; ++attempt) {
    a_ = 200 + (first - 200 + attempt) % 50;
    door_ = "dr" + tag_.substr(2, 4) + "d" + std::to_string(a_);  // at most 15 bytes
    if (run_quietly({"ip", "link", "add", door_, "type", "veth", "peer", "name", "door", "netns", router_}) != 0)
      continue;
    const std::string v4 = "10." + std::to_string(a_) + "." + std::to_string(kDoorOctet) + ".";
    bool ok = all_routed_ok({run_quietly({"ip", "addr", "add", v4 + "1/30", "dev", door_}),
                      run_in(router_, {"ip", "addr", "add", v4 + "2/30", "dev", "door"}),
                      run_quietly({"ip", "link", "set", door_, "up"}),
                      run_in(router_, {"ip", "link", "set", "door", "up"})});
    if (ok && door_v6_) {
      const std::string v6 = v6_site() + kDoorV6Group + "::";
      ok = all_routed_ok({run_quietly({"ip", "addr", "add", v6 + "1/64", "dev", door_, "nodad"}),
                   run_in(router_, {"ip", "addr", "add", v6 + "2/64", "dev", "door", "nodad"})});
    }
    if (!ok) {
      why_not = "cannot address the door " + door_;
      return false;
    }
    // Only these prefixes go to the router; the root namespace's default route stays.
    if (run_quietly({"ip", "route", "add", "10." + std::to_string(a_) + ".0.0/16", "via", v4 + "2", "dev", door_}) != 0) {
      run_quietly({"ip", "link", "del", door_});
      continue;
    }
    if (door_v6_ && run_quietly({"ip", "-6", "route", "add", v6_site() + ":/32", "via",
                                 v6_site() + kDoorV6Group + "::2", "dev", door_}) != 0) {
      run_quietly({"ip", "link", "del", door_});
      continue;
    }
    return true;
  }
  why_not = "no free 10.x.0.0/16 for the door";
  return false;
}

bool RoutedNetwork::build_host(int subnet, int index, std::string& why_not) {
  const SubnetSpec& spec = subnets_[subnet];
  Host host;
  host.subnet = subnet;
  host.index = index;
  const int i = size();
  host.netns = tag_ + "-h" + std::to_string(i);
  host.cable = "h" + std::to_string(i);
  if (spec.ipv4) host.ipv4 = v4_prefix(subnet) + std::to_string(10 + index);
  if (spec.ipv6) host.ipv6 = canonical(v6_prefix(subnet) + std::to_string(10 + index));
  if (run_quietly({"ip", "netns", "add", host.netns}) != 0) {
    why_not = "cannot create namespace " + host.netns;
    return false;
  }
  namespaces_.push_back(host.netns);
  hosts_.push_back(host);
  // Set before eth0 exists, so it is born with them: no duplicate-address wait
  // (tentative addresses can't be bound), no IPv6 at all on an IPv4-only subnet.
  // promote_secondaries: change_ip() adds the new address before removing the old,
  // and without it removing the first address of a subnet removes the others too.
  Sysctls sysctls = {{"net/ipv6/conf/default/accept_dad", "0"},
                     {"net/ipv6/conf/all/accept_dad", "0"},
                     {"net/ipv4/conf/default/promote_secondaries", "1"},
                     {"net/ipv4/conf/all/promote_secondaries", "1"}};
  if (!spec.ipv6) sysctls.push_back({"net/ipv6/conf/default/disable_ipv6", "1"});
  if (!write_routed_sysctls(host.netns, sysctls, why_not)) return false;
  bool ok = all_routed_ok({run_in(switch_, {"ip", "link", "add", host.cable, "type", "veth", "peer", "name", kHostInterface,
                                     "netns", host.netns}),
                    run_in(switch_, {"ip", "link", "set", host.cable, "master", "br" + std::to_string(subnet)}),
                    run_in(switch_, {"ip", "link", "set", host.cable, "up"}),
                    run_in(host.netns, {"ip", "link", "set", "lo", "up"})});
  if (ok && spec.ipv4)
    ok = all_routed_ok({run_in(host.netns, {"ip", "addr", "add", host.ipv4 + "/24", "brd", "+", "dev", kHostInterface})});
  if (ok && spec.ipv6)
    ok = run_in(host.netns, {"ip", "addr", "add", host.ipv6 + "/64", "dev", kHostInterface, "nodad"}) == 0;
  ok = ok && run_in(host.netns, {"ip", "link", "set", kHostInterface, "up"}) == 0;
  if (ok && spec.ipv4)
    ok = run_in(host.netns, {"ip", "route", "add", "default", "via", v4_prefix(subnet) + "1"}) == 0;
  if (ok && spec.ipv6)
    ok = run_in(host.netns, {"ip", "-6", "route", "add", "default", "via", v6_prefix(subnet) + "1"}) == 0;
  if (!ok) why_not = "cannot set up host namespace " + host.netns;
  return ok;
}

RoutedNetwork::~RoutedNetwork() {
  processes_.stop_all();  // before their namespaces go
  for (int i = 0; i < size(); ++i)
    if (hosts_[i].drops) clear_drops(i);
  for (auto it = namespaces_.rbegin(); it != namespaces_.rend(); ++it) run_quietly({"ip", "netns", "del", *it});
  // Gone with the router's namespace already (its peer was there); this is for a
  // door whose peer never got there. The root routes went with the door.
  if (!door_.empty()) run_quietly({"ip", "link", "del", door_});
}

bool RoutedNetwork::set_link(int host, bool up) {
  return run_in(switch_, {"ip", "link", "set", hosts_[host].cable, up ? "up" : "down"}) == 0;
}

bool RoutedNetwork::change_ip(int host, const std::string& new_ip_text) {
  Host& h = hosts_[host];
  const std::string new_ip = canonical(new_ip_text);
  const bool v6 = new_ip.find(':') != std::string::npos;
  std::string& current = v6 ? h.ipv6 : h.ipv4;
  if (current.empty()) return false;  // no address of that family to replace
  const std::string old_ip = current;
  const std::string length = v6 ? "/64" : "/24";
  const std::string gateway = (v6 ? v6_prefix(h.subnet) : v4_prefix(h.subnet)) + "1";
  std::vector<std::string> add = {"ip", "addr", "add", new_ip + length, "dev", kHostInterface};
  if (v6) add.push_back("nodad");
  else add.insert(add.end(), {"brd", "+"});
  // Added before the old one goes, so the interface never lacks an address of the
  // family (which would take the default route with it); the route is put back anyway.
  const bool ok = all_routed_ok({run_in(h.netns, add),
                          run_in(h.netns, {"ip", "addr", "del", old_ip + length, "dev", kHostInterface}),
                          run_in(h.netns, {"ip", v6 ? "-6" : "-4", "route", "replace", "default", "via", gateway})});
  if (!ok) return false;
  current = new_ip;
  // Whoever cached the old owner's MAC for either address forgets it.
  std::vector<std::string> neighbours = {router_};
  for (int other : hosts_in(h.subnet)) neighbours.push_back(hosts_[other].netns);
  for (const auto& ns : neighbours)
    for (const auto& ip : {old_ip, new_ip}) run_in(ns, {"ip", "neigh", "flush", "to", ip});
  return true;
}

std::string RoutedNetwork::unused_ip(int host, bool v6) const {
  const int subnet = hosts_[host].subnet;
  const std::string prefix = v6 ? v6_prefix(subnet) : v4_prefix(subnet);
  for (int last = 100; last < 250; ++last) {
    const std::string candidate = canonical(prefix + std::to_string(last));
    bool held = false;
    for (const auto& h : hosts_) held = held || h.ipv4 == candidate || h.ipv6 == candidate;
    if (!held) return candidate;
  }
  return "";
}

bool RoutedNetwork::drop_tcp_to(int host, const std::string& ip, int port) {
  Host& h = hosts_[host];
  const bool v6 = ip.find(':') != std::string::npos;
  // nft joins its arguments with spaces, so each token is its own argument.
  const bool ok = all_routed_ok(
      {run_in(h.netns, {"nft", "add", "table", "inet", kDropTable}),
       run_in(h.netns, {"nft", "add", "chain", "inet", kDropTable, kDropChain, "{", "type", "filter", "hook", "output",
                        "priority", "0", ";", "policy", "accept", ";", "}"}),
       run_in(h.netns, {"nft", "add", "rule", "inet", kDropTable, kDropChain, v6 ? "ip6" : "ip", "daddr", ip, "tcp",
                        "dport", std::to_string(port), "tcp", "flags", "&", "(syn", "|", "ack)", "==", "syn", "drop"})});
  h.drops = h.drops || ok;
  return ok;
}

bool RoutedNetwork::clear_drops(int host) {
  Host& h = hosts_[host];
  if (!h.drops) return true;
  const bool ok = run_in(h.netns, {"nft", "delete", "table", "inet", kDropTable}) == 0;
  if (ok) h.drops = false;
  return ok;
}

pid_t RoutedNetwork::spawn(int host, const std::vector<std::string>& argv, const std::string& log_file) {
  return processes_.spawn(hosts_[host].netns, argv, log_file);
}

}  // namespace datafold::net::testing
