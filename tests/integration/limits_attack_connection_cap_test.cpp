// Attacks on the total connection cap (DESIGN.md sections 8 and 11: max_connections,
// least-recently-used idle connections closed to make room) while a well-behaved peer
// keeps asking the node for schemas and answers.
//
// What a demanding user expects: the cap counts every connection, friend or flooder,
// established or still handshaking, and is never exceeded. At the cap, a newcomer takes
// the place of the connection used longest ago that has nothing in flight; a connection
// in the middle of a request is never cut, so when every connection is busy a newcomer
// is refused at once (a Connection error, not a hang). A well-behaved peer keeps getting
// its answers whatever a flood does: if its idle connection is closed to make room, its
// next request reconnects. A connection that has not even finished its handshake proves
// nothing, so a flood of those must not push out a peer that has.
#include "datafold/net/network_core.hpp"

#include <future>
#include <memory>
#include <vector>

#include <gtest/gtest.h>

#include "support/gate.hpp"
#include "support/known_answers.hpp"
#include "support/plain_tcp_client.hpp"
#include "support/raw_requests.hpp"
#include "support/raw_tls_client.hpp"
#include "support/test_nodes.hpp"

namespace datafold::net {
namespace {

using namespace std::chrono_literals;
using testing::gets_correct_answers;
using testing::RawTlsClient;
using testing::start_node;

constexpr std::size_t kMaxConnections = 4;

// A peer that may be refused once and must be able to try again soon after.
std::unique_ptr<NetworkCore> start_quick_redialling_node() {
  auto config = testing::loopback_config();
  config.redial_initial_delay = 50ms;
  config.redial_max_delay = 50ms;
  return start_node(config);
}

TEST(LimitsAttack, FloodOfIdlePeersNeverExceedsTheCapAndTheResidentIsServed) {
  constexpr std::size_t kFlood = 3 * kMaxConnections;
  auto config = testing::loopback_config();
  config.max_connections = kMaxConnections;
  auto server = start_node(config);
  auto resident = start_node();
  ASSERT_TRUE(server && resident);
  testing::serve_known_answers(*server);
  testing::introduce(*resident, *server);
  const NodeId& id = server->local_node_id();
  ASSERT_TRUE(gets_correct_answers(*resident, id));

  // The flood: complete TLS + Hello, then sit there asking nothing.
  std::vector<std::unique_ptr<RawTlsClient>> flood;
  for (std::size_t i = 1; i <= kFlood; ++i) {
    flood.push_back(std::make_unique<RawTlsClient>());
    (void)(flood.back()->connect(server->listen_port()) && flood.back()->exchange_hello());
    // A connection closed to make room counts until its close completes; then the cap holds.
    EXPECT_TRUE(testing::eventually([&] { return server->stats().open_connections <= kMaxConnections; }))
        << "after flooder " << i;
    // Now and then the resident asks again. In between, a cap's worth of flooders came,
    // so its connection, the least recently used, was closed to make room: its next
    // request must find its way back in.
    if (i % kMaxConnections == 0) {
      EXPECT_TRUE(gets_correct_answers(*resident, id)) << "after flooder " << i;
    }
  }
  EXPECT_TRUE(testing::eventually([&] { return server->stats().open_connections <= kMaxConnections; }));
  EXPECT_GE(server->stats().connections_evicted, kFlood + 1 - kMaxConnections);
  // It really was pushed out, and came back each time on its own.
  EXPECT_GT(resident->stats().outbound_dialled, 1u);
  EXPECT_EQ(resident->stats().requests_failed, 0u);
}

TEST(LimitsAttack, AtTheCapBusyConnectionsAreKeptAndNewcomersRefused) {
  auto config = testing::loopback_config();
  config.max_connections = kMaxConnections;
  config.handler_threads = kMaxConnections + 2;  // every held request has a thread; some are left
  auto server = start_node(config);
  auto resident = start_node();
  auto newcomer = start_quick_redialling_node();
  ASSERT_TRUE(server && resident && newcomer);
  testing::Gate gate;
  testing::serve_known_answers(*server, [waiter = gate.waiter()](const Query& q) {
    if (q.schema_name == "Hold") waiter.wait();
  });
  testing::introduce(*resident, *server);
  testing::introduce(*newcomer, *server);
  const NodeId& id = server->local_node_id();

  // Every slot busy: the resident and the flooders each have a request held in flight.
  auto held = resident->async_query_node(id, Query{"Hold", {"schema"}, "", 0, std::nullopt});
  std::vector<std::unique_ptr<RawTlsClient>> flood;
  for (std::size_t i = 1; i < kMaxConnections; ++i) {
    flood.push_back(std::make_unique<RawTlsClient>());
    ASSERT_TRUE(flood.back()->connect(server->listen_port()) && flood.back()->exchange_hello());
    ASSERT_TRUE(flood.back()->send(testing::raw_query(*flood.back(), "Hold")));
  }
  ASSERT_TRUE(gate.wait_for_waiters(static_cast<int>(kMaxConnections)));

  // Nothing to make room with: further connections are refused, none is cut.
  for (int i = 0; i < 3; ++i) {
    RawTlsClient extra;
    EXPECT_FALSE(extra.connect(server->listen_port()) && extra.exchange_hello()) << "extra connection " << i;
  }
  auto refused = newcomer->list_available_schemas(id);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().kind, ErrorKind::Connection) << refused.error().to_string();
  const auto during = server->stats();
  EXPECT_EQ(during.open_connections, kMaxConnections);
  EXPECT_EQ(during.connections_evicted, 0u);
  EXPECT_EQ(during.handshake_failures, 0u) << "refused before TLS, so no handshake was attempted";

  // Released: every held request is answered on the connection it came in on.
  gate.open();
  auto answer = held.get();
  ASSERT_TRUE(answer) << answer.error().to_string();
  EXPECT_EQ(answer->find("schema")->value(), Json("Hold"));
  for (auto& flooder : flood) {
    auto reply = flooder->read_message();
    ASSERT_TRUE(reply);
    EXPECT_TRUE(std::holds_alternative<QueryResponseMessage>(*reply));
  }
  // Idle again, so the newcomer gets a place (the least recently used one).
  EXPECT_TRUE(testing::eventually([&] { return newcomer->connect_to_node(id).ok(); }));
  EXPECT_TRUE(gets_correct_answers(*newcomer, id));
  EXPECT_TRUE(gets_correct_answers(*resident, id));
  EXPECT_TRUE(testing::eventually([&] { return server->stats().open_connections <= kMaxConnections; }));
}

TEST(LimitsAttack, FloodOfUnauthenticatedConnectionsDoesNotPushOutTheResident) {
  auto config = testing::loopback_config();
  config.max_connections = kMaxConnections;
  config.handshake_timeout = 2s;  // the flood holds its slots this long
  auto server = start_node(config);
  auto resident = start_node();
  ASSERT_TRUE(server && resident);
  testing::serve_known_answers(*server);
  testing::introduce(*resident, *server);
  const NodeId& id = server->local_node_id();
  ASSERT_TRUE(gets_correct_answers(*resident, id));

  // TCP connections that never start TLS: they cost an attacker nothing.
  std::vector<std::unique_ptr<testing::PlainTcpClient>> flood;
  for (std::size_t i = 0; i < 3 * kMaxConnections; ++i) {
    flood.push_back(std::make_unique<testing::PlainTcpClient>());
    ASSERT_TRUE(flood.back()->connect(server->listen_port()));
  }
  // Once they hold every slot the resident leaves (the rest may still be arriving)...
  ASSERT_TRUE(testing::eventually([&] { return server->stats().inbound_accepted >= kMaxConnections; }));
  // ...the resident, which proved who it is, is still served.
  EXPECT_TRUE(gets_correct_answers(*resident, id));
  EXPECT_TRUE(gets_correct_answers(*resident, id));
  EXPECT_TRUE(testing::eventually([&] { return server->stats().open_connections <= kMaxConnections; }));
}

TEST(LimitsAttack, LoopbackIsExemptFromThePerIpCap) {
  // By design (as go-libp2p): local tools and co-located nodes are not one remote host.
  auto config = testing::loopback_config();
  config.max_connections_per_ip = 1;
  auto server = start_node(config);
  ASSERT_TRUE(server);
  testing::serve_known_answers(*server);
  std::vector<std::unique_ptr<NetworkCore>> locals;
  for (int i = 0; i < 3; ++i) {
    locals.push_back(start_node());
    ASSERT_TRUE(locals.back());
    testing::introduce(*locals.back(), *server);
    EXPECT_TRUE(gets_correct_answers(*locals.back(), server->local_node_id())) << "local peer " << i;
  }
  EXPECT_EQ(server->stats().open_connections, 3u);
}

}  // namespace
}  // namespace datafold::net
