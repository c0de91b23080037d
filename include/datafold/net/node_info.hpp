// NodeInfo: what this node knows about another.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "datafold/net/node_id.hpp"
#include "datafold/net/public_key.hpp"

namespace datafold::net {

struct NodeCapabilities {
  bool supports_query = true;
  bool supports_schema_listing = true;

  friend bool operator==(const NodeCapabilities&, const NodeCapabilities&) = default;
};

enum class NodeHealth {
  Unknown,      // known, never connected
  Healthy,      // connected, or recently heard from
  Unreachable,  // the last dial or connection failed
};

std::string_view to_string(NodeHealth health) noexcept;

struct NodeInfo {
  NodeId node_id;
  PublicKey public_key;            // empty until the node has been seen
  std::string address;             // "host:port" to dial
  std::uint32_t trust_distance = 0;
  NodeCapabilities capabilities;
  std::chrono::system_clock::time_point last_seen{};
  std::uint32_t protocol_version = 0;  // negotiated; 0 until connected
  NodeHealth health = NodeHealth::Unknown;
  // Dials to it that failed in a row; 0 once one succeeds or it announces itself.
  std::uint32_t failed_dials = 0;
  // Round-trip time of the last ping on the live connection, if there is one.
  std::optional<std::chrono::microseconds> rtt;
};

}  // namespace datafold::net
