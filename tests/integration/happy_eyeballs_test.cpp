// Happy Eyeballs: a node whose first address is a black hole (packets dropped, no
// reset, no ICMP) and whose second is good is reached through the second, without
// waiting out the first's connect timeout.
//
// A black hole needs a network of the test's own: the test makes a network namespace
// (so it needs root, and is skipped without), brings its loopback up and has nftables
// drop, on input, every packet to 127.0.0.2. Both nodes run in that namespace; the
// server listens on every address, so 127.0.0.1 reaches it and 127.0.0.2 would too but
// for the rule. The namespace, and the rule with it, is deleted when the test ends.
//
// Also here: IPv6 addresses are dialled too, link-local ones on their interface.
#include "datafold/net/network_core.hpp"

#include <chrono>
#include <cstdio>
#include <future>

#include <gtest/gtest.h>

#include "support/black_hole_netns.hpp"
#include "support/in_netns.hpp"
#include "support/test_nodes.hpp"

namespace datafold::net {
namespace {

using namespace std::chrono_literals;
using testing::BlackHoleNetns;

constexpr const char* kBlackHoleIp = "127.0.0.2";
constexpr const char* kGoodIp = "127.0.0.1";

class HappyEyeballs : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why_not;
    netns_ = BlackHoleNetns::create(kBlackHoleIp, why_not);
    if (!netns_) GTEST_SKIP() << "Happy Eyeballs test needs a network namespace: " << why_not;
  }
  void TearDown() override {
    // Nodes first: their threads and sockets live in the namespace deleted after them.
    client_.reset();
    server_.reset();
    netns_.reset();
  }

  // Starts both nodes on a thread inside the namespace; their I/O threads stay there.
  void start_nodes(NetworkConfig client_config, std::string server_listen = "0.0.0.0") {
    std::string why_not;
    const bool entered = testing::run_in_netns(
        netns_->name(),
        [&] {
          auto server_config = testing::loopback_config();
          server_config.listen_address = server_listen;  // 0.0.0.0: reachable at 127.0.0.2 too, but for the rule
          server_ = testing::start_node(server_config);
          client_ = testing::start_node(std::move(client_config));
        },
        why_not);
    ASSERT_TRUE(entered) << why_not;
    ASSERT_TRUE(server_ && client_);
    server_->set_query_callback([](Query query) {
      QueryResult result;
      for (const auto& field : query.fields) result.results.push_back({field, Json("value of " + field)});
      return result;
    });
  }

  std::unique_ptr<BlackHoleNetns> netns_;
  std::unique_ptr<NetworkCore> server_;
  std::unique_ptr<NetworkCore> client_;
};

TEST_F(HappyEyeballs, ABlackHoledFirstAddressDoesNotHoldUpTheGoodSecond) {
  auto client_config = testing::loopback_config();
  client_config.connect_timeout = 60s;  // what waiting out the black hole would cost
  client_config.handshake_timeout = 10s;
  client_config.request_timeout = 10s;
  ASSERT_EQ(client_config.happy_eyeballs_delay, 250ms) << "the default (DESIGN.md section 11)";
  start_nodes(client_config);
  ASSERT_FALSE(HasFatalFailure());

  const std::string port = std::to_string(server_->listen_port());
  const std::string black_hole = std::string(kBlackHoleIp) + ":" + port;
  const std::string good = std::string(kGoodIp) + ":" + port;
  NodeInfo info;
  info.node_id = server_->local_node_id();
  info.public_key = server_->public_key();
  info.addresses = {{black_hole, AddressSource::Manual}, {good, AddressSource::Manual}};
  client_->add_known_node(info);
  {
    const auto known = client_->known_nodes().at(server_->local_node_id());
    ASSERT_EQ(known.addresses.size(), 2u);
    ASSERT_EQ(known.addresses.front().address, black_hole) << "the black hole must be tried first";
  }

  Query query;
  query.schema_name = "Profile";
  query.fields = {"name"};
  const auto started = std::chrono::steady_clock::now();
  auto reply = client_->async_query_node(server_->local_node_id(), query);
  // Not a speed claim: a hang guard. A dial that waited for the black hole could not
  // answer before its 60 s connect timeout; this waits half of that.
  ASSERT_EQ(reply.wait_for(client_config.connect_timeout / 2), std::future_status::ready)
      << "the dial waited for the black-holed address";
  const auto answer = reply.get();
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  ASSERT_TRUE(answer) << answer.error().to_string();
  EXPECT_EQ(answer->results.at(0).value(), Json("value of name"));

  // The connection is the good address's: it is the one that authenticated, and now
  // goes first; the black hole never answered.
  const auto known = client_->known_nodes().at(server_->local_node_id());
  EXPECT_EQ(known.address, good);
  ASSERT_EQ(known.addresses.size(), 2u);
  EXPECT_EQ(known.addresses[0].address, good);
  EXPECT_NE(known.addresses[0].last_success, std::chrono::system_clock::time_point{});
  EXPECT_EQ(known.addresses[1].address, black_hole);
  EXPECT_EQ(known.addresses[1].last_success, std::chrono::system_clock::time_point{});
  // And the black hole was really dialled first (its SYNs were dropped), not skipped.
  EXPECT_GE(netns_->dropped_packets(), 1) << "nothing was sent to the black hole";
  EXPECT_EQ(client_->connected_nodes().count(server_->local_node_id()), 1u);

  std::printf("happy eyeballs: black-holed first address, good second: connected and answered in %lld ms "
              "(stagger %lld ms, connect timeout %lld ms)\n",
              static_cast<long long>(took.count()), static_cast<long long>(client_config.happy_eyeballs_delay.count()),
              static_cast<long long>(client_config.connect_timeout.count()));
}

TEST_F(HappyEyeballs, EveryAddressBlackHoledFailsAtTheDeadlineWithATimeout) {
  auto client_config = testing::loopback_config();
  client_config.connect_timeout = 1s;  // short: this test waits it out
  client_config.handshake_timeout = 1s;
  start_nodes(client_config);
  ASSERT_FALSE(HasFatalFailure());

  const std::string port = std::to_string(server_->listen_port());
  NodeInfo info;
  info.node_id = server_->local_node_id();
  info.public_key = server_->public_key();
  info.address = std::string(kBlackHoleIp) + ":" + port;
  client_->add_known_node(info);
  auto connected = client_->connect_to_node(server_->local_node_id());
  ASSERT_FALSE(connected);
  EXPECT_EQ(connected.error().kind, ErrorKind::Timeout) << connected.error().to_string();
  EXPECT_GE(netns_->dropped_packets(), 1);
}

// A link-local IPv6 address means nothing without its interface: the scope
// ("%dfll0") must survive from the address book to the socket.
TEST_F(HappyEyeballs, ALinkLocalIpv6AddressIsDialledOnItsInterface) {
  // A veth pair inside the namespace: an interface with a link-local address of its own.
  ASSERT_TRUE(netns_->ip({"link", "add", "dfll0", "type", "veth", "peer", "name", "dfll1"}));
  ASSERT_TRUE(netns_->ip({"link", "set", "dfll0", "up"}));
  ASSERT_TRUE(netns_->ip({"link", "set", "dfll1", "up"}));
  ASSERT_TRUE(netns_->ip({"addr", "add", "fe80::d:1/64", "dev", "dfll0", "nodad"}));
  start_nodes(testing::loopback_config(), "::");
  ASSERT_FALSE(HasFatalFailure());

  const std::string address = "[fe80::d:1%dfll0]:" + std::to_string(server_->listen_port());
  NodeInfo info;
  info.node_id = server_->local_node_id();
  info.public_key = server_->public_key();
  info.address = address;
  client_->add_known_node(info);
  auto connected = client_->connect_to_node(server_->local_node_id());
  ASSERT_TRUE(connected) << connected.error().to_string();
  const auto known = client_->known_nodes().at(server_->local_node_id());
  EXPECT_EQ(known.address, address);
  ASSERT_FALSE(known.addresses.empty());
  EXPECT_NE(known.addresses.front().last_success, std::chrono::system_clock::time_point{});
}

// IPv6 loopback, no namespace needed: a node is dialled at "[::1]:port" like any address,
// by id and by address.
TEST(DialIpv6, ANodeIsReachedAtItsIpv6Address) {
  auto server_config = testing::loopback_config();
  server_config.listen_address = "::1";
  auto made = NetworkCore::create(server_config, NodeId{}, std::nullopt);
  ASSERT_TRUE(made) << made.error().to_string();
  auto server = std::make_unique<NetworkCore>(std::move(*made));
  if (auto started = server->start(); !started) GTEST_SKIP() << "no IPv6 loopback here: " << started.error().to_string();
  server->set_query_callback([](Query query) {
    QueryResult result;
    for (const auto& field : query.fields) result.results.push_back({field, Json("v6 " + field)});
    return result;
  });
  auto client = testing::start_node();
  ASSERT_TRUE(client);
  const std::string address = "[::1]:" + std::to_string(server->listen_port());

  NodeInfo info;
  info.node_id = server->local_node_id();
  info.public_key = server->public_key();
  info.address = address;
  client->add_known_node(info);
  Query query;
  query.schema_name = "Profile";
  query.fields = {"name"};
  auto answer = client->query_node(server->local_node_id(), query);
  ASSERT_TRUE(answer) << answer.error().to_string();
  EXPECT_EQ(answer->results.at(0).value(), Json("v6 name"));
  EXPECT_EQ(client->known_nodes().at(server->local_node_id()).address, address);

  // The server saw it come from ::1, and knows it at the port its Hello gave, as a guess.
  ASSERT_TRUE(testing::eventually([&] { return server->known_nodes().count(client->local_node_id()) > 0; }));
  const auto seen = server->known_nodes().at(client->local_node_id());
  ASSERT_EQ(seen.addresses.size(), 1u);
  EXPECT_EQ(seen.addresses[0].address, "[::1]:" + std::to_string(client->listen_port()));
  EXPECT_EQ(seen.addresses[0].source, AddressSource::Inbound);

  auto other = testing::start_node();
  ASSERT_TRUE(other);
  auto by_address = other->connect_to_address(address);
  ASSERT_TRUE(by_address) << by_address.error().to_string();
  EXPECT_EQ(*by_address, server->local_node_id());
}

}  // namespace
}  // namespace datafold::net
