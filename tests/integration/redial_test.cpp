// Redial: a peer whose connection failed is dialled again in the background with
// backoff, requests during the wait fail at once and say why, known_nodes()
// health follows, and bootstrap peers are dialled until they answer.
#include "datafold/net/network_core.hpp"

#include <thread>

#include <gtest/gtest.h>

#include "support/test_nodes.hpp"

namespace datafold::net {
namespace {

using namespace std::chrono_literals;
using testing::eventually;
using testing::introduce;
using testing::loopback_config;
using testing::start_node;

NetworkConfig fast_redial_config() {
  auto config = loopback_config();
  config.redial_initial_delay = 100ms;
  config.redial_max_delay = 400ms;
  return config;
}

// A server that can be stopped and brought back as the same node on the same port.
struct RestartableServer {
  Identity identity = *Identity::generate();
  std::uint16_t port = 0;
  std::unique_ptr<NetworkCore> node;

  void start() {
    auto config = loopback_config();
    config.identity = identity;
    config.listen_port = port;
    node = start_node(config);
    ASSERT_TRUE(node);
    port = node->listen_port();
    node->set_query_callback([](Query query) {
      QueryResult result;
      for (const auto& field : query.fields) result.results.push_back({field, Json("value of " + field)});
      return result;
    });
  }
  void stop() {
    ASSERT_TRUE(node->stop());
    node.reset();
  }
  NodeId id() const { return identity.node_id(); }
};

Query profile_name_query() {
  Query query;
  query.schema_name = "Profile";
  query.fields = {"name"};
  return query;
}

std::optional<NodeInfo> known(const NetworkCore& node, const NodeId& id) {
  auto nodes = node.known_nodes();
  auto it = nodes.find(id);
  if (it == nodes.end()) return std::nullopt;
  return it->second;
}

TEST(Redial, LostPeerIsRedialledUntilItIsBackAndHealthFollows) {
  RestartableServer server;
  server.start();
  auto client = start_node(fast_redial_config());
  ASSERT_TRUE(client && server.node);
  introduce(*client, *server.node);
  ASSERT_TRUE(client->connect_to_node(server.id()));
  EXPECT_EQ(known(*client, server.id())->health, NodeHealth::Healthy);

  server.stop();
  // Nobody asks for it, yet the client keeps trying — and failing — in the background.
  ASSERT_TRUE(eventually([&] {
    auto info = known(*client, server.id());
    return info && info->health == NodeHealth::Unreachable && info->failed_dials >= 3;
  }, 20s)) << "failed dials: " << known(*client, server.id())->failed_dials;
  EXPECT_GE(client->stats().redials, 2u);
  EXPECT_TRUE(client->connected_nodes().empty());

  server.start();
  ASSERT_TRUE(eventually([&] { return client->connected_nodes().count(server.id()) > 0; }, 20s))
      << "the client never reconnected to the restarted server";
  auto info = known(*client, server.id());
  EXPECT_EQ(info->health, NodeHealth::Healthy);
  EXPECT_EQ(info->failed_dials, 0u);
  auto answer = client->query_node(server.id(), profile_name_query());
  ASSERT_TRUE(answer) << answer.error().to_string();
  EXPECT_EQ(answer->results.at(0).value(), Json("value of name"));
}

TEST(Redial, RequestsDuringTheWaitFailAtOnceWithTheReasonAndANewAddressEndsTheWait) {
  RestartableServer server;
  server.start();
  auto config = loopback_config();
  config.redial_initial_delay = 30s;  // far longer than the test: every request below falls in the wait
  config.redial_max_delay = 60s;
  config.connect_timeout = 60s;       // had it dialled, a blackholed peer would cost this much
  auto client = start_node(config);
  ASSERT_TRUE(client && server.node);
  introduce(*client, *server.node);
  ASSERT_TRUE(client->connect_to_node(server.id()));

  server.stop();
  ASSERT_TRUE(eventually([&] { return known(*client, server.id())->health == NodeHealth::Unreachable; }, 10s));
  for (int i = 0; i < 3; ++i) {
    auto answer = client->query_node(server.id(), profile_name_query());
    ASSERT_FALSE(answer);
    EXPECT_EQ(answer.error().kind, ErrorKind::Connection);
    EXPECT_NE(answer.error().message.find("next dial in"), std::string::npos) << answer.error().message;
  }
  auto schemas = client->list_available_schemas(server.id());
  ASSERT_FALSE(schemas);
  EXPECT_EQ(schemas.error().kind, ErrorKind::Connection);
  EXPECT_EQ(client->stats().requests_pending, 0u);

  // The same node back at another address: telling the client ends the wait.
  server.port = 0;
  server.start();
  introduce(*client, *server.node);
  auto answer = client->query_node(server.id(), profile_name_query());
  ASSERT_TRUE(answer) << answer.error().to_string();
  EXPECT_EQ(known(*client, server.id())->health, NodeHealth::Healthy);
}

TEST(Redial, BootstrapPeerDownAtStartIsDialledUntilItAnswers) {
  RestartableServer server;
  server.start();
  server.stop();  // its port is now free, and nobody listens there

  auto config = fast_redial_config();
  config.bootstrap_peers = {"127.0.0.1:" + std::to_string(server.port)};
  auto client = start_node(config);
  ASSERT_TRUE(client);
  ASSERT_TRUE(eventually([&] { return client->stats().redials >= 2; }, 20s));
  EXPECT_TRUE(client->connected_nodes().empty());

  server.start();
  ASSERT_TRUE(eventually([&] { return client->connected_nodes().count(server.id()) > 0; }, 20s))
      << "the bootstrap peer was not dialled again";
  auto answer = client->query_node(server.id(), profile_name_query());
  ASSERT_TRUE(answer) << answer.error().to_string();

  // And once connected, it is redialled like any lost peer, however often it fails.
  server.stop();
  ASSERT_TRUE(eventually([&] { return known(*client, server.id())->failed_dials >= 2; }, 20s));
  server.start();
  ASSERT_TRUE(eventually([&] { return client->connected_nodes().count(server.id()) > 0; }, 20s));
}

TEST(Redial, StoppingTheClientEndsItsRedials) {
  RestartableServer server;
  server.start();
  auto client = start_node(fast_redial_config());
  ASSERT_TRUE(client && server.node);
  introduce(*client, *server.node);
  ASSERT_TRUE(client->connect_to_node(server.id()));
  server.stop();
  ASSERT_TRUE(eventually([&] { return client->stats().redials >= 1; }, 20s));
  ASSERT_TRUE(client->stop());
  const auto redials = client->stats().redials;
  server.start();
  std::this_thread::sleep_for(500ms);  // several redial periods: none may run on a stopped node
  EXPECT_EQ(client->stats().redials, redials);
  EXPECT_EQ(server.node->stats().inbound_accepted, 0u);
}

}  // namespace
}  // namespace datafold::net
