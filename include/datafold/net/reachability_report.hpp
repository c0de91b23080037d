// What a node knows of how others reach it (DESIGN.md section 10.3): whether peers
// that dialled it back got through, the relays it holds reservations at, and, on a
// relay, what it carries for others. NetworkCore::reachability().
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "datafold/net/config.hpp"

namespace datafold::net {

enum class ReachabilityStatus {
  Unknown,      // no peer has dialled it back lately
  Reachable,    // a peer got through
  Unreachable,  // peers tried and none got through
};

// "unknown", "reachable", "unreachable".
std::string_view to_string(ReachabilityStatus status) noexcept;

struct RelayServiceStats {
  bool enabled = false;  // NetworkConfig::relay
  std::uint64_t reservations = 0;
  std::uint64_t circuits_running = 0;
  std::uint64_t circuits_opened = 0;
  std::uint64_t circuits_refused = 0;   // no reservation, a limit, or the node's memory budget spent
  std::uint64_t circuits_cut = 0;       // by the byte or time limit
  std::uint64_t reservations_refused = 0;
  std::uint64_t bytes_relayed = 0;
  RelayLimits limits;  // what it enforces
};

struct ReachabilityReport {
  ReachabilityStatus status = ReachabilityStatus::Unknown;
  // Where peers reached it ("ip:port").
  std::vector<std::string> reachable_addresses;
  // Its relayed addresses (relay:<relay id>@<host:port>), one per reservation held.
  std::vector<std::string> relayed_addresses;
  RelayServiceStats relay;
};

}  // namespace datafold::net
