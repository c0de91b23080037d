// IPv6 (issue 10, DESIGN.md section 10): hosts with no IPv4 address at all find
// each other by LAN discovery on their link and query each other; a dual-stack
// node reaches an IPv4-only peer and an IPv6-only peer on other subnets.
// Every node listens dual-stack on [::]:9000, the default a user gets.
#include "support/routed_network.hpp"

#include <signal.h>
#include <stdlib.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "netsim/routed_node.hpp"
#include "support/test_nodes.hpp"

namespace datafold::net::testing {
namespace {

using namespace std::chrono_literals;

class Ipv6 : public ::testing::Test {
 protected:
  void make(const std::vector<SubnetSpec>& subnets) {
    std::string why_not;
    net_ = RoutedNetwork::create(subnets, why_not);
    if (!net_) GTEST_SKIP() << "needs Linux network namespaces with IPv6: " << why_not;
    char pattern[] = "/tmp/datafold-ipv6-XXXXXX";
    dir_ = ::mkdtemp(pattern);
    for (int h = 0; h < net_->size(); ++h)
      nodes_.push_back(std::make_unique<RoutedNode>(*net_, h, dir_ + "/host" + std::to_string(h),
                                                    "ipv6-" + std::to_string(::getpid())));
  }
  void TearDown() override {
    nodes_.clear();
    net_.reset();
    if (!dir_.empty() && !HasFailure()) std::filesystem::remove_all(dir_);
  }
  std::vector<RoutedNode*> all() {
    std::vector<RoutedNode*> out;
    for (auto& n : nodes_) out.push_back(n.get());
    return out;
  }
  bool knows(int host, int other) {
    const auto known = nodes_[host]->api().known_ids();
    return std::find(known.begin(), known.end(), nodes_[other]->id()) != known.end();
  }

  std::unique_ptr<RoutedNetwork> net_;
  std::string dir_;
  std::vector<std::unique_ptr<RoutedNode>> nodes_;
};

TEST_F(Ipv6, Ipv6OnlyHostsDiscoverEachOtherOnTheLanAndQueryEachOther) {
  make({{3, false, true}});
  if (!net_) return;
  for (auto& node : nodes_)
    ASSERT_TRUE(node->start({"--listen", "[::]:9000", "--discovery-interface", RoutedNetwork::interface(),
                             "--announce-interval-ms", "1000", "--ping-interval-ms", "500"}))
        << node->log_tail();
  auto everyone_known = [&] {
    for (int a = 0; a < net_->size(); ++a)
      for (int b = 0; b < net_->size(); ++b)
        if (a != b && !knows(a, b)) return false;
    return true;
  };
  ASSERT_TRUE(eventually(everyone_known, 10s)) << "not every IPv6-only node discovered every other";
  EXPECT_EQ(describe_failures(query_each(all(), all(), 30s)), "");
  // Found on the LAN, at IPv6 addresses (there is no other kind here).
  for (int a = 0; a < net_->size(); ++a)
    for (int b = 0; b < net_->size(); ++b) {
      if (a == b) continue;
      const auto addresses = nodes_[a]->api().addresses_of(nodes_[b]->id());
      bool lan_v6 = false;
      for (const auto& address : addresses) lan_v6 = lan_v6 || (address.source == "lan" && address.address.front() == '[');
      EXPECT_TRUE(lan_v6) << "host " << a << " lists host " << b << " at " << show_addresses(addresses);
    }
}

TEST_F(Ipv6, DualStackNodeReachesAnIpv4OnlyAndAnIpv6OnlyPeer) {
  make({{1, true, true}, {1, true, false}, {1, false, true}});  // hosts 0 dual, 1 IPv4-only, 2 IPv6-only
  if (!net_) return;
  ASSERT_TRUE(nodes_[1]->start({"--no-discovery", "--listen", "[::]:9000"})) << nodes_[1]->log_tail();
  ASSERT_TRUE(nodes_[2]->start({"--no-discovery", "--listen", "[::]:9000"})) << nodes_[2]->log_tail();
  const std::string v4_peer = nodes_[1]->tcp_endpoint();
  const std::string v6_peer = nodes_[2]->tcp_endpoint(true);
  ASSERT_TRUE(nodes_[0]->start({"--no-discovery", "--listen", "[::]:9000", "--bootstrap", v4_peer, "--bootstrap", v6_peer}))
      << nodes_[0]->log_tail();

  EXPECT_EQ(describe_failures(query_each({nodes_[0].get()}, {nodes_[1].get(), nodes_[2].get()}, 30s)), "");
  // And back, each in its only family.
  EXPECT_EQ(describe_failures(query_each({nodes_[1].get(), nodes_[2].get()}, {nodes_[0].get()}, 30s)), "");
  const auto at_v4 = nodes_[0]->api().addresses_of(nodes_[1]->id());
  const auto at_v6 = nodes_[0]->api().addresses_of(nodes_[2]->id());
  auto has = [](const std::vector<NodeApi::Address>& list, const std::string& address) {
    for (const auto& a : list)
      if (a.address == address) return true;
    return false;
  };
  EXPECT_TRUE(has(at_v4, v4_peer)) << show_addresses(at_v4);
  EXPECT_TRUE(has(at_v6, v6_peer)) << show_addresses(at_v6);
}

}  // namespace
}  // namespace datafold::net::testing
