// Nodes on different networks find and query each other by node id alone
// (issue 10; DESIGN.md sections 10.1 and 10.2). Thirteen hosts on three subnets
// joined by a router (no multicast crosses it), LAN discovery off; twelve run
// `datafold node`, each knowing only host 0 as its DHT bootstrap. The thirteenth
// is a hostile host: it joins the same DHT and forges or replays announcements.
#include "support/routed_network.hpp"

#include <signal.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include <gtest/gtest.h>

#include "netsim/dht_fleet.hpp"
#include "netsim/dht_metrics.hpp"
#include "support/accept_counter.hpp"
#include "support/test_nodes.hpp"

namespace datafold::net::testing {
namespace {

using namespace std::chrono_literals;

constexpr int kWideAreaBootstrapHost = 0;
constexpr int kVictimHost = 1;  // subnet 0, beside the forger: its old address can become the forger's
constexpr int kForgerHost = 4;  // subnet 0; runs no node
constexpr int kWideAreaHosts = 13;
// Generous for a loaded CI machine; each wait ends as soon as its condition holds.
constexpr auto kFindDeadline = 45s;

bool listed(const std::vector<NodeApi::Address>& addresses, const std::string& address,
            const std::string& source = "") {
  for (const auto& a : addresses)
    if (a.address == address && (source.empty() || a.source == source)) return true;
  return false;
}

class WideArea : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why_not;
    net_ = RoutedNetwork::create({{5, true, false}, {4, true, false}, {4, true, false}}, why_not);
    if (!net_) GTEST_SKIP() << "needs Linux network namespaces: " << why_not;
    ASSERT_EQ(net_->size(), kWideAreaHosts);
    char pattern[] = "/tmp/datafold-wide-XXXXXX";
    dir_ = ::mkdtemp(pattern);
    fleet_ = std::make_unique<DhtFleet>(*net_, dir_, "wide-" + std::to_string(::getpid()), kWideAreaBootstrapHost);
  }
  void TearDown() override {
    fleet_.reset();
    net_.reset();  // kills every process, then removes the namespaces
    if (!dir_.empty() && !HasFailure()) std::filesystem::remove_all(dir_);
  }

  std::vector<int> node_hosts(int except = -1) const {
    std::vector<int> out;
    for (int h = 0; h < kWideAreaHosts; ++h)
      if (h != kForgerHost && h != except) out.push_back(h);
    return out;
  }
  // Callers ASSERT on it: nothing after a node that did not start makes sense.
  bool start(const std::vector<int>& hosts) {
    std::string why_not;
    if (fleet_->start(hosts, why_not)) return true;
    ADD_FAILURE() << why_not;
    return false;
  }
  void expect_all_answered(const std::vector<DhtFleet::Pair>& pairs, const std::string& what) {
    EXPECT_EQ(describe_failures(pairs), "") << what;
  }

  // Runs the forger on its host to the end: its exit code, and its last output line
  // (its JSON report) if it succeeded, else all it wrote.
  std::pair<std::optional<int>, std::string> forger(const std::vector<std::string>& args) {
    const std::string log = dir_ + "/forger.log";
    std::filesystem::remove(log);
    std::vector<std::string> argv = {DHT_FORGER_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    for (const auto& flag : std::vector<std::string>{"--bootstrap", fleet_->bootstrap_endpoint(), "--port",
                                                     std::to_string(RoutedNode::kDhtPort), "--timeout-ms", "20000"})
      argv.push_back(flag);
    const pid_t pid = net_->spawn(kForgerHost, argv, log);
    if (pid <= 0) return {std::nullopt, "cannot start the forger"};
    const auto code = net_->processes().wait_exit(pid, 30s);
    if (!code) net_->processes().stop(pid, SIGKILL, 5s);
    std::ifstream in(log);
    std::string line, last, all;
    while (std::getline(in, line)) {
      all += line + "\n";
      if (!line.empty()) last = line;
    }
    return {code, code == 0 ? last : all};
  }
  // Saves the victim's genuine DHT value(s) as they are now, to `saved`. Also proves
  // the forger writes where nodes read: it found the victim's own value under that key.
  bool fetch_victim_value(const std::string& saved) {
    const auto [code, output] = forger({"fetch", "--node", fleet_->id(kVictimHost), "--out", saved});
    if (code == 0) return true;
    ADD_FAILURE() << "the forger found no genuine value of the victim under its key:\n" << output;
    return false;
  }
  std::unique_ptr<AcceptCounter> trap_at(const std::string& ip) {
    std::string why_not;
    auto trap = AcceptCounter::start(net_->netns(kForgerHost), ip, RoutedNode::kTcpPort, why_not);
    EXPECT_TRUE(trap) << why_not;
    return trap;
  }

  std::unique_ptr<RoutedNetwork> net_;
  std::string dir_;
  std::unique_ptr<DhtFleet> fleet_;
};

TEST_F(WideArea, EveryNodeFindsAndQueriesEveryOtherByIdAlone) {
  const auto hosts = node_hosts();
  ASSERT_EQ(hosts.size(), 12u);
  ASSERT_TRUE(start(hosts));
  const auto pairs = fleet_->query_all(hosts, hosts, kFindDeadline);
  ASSERT_EQ(pairs.size(), 12u * 11u);
  expect_all_answered(pairs, "every node queries every other by id");
  std::chrono::milliseconds slowest{0};
  for (const auto& p : pairs) slowest = std::max(slowest, p.until_answered);
  std::cout << "[ netsim ] 12 nodes on 3 subnets: every pair answered " << slowest.count()
            << " ms after the last node started\n";

  // Each lists the others at their addresses. Nothing but the DHT could have told
  // them: of each pair, whoever dialled found the other there (the other may know
  // it only from that connection, as an inbound address).
  std::map<std::pair<int, int>, std::vector<NodeApi::Address>> views;
  for (int from : hosts)
    for (int to : hosts)
      if (from != to) views[{from, to}] = fleet_->node(from).api().addresses_of(fleet_->id(to));
  for (int a : hosts)
    for (int b : hosts) {
      if (a >= b) continue;
      const std::string at_a = fleet_->node(a).tcp_endpoint(), at_b = fleet_->node(b).tcp_endpoint();
      const auto& a_sees = views[{a, b}];
      const auto& b_sees = views[{b, a}];
      EXPECT_TRUE(listed(a_sees, at_b)) << "host " << a << " lists host " << b << " at " << show_addresses(a_sees);
      EXPECT_TRUE(listed(b_sees, at_a)) << "host " << b << " lists host " << a << " at " << show_addresses(b_sees);
      EXPECT_TRUE(listed(a_sees, at_b, "dht") || listed(b_sees, at_a, "dht"))
          << "neither of hosts " << a << " and " << b << " found the other in the DHT: " << show_addresses(a_sees)
          << "/ " << show_addresses(b_sees);
    }
}

#define SKIP_WITHOUT_FORGER() \
  if (std::string(DHT_FORGER_BINARY).empty()) GTEST_SKIP() << "built without OpenDHT's pkg-config file: no forger"

TEST_F(WideArea, NodeRestartedOnANewAddressIsFoundThereAndAReplayOfItsOldValueDrawsNoOne) {
  SKIP_WITHOUT_FORGER();
  constexpr int kLateHost = 12;  // joins only after the replay
  const auto early = node_hosts(kLateHost);
  ASSERT_TRUE(start(early));
  expect_all_answered(fleet_->query_all(early, {kVictimHost}, kFindDeadline), "before the move");
  const std::string saved = dir_ + "/victim-value.hex";
  ASSERT_TRUE(fetch_victim_value(saved));

  const std::string old_ip = net_->ipv4(kVictimHost);
  const std::string old_endpoint = fleet_->node(kVictimHost).tcp_endpoint();
  fleet_->node(kVictimHost).stop(SIGTERM);
  ASSERT_TRUE(net_->change_ip(kVictimHost, net_->unused_ip(kVictimHost)));
  ASSERT_TRUE(start({kVictimHost}));  // same data dir: same id
  const std::string new_endpoint = fleet_->node(kVictimHost).tcp_endpoint();

  expect_all_answered(fleet_->query_all(early, {kVictimHost}, kFindDeadline), "after the move");
  auto moved_everywhere = [&] {
    for (int host : early) {
      if (host == kVictimHost) continue;
      const auto addresses = fleet_->node(host).api().addresses_of(fleet_->id(kVictimHost));
      if (!listed(addresses, new_endpoint) || listed(addresses, old_endpoint)) return false;
    }
    return true;
  };
  EXPECT_TRUE(eventually(moved_everywhere, 20s)) << [&] {
    std::ostringstream out;
    for (int host : early)
      if (host != kVictimHost)
        out << "host " << host << ": "
            << show_addresses(fleet_->node(host).api().addresses_of(fleet_->id(kVictimHost))) << '\n';
    return "old " + old_endpoint + ", new " + new_endpoint + "\n" + out.str();
  }();

  // The forger takes the victim's old address and puts the victim's old, genuinely
  // signed value back: whoever believed it would dial the forger.
  ASSERT_TRUE(net_->change_ip(kForgerHost, old_ip));
  auto trap = trap_at(old_ip);
  ASSERT_TRUE(trap);
  const auto [code, report] =
      forger({"replay", "--network", fleet_->network(), "--victim", fleet_->id(kVictimHost), "--in", saved});
  ASSERT_EQ(code, 0) << report;

  // A node that never knew the victim finds it through all that, and so do the others.
  ASSERT_TRUE(start({kLateHost}));
  expect_all_answered(fleet_->query_all({kLateHost}, {kVictimHost}, kFindDeadline), "the late node");
  expect_all_answered(fleet_->query_all(early, {kVictimHost}, kFindDeadline), "after the replay");
  const auto late_view = fleet_->node(kLateHost).api().addresses_of(fleet_->id(kVictimHost));
  EXPECT_TRUE(listed(late_view, new_endpoint)) << show_addresses(late_view);
  EXPECT_FALSE(listed(late_view, old_endpoint)) << show_addresses(late_view);
  EXPECT_EQ(trap->accepted(), 0) << "connections from the replayed address's believers: "
                                 << ::testing::PrintToString(trap->sources());
}

TEST_F(WideArea, ForgedValuesMakeNoNodeAppearAndDrawNoQuery) {
  SKIP_WITHOUT_FORGER();
  const auto hosts = node_hosts();
  ASSERT_TRUE(start(hosts));
  // The victim is in the DHT, under the key the forger writes to; the forger also
  // tampers with a copy of its value.
  const std::string genuine = dir_ + "/victim-value.hex";
  ASSERT_TRUE(fetch_victim_value(genuine));
  const std::string claim = RoutedNetwork::endpoint(net_->ipv4(kForgerHost), RoutedNode::kTcpPort);
  auto trap = trap_at(net_->ipv4(kForgerHost));
  ASSERT_TRUE(trap);
  const auto [code, output] = forger(
      {"forge", "--network", fleet_->network(), "--victim", fleet_->id(kVictimHost), "--claim", claim, "--genuine", genuine});
  ASSERT_EQ(code, 0) << output;
  const Json report = Json::parse(output, nullptr, false);
  ASSERT_TRUE(report.is_object() && report.contains("phantom_id") && report.contains("forger_id")) << output;
  const std::vector<std::string> never = {report["phantom_id"], report["forger_id"]};

  // Every node looks the victim up for the first time, forged values beside the real one.
  std::vector<int> others;
  for (int h : hosts)
    if (h != kVictimHost) others.push_back(h);
  expect_all_answered(fleet_->query_all(others, {kVictimHost}, kFindDeadline), "the victim, among forgeries");

  double rejected = 0;
  for (int host : hosts) {
    const NodeApi api = fleet_->node(host).api();
    const auto known = api.known_ids();
    for (const auto& id : never)
      EXPECT_EQ(std::count(known.begin(), known.end(), id), 0) << "host " << host << " lists forged node " << id;
    if (host != kVictimHost) {
      const auto addresses = api.addresses_of(fleet_->id(kVictimHost));
      EXPECT_FALSE(listed(addresses, claim))
          << "host " << host << " took the forger's address: " << show_addresses(addresses);
    }
    if (auto metrics = api.metrics()) rejected += dht_metrics::values_rejected(*metrics);
  }
  // What discover_nodes() finds under the network's key: the real nodes, no forged one.
  const auto found = fleet_->node(kWideAreaBootstrapHost).api().get_data("/api/v1/network/discover", 30s);
  ASSERT_TRUE(found && found->is_array());
  std::vector<std::string> found_ids;
  for (const auto& n : *found) found_ids.push_back(n.value("node_id", ""));
  EXPECT_EQ(std::count(found_ids.begin(), found_ids.end(), fleet_->id(kVictimHost)), 1) << found->dump();
  for (const auto& id : never) EXPECT_EQ(std::count(found_ids.begin(), found_ids.end(), id), 0) << found->dump();

  EXPECT_EQ(trap->accepted(), 0) << "connections to the forged address from "
                                 << ::testing::PrintToString(trap->sources());
  // The nodes did read the forgeries (and counted them), so the above means something.
  EXPECT_GT(rejected, 0) << "no node counted a rejected DHT value (see dht_metrics.hpp for the metric's name)";
}

}  // namespace
}  // namespace datafold::net::testing
