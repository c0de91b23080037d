// The interfaces discovery announces on: IPv4 (multicast and broadcast) and IPv6
// (link-local multicast, per interface index).
#pragma once

#include <string>
#include <vector>

#include "datafold/net/error.hpp"

namespace datafold::net::discovery {

struct LanIpv4 {
  std::string address;    // "192.168.1.7"
  std::string netmask;    // "255.255.255.0"
  std::string broadcast;  // its directed broadcast address, or "" if none
};

struct LanInterface {
  std::string name;    // "eth0"
  unsigned index = 0;  // the kernel's interface index: IPv6 multicast joins and sends by it
  std::vector<LanIpv4> ipv4;
  // "2001:db8::7", and link-local ones with this interface as scope: "fe80::1%eth0".
  std::vector<std::string> ipv6;
  bool loopback = false;
  bool multicast_v4 = false;  // IPv4 multicast works here (on lo too, with an explicit outbound interface)
  bool multicast_v6 = false;  // IPv6 multicast works here (never on lo: Linux has no multicast route there)

  // The first IPv4 address, "" on an IPv6-only interface.
  const std::string& address() const;
  // "eth0 (192.168.1.7, fe80::1%eth0)"
  std::string describe() const;
};

// `wanted` empty: every up interface, loopback excepted, that has an IPv4 address it
// can multicast or broadcast from, or an IPv6 address and multicast. Otherwise those
// whose name or one of whose addresses (IPv4 or IPv6, scope ignored) is listed,
// loopback included when named. Config error if something listed matches nothing,
// or nothing is left.
NetworkResult<std::vector<LanInterface>> select_interfaces(const std::vector<std::string>& wanted);

// The addresses of `lans` a node listening on `listen_address` can be reached at,
// for its announcements: "::" every IPv4 and IPv6 address, "0.0.0.0" every IPv4
// one, another address just that one, "" none (receivers then take the
// datagram's source). IPv4 first, then IPv6, link-local IPv6 last (a receiver can
// use one only on the link it shares with the sender).
std::vector<std::string> addresses_to_announce(const std::vector<LanInterface>& lans, const std::string& listen_address);

// The interface of `lans` whose IPv4 subnet holds `ipv4` (where a datagram from it
// arrived); "" if none or `ipv4` is not IPv4.
std::string interface_for_ipv4_source(const std::vector<LanInterface>& lans, const std::string& ipv4);

}  // namespace datafold::net::discovery
