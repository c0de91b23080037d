// UPnP IGD through miniupnpc: SSDP discovery of the gateway (once, then its control
// URL is kept until a request to it fails), AddPortMapping / DeletePortMapping and
// GetExternalIPAddress over its SOAP control URL.
#pragma once

#include <memory>
#include <string>

#include "reachability/gateway_client.hpp"

namespace datafold::net::reachability {

class UpnpClient final : public GatewayClient {
 public:
  // `multicast_interface`: the local IPv4 address (or interface name) SSDP searches
  // from; "" lets the system choose.
  explicit UpnpClient(std::string multicast_interface);
  ~UpnpClient() override;

  MappingProtocol protocol() const override { return MappingProtocol::Upnp; }
  NetworkResult<GrantedMapping> map(const MappingRequest& request, Clock::time_point deadline) override;
  NetworkResult<void> unmap(const GrantedMapping& mapping, std::uint16_t internal_port,
                            Clock::time_point deadline) override;

 private:
  struct Gateway;
  // Finds the IGD unless one is known.
  NetworkResult<void> discover(Clock::time_point deadline);
  NetworkResult<GrantedMapping> add(const MappingRequest& request, const std::string& external_ip);

  std::string multicast_interface_;
  std::unique_ptr<Gateway> gateway_;
};

}  // namespace datafold::net::reachability
