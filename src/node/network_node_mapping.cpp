// NetworkNode's port mapping (DESIGN.md section 10.3): the PortMapper keeps the
// listen port mapped on the gateway on its own thread; the node announces the
// mapped address while there is one.
#include <algorithm>

#include <spdlog/spdlog.h>

#include <asio/ip/address.hpp>

#include "discovery/announcement.hpp"
#include "node/advertised_addresses.hpp"
#include "node/network_node.hpp"

namespace datafold::net {

namespace {

// UPnP's SSDP search goes out from the listen address when it is a specific IPv4
// one; otherwise the system chooses (the interface of the default route).
std::string search_interface(const std::string& listen_address) {
  std::error_code ec;
  const auto address = asio::ip::make_address(listen_address, ec);
  if (ec || !address.is_v4() || address.is_unspecified() || address.is_loopback()) return "";
  return address.to_string();
}

}  // namespace

void NetworkNode::open_port_mapping() {
  if (!config_.port_mapping || !acceptor_) return;
  reachability::PortMapperConfig mapper_config;
  mapper_config.internal_port = bound_port_.load();
  mapper_config.multicast_interface = search_interface(config_.listen_address);
  mapper_config.description = "datafold " + identity_.node_id().short_string();
  // The mapper calls back on its own thread; close_port_mapping() ends the calls
  // before stop() returns, so `this` outlives them.
  auto mapper = std::make_shared<reachability::PortMapper>(
      std::move(mapper_config), [this](const PortMappingStatus& status) { on_port_mapping(status); });
  {
    std::lock_guard lock(mutex_);
    port_mapper_ = mapper;
  }
  mapper->start();
}

void NetworkNode::close_port_mapping() {
  std::shared_ptr<reachability::PortMapper> mapper;
  {
    std::lock_guard lock(mutex_);
    mapper = std::move(port_mapper_);
  }
  if (mapper) mapper->stop();
  std::lock_guard lock(mutex_);
  mapped_address_.clear();
}

void NetworkNode::on_port_mapping(const PortMappingStatus& status) {
  {
    std::lock_guard lock(mutex_);
    const std::string now = status.active ? status.external_address : std::string();
    if (now == mapped_address_) return;
    mapped_address_ = now;
  }
  if (status.active) spdlog::info("announcing the mapped address {}", status.external_address);
  else spdlog::info("no mapped address any more; withdrawn from the announcements");
  announce_addresses();
}

std::vector<std::string> NetworkNode::extra_addresses_locked() const {
  auto out = observed_.confirmed_addresses(detail::ObservedAddresses::Clock::now(), bound_port_.load());
  if (!mapped_address_.empty() && std::find(out.begin(), out.end(), mapped_address_) == out.end())
    out.push_back(mapped_address_);
  // Relayed addresses last: a dialler tries them after every direct one.
  for (auto& relayed : relayed_addresses_locked()) out.push_back(std::move(relayed));
  return out;
}

PortMappingStatus NetworkNode::port_mapping() const {
  std::shared_ptr<reachability::PortMapper> mapper;
  {
    std::lock_guard lock(mutex_);
    mapper = port_mapper_;
  }
  if (!mapper) {
    PortMappingStatus off;
    off.last_error = !config_.port_mapping      ? "port mapping is off"
                     : !config_.accept_connections ? "the node accepts no connections"
                                                   : "the node is not running";
    return off;
  }
  return mapper->status();
}

std::vector<NodeAddress> NetworkNode::advertised_addresses() const {
  std::string mapped;
  {
    std::lock_guard lock(mutex_);
    mapped = mapped_address_;
  }
  return detail::own_addresses(config_.listen_address, bound_port_.load(), detail::list_interface_addresses(),
                               confirmed_public_ips(), mapped, discovery::kMaxAddresses);
}

}  // namespace datafold::net
