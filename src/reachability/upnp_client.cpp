#include "reachability/upnp_client.hpp"

#include <algorithm>
#include <cstdlib>
#include <random>

#include <miniupnpc/miniupnpc.h>
#include <miniupnpc/upnpcommands.h>
#include <miniupnpc/upnperrors.h>

namespace datafold::net::reachability {

namespace {

// UPnP error codes of AddPortMapping (UPnP IGD WANIPConnection:1, section 2.4.16).
constexpr int kConflictInMappingEntry = 718;
constexpr int kOnlyPermanentLeasesSupported = 725;
// Other external ports asked for when the wanted one is taken and the gateway
// cannot pick one itself (AddAnyPortMapping is IGD v2 only).
constexpr int kOtherPortsToTry = 3;
// SSDP answers arrive within a second or two; more only delays a node with no IGD.
constexpr auto kMaxDiscoveryWait = std::chrono::milliseconds(2000);

std::string upnp_error_text(int code) {
  const char* text = strupnperror(code);
  return "UPnP error " + std::to_string(code) + (text ? std::string(" (") + text + ")" : std::string());
}

}  // namespace

struct UpnpClient::Gateway {
  UPNPUrls urls{};
  IGDdatas data{};
  std::string lan_address;  // this host's address towards the gateway
  ~Gateway() { FreeUPNPUrls(&urls); }
};

UpnpClient::UpnpClient(std::string multicast_interface) : multicast_interface_(std::move(multicast_interface)) {}
UpnpClient::~UpnpClient() = default;

NetworkResult<void> UpnpClient::discover(Clock::time_point deadline) {
  if (gateway_) return {};
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  const auto wait = std::min(left, std::chrono::duration_cast<std::chrono::milliseconds>(kMaxDiscoveryWait));
  if (wait.count() <= 0) return make_error(ErrorKind::Timeout, "UPnP: no time left to search for a gateway");
  int error = 0;
  // One search, for IGD:1 (an IGD:2 answers it too): upnpDiscover() would search for
  // four types in turn, each waiting `wait`, when no gateway is there.
  // TTL 2: SSDP searches never go further than the next router.
  static const char* const kTypes[] = {"urn:schemas-upnp-org:device:InternetGatewayDevice:1", nullptr};
  UPNPDev* devices = upnpDiscoverDevices(kTypes, static_cast<int>(wait.count()),
                                         multicast_interface_.empty() ? nullptr : multicast_interface_.c_str(),
                                         nullptr, UPNP_LOCAL_PORT_ANY, 0, 2, &error, 0);
  std::unique_ptr<UPNPDev, decltype(&freeUPNPDevlist)> list(devices, freeUPNPDevlist);
  if (!devices) return make_error(ErrorKind::Discovery, "UPnP: no gateway answered the SSDP search");
  auto gateway = std::make_unique<Gateway>();
  char lan[64] = {};
  const int found = UPNP_GetValidIGD(devices, &gateway->urls, &gateway->data, lan, sizeof lan);
  // 1: a connected IGD; 2: an IGD that says it is not connected (it may still map).
  if (found != 1 && found != 2) {
    if (found != 0) FreeUPNPUrls(&gateway->urls);
    gateway->urls = {};
    return make_error(ErrorKind::Discovery, "UPnP: devices answered, none is an Internet gateway");
  }
  gateway->lan_address = lan;
  gateway_ = std::move(gateway);
  return {};
}

NetworkResult<GrantedMapping> UpnpClient::add(const MappingRequest& request, const std::string& external_ip) {
  const auto& g = *gateway_;
  const std::string internal = std::to_string(request.internal_port);
  auto lease = std::to_string(request.lease.count());
  auto try_port = [&](std::uint16_t port) {
    const std::string external = std::to_string(port);
    int result = UPNP_AddPortMapping(g.urls.controlURL, g.data.first.servicetype, external.c_str(), internal.c_str(),
                                     g.lan_address.c_str(), request.description.c_str(), "TCP", nullptr, lease.c_str());
    if (result == kOnlyPermanentLeasesSupported) {
      lease = "0";
      result = UPNP_AddPortMapping(g.urls.controlURL, g.data.first.servicetype, external.c_str(), internal.c_str(),
                                   g.lan_address.c_str(), request.description.c_str(), "TCP", nullptr, "0");
    }
    return result;
  };
  auto granted = [&](std::uint16_t port) {
    return GrantedMapping{MappingProtocol::Upnp, external_ip, port, std::chrono::seconds(std::strtol(lease.c_str(), nullptr, 10))};
  };
  const std::uint16_t wanted = request.external_port != 0 ? request.external_port : request.internal_port;
  int result = try_port(wanted);
  if (result == UPNPCOMMAND_SUCCESS) return granted(wanted);
  if (result != kConflictInMappingEntry) {
    return make_error(result > 0 ? ErrorKind::Protocol : ErrorKind::Connection,
                      "UPnP AddPortMapping: " + upnp_error_text(result));
  }
  // The wanted port is someone else's: let the gateway choose (IGD v2), else try a few.
  char reserved[8] = {};
  if (UPNP_AddAnyPortMapping(g.urls.controlURL, g.data.first.servicetype, std::to_string(wanted).c_str(),
                             internal.c_str(), g.lan_address.c_str(), request.description.c_str(), "TCP", nullptr,
                             lease.c_str(), reserved) == UPNPCOMMAND_SUCCESS) {
    const long port = std::strtol(reserved, nullptr, 10);
    if (port > 0 && port <= 65535) return granted(static_cast<std::uint16_t>(port));
  }
  std::mt19937 random(std::random_device{}());
  std::uniform_int_distribution<int> ports(1024, 65535);
  for (int i = 0; i < kOtherPortsToTry; ++i) {
    const auto port = static_cast<std::uint16_t>(ports(random));
    result = try_port(port);
    if (result == UPNPCOMMAND_SUCCESS) return granted(port);
  }
  return make_error(ErrorKind::Protocol, "UPnP AddPortMapping: port " + std::to_string(wanted) +
                                             " is taken and no other was granted: " + upnp_error_text(result));
}

NetworkResult<GrantedMapping> UpnpClient::map(const MappingRequest& request, Clock::time_point deadline) {
  if (auto found = discover(deadline); !found) return std::move(found).error();
  char external_ip[40] = {};
  const int asked = UPNP_GetExternalIPAddress(gateway_->urls.controlURL, gateway_->data.first.servicetype, external_ip);
  if (asked != UPNPCOMMAND_SUCCESS || external_ip[0] == '\0') {
    gateway_.reset();  // search again next time: the gateway may have gone or moved
    return make_error(ErrorKind::Connection, "UPnP GetExternalIPAddress: " + upnp_error_text(asked));
  }
  auto added = add(request, external_ip);
  if (!added && added.error().kind == ErrorKind::Connection) gateway_.reset();
  return added;
}

NetworkResult<void> UpnpClient::unmap(const GrantedMapping& mapping, std::uint16_t, Clock::time_point deadline) {
  if (auto found = discover(deadline); !found) return found;
  const int result = UPNP_DeletePortMapping(gateway_->urls.controlURL, gateway_->data.first.servicetype,
                                            std::to_string(mapping.external_port).c_str(), "TCP", nullptr);
  if (result != UPNPCOMMAND_SUCCESS)
    return make_error(result > 0 ? ErrorKind::Protocol : ErrorKind::Connection,
                      "UPnP DeletePortMapping: " + upnp_error_text(result));
  return {};
}

}  // namespace datafold::net::reachability
