// Connection health: pings when silent give an RTT per peer, a peer that stops
// answering pings is cut after three misses, and an unused connection is closed
// after the idle timeout without counting as a failure.
#include "datafold/net/network_core.hpp"

#include <gtest/gtest.h>

#include "support/raw_tls_client.hpp"
#include "support/test_nodes.hpp"

namespace datafold::net {
namespace {

using namespace std::chrono_literals;
using testing::eventually;
using testing::introduce;
using testing::loopback_config;
using testing::start_node;

TEST(Health, PingsWhenSilentGiveEachPeerARoundTripTime) {
  auto server = start_node();
  auto config = loopback_config();
  config.ping_interval = 100ms;
  auto client = start_node(config);
  ASSERT_TRUE(server && client);
  introduce(*client, *server);
  ASSERT_TRUE(client->connect_to_node(server->local_node_id()));
  EXPECT_FALSE(client->known_nodes().at(server->local_node_id()).rtt) << "no ping has gone yet";

  ASSERT_TRUE(eventually([&] { return client->known_nodes().at(server->local_node_id()).rtt.has_value(); }, 10s));
  const auto info = client->known_nodes().at(server->local_node_id());
  EXPECT_GT(info.rtt->count(), 0);
  EXPECT_LT(*info.rtt, 10s);  // a measurement, not a deadline: loopback answers well within it
  EXPECT_EQ(info.health, NodeHealth::Healthy);
  EXPECT_EQ(client->connected_nodes().count(server->local_node_id()), 1u) << "pings keep a connection alive";
}

TEST(Health, PeerThatStopsAnsweringPingsIsCutAfterThreeMisses) {
  auto config = loopback_config();
  config.ping_interval = 100ms;
  auto node = start_node(config);
  ASSERT_TRUE(node);

  // A peer that completes the handshake, then reads nothing and answers nothing.
  testing::RawTlsClient mute;
  ASSERT_TRUE(mute.connect(node->listen_port()));
  ASSERT_TRUE(mute.exchange_hello());
  ASSERT_TRUE(eventually([&] { return node->stats().open_connections == 1; }));

  // Pings come in (each missed one is retried after the interval), then the close.
  int pings = 0;
  for (auto message = mute.read_message(10s); message; message = mute.read_message(10s))
    if (std::holds_alternative<PingMessage>(*message)) ++pings;
  EXPECT_GE(pings, 3);
  EXPECT_TRUE(eventually([&] { return node->stats().open_connections == 0; }));

  // Meanwhile and afterwards the node serves a peer that does answer.
  auto peer = start_node();
  ASSERT_TRUE(peer);
  introduce(*peer, *node);
  EXPECT_TRUE(peer->list_available_schemas(node->local_node_id()));
}

TEST(Health, UnusedConnectionIsClosedAfterTheIdleTimeoutAndThePeerStaysHealthy) {
  auto server = start_node();
  auto config = loopback_config();
  config.ping_interval = 100ms;  // pings go, but they are not use
  config.idle_timeout = 500ms;
  auto client = start_node(config);
  ASSERT_TRUE(server && client);
  introduce(*client, *server);
  ASSERT_TRUE(client->list_available_schemas(server->local_node_id()));

  ASSERT_TRUE(eventually([&] { return client->connected_nodes().empty(); }, 10s))
      << "the idle connection was never closed";
  const auto info = client->known_nodes().at(server->local_node_id());
  EXPECT_EQ(info.health, NodeHealth::Healthy) << "closing an unused connection is no failure of the peer";
  EXPECT_EQ(info.failed_dials, 0u);
  EXPECT_EQ(client->stats().redials, 0u) << "nobody redials a connection it closed for idleness";
  // Needed again, it is dialled again.
  EXPECT_TRUE(client->list_available_schemas(server->local_node_id()));
}

}  // namespace
}  // namespace datafold::net
