// Nodes that know nothing of each other but a DHT node find and query each other
// by id alone (NetworkCore with enable_dht, OpenDHT on loopback, LAN discovery off).
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "datafold/net/network_core.hpp"
#include "support/known_answers.hpp"
#include "support/test_nodes.hpp"

namespace datafold::net::testing {
namespace {

using namespace std::chrono_literals;

NetworkConfig dht_config(std::vector<std::string> bootstrap) {
  auto config = loopback_config();
  config.enable_dht = true;
  config.dht_port = 0;
  config.dht_bootstrap = std::move(bootstrap);
  config.dht_lookup_timeout = 15s;
  return config;
}

class DhtNodes : public ::testing::Test {
 protected:
  void SetUp() override {
    first_ = start_node(dht_config({}));
    ASSERT_TRUE(first_);
    auto stats = first_->dht_stats();
    ASSERT_TRUE(stats);
    const std::string seed = "127.0.0.1:" + std::to_string(stats->port);
    for (int i = 0; i < 2; ++i) {
      others_.push_back(start_node(dht_config({seed})));
      ASSERT_TRUE(others_.back());
      serve_known_answers(*others_.back());
    }
  }

  std::unique_ptr<NetworkCore> first_;
  std::vector<std::unique_ptr<NetworkCore>> others_;
};

TEST_F(DhtNodes, ANodeKnownOnlyByIdIsFoundInTheDhtAndQueried) {
  auto& asker = *others_[0];
  auto& target = *others_[1];
  ASSERT_EQ(asker.known_nodes().count(target.local_node_id()), 0u);
  EXPECT_TRUE(gets_correct_answers(asker, target.local_node_id()));
  const auto known = asker.known_nodes().at(target.local_node_id());
  ASSERT_FALSE(known.addresses.empty());
  EXPECT_EQ(known.addresses.front().source, AddressSource::Dht);
  EXPECT_EQ(known.addresses.front().address, address_of(target));
  EXPECT_GE(asker.dht_stats()->lookups_found, 1u);
}

TEST_F(DhtNodes, AStaleAddressSendsTheNodeBackToTheDhtForTheCurrentOne) {
  auto& asker = *others_[0];
  auto& target = *others_[1];
  // Where the node was once: a port nothing listens on now.
  NodeInfo stale;
  stale.node_id = target.local_node_id();
  stale.address = "127.0.0.1:1";
  stale.addresses = {{.address = "127.0.0.1:1", .source = AddressSource::Manual}};
  asker.add_known_node(stale);
  EXPECT_TRUE(gets_correct_answers(asker, target.local_node_id()));
  EXPECT_EQ(asker.known_nodes().at(target.local_node_id()).address, address_of(target));
}

TEST_F(DhtNodes, DiscoverNodesReturnsTheNetworksNodesFoundInTheDht) {
  bool all_found = eventually(
      [&] {
        auto found = first_->discover_nodes();
        if (!found) return false;
        int seen = 0;
        for (const auto& node : *found)
          for (const auto& other : others_) seen += node.node_id == other->local_node_id() ? 1 : 0;
        return seen == 2;
      },
      60s);
  EXPECT_TRUE(all_found);
}

TEST_F(DhtNodes, AnIdNobodyAnnouncedEndsInADiscoveryErrorAtTheDeadline) {
  auto config = dht_config({"127.0.0.1:" + std::to_string(first_->dht_stats()->port)});
  config.dht_lookup_timeout = 1500ms;
  auto asker = start_node(config);
  ASSERT_TRUE(asker);
  const auto nobody = Identity::generate()->node_id();
  Query query;
  query.schema_name = "anything";
  auto answer = asker->query_node(nobody, query);
  ASSERT_FALSE(answer);
  EXPECT_EQ(answer.error().kind, ErrorKind::Discovery) << answer.error().message;
  EXPECT_NE(answer.error().message.find("DHT"), std::string::npos) << answer.error().message;
  EXPECT_EQ(asker->dht_stats()->lookups_failed, 1u);
}

TEST(DhtNode, ADhtPortInUseIsAConnectionErrorAtStart) {
  auto first = start_node(dht_config({}));
  ASSERT_TRUE(first);
  auto config = dht_config({});
  config.listen_address = "127.0.0.1";
  config.dht_port = first->dht_stats()->port;
  auto second = NetworkCore::create(config, NodeId{}, std::nullopt);
  ASSERT_TRUE(second);
  auto started = second->start();
  ASSERT_FALSE(started);
  EXPECT_EQ(started.error().kind, ErrorKind::Connection) << started.error().message;
  EXPECT_FALSE(second->running());
}

}  // namespace
}  // namespace datafold::net::testing
