#include "datafold/net/network_manager.hpp"

namespace datafold::net {

NetworkResult<NetworkManager> NetworkManager::create(NetworkConfig config, NodeId local_node_id,
                                                     std::optional<std::string> public_key) {
  auto core = NetworkCore::create(std::move(config), local_node_id, std::move(public_key));
  if (!core) return std::move(core).error();
  return NetworkManager(std::move(*core));
}

}  // namespace datafold::net
