// Nodes on three subnets joined by a router: LAN discovery finds the nodes of a
// node's own subnet, and a bootstrap peer on another subnet is reached through the
// router. (Without the DHT, that is all a node can know across subnets.)
#include "support/routed_network.hpp"

#include <stdlib.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "netsim/routed_node.hpp"
#include "support/test_nodes.hpp"

namespace datafold::net::testing {
namespace {

using namespace std::chrono_literals;

TEST(RoutedBootstrap, LanDiscoveryFindsTheSubnetAndABootstrapPeerIsReachedAcrossTheRouter) {
  std::string why_not;
  auto net = RoutedNetwork::create({{2, true, false}, {2, true, false}, {2, true, false}}, why_not);
  if (!net) GTEST_SKIP() << "needs Linux network namespaces: " << why_not;
  char pattern[] = "/tmp/datafold-routed-XXXXXX";
  const std::string dir = ::mkdtemp(pattern);
  std::vector<std::unique_ptr<RoutedNode>> nodes;
  for (int h = 0; h < net->size(); ++h)
    nodes.push_back(std::make_unique<RoutedNode>(*net, h, dir + "/host" + std::to_string(h),
                                                 "routed-" + std::to_string(::getpid())));
  // Host 0 is everyone's bootstrap peer; every node also runs LAN discovery on its link.
  const std::vector<std::string> lan = {"--discovery-interface", RoutedNetwork::interface(),
                                        "--announce-interval-ms", "1000", "--ping-interval-ms", "500"};
  for (int h = 0; h < net->size(); ++h) {
    std::vector<std::string> flags = {"--listen", nodes[h]->tcp_endpoint()};
    flags.insert(flags.end(), lan.begin(), lan.end());
    if (h != 0) flags.insert(flags.end(), {"--bootstrap", nodes[0]->tcp_endpoint()});
    ASSERT_TRUE(nodes[h]->start(flags)) << nodes[h]->log_tail();
  }
  auto knows = [&](int a, int b) {
    const auto known = nodes[a]->api().known_ids();
    return std::find(known.begin(), known.end(), nodes[b]->id()) != known.end();
  };
  // Subnet mates find each other on their LAN.
  for (int subnet = 0; subnet < net->subnet_count(); ++subnet) {
    const auto mates = net->hosts_in(subnet);
    EXPECT_TRUE(eventually([&] { return knows(mates[0], mates[1]) && knows(mates[1], mates[0]); }, 10s))
        << "subnet " << subnet;
  }
  // Everyone reaches host 0 across the router, and host 0 each of them back.
  std::vector<RoutedNode*> others;
  for (int h = 1; h < net->size(); ++h) others.push_back(nodes[h].get());
  EXPECT_EQ(describe_failures(query_each(others, {nodes[0].get()}, 30s)), "");
  EXPECT_EQ(describe_failures(query_each({nodes[0].get()}, others, 30s)), "");

  nodes.clear();
  net.reset();
  if (!HasFailure()) std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace datafold::net::testing
