// Discovery over real UDP: IPv4 multicast and broadcast on the loopback interface,
// and IPv6 link-local multicast between network namespaces on one link (Linux
// cannot multicast IPv6 on lo: it has no multicast route there, so sends fail
// with "network unreachable").
#include "datafold/net/network_core.hpp"

#include <random>

#include <gtest/gtest.h>

#include "datafold/net/discovery.hpp"
#include "support/in_netns.hpp"
#include "support/link_lan.hpp"
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

// ------------------------------------------------------------------ IPv6, in namespaces

using namespace std::chrono_literals;

// "fe80::1%eth0" -> "fe80::1".
std::string unscoped(const std::string& ip) { return ip.substr(0, ip.find('%')); }

class LanDiscoveryIpv6 : public ::testing::Test {
 protected:
  void make_lan(testing::LinkLan::Options options) {
    std::string why_not;
    lan_ = testing::LinkLan::create(options, why_not);
    if (!lan_) GTEST_SKIP() << "needs Linux network namespaces: " << why_not;
  }

  // Runs `work` in host `host`'s namespace; sockets and threads it makes stay there.
  void on_host(int host, const std::function<void()>& work) {
    std::string why_not;
    if (!testing::run_in_netns(lan_->netns(host), work, why_not))
      ADD_FAILURE() << "cannot enter host " << host << "'s namespace: " << why_not;
  }

  // A node on `host`, listening on every address, discovering on the host's link.
  std::unique_ptr<NetworkCore> start_node_on(int host) {
    auto config = discovering_config(port_, network_);
    config.listen_address = "::";
    config.discovery_interfaces = {lan_->interface(host)};
    std::unique_ptr<NetworkCore> node;
    on_host(host, [&] { node = testing::start_node(config); });
    return node;
  }

  // Discovery alone on `host`, announcing TCP port `tcp_port` on every address.
  std::unique_ptr<NodeDiscovery> start_discovery_on(int host, std::uint16_t tcp_port) {
    const DiscoveryConfig config{.identity = Identity::generate().value(),
                                 .network_name = network_,
                                 .tcp_port = tcp_port,
                                 .capabilities = {},
                                 .discovery_port = port_,
                                 .interfaces = {lan_->interface(host)},
                                 .group = "239.255.77.77",
                                 .group_v6 = "ff12::77:77",
                                 .announcement_interval = 30s,
                                 .listen_address = "::"};
    std::unique_ptr<NodeDiscovery> discovery;
    on_host(host, [&] {
      auto made = NodeDiscovery::create(config, nullptr);
      if (!made) {
        ADD_FAILURE() << made.error().to_string();
        return;
      }
      discovery = std::move(*made);
      discovery->start();
    });
    return discovery;
  }

  // How host `seen` is dialled from host `from`, on its link-local address.
  std::string link_local_as_seen(int seen, int from, std::uint16_t port) const {
    return "[" + unscoped(lan_->link_local(seen)) + "%" + lan_->interface(from) + "]:" + std::to_string(port);
  }

  std::unique_ptr<testing::LinkLan> lan_;  // first member: goes after what runs inside it
  std::uint16_t port_ = fresh_lan().first;
  std::string network_ = fresh_lan().second;
};

TEST_F(LanDiscoveryIpv6, Ipv6OnlyNodesFindAndQueryEachOther) {
  make_lan({.hosts = 3, .ipv4 = false});
  std::vector<std::unique_ptr<NetworkCore>> nodes;
  for (int i = 0; i < lan_->size(); ++i) {
    nodes.push_back(start_node_on(i));
    ASSERT_TRUE(nodes.back()) << "host " << i;
    nodes.back()->set_query_callback([i](Query) {
      QueryResult r;
      r.results.push_back({"who", Json(i)});
      return r;
    });
  }
  for (auto& node : nodes) {
    ASSERT_TRUE(testing::eventually([&] {
      auto found = node->discover_nodes();
      return found && found->size() == nodes.size() - 1;
    })) << "node " << node->local_node_id().short_string() << " knows " << node->known_nodes().size();
  }
  for (int i = 0; i < lan_->size(); ++i) {
    for (int j = 0; j < lan_->size(); ++j) {
      if (i == j) continue;
      const auto info = nodes[i]->known_nodes().at(nodes[j]->local_node_id());
      const auto port = nodes[j]->listen_port();
      // Its link-local address on i's own interface (the datagram's source), or its
      // first announced address when the node announces what it listens on.
      EXPECT_TRUE(info.address == link_local_as_seen(j, i, port) ||
                  info.address == "[" + lan_->ipv6(j) + "]:" + std::to_string(port))
          << info.address;
      auto r = nodes[i]->query_node(nodes[j]->local_node_id(), Query{"S", {"who"}, "", 0, std::nullopt});
      ASSERT_TRUE(r) << "host " << i << " querying host " << j << " at " << info.address << ": "
                     << r.error().to_string();
      EXPECT_EQ(r->find("who")->value(), Json(j));
    }
  }
}

TEST_F(LanDiscoveryIpv6, AnnouncementsCarryEveryAddressAndLinkLocalOnesTakeTheReceiversScope) {
  make_lan({.hosts = 2, .ipv4 = true});
  auto a = start_discovery_on(0, 9000);
  auto b = start_discovery_on(1, 9100);
  ASSERT_TRUE(a && b);
  // Both families carry the same announcement: whichever came first, the list is the same.
  const std::vector<std::string> b_as_seen_by_a = {lan_->ipv4(1) + ":9100", "[" + lan_->ipv6(1) + "]:9100",
                                                   link_local_as_seen(1, 0, 9100)};
  ASSERT_TRUE(testing::eventually([&] { return a->known_nodes().size() == 1 && b->known_nodes().size() == 1; }, 10s));
  const NodeInfo b_info = a->known_nodes().begin()->second;
  std::vector<std::string> addresses;
  for (const auto& address : b_info.addresses) {
    addresses.push_back(address.address);
    EXPECT_EQ(address.source, AddressSource::Lan);
  }
  EXPECT_EQ(addresses, b_as_seen_by_a);
  EXPECT_EQ(b_info.address, b_as_seen_by_a.front());
  EXPECT_EQ(b->known_nodes().begin()->second.addresses.back().address, link_local_as_seen(0, 1, 9000));

  // B learns a public address (say, confirmed by its peers' observations): it goes
  // out with its interfaces' own, before the link-local one.
  b->set_extra_addresses({"203.0.113.7:9100"});
  b->announce_presence();
  const std::vector<std::string> with_public = {b_as_seen_by_a[0], b_as_seen_by_a[1], "203.0.113.7:9100",
                                                b_as_seen_by_a[2]};
  EXPECT_TRUE(testing::eventually([&] {
    const auto known = a->known_nodes();
    std::vector<std::string> now;
    for (const auto& address : known.begin()->second.addresses) now.push_back(address.address);
    return now == with_public;
  }));
}

TEST_F(LanDiscoveryIpv6, OnAnIpv6OnlyLinkDiscoveryNeedsNoIpv4AtAll) {
  make_lan({.hosts = 2, .ipv4 = false});
  auto a = start_discovery_on(0, 9000);
  auto b = start_discovery_on(1, 9100);
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(testing::eventually([&] { return a->known_nodes().size() == 1; }, 10s));
  const NodeInfo b_info = a->known_nodes().begin()->second;
  std::vector<std::string> addresses;
  for (const auto& address : b_info.addresses) addresses.push_back(address.address);
  EXPECT_EQ(addresses, (std::vector<std::string>{"[" + lan_->ipv6(1) + "]:9100", link_local_as_seen(1, 0, 9100)}));
  EXPECT_EQ(a->interfaces().size(), 1u);
}

TEST_F(LanDiscoveryIpv6, ADualStackListenerIsReachedOverIpv4AndIpv6) {
  make_lan({.hosts = 2, .ipv4 = true});
  auto server = start_node_on(0);
  ASSERT_TRUE(server);
  const std::string port = std::to_string(server->listen_port());
  // A client per address, so each dial is a connection of its own.
  for (const std::string& address :
       {lan_->ipv4(0) + ":" + port, "[" + lan_->ipv6(0) + "]:" + port, link_local_as_seen(0, 1, server->listen_port())}) {
    auto client = start_node_on(1);
    ASSERT_TRUE(client);
    auto id = client->connect_to_address(address);
    ASSERT_TRUE(id) << address << ": " << id.error().to_string();
    EXPECT_EQ(*id, server->local_node_id()) << address;
    EXPECT_TRUE(client->list_available_schemas(server->local_node_id())) << address;
  }
}

}  // namespace
}  // namespace datafold::net
