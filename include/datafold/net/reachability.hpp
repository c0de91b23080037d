// Port mapping on the node's gateway (UPnP IGD or NAT-PMP), as NetworkCore::port_mapping()
// reports it. See NetworkConfig::port_mapping.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace datafold::net {

// Which protocol the gateway answered.
enum class MappingProtocol {
  Upnp,    // UPnP IGD (miniupnpc)
  NatPmp,  // NAT-PMP (libnatpmp)
};

// "upnp", "nat-pmp".
std::string_view to_string(MappingProtocol protocol) noexcept;

struct PortMappingStatus {
  // NetworkConfig::port_mapping is on and the node is started and accepting connections.
  bool enabled = false;
  // A gateway holds a mapping of the listen port now.
  bool active = false;
  std::optional<MappingProtocol> protocol;  // set while active
  std::string external_address;             // "ip:port" on the gateway's outside, while active
  // When the gateway drops the mapping unless it is renewed (it is renewed at half
  // the lease); the epoch for a lease without end.
  std::chrono::system_clock::time_point lease_expiry{};
  // Why there is no mapping (or why the last renewal failed); "" when none failed.
  std::string last_error;
  // Attempts (mapping or renewing) that failed since the node started.
  std::uint64_t failures = 0;
};

}  // namespace datafold::net
