// At the connection cap the node makes room by closing the connection used
// longest ago among those with nothing in flight; busy connections are never cut.
#include "datafold/net/network_core.hpp"

#include <atomic>
#include <future>

#include <gtest/gtest.h>

#include "support/gate.hpp"
#include "support/test_nodes.hpp"

namespace datafold::net {
namespace {

using testing::eventually;
using testing::introduce;
using testing::loopback_config;
using testing::start_node;

Query field_query(const std::string& field) {
  Query query;
  query.schema_name = "Profile";
  query.fields = {field};
  return query;
}

std::unique_ptr<NetworkCore> start_server(std::size_t max_connections) {
  auto config = loopback_config();
  config.max_connections = max_connections;
  return start_node(config);
}

TEST(Eviction, TheLeastRecentlyUsedIdleConnectionMakesRoomForANewPeer) {
  auto server = start_server(3);
  ASSERT_TRUE(server);
  server->set_query_callback([](Query query) {
    QueryResult result;
    result.results.push_back({query.fields.at(0), Json("ok")});
    return result;
  });
  std::vector<std::unique_ptr<NetworkCore>> clients;
  for (int i = 0; i < 4; ++i) {
    clients.push_back(start_node());
    ASSERT_TRUE(clients.back());
    introduce(*clients.back(), *server);
  }
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(clients[i]->connect_to_node(server->local_node_id()));
  ASSERT_TRUE(eventually([&] { return server->stats().open_connections == 3; }));
  // Clients 0 and 2 use theirs; client 1's is the one used longest ago.
  ASSERT_TRUE(clients[0]->query_node(server->local_node_id(), field_query("a")));
  ASSERT_TRUE(clients[2]->query_node(server->local_node_id(), field_query("c")));

  auto answer = clients[3]->query_node(server->local_node_id(), field_query("d"));
  ASSERT_TRUE(answer) << answer.error().to_string();
  EXPECT_EQ(server->stats().connections_evicted, 1u);
  ASSERT_TRUE(eventually([&] { return clients[1]->connected_nodes().empty(); }))
      << "the least recently used connection was not the one closed";
  EXPECT_FALSE(clients[0]->connected_nodes().empty());
  EXPECT_FALSE(clients[2]->connected_nodes().empty());
  // Being evicted is no failure: client 1 is not told the server is down, and its
  // next request simply dials again (evicting the next least recently used).
  EXPECT_EQ(clients[1]->known_nodes().at(server->local_node_id()).health, NodeHealth::Healthy);
  ASSERT_TRUE(clients[1]->query_node(server->local_node_id(), field_query("b")));
}

TEST(Eviction, ConnectionsWithRequestsInFlightAreNeverClosedToMakeRoom) {
  auto server = start_server(2);
  ASSERT_TRUE(server);
  testing::Gate gate;  // holds every request until the newcomer has been refused
  auto arrived = std::make_shared<std::atomic<int>>(0);
  server->set_query_callback([waiter = gate.waiter(), arrived](Query query) {
    ++*arrived;
    waiter.wait();
    QueryResult result;
    result.results.push_back({query.fields.at(0), Json("late but whole")});
    return result;
  });
  std::vector<std::unique_ptr<NetworkCore>> busy;
  std::vector<std::future<NetworkResult<QueryResult>>> answers;
  for (int i = 0; i < 2; ++i) {
    busy.push_back(start_node());
    ASSERT_TRUE(busy.back());
    introduce(*busy.back(), *server);
    answers.push_back(busy.back()->async_query_node(server->local_node_id(), field_query("x")));
  }
  // Both requests are being answered, not merely their connections open: until a
  // request arrives, its connection is as idle as any other and may be evicted.
  ASSERT_TRUE(eventually([&] { return server->stats().open_connections == 2 && arrived->load() == 2; }));

  auto newcomer = start_node();
  ASSERT_TRUE(newcomer);
  introduce(*newcomer, *server);
  auto refused = newcomer->connect_to_node(server->local_node_id());
  EXPECT_FALSE(refused);
  EXPECT_EQ(server->stats().connections_evicted, 0u);

  gate.open();
  for (auto& answer : answers) {
    auto result = answer.get();
    ASSERT_TRUE(result) << result.error().to_string();
    EXPECT_EQ(result->results.at(0).value(), Json("late but whole"));
  }
}

TEST(Eviction, ConnectionsThisNodeDialsCountAgainstTheCapToo) {
  // A node asked to reach more peers than its cap holds no more than the cap: each
  // new dial closes the idle connection it used longest ago.
  auto asker = start_server(2);
  ASSERT_TRUE(asker);
  std::vector<std::unique_ptr<NetworkCore>> peers;
  for (int i = 0; i < 3; ++i) {
    peers.push_back(start_node());
    ASSERT_TRUE(peers.back());
    peers.back()->set_query_callback([i](Query query) {
      QueryResult result;
      result.results.push_back({query.fields.at(0), Json(i)});
      return result;
    });
    introduce(*asker, *peers.back());
  }
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 3; ++i) {
      auto answer = asker->query_node(peers[i]->local_node_id(), field_query("n"));
      ASSERT_TRUE(answer) << "round " << round << ", peer " << i << ": " << answer.error().to_string();
      EXPECT_EQ(answer->results.at(0).value(), Json(i));
      EXPECT_TRUE(eventually([&] { return asker->connected_nodes().size() <= 2; }))
          << asker->connected_nodes().size() << " connected";
    }
  }
  // Every query after the first two needed room: 4 of the 6.
  EXPECT_EQ(asker->stats().connections_evicted, 4u);
  ASSERT_TRUE(eventually([&] { return asker->stats().open_connections == 2; }));
}

}  // namespace
}  // namespace datafold::net
