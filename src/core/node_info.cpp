#include "datafold/net/node_info.hpp"

namespace datafold::net {

std::string_view to_string(NodeHealth health) noexcept {
  switch (health) {
    case NodeHealth::Unknown: return "unknown";
    case NodeHealth::Healthy: return "healthy";
    case NodeHealth::Unreachable: return "unreachable";
  }
  return "unknown";
}

std::string_view to_string(AddressSource source) noexcept {
  switch (source) {
    case AddressSource::Lan: return "lan";
    case AddressSource::Dht: return "dht";
    case AddressSource::Bootstrap: return "bootstrap";
    case AddressSource::PeerReport: return "peer";
    case AddressSource::Mapped: return "mapped";
    case AddressSource::Relay: return "relay";
    case AddressSource::Manual: return "manual";
    case AddressSource::Inbound: return "inbound";
  }
  return "manual";
}

std::string_view to_string(ConnectionPath path) noexcept {
  switch (path) {
    case ConnectionPath::Direct: return "direct";
    case ConnectionPath::Mapped: return "mapped";
    case ConnectionPath::HolePunched: return "hole-punched";
    case ConnectionPath::Relayed: return "relayed";
  }
  return "direct";
}

}  // namespace datafold::net
