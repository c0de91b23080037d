#include "support/test_nodes.hpp"

#include <thread>

#include <gtest/gtest.h>

namespace datafold::net::testing {

NetworkConfig loopback_config() {
  NetworkConfig config;
  config.listen_address = "127.0.0.1";
  config.listen_port = 0;
  config.network_name = "datafold-test";
  config.enable_discovery = false;  // tests that want it name the loopback interface
  config.connect_timeout = std::chrono::seconds(5);
  config.handshake_timeout = std::chrono::seconds(5);
  config.request_timeout = std::chrono::seconds(10);
  // No reachability checks or reservations unless a test asks: they would add
  // connections (dial-back probes) that tests counting connections do not expect.
  config.use_relays = NetworkConfig::RelayUse::Never;
  return config;
}

std::unique_ptr<NetworkCore> start_node(NetworkConfig config) {
  auto core = NetworkCore::create(std::move(config), NodeId{}, std::nullopt);
  if (!core) {
    ADD_FAILURE() << "create failed: " << core.error().to_string();
    return nullptr;
  }
  auto node = std::make_unique<NetworkCore>(std::move(*core));
  if (auto started = node->start(); !started) {
    ADD_FAILURE() << "start failed: " << started.error().to_string();
    return nullptr;
  }
  return node;
}

std::string address_of(const NetworkCore& node) { return "127.0.0.1:" + std::to_string(node.listen_port()); }

void introduce(NetworkCore& from, const NetworkCore& to) {
  NodeInfo info;
  info.node_id = to.local_node_id();
  info.public_key = to.public_key();
  info.address = address_of(to);
  from.add_known_node(info);
}

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds deadline) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < until) {
    if (condition()) return true;
    std::this_thread::yield();
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return condition();
}

}  // namespace datafold::net::testing
