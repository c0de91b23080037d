// Attacks on the handshake deadline (DESIGN.md sections 6 and 11: handshake_timeout)
// while a well-behaved peer keeps asking the node for schemas and answers: clients that
// connect and say nothing, and one that sends a real TLS ClientHello a byte at a time
// so that every single read makes progress. Both must be cut at the deadline.
#include "datafold/net/network_core.hpp"

#include <memory>
#include <vector>

#include <gtest/gtest.h>

#include "support/known_answers.hpp"
#include "support/plain_tcp_client.hpp"
#include "support/test_nodes.hpp"
#include "support/tls_client_hello.hpp"

namespace datafold::net {
namespace {

using namespace std::chrono_literals;
using testing::gets_correct_answers;
using testing::PlainTcpClient;
using testing::start_node;

constexpr auto kHandshakeTimeout = 800ms;
// Far longer than the deadline, far shorter than the test's timeout.
constexpr auto kCutWithin = 10s;

NetworkConfig short_handshake_config() {
  auto config = testing::loopback_config();
  config.handshake_timeout = kHandshakeTimeout;
  return config;
}

TEST(LimitsAttack, SilentClientsAreCutAtTheHandshakeDeadlineAndFreeTheirSlots) {
  constexpr std::size_t kSilent = 4;
  auto config = short_handshake_config();
  // The silent clients take every slot the resident peer leaves.
  config.max_connections = kSilent + 1;
  auto server = start_node(config);
  auto resident = start_node();
  auto newcomer = start_node();
  ASSERT_TRUE(server && resident && newcomer);
  testing::serve_known_answers(*server);
  testing::introduce(*resident, *server);
  testing::introduce(*newcomer, *server);
  const NodeId& id = server->local_node_id();
  ASSERT_TRUE(gets_correct_answers(*resident, id));

  std::vector<std::unique_ptr<PlainTcpClient>> silent;
  for (std::size_t i = 0; i < kSilent; ++i) {
    silent.push_back(std::make_unique<PlainTcpClient>());
    ASSERT_TRUE(silent.back()->connect(server->listen_port()));
  }
  ASSERT_TRUE(testing::eventually([&] { return server->stats().inbound_accepted == kSilent + 1; }));

  // While they hold their slots, the resident peer is served.
  EXPECT_TRUE(gets_correct_answers(*resident, id));

  for (auto& client : silent) EXPECT_TRUE(client->closed_within(kCutWithin)) << "a silent client outlived the deadline";
  EXPECT_TRUE(testing::eventually([&] { return server->stats().handshake_failures == kSilent; }));
  // Their slots are free again: a newcomer gets in, and the resident is still served.
  EXPECT_TRUE(gets_correct_answers(*newcomer, id));
  EXPECT_TRUE(gets_correct_answers(*resident, id));
  EXPECT_EQ(server->stats().open_connections, 2u);
}

TEST(LimitsAttack, ClientHelloTrickledByteByByteIsCutAtTheHandshakeDeadline) {
  auto server = start_node(short_handshake_config());
  auto resident = start_node();
  ASSERT_TRUE(server && resident);
  testing::serve_known_answers(*server);
  testing::introduce(*resident, *server);
  const NodeId& id = server->local_node_id();
  ASSERT_TRUE(gets_correct_answers(*resident, id));

  const std::string hello = testing::datafold_client_hello();
  // At one byte per 100 ms the whole ClientHello would take far beyond the deadline.
  ASSERT_GT(hello.size(), 100u);
  PlainTcpClient trickler;
  ASSERT_TRUE(trickler.connect(server->listen_port()));
  std::size_t sent = 0;
  bool cut = false;
  while (!cut && sent < hello.size()) {
    if (!trickler.send(hello.substr(sent, 1))) {
      cut = true;
      break;
    }
    ++sent;
    // Between bytes, the resident peer is served: the trickle stalls nobody else.
    EXPECT_TRUE(gets_correct_answers(*resident, id)) << "after byte " << sent;
    cut = trickler.closed_within(100ms);
  }
  EXPECT_TRUE(cut || trickler.closed_within(kCutWithin)) << "the trickle kept the handshake alive";
  EXPECT_LT(sent, hello.size()) << "the node waited for the whole trickled ClientHello";
  EXPECT_TRUE(testing::eventually([&] { return server->stats().handshake_failures == 1; }));
  EXPECT_EQ(server->stats().open_connections, 1u);
  EXPECT_TRUE(gets_correct_answers(*resident, id));
}

}  // namespace
}  // namespace datafold::net
