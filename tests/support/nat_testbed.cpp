#include "support/nat_testbed.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "support/child_process.hpp"
#include "support/in_netns.hpp"
#include "support/netns_sweep.hpp"

namespace datafold::net::testing {

namespace {

const std::string kInterface = "eth0";
constexpr const char* kSweepPrefix = "dfnat-";
constexpr int kStunPort = 3478;

std::atomic<int> g_testbeds{0};

bool all_ok(std::initializer_list<int> statuses) {
  for (int s : statuses)
    if (s != 0) return false;
  return true;
}

// /proc/sys entries as seen from inside `netns`, written by a thread that joined it.
bool write_sysctls(const std::string& netns, const std::vector<std::pair<std::string, std::string>>& values,
                   std::string& why_not) {
  bool ok = true;
  const bool entered = run_in_netns(
      netns,
      [&] {
        for (const auto& [key, value] : values) {
          if (key.starts_with("net/ipv6/") && !std::filesystem::exists("/proc/sys/net/ipv6")) continue;
          std::ofstream out("/proc/sys/" + key);
          out << value;
          out.flush();
          if (!out) ok = false;
        }
      },
      why_not);
  if (entered && !ok) why_not = "cannot set sysctls in " + netns;
  return entered && ok;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream all;
  all << in.rdbuf();
  return all.str();
}

// Polls `ready` every 20 ms until it holds or `deadline` passes.
template <class Ready>
bool wait_until(Ready ready, std::chrono::milliseconds deadline) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < until) {
    if (ready()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return ready();
}

}  // namespace

std::optional<std::pair<int, std::string>> capture_in(const std::string& netns, const std::vector<std::string>& argv) {
  std::vector<std::string> full = {"ip", "netns", "exec", netns};
  full.insert(full.end(), argv.begin(), argv.end());
  int pipe_fds[2];
  if (::pipe(pipe_fds) != 0) return std::nullopt;
  std::vector<char*> args;  // built before fork(): the child of a threaded process may not allocate
  for (auto& a : full) args.push_back(a.data());
  args.push_back(nullptr);
  const pid_t test_pid = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    return std::nullopt;
  }
  if (pid == 0) {
    die_with_test(test_pid);
    ::dup2(pipe_fds[1], STDOUT_FILENO);
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  ::close(pipe_fds[1]);
  std::string out;
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::read(pipe_fds[0], buffer, sizeof buffer);
    if (n <= 0) break;
    out.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(pipe_fds[0]);
  int status = 0;
  if (::waitpid(pid, &status, 0) < 0) return std::nullopt;
  return std::make_pair(WIFEXITED(status) ? WEXITSTATUS(status) : -1, out);
}

const std::string& NatTestbed::interface() { return kInterface; }

bool NatTestbed::available(bool with_upnp, std::string& why_not) {
  if (::geteuid() != 0) {
    why_not = "network namespaces need root";
    return false;
  }
  if (run_quietly({"ip", "-V"}) != 0) {
    why_not = "iproute2 ('ip') is not installed";
    return false;
  }
  if (run_quietly({"nft", "--version"}) != 0) {
    why_not = "nftables ('nft') is not installed";
    return false;
  }
  if (with_upnp && (run_quietly({"sh", "-c", "command -v miniupnpd"}) != 0 ||
                    run_quietly({"sh", "-c", "command -v stund"}) != 0 || run_quietly({"ss", "-V"}) != 0)) {
    why_not = "a Upnp gateway needs miniupnpd (miniupnpd-nftables), stund (stun-server) and ss (iproute2)";
    return false;
  }
  return true;
}

std::unique_ptr<NatTestbed> NatTestbed::create(int public_hosts, const std::vector<PrivateNetworkSpec>& networks,
                                               std::string& why_not) {
  bool upnp = false;
  for (const auto& n : networks) upnp = upnp || n.kind == GatewayKind::Upnp;
  if (!available(upnp, why_not)) return nullptr;
  if (public_hosts < 0 || public_hosts > 40 || networks.size() > 40) {
    why_not = "0 to 40 public hosts, at most 40 private networks";
    return nullptr;
  }
  for (const auto& n : networks)
    if (n.hosts < 1 || n.hosts > 8) {
      why_not = "each private network: 1 to 8 hosts";
      return nullptr;
    }
  sweep_netns_of_dead_processes(kSweepPrefix);
  std::unique_ptr<NatTestbed> bed(new NatTestbed());
  if (!bed->build(public_hosts, networks, why_not)) return nullptr;  // the destructor removes the part built
  return bed;
}

std::string NatTestbed::prefix(int subnet) const {
  return "10." + std::to_string(a_) + "." + std::to_string(subnet) + ".";
}

bool NatTestbed::add_namespace(const std::string& name, std::string& why_not) {
  if (run_quietly({"ip", "netns", "add", name}) != 0) {
    why_not = "cannot create namespace " + name + " (no CAP_SYS_ADMIN?)";
    return false;
  }
  namespaces_.push_back(name);
  // IPv4 only: no IPv6 chatter, no duplicate-address waits. Set before any link
  // exists, so every link is born with it.
  return write_sysctls(name, {{"net/ipv6/conf/default/disable_ipv6", "1"}, {"net/ipv6/conf/all/disable_ipv6", "1"}},
                       why_not);
}

bool NatTestbed::add_host(const std::string& name, const std::string& bridge, const std::vector<std::string>& ips,
                          const std::string& gateway, std::string& why_not) {
  if (!add_namespace(name, why_not)) return false;
  const std::string cable = "c" + std::to_string(namespaces_.size());
  bool ok = all_ok({run_in(switch_, {"ip", "link", "add", cable, "type", "veth", "peer", "name", kInterface, "netns", name}),
                    run_in(switch_, {"ip", "link", "set", cable, "master", bridge}),
                    run_in(switch_, {"ip", "link", "set", cable, "up"}),
                    run_in(name, {"ip", "link", "set", "lo", "up"})});
  for (const auto& ip : ips) ok = ok && run_in(name, {"ip", "addr", "add", ip + "/24", "dev", kInterface}) == 0;
  ok = ok && run_in(name, {"ip", "link", "set", kInterface, "up"}) == 0;
  if (ok && !gateway.empty()) ok = run_in(name, {"ip", "route", "add", "default", "via", gateway}) == 0;
  if (!ok) why_not = "cannot set up host namespace " + name;
  return ok;
}

bool NatTestbed::build(int public_hosts, const std::vector<PrivateNetworkSpec>& specs, std::string& why_not) {
  std::random_device rd;
  // 10.A.x.x with A in 150..199: apart from RoutedNetwork's 200..249. Nothing here
  // is routed from the test's namespace, so two testbeds may even share A.
  a_ = 150 + static_cast<int>(rd() % 50);
  tag_ = std::string(kSweepPrefix) + std::to_string(::getpid()) + "-" + std::to_string(g_testbeds.fetch_add(1));
  char pattern[] = "/tmp/datafold-nat-XXXXXX";
  if (::mkdtemp(pattern) == nullptr) {
    why_not = "mkdtemp failed";
    return false;
  }
  dir_ = pattern;
  switch_ = tag_ + "-sw";
  if (!add_namespace(switch_, why_not)) return false;
  // mcast_snooping off: the bridge floods multicast (SSDP) to every port, as a plain switch does.
  if (!all_ok({run_in(switch_, {"ip", "link", "add", "pub", "type", "bridge", "mcast_snooping", "0"}),
               run_in(switch_, {"ip", "link", "set", "pub", "up"})})) {
    why_not = "cannot make the public bridge";
    return false;
  }
  for (int i = 0; i < public_hosts; ++i) {
    Host host{-1, tag_ + "-p" + std::to_string(i), prefix(0) + std::to_string(10 + i)};
    if (!add_host(host.netns, "pub", {host.ip}, "", why_not)) return false;
    hosts_.push_back(host);
  }
  bool stun = false;
  for (const auto& s : specs) stun = stun || s.kind == GatewayKind::Upnp;
  if (stun && !start_stun(why_not)) return false;
  for (int k = 0; k < static_cast<int>(specs.size()); ++k) {
    Network network;
    network.spec = specs[k];
    networks_.push_back(network);
    if (specs[k].kind == GatewayKind::None) {
      for (int j = 0; j < specs[k].hosts; ++j) {
        Host host{k, tag_ + "-n" + std::to_string(k) + "h" + std::to_string(j),
                  prefix(0) + std::to_string(50 + 8 * k + j)};
        if (!add_host(host.netns, "pub", {host.ip}, "", why_not)) return false;
        hosts_.push_back(host);
      }
      continue;
    }
    if (!build_gateway(k, why_not)) return false;
    for (int j = 0; j < specs[k].hosts; ++j) {
      Host host{k, tag_ + "-n" + std::to_string(k) + "h" + std::to_string(j),
                prefix(k + 1) + std::to_string(10 + j)};
      if (!add_host(host.netns, networks_[k].bridge, {host.ip}, networks_[k].lan_ip, why_not)) return false;
      hosts_.push_back(host);
    }
    if (specs[k].kind == GatewayKind::Upnp && !start_miniupnpd(k, why_not)) return false;
  }
  return true;
}

bool NatTestbed::start_stun(std::string& why_not) {
  stun_ = tag_ + "-stun";
  const std::string primary = prefix(0) + "2", secondary = prefix(0) + "3";
  if (!add_host(stun_, "pub", {primary, secondary}, "", why_not)) return false;
  // stund answers CHANGE-REQUEST from its second address and port: what miniupnpd's
  // NAT test needs to call the NAT usable.
  processes_.spawn(stun_, {"stund", "-h", primary, "-a", secondary, "-p", std::to_string(kStunPort), "-o",
                           std::to_string(kStunPort + 1)},
                   dir_ + "/stund.log");
  const bool up = wait_until(
      [&] {
        const auto sockets = capture_in(stun_, {"ss", "-Hlun"});
        return sockets && sockets->second.find(":" + std::to_string(kStunPort)) != std::string::npos;
      },
      std::chrono::seconds(5));
  if (!up) why_not = "stund did not start: " + read_file(dir_ + "/stund.log");
  return up;
}

bool NatTestbed::build_gateway(int k, std::string& why_not) {
  Network& network = networks_[k];
  network.gateway = tag_ + "-g" + std::to_string(k);
  network.bridge = "lan" + std::to_string(k);
  network.wan_ip = prefix(0) + std::to_string(100 + k);
  network.lan_ip = prefix(k + 1) + "1";
  const std::string& g = network.gateway;
  if (!add_namespace(g, why_not)) return false;
  if (!write_sysctls(g, {{"net/ipv4/ip_forward", "1"}}, why_not)) return false;
  const std::string wan_cable = "w" + std::to_string(k), lan_cable = "l" + std::to_string(k);
  const bool wired = all_ok({
      run_in(switch_, {"ip", "link", "add", network.bridge, "type", "bridge", "mcast_snooping", "0"}),
      run_in(switch_, {"ip", "link", "set", network.bridge, "up"}),
      run_in(switch_, {"ip", "link", "add", wan_cable, "type", "veth", "peer", "name", "wan", "netns", g}),
      run_in(switch_, {"ip", "link", "set", wan_cable, "master", "pub"}),
      run_in(switch_, {"ip", "link", "set", wan_cable, "up"}),
      run_in(switch_, {"ip", "link", "add", lan_cable, "type", "veth", "peer", "name", "lan", "netns", g}),
      run_in(switch_, {"ip", "link", "set", lan_cable, "master", network.bridge}),
      run_in(switch_, {"ip", "link", "set", lan_cable, "up"}),
      run_in(g, {"ip", "link", "set", "lo", "up"}),
      run_in(g, {"ip", "addr", "add", network.wan_ip + "/24", "dev", "wan"}),
      run_in(g, {"ip", "addr", "add", network.lan_ip + "/24", "dev", "lan"}),
      run_in(g, {"ip", "link", "set", "wan", "up"}),
      run_in(g, {"ip", "link", "set", "lan", "up"}),
  });
  if (!wired) {
    why_not = "cannot wire gateway " + g;
    return false;
  }
  // One table, family inet (miniupnpd's nftables backend writes only there): its
  // three chains, jumped to from the base chains, the masquerade, and the drop of
  // unsolicited inbound connections after the jump to miniupnpd's forward chain.
  const bool symmetric = network.spec.kind == GatewayKind::Symmetric;
  const std::string rules =
      "table inet gw {\n"
      "  chain miniupnpd {\n  }\n"
      "  chain prerouting_miniupnpd {\n  }\n"
      "  chain postrouting_miniupnpd {\n  }\n"
      "  chain pre {\n"
      "    type nat hook prerouting priority dstnat; policy accept;\n"
      "    jump prerouting_miniupnpd\n"
      "  }\n"
      "  chain post {\n"
      "    type nat hook postrouting priority srcnat; policy accept;\n"
      "    jump postrouting_miniupnpd\n"
      "    oifname \"wan\" masquerade" + std::string(symmetric ? " fully-random" : "") + "\n"
      "  }\n"
      "  chain filt {\n"
      "    type filter hook forward priority filter; policy accept;\n"
      "    iifname \"wan\" jump miniupnpd\n"
      "    iifname \"wan\" ct state new drop\n"
      "  }\n"
      // A SYN to an unmapped port is the gateway's own to answer: dropped too, so it
      // vanishes instead of drawing a reset (a reset would also spoil a hole punch
      // whose SYN arrives before the far side's). TCP only: miniupnpd's NAT test
      // needs the STUN server's answers from its other address and port.
      "  chain inp {\n"
      "    type filter hook input priority filter; policy accept;\n"
      "    iifname \"wan\" meta l4proto tcp ct state new drop\n"
      "  }\n"
      "}\n";
  const std::string file = dir_ + "/" + g + ".nft";
  std::ofstream(file) << rules;
  if (run_in(g, {"nft", "-f", file}) != 0) {
    why_not = "nft refused the gateway rules of " + g;
    return false;
  }
  return true;
}

bool NatTestbed::start_miniupnpd(int k, std::string& why_not) {
  Network& network = networks_[k];
  const std::string conf = dir_ + "/" + network.gateway + "-miniupnpd.conf";
  network.miniupnpd_log = dir_ + "/" + network.gateway + "-miniupnpd.log";
  char uuid[40];
  std::snprintf(uuid, sizeof uuid, "3d3cec3a-8cf0-11e0-98ee-%012x", static_cast<unsigned>(::getpid() * 64 + k));
  std::ofstream(conf) << "ext_ifname=wan\n"
                      << "listening_ip=lan\n"
                      << "http_port=0\n"
                      << "enable_natpmp=" << (network.spec.natpmp ? "yes" : "no") << "\n"
                      << "enable_upnp=" << (network.spec.upnp ? "yes" : "no") << "\n"
                      << "secure_mode=yes\n"
                      << "system_uptime=yes\n"
                      << "uuid=" << uuid << "\n"
                      // Its wan address is private (test addresses stay private), which
                      // miniupnpd takes for a NAT in front of it unless STUN says otherwise.
                      << "ext_perform_stun=yes\n"
                      << "ext_stun_host=" << prefix(0) << "2\n"
                      << "ext_stun_port=" << kStunPort << "\n"
                      << "upnp_table_name=gw\n"
                      << "upnp_nat_table_name=gw\n"
                      << "upnp_forward_chain=miniupnpd\n"
                      << "upnp_nat_chain=prerouting_miniupnpd\n"
                      << "upnp_nat_postrouting_chain=postrouting_miniupnpd\n"
                      << "allow 1024-65535 " << prefix(k + 1) << "0/24 1024-65535\n"
                      << "deny 0-65535 0.0.0.0/0 0-65535\n";
  processes_.spawn(network.gateway,
                   {"miniupnpd", "-f", conf, "-d", "-P", dir_ + "/" + network.gateway + "-miniupnpd.pid"},
                   network.miniupnpd_log);
  const bool ready = wait_until(
      [&] {
        const auto log = read_file(network.miniupnpd_log);
        return log.find("Port forwarding is now enabled") != std::string::npos ||
               log.find("Port forwarding is impossible") != std::string::npos;
      },
      std::chrono::seconds(15));
  const auto log = read_file(network.miniupnpd_log);
  if (!ready || log.find("Port forwarding is now enabled") == std::string::npos) {
    why_not = "miniupnpd in " + network.gateway + " did not enable port forwarding: " + log.substr(0, 2000);
    return false;
  }
  // Its sockets open right after the NAT test: wait for the ones it was told to use.
  const bool listening = wait_until(
      [&] {
        const auto udp = capture_in(network.gateway, {"ss", "-Hlun"});
        const auto tcp = capture_in(network.gateway, {"ss", "-Hltn"});
        const bool natpmp = !network.spec.natpmp || (udp && udp->second.find(":5351") != std::string::npos);
        const bool upnp = !network.spec.upnp || (udp && udp->second.find(":1900") != std::string::npos && tcp &&
                                                 (tcp->second.find(network.lan_ip + ":") != std::string::npos ||
                                                  tcp->second.find("%lan:") != std::string::npos));
        return natpmp && upnp;
      },
      std::chrono::seconds(5));
  if (!listening) {
    const auto udp = capture_in(network.gateway, {"ss", "-Hlun"});
    const auto tcp = capture_in(network.gateway, {"ss", "-Hltn"});
    why_not = "miniupnpd in " + network.gateway + " is not listening (udp: " + (udp ? udp->second : "?") +
              "; tcp: " + (tcp ? tcp->second : "?") + "): " + read_file(network.miniupnpd_log).substr(0, 3000);
  }
  return listening;
}

NatTestbed::~NatTestbed() {
  processes_.stop_all();  // before their namespaces go
  for (auto it = namespaces_.rbegin(); it != namespaces_.rend(); ++it) run_quietly({"ip", "netns", "del", *it});
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

std::vector<int> NatTestbed::public_hosts() const {
  std::vector<int> out;
  for (int i = 0; i < size(); ++i)
    if (hosts_[i].network < 0) out.push_back(i);
  return out;
}

std::vector<int> NatTestbed::hosts_in(int network) const {
  std::vector<int> out;
  for (int i = 0; i < size(); ++i)
    if (hosts_[i].network == network) out.push_back(i);
  return out;
}

std::optional<std::vector<std::string>> NatTestbed::upnp_redirects(int network) const {
  if (networks_[network].spec.kind != GatewayKind::Upnp) return std::nullopt;
  const auto listed = capture_in(networks_[network].gateway, {"nft", "list", "chain", "inet", "gw", "prerouting_miniupnpd"});
  if (!listed || listed->first != 0) return std::nullopt;
  std::vector<std::string> out;
  std::istringstream lines(listed->second);
  for (std::string line; std::getline(lines, line);)
    if (line.find("dnat") != std::string::npos) out.push_back(line);
  return out;
}

std::string NatTestbed::miniupnpd_log(int network) const {
  return networks_[network].miniupnpd_log.empty() ? "" : read_file(networks_[network].miniupnpd_log);
}

pid_t NatTestbed::spawn(int host, const std::vector<std::string>& argv, const std::string& log_file) {
  return processes_.spawn(hosts_[host].netns, argv, log_file);
}

}  // namespace datafold::net::testing
