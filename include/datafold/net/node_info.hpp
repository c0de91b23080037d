// NodeInfo: what this node knows about another.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "datafold/net/node_id.hpp"
#include "datafold/net/public_key.hpp"

namespace datafold::net {

struct NodeCapabilities {
  bool supports_query = true;
  bool supports_schema_listing = true;
  // Answers DialBack requests: checks, for a peer, whether it can be dialled back.
  // (Off in a default-made value; a running node says what it does.)
  bool dial_back = false;
  // Relays for nodes that cannot be dialled (NetworkConfig::relay; off by default).
  bool relay = false;
  // Takes part in hole punching over relayed connections.
  bool hole_punch = false;
  // Answers a query in parts under flow control when the asker asks it to (every
  // running node of this build does; off in a default-made value, as above).
  bool streamed_answers = false;

  friend bool operator==(const NodeCapabilities&, const NodeCapabilities&) = default;
};

enum class NodeHealth {
  Unknown,      // known, never connected
  Healthy,      // connected, or recently heard from
  Unreachable,  // the last dial or connection failed
};

std::string_view to_string(NodeHealth health) noexcept;

// Where an address of a node came from (DESIGN.md section 10.1).
enum class AddressSource {
  Lan,         // its LAN announcement (or the datagram's source)
  Dht,         // its signed announcement found in the DHT
  Bootstrap,   // configured as a bootstrap peer
  PeerReport,  // another node's report (an observed address, a relayed announcement)
  Mapped,      // a port mapping on its gateway
  Relay,       // a relayed address
  Manual,      // given by the user (add_known_node, `--peer`, a connect by address)
  Inbound,     // the address its connection to us came from, with its Hello's listen port
};

// "lan", "dht", "bootstrap", "peer", "mapped", "relay", "manual", "inbound".
std::string_view to_string(AddressSource source) noexcept;

// How a live connection to a node was made.
enum class ConnectionPath {
  Direct,       // a plain dial either way (LAN, DHT, bootstrap, manual, inbound)
  Mapped,       // dialled at the address of a port mapping on the node's gateway
  HolePunched,  // made by the hole-punch exchange over a relayed connection, which it replaced
  Relayed,      // through a circuit of a relay (NodeInfo::relayed_via)
};

// "direct", "mapped", "hole-punched", "relayed".
std::string_view to_string(ConnectionPath path) noexcept;

// One address a node may be dialled at.
struct NodeAddress {
  std::string address;  // "ip:port", "[v6]:port" ("[fe80::1%eth0]:port" keeps the scope), or "host:port"
  AddressSource source = AddressSource::Manual;
  std::chrono::system_clock::time_point last_seen{};     // when a source last gave it
  std::chrono::system_clock::time_point last_success{};  // last authenticated connection through it; epoch: never

  friend bool operator==(const NodeAddress&, const NodeAddress&) = default;
};

struct NodeInfo {
  NodeId node_id;
  PublicKey public_key;            // empty until the node has been seen
  std::string address;             // "host:port" to dial first (addresses.front().address), or ""
  // Every address it may be reached at, in the order a dial tries them.
  std::vector<NodeAddress> addresses;
  std::uint32_t trust_distance = 0;
  NodeCapabilities capabilities;
  std::chrono::system_clock::time_point last_seen{};
  std::uint32_t protocol_version = 0;  // negotiated; 0 until connected
  NodeHealth health = NodeHealth::Unknown;
  // Dials to it that failed in a row; 0 once one succeeds or it announces itself.
  std::uint32_t failed_dials = 0;
  // Round-trip time of the last ping on the live connection, if there is one.
  std::optional<std::chrono::microseconds> rtt;
  // While connected: how the connection was made; nullopt when not connected.
  std::optional<ConnectionPath> path;
  // While connected: the relay the connection runs through (its path is Relayed);
  // nullopt for a direct connection or none.
  std::optional<NodeId> relayed_via;
};

}  // namespace datafold::net
