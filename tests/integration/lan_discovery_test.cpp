// Discovery over real UDP multicast and broadcast on the loopback interface.
#include "datafold/net/network_core.hpp"

#include <random>

#include <gtest/gtest.h>

#include "support/test_nodes.hpp"

namespace datafold::net {
namespace {

// Nodes of one test share a random discovery port and network name, so parallel
// tests never hear each other.
NetworkConfig discovering_config(std::uint16_t port, const std::string& network) {
  auto config = testing::loopback_config();
  config.enable_discovery = true;
  config.discovery_interfaces = {"lo"};
  config.discovery_port = port;
  config.network_name = network;
  config.discovery_wait = std::chrono::milliseconds(300);
  return config;
}

std::pair<std::uint16_t, std::string> fresh_lan() {
  std::random_device rd;
  const auto port = static_cast<std::uint16_t>(20000 + rd() % 30000);
  return {port, "lan-test-" + std::to_string(rd())};
}

TEST(LanDiscovery, NodesFindAndQueryEachOther) {
  auto [port, network] = fresh_lan();
  std::vector<std::unique_ptr<NetworkCore>> nodes;
  for (int i = 0; i < 3; ++i) {
    nodes.push_back(testing::start_node(discovering_config(port, network)));
    ASSERT_TRUE(nodes.back());
    nodes.back()->set_query_callback([i](Query) {
      QueryResult r;
      r.results.push_back({"who", Json(i)});
      return r;
    });
  }
  for (auto& node : nodes) {
    // Each start announced itself as a probe, so the others are known without waiting
    // for an interval; discover_nodes() probes once more.
    ASSERT_TRUE(testing::eventually([&] {
      auto found = node->discover_nodes();
      return found && found->size() == nodes.size() - 1;
    })) << "node " << node->local_node_id().short_string() << " knows " << node->known_nodes().size();
  }
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    for (std::size_t j = 0; j < nodes.size(); ++j) {
      if (i == j) continue;
      const auto info = nodes[i]->known_nodes().at(nodes[j]->local_node_id());
      EXPECT_EQ(info.public_key, nodes[j]->public_key());
      EXPECT_EQ(info.address, testing::address_of(*nodes[j]));
      auto r = nodes[i]->query_node(nodes[j]->local_node_id(), Query{"S", {"who"}, "", 0, std::nullopt});
      ASSERT_TRUE(r) << r.error().to_string();
      EXPECT_EQ(r->find("who")->value(), Json(static_cast<int>(j)));
    }
  }
}

TEST(LanDiscovery, GoodbyeRemovesTheNodeAtOnce) {
  auto [port, network] = fresh_lan();
  auto a = testing::start_node(discovering_config(port, network));
  auto b = testing::start_node(discovering_config(port, network));
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(testing::eventually([&] { return a->known_nodes().count(b->local_node_id()) == 1; }));
  ASSERT_TRUE(b->stop());
  EXPECT_TRUE(testing::eventually([&] { return a->known_nodes().count(b->local_node_id()) == 0; }));
}

TEST(LanDiscovery, OtherNetworksStayApart) {
  auto [port, network] = fresh_lan();
  auto a = testing::start_node(discovering_config(port, network));
  auto b = testing::start_node(discovering_config(port, network + "-other"));
  auto c = testing::start_node(discovering_config(port, network));
  ASSERT_TRUE(a && b && c);
  ASSERT_TRUE(testing::eventually([&] { return a->known_nodes().count(c->local_node_id()) == 1; }));
  auto found = a->discover_nodes();
  ASSERT_TRUE(found);
  for (const auto& info : *found) EXPECT_NE(info.node_id, b->local_node_id());
  EXPECT_EQ(b->known_nodes().size(), 0u);
}

TEST(LanDiscovery, UnknownInterfaceIsAConfigError) {
  auto config = discovering_config(fresh_lan().first, "x");
  config.discovery_interfaces = {"no-such-interface0"};
  auto core = NetworkCore::create(config, NodeId{}, std::nullopt);
  ASSERT_TRUE(core);
  auto started = core->start();
  ASSERT_FALSE(started);
  EXPECT_EQ(started.error().kind, ErrorKind::Config);
}

}  // namespace
}  // namespace datafold::net
