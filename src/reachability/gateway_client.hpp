// GatewayClient: one port mapping protocol spoken to the node's gateway (UPnP IGD,
// NAT-PMP). Thin, blocking adapters around the C libraries; every call returns by
// its deadline (give or take a library's own socket timeout) and runs on the
// PortMapper's thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "datafold/net/error.hpp"
#include "reachability/mapping_schedule.hpp"

namespace datafold::net::reachability {

struct MappingRequest {
  std::uint16_t internal_port = 0;
  std::uint16_t external_port = 0;  // wanted; the gateway may grant another
  std::chrono::seconds lease{3600};
  std::string description = "datafold";
};

class GatewayClient {
 public:
  virtual ~GatewayClient() = default;
  virtual MappingProtocol protocol() const = 0;
  // Maps TCP `request.external_port` on the gateway to this host's `internal_port`
  // (or renews that mapping). Connection error if no gateway answers by `deadline`,
  // Discovery error if none speaks the protocol, Protocol error if it refuses.
  virtual NetworkResult<GrantedMapping> map(const MappingRequest& request, Clock::time_point deadline) = 0;
  // Removes a mapping this client made.
  virtual NetworkResult<void> unmap(const GrantedMapping& mapping, std::uint16_t internal_port,
                                    Clock::time_point deadline) = 0;
};

}  // namespace datafold::net::reachability
