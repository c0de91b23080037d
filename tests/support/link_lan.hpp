// LinkLan: hosts as Linux network namespaces on one link (a bridge in a switch
// namespace of its own, so nothing touches the test machine's own namespace),
// IPv6 on, IPv4 optional: the topology for IPv6-only and dual-stack LAN tests.
// Needs root; create() says why not when it can't, so tests report skipped.
//
// Addresses: host i has its automatic link-local fe80:: address, fd77::<i+10>/64
// (a ULA, the "global" address) and, with ipv4, 10.77.0.<i+10>/24. Duplicate
// address detection is off, so addresses are usable at once. No host has a route
// anywhere else. Everything is removed by the destructor, even when a test fails.
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace datafold::net::testing {

class LinkLan {
 public:
  struct Options {
    int hosts = 2;
    bool ipv4 = false;
  };
  // nullptr and `why_not` filled when the namespaces cannot be made here.
  static std::unique_ptr<LinkLan> create(Options options, std::string& why_not);
  ~LinkLan();

  LinkLan(const LinkLan&) = delete;
  LinkLan& operator=(const LinkLan&) = delete;

  int size() const { return static_cast<int>(hosts_.size()); }
  const std::string& netns(int host) const { return hosts_[host].netns; }
  // The host's interface on the link, inside its namespace.
  const std::string& interface(int host) const { return hosts_[host].inner; }
  // "fd77::10"; "" for IPv4 when the LAN has none.
  const std::string& ipv6(int host) const { return hosts_[host].ipv6; }
  const std::string& ipv4(int host) const { return hosts_[host].ipv4; }
  // "fe80::...%<interface>" as the host itself names its link-local address.
  const std::string& link_local(int host) const { return hosts_[host].link_local; }

 private:
  struct Host {
    std::string netns, inner, outer, ipv6, ipv4, link_local;
  };
  LinkLan() = default;
  bool build(const Options& options, std::string& why_not);

  std::string switch_netns_;
  std::vector<Host> hosts_;
};

}  // namespace datafold::net::testing
