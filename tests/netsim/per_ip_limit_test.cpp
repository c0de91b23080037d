// Attack on the per-IP connection cap (DESIGN.md section 11: 8 per remote IP, loopback
// exempt) while a well-behaved peer keeps asking the node for schemas and answers.
// Loopback is exempt, so the attack needs a real source address: the node runs in this
// process but inside VirtualLan host 0's network namespace, the attacker's nodes inside
// host 1's and the well-behaved peer inside host 2's, each on its own IP.
//
// What the node does: from one IP, connections beyond the cap are closed right after
// accept (a Connection error for the dialler); other IPs are untouched, and a slot
// comes back when one of that IP's connections ends. Peers behind one address (NAT)
// share its cap: that is the price of the limit.
#include "support/virtual_lan.hpp"

#include <memory>
#include <vector>

#include <gtest/gtest.h>

#include "support/in_netns.hpp"
#include "support/known_answers.hpp"
#include "support/test_nodes.hpp"

namespace datafold::net::testing {
namespace {

using namespace std::chrono_literals;

constexpr std::size_t kPerIp = 3;
constexpr std::size_t kAttackerNodes = kPerIp + 2;
constexpr int kNodeHost = 0;
constexpr int kAttackerHost = 1;
constexpr int kPeerHost = 2;

class PerIpLimit : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why_not;
    lan_ = VirtualLan::create(3, why_not);
    if (!lan_) GTEST_SKIP() << "needs Linux network namespaces: " << why_not;
  }

  // A node started inside `host`'s namespace, listening on that host's address.
  std::unique_ptr<NetworkCore> start_on(int host, NetworkConfig config = loopback_config()) {
    config.listen_address = lan_->ip(host);
    // A refused dial is retried soon after a slot frees, not a second later.
    config.redial_initial_delay = 50ms;
    config.redial_max_delay = 50ms;
    std::unique_ptr<NetworkCore> node;
    std::string why_not;
    if (!run_in_netns(lan_->netns(host), [&] { node = start_node(config); }, why_not))
      ADD_FAILURE() << "cannot enter host " << host << "'s namespace: " << why_not;
    return node;
  }

  // Tells `peer` where `node` listens on host `host`.
  void introduce_on_lan(NetworkCore& peer, const NetworkCore& node, int host) {
    NodeInfo info;
    info.node_id = node.local_node_id();
    info.public_key = node.public_key();
    info.address = lan_->ip(host) + ":" + std::to_string(node.listen_port());
    peer.add_known_node(info);
  }

  std::unique_ptr<VirtualLan> lan_;  // first member: nodes below go before their namespaces do
};

TEST_F(PerIpLimit, ConnectionsBeyondTheCapFromOneIpAreRefusedWhileOtherIpsAreServed) {
  auto config = loopback_config();
  config.max_connections_per_ip = kPerIp;
  auto server = start_on(kNodeHost, config);
  ASSERT_TRUE(server);
  serve_known_answers(*server);
  const NodeId& id = server->local_node_id();

  // The attack: many node identities from one address, each wanting its own connection.
  std::vector<std::unique_ptr<NetworkCore>> attackers;
  std::size_t admitted = 0;
  std::vector<std::size_t> refused;
  for (std::size_t i = 0; i < kAttackerNodes; ++i) {
    attackers.push_back(start_on(kAttackerHost));
    ASSERT_TRUE(attackers.back());
    introduce_on_lan(*attackers.back(), *server, kNodeHost);
    auto connected = attackers.back()->connect_to_node(id);
    if (connected) {
      ++admitted;
      // Counted as established before the next attempt, so the count is exact.
      ASSERT_TRUE(eventually([&] { return server->stats().open_connections == admitted; }));
    } else {
      EXPECT_EQ(connected.error().kind, ErrorKind::Connection) << connected.error().to_string();
      refused.push_back(i);
    }
  }
  EXPECT_EQ(admitted, kPerIp);
  ASSERT_EQ(refused.size(), kAttackerNodes - kPerIp);

  // During the attack, a peer from another address gets in and is served, and so are
  // the attacker's admitted connections (they broke no rule).
  auto peer = start_on(kPeerHost);
  ASSERT_TRUE(peer);
  introduce_on_lan(*peer, *server, kNodeHost);
  EXPECT_TRUE(gets_correct_answers(*peer, id));
  EXPECT_TRUE(gets_correct_answers(*attackers.front(), id));

  const auto during = server->stats();
  EXPECT_EQ(during.open_connections, kPerIp + 1);
  EXPECT_EQ(during.inbound_accepted, kPerIp + 1) << "refused connections are never admitted";
  EXPECT_EQ(during.handshake_failures, 0u) << "refused before TLS, so no handshake was attempted";

  // One of the address's connections ends: its slot comes back for that address.
  ASSERT_TRUE(attackers.front()->stop());
  auto& waiting = *attackers[refused.front()];
  EXPECT_TRUE(eventually([&] { return waiting.connect_to_node(id).ok(); }));
  EXPECT_TRUE(gets_correct_answers(waiting, id));
  EXPECT_TRUE(gets_correct_answers(*peer, id));
  EXPECT_EQ(server->stats().open_connections, kPerIp + 1);
}

}  // namespace
}  // namespace datafold::net::testing
