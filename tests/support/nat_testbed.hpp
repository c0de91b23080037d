// NatTestbed: a public segment and private networks behind NAT gateways, each a
// network namespace, for the NAT tests of issue 11 (DESIGN.md section 13).
//
//   switch namespace   dfnat-<pid>-<n>-sw    bridges pub (the public segment) and lan<k>
//   public host i      dfnat-<pid>-<n>-p<i> eth0 on pub, 10.A.0.(10+i)
//   STUN host          dfnat-<pid>-<n>-stun eth0 on pub, 10.A.0.2 and 10.A.0.3 (stund; only
//                                         when a network has a Upnp gateway)
//   gateway k          dfnat-<pid>-<n>-g<k> wan on pub 10.A.0.(100+k), lan on lan<k> 10.A.(k+1).1
//   private host j     dfnat-<pid>-<n>-n<k>h<j>  eth0 on lan<k>, 10.A.(k+1).(10+j), default
//                                         route via its gateway
// (A: random per testbed.) A network of kind None has no gateway and no bridge of
// its own: its hosts sit on the public segment at 10.A.0.(50+8k+j).
//
// Gateways (nftables, one `table inet gw` each):
//   PortPreserving  oifname "wan" masquerade            (the source port survives when free)
//   Symmetric       oifname "wan" masquerade fully-random (a new port per connection)
//   Upnp            masquerade, plus a real miniupnpd (UPnP IGD and/or NAT-PMP on lan)
//                   that learns the NAT is usable from the STUN host, as
//                   shared/notes/nat-testbed.md says
// and every one drops unsolicited inbound connections (`iifname "wan" ct state new
// drop` in its forward chain, after the jump to miniupnpd's chain, and new TCP
// connections to the gateway itself from wan), as a home router does: no reset.
//
// Nothing leaves the testbed: no namespace has a default route out of it, no
// interface is made in the test's own namespace, public hosts have no route into
// the private networks. Needs root; create() says why not, so tests skip. The
// destructor kills every process started here and deletes every namespace (and with
// them every veth, bridge and nftables table); create() first deletes what dead
// runs left.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "support/netns_processes.hpp"

namespace datafold::net::testing {

enum class GatewayKind { None, PortPreserving, Upnp, Symmetric };

struct PrivateNetworkSpec {
  GatewayKind kind = GatewayKind::PortPreserving;
  int hosts = 1;
  // For Upnp: which protocols miniupnpd speaks.
  bool upnp = true;
  bool natpmp = true;
};

class NatTestbed {
 public:
  // False, and why not, when this machine cannot run a testbed (with Upnp
  // gateways: `with_upnp`): no root, or a tool missing. Tests then skip; a create()
  // that fails where available() holds is a failure.
  static bool available(bool with_upnp, std::string& why_not);
  // nullptr and `why_not` filled when the testbed cannot be made.
  static std::unique_ptr<NatTestbed> create(int public_hosts, const std::vector<PrivateNetworkSpec>& networks,
                                            std::string& why_not);
  ~NatTestbed();

  NatTestbed(const NatTestbed&) = delete;
  NatTestbed& operator=(const NatTestbed&) = delete;

  // Hosts are numbered public ones first, then each network's in order.
  int size() const { return static_cast<int>(hosts_.size()); }
  std::vector<int> public_hosts() const;
  std::vector<int> hosts_in(int network) const;
  int network_of(int host) const { return hosts_[host].network; }  // -1: a public host
  int network_count() const { return static_cast<int>(networks_.size()); }
  GatewayKind kind(int network) const { return networks_[network].spec.kind; }

  const std::string& netns(int host) const { return hosts_[host].netns; }
  const std::string& ip(int host) const { return hosts_[host].ip; }
  // The host's only interface.
  static const std::string& interface();
  // The gateway's namespace and its address on the public segment ("" for None).
  const std::string& gateway_netns(int network) const { return networks_[network].gateway; }
  const std::string& gateway_public_ip(int network) const { return networks_[network].wan_ip; }
  const std::string& gateway_private_ip(int network) const { return networks_[network].lan_ip; }

  // The DNAT rules miniupnpd holds now (its prerouting chain), one line each;
  // nullopt if they cannot be listed (not a Upnp network).
  std::optional<std::vector<std::string>> upnp_redirects(int network) const;
  // miniupnpd's output so far ("" for a network without one).
  std::string miniupnpd_log(int network) const;

  // Starts `argv` inside the host's namespace, stdout and stderr to `log_file`.
  pid_t spawn(int host, const std::vector<std::string>& argv, const std::string& log_file);
  NetnsProcesses& processes() { return processes_; }

 private:
  struct Host {
    int network = -1;
    std::string netns, ip;
  };
  struct Network {
    PrivateNetworkSpec spec;
    std::string gateway, wan_ip, lan_ip, bridge, miniupnpd_log;
  };

  NatTestbed() = default;
  bool build(int public_hosts, const std::vector<PrivateNetworkSpec>& networks, std::string& why_not);
  bool add_namespace(const std::string& name, std::string& why_not);
  // A namespace with eth0 on `bridge` at `ip`/24, default route via `gateway` if not "".
  bool add_host(const std::string& name, const std::string& bridge, const std::vector<std::string>& ips,
                const std::string& gateway, std::string& why_not);
  bool build_gateway(int k, std::string& why_not);
  bool start_stun(std::string& why_not);
  bool start_miniupnpd(int k, std::string& why_not);
  std::string prefix(int subnet) const;  // "10.A.k."

  int a_ = 0;
  std::string tag_;  // "dfnat-<pid>-<n>"
  std::string dir_;  // scratch files (miniupnpd configs, logs)
  std::string switch_, stun_;
  std::vector<Host> hosts_;
  std::vector<Network> networks_;
  std::vector<std::string> namespaces_;  // every one made, deleted in reverse
  NetnsProcesses processes_;             // declared last: its processes die before the namespaces go
};

// `argv` run inside `netns`: its exit status and stdout (nullopt if it could not run).
std::optional<std::pair<int, std::string>> capture_in(const std::string& netns, const std::vector<std::string>& argv);

}  // namespace datafold::net::testing
