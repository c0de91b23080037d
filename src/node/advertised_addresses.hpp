// The addresses a node puts in its announcements where no datagram source can
// stand in for them (the DHT: a value read there says nothing of where it came
// from), so each must be one a peer can dial.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "datafold/net/node_info.hpp"

namespace datafold::net::detail {

struct InterfaceAddress {
  std::string interface;  // "eth0"
  std::string ip;         // "10.0.0.5", "fd00::5", "fe80::1" (no scope)
  bool loopback = false;
};

// Every address of every interface that is up, IPv4 and IPv6.
std::vector<InterfaceAddress> list_interface_addresses();

// "ip:port" for each address a node listening on `listen_ip`:`port` can be
// dialled at: a specific listen address is the one; "0.0.0.0" is every IPv4
// address, "::" every IPv4 and IPv6 address; loopback only when there is nothing
// else (or it is the listen address); IPv6 link-local never (its scope means
// nothing to a reader elsewhere). `extra_ips` (observed public addresses, a
// mapping) follow, without duplicates. At most `limit` entries.
std::vector<std::string> addresses_to_announce(std::string_view listen_ip, std::uint16_t port,
                                               const std::vector<InterfaceAddress>& interfaces,
                                               const std::vector<std::string>& extra_ips, std::size_t limit);

// The node's own addresses as it announces them in the DHT, each with its source:
// the gateway's mapping first (`mapped`, "ip:port", "" for none: the address a
// reader elsewhere can use), then addresses_to_announce()'s (interfaces as `Lan`,
// the believed observed IPs as `PeerReport`). At most `limit` entries.
std::vector<NodeAddress> own_addresses(std::string_view listen_ip, std::uint16_t port,
                                       const std::vector<InterfaceAddress>& interfaces,
                                       const std::vector<std::string>& observed_ips, const std::string& mapped,
                                       std::size_t limit);

}  // namespace datafold::net::detail
