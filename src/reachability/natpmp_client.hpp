// NAT-PMP (RFC 6886) through libnatpmp: requests to the default gateway on UDP 5351,
// each answered or given up at its deadline (a select loop; libnatpmp resends).
#pragma once

#include "reachability/gateway_client.hpp"

namespace datafold::net::reachability {

class NatPmpClient final : public GatewayClient {
 public:
  MappingProtocol protocol() const override { return MappingProtocol::NatPmp; }
  NetworkResult<GrantedMapping> map(const MappingRequest& request, Clock::time_point deadline) override;
  NetworkResult<void> unmap(const GrantedMapping& mapping, std::uint16_t internal_port,
                            Clock::time_point deadline) override;
};

}  // namespace datafold::net::reachability
