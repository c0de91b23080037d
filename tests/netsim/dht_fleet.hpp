// `datafold node` processes on a RoutedNetwork that can find each other only
// through the DHT: LAN discovery off, no bootstrap peers, every node knowing one
// DHT bootstrap host (that host's node runs the DHT as the first node of a
// network, `--dht` alone). Shared by the wide-area tests and the bench.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "netsim/routed_node.hpp"
#include "support/routed_network.hpp"

namespace datafold::net::testing {

class DhtFleet {
 public:
  DhtFleet(RoutedNetwork& net, std::string dir, std::string network, int bootstrap_host);

  // The flags a node on `host` is started with, for the host's address now.
  std::vector<std::string> flags(int host) const;
  // "ip:4222" of the bootstrap host.
  std::string bootstrap_endpoint() const;
  // Starts (or restarts) a node on each of `hosts`, in order; false and `why_not`
  // (with the node's log) if one does not come up.
  bool start(const std::vector<int>& hosts, std::string& why_not);
  RoutedNode& node(int host) { return *nodes_.at(host); }
  const std::string& id(int host) const { return nodes_.at(host)->id(); }
  // Hosts with a node (started at least once), ascending.
  std::vector<int> hosts() const;
  const std::string& network() const { return network_; }

  using Pair = QueryPair;
  // query_each(), between the nodes on these hosts.
  std::vector<Pair> query_all(const std::vector<int>& from, const std::vector<int>& to,
                              std::chrono::milliseconds deadline);

 private:
  RoutedNetwork& net_;
  std::string dir_;
  std::string network_;
  int bootstrap_host_;
  std::map<int, std::unique_ptr<RoutedNode>> nodes_;
};

}  // namespace datafold::net::testing
