// A node as a DHT lookup reports it: the NodeInfo a caller dials, built from the
// node's newest verified announcement, and the announcement itself.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "datafold/net/node_info.hpp"
#include "discovery/announcement.hpp"
#include "discovery/dht/dht_value_checker.hpp"

namespace datafold::net::discovery {

struct DhtFoundNode {
  // node_id, public_key, capabilities; addresses as announced (made dialable),
  // each with source Dht and last_seen = when it was read; address = the first.
  NodeInfo info;
  AnnouncementFields announcement;  // everything the node signed
};

// An announced address as "host:port" ("[v6]:port"): a bare host gets the
// announced TCP port. nullopt for an unspecified host (0.0.0.0, ::; a DHT value
// has no sender address to put in its place), a malformed one, or no port at all.
std::optional<std::string> dht_dialable_address(std::string_view announced, std::uint16_t tcp_port);

DhtFoundNode make_found_node(const AnnouncementFields& announcement, std::chrono::system_clock::time_point read_at);

// One entry per node with an Accepted value, in the order of `checks`; a node
// whose newest value is a goodbye (ttl 0) has left and is not listed.
std::vector<DhtFoundNode> found_nodes(const std::vector<DhtValueCheck>& checks,
                                      std::chrono::system_clock::time_point read_at);

}  // namespace datafold::net::discovery
