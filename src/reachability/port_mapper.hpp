// PortMapper: keeps the node's listen port mapped on its gateway, on a thread of its
// own so that nothing it waits for (SSDP, SOAP, NAT-PMP datagrams) delays the node.
// A MappingSchedule decides when to map, renew and retry; the GatewayClients
// (NAT-PMP first, one datagram to the default gateway; then UPnP IGD) carry it out.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "datafold/net/reachability.hpp"
#include "reachability/gateway_client.hpp"
#include "reachability/mapping_schedule.hpp"

namespace datafold::net::reachability {

struct PortMapperConfig {
  std::uint16_t internal_port = 0;
  // Where UPnP searches from: the node's listen address when it is a specific IPv4
  // one, else "" (the system's choice).
  std::string multicast_interface;
  ScheduleConfig schedule;
  // Each attempt (search and request) ends by then, answered or not.
  std::chrono::milliseconds attempt_timeout{3000};
  // stop() waits at most this for the mapping's removal.
  std::chrono::milliseconds stop_timeout{2000};
  std::string description = "datafold";
};

class PortMapper {
 public:
  // Called on the mapper's thread when the mapped external address appears,
  // changes or goes (`status.active`). Never called once stop() has returned.
  using OnChange = std::function<void(const PortMappingStatus& status)>;

  // `clients` empty: NAT-PMP, then UPnP IGD.
  PortMapper(PortMapperConfig config, OnChange on_change,
             std::vector<std::unique_ptr<GatewayClient>> clients = {});
  ~PortMapper();  // stop()

  PortMapper(const PortMapper&) = delete;
  PortMapper& operator=(const PortMapper&) = delete;

  void start();
  // Removes the mapping (if any) and ends the thread, waiting at most
  // config.stop_timeout plus what the attempt in progress has left; a thread still
  // stuck in a library call after that is left to finish on its own.
  void stop();
  PortMappingStatus status() const;

 private:
  struct State;
  std::shared_ptr<State> state_;
  std::thread thread_;
};

}  // namespace datafold::net::reachability
