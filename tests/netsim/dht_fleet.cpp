#include "netsim/dht_fleet.hpp"

namespace datafold::net::testing {

DhtFleet::DhtFleet(RoutedNetwork& net, std::string dir, std::string network, int bootstrap_host)
    : net_(net), dir_(std::move(dir)), network_(std::move(network)), bootstrap_host_(bootstrap_host) {}

std::string DhtFleet::bootstrap_endpoint() const {
  return RoutedNetwork::endpoint(net_.ip(bootstrap_host_), RoutedNode::kDhtPort);
}

std::vector<std::string> DhtFleet::flags(int host) const {
  std::vector<std::string> out = {"--no-discovery", "--listen", RoutedNetwork::endpoint(net_.ip(host), RoutedNode::kTcpPort),
                                  "--dht-port", std::to_string(RoutedNode::kDhtPort)};
  if (host == bootstrap_host_) {
    out.push_back("--dht");
  } else {
    out.push_back("--dht-bootstrap");
    out.push_back(bootstrap_endpoint());
  }
  return out;
}

bool DhtFleet::start(const std::vector<int>& hosts, std::string& why_not) {
  for (int host : hosts) {
    auto& node = nodes_[host];
    if (!node) node = std::make_unique<RoutedNode>(net_, host, dir_ + "/host" + std::to_string(host), network_);
    if (!node->start(flags(host))) {
      why_not = "the node on host " + std::to_string(host) + " did not start:\n" + node->log_tail();
      return false;
    }
  }
  return true;
}

std::vector<int> DhtFleet::hosts() const {
  std::vector<int> out;
  for (const auto& [host, node] : nodes_) out.push_back(host);
  return out;
}

std::vector<DhtFleet::Pair> DhtFleet::query_all(const std::vector<int>& from, const std::vector<int>& to,
                                                std::chrono::milliseconds deadline) {
  std::vector<RoutedNode*> sources, targets;
  for (int host : from) sources.push_back(&node(host));
  for (int host : to) targets.push_back(&node(host));
  return query_each(sources, targets, deadline);
}

}  // namespace datafold::net::testing
