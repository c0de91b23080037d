// A `datafold node` process on a RoutedNetwork host, observed through its HTTP API
// (served on the host's address, which the test process reaches through the router).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

#include "netsim/node_api.hpp"
#include "support/routed_network.hpp"

namespace datafold::net::testing {

class RoutedNode {
 public:
  static constexpr int kTcpPort = 9000;
  static constexpr int kHttpPort = 8080;
  static constexpr int kDhtPort = 4222;

  RoutedNode(RoutedNetwork& net, int host, std::string data_dir, std::string network);

  // Starts `datafold --data-dir D node --sample --network N --http <host ip>:8080`
  // followed by `flags`; true once its HTTP API gives its node id. The same data
  // dir on a later start: the same identity.
  bool start(const std::vector<std::string>& flags);
  // SIGTERM (or `signal`), then reaped; SIGKILL if still there after 10 s.
  void stop(int signal);
  bool running();

  int host() const { return host_; }
  // Its id, known since its first start ("" before).
  const std::string& id() const { return id_; }
  // The API at the host's address now (it follows change_ip()).
  NodeApi api() const { return NodeApi(net_.ip(host_), kHttpPort); }
  // "ip:9000" / "[ip]:9000" for the host's IPv4 (or, with `v6`, IPv6) address.
  std::string tcp_endpoint(bool v6 = false) const;
  std::string log_tail() const;

 private:
  RoutedNetwork& net_;
  int host_;
  std::string data_dir_;
  std::string network_;
  std::string id_;
  pid_t pid_ = -1;
};

struct QueryPair {
  int from = 0, to = 0;  // hosts
  bool answered = false;
  int attempts = 0;
  std::chrono::milliseconds until_answered{0};  // from the start of query_each
  std::chrono::milliseconds answer_took{0};     // the answered query alone
  std::string last_failure;                     // what the last failed attempt returned
};

// Every node of `from` queries (POST /api/query, the sample's UserProfile.username)
// every node of `to` but itself by node id alone, retrying until answered or
// `deadline`; one thread per `from` node, its targets in turn.
std::vector<QueryPair> query_each(const std::vector<RoutedNode*>& from, const std::vector<RoutedNode*>& to,
                                  std::chrono::milliseconds deadline);

// "host 3 -> host 5: <why>" for each pair not answered (empty: all were).
std::string describe_failures(const std::vector<QueryPair>& pairs);

}  // namespace datafold::net::testing
