// netsim_convergence: for N hosts in network namespaces (default 5, 10, 20), how
// long until every node knows every other, and how many discovery datagrams each
// node sends per minute once converged. Prints JSON. Needs root.
//
// With --dht (default 12 and 24 hosts): the hosts on three subnets joined by a
// router, LAN discovery off, every node knowing only host 0 as its DHT bootstrap.
// How long until every node has resolved every other by id through the DHT (and
// queried it), lookup latency, and DHT datagrams per node per minute.
//
//   netsim_convergence [--dht] [--hosts 5,10,20] [--window-seconds 60]
#include <signal.h>
#include <stdlib.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <mutex>
#include <iostream>
#include <sstream>
#include <thread>

#include "datafold/net/identity.hpp"
#include "netsim/dht_fleet.hpp"
#include "netsim/dht_metrics.hpp"
#include "netsim/node_process.hpp"
#include "support/routed_network.hpp"
#include "support/virtual_lan.hpp"

using namespace datafold::net;
using namespace datafold::net::testing;
using Clock = std::chrono::steady_clock;

namespace {

std::uint64_t datagrams_sent(LanNode& node) {
  auto status = node.status();
  if (!status) return 0;
  return status->value("/discovery/datagrams_sent"_json_pointer, std::uint64_t{0});
}

Json measure(int hosts, std::chrono::seconds window) {
  std::string why_not;
  auto lan = VirtualLan::create(hosts, why_not);
  if (!lan) return {{"hosts", hosts}, {"error", why_not}};
  char pattern[] = "/tmp/datafold-convergence-XXXXXX";
  const std::string dir = ::mkdtemp(pattern);
  LanNodeOptions options;  // the defaults a user gets: 30 s announcement interval
  options.announce_interval = std::chrono::seconds(30);
  options.ping_interval = std::chrono::seconds(30);
  options.network = "convergence-" + std::to_string(::getpid());
  std::vector<LanNode> nodes;
  for (int i = 0; i < hosts; ++i) nodes.emplace_back(*lan, i, dir + "/host" + std::to_string(i), options);

  for (auto& node : nodes)
    if (!node.start()) return {{"hosts", hosts}, {"error", "a node did not start: " + node.log_tail()}};
  const auto last_start = Clock::now();
  std::vector<std::string> ids;
  for (auto& node : nodes) ids.push_back(node.node_id().value_or(""));

  auto converged = [&] {
    for (int i = 0; i < hosts; ++i) {
      auto known = nodes[i].known_ids();
      for (int j = 0; j < hosts; ++j)
        if (i != j && std::find(known.begin(), known.end(), ids[j]) == known.end()) return false;
    }
    return true;
  };
  bool ok = false;
  while (Clock::now() - last_start < std::chrono::seconds(60) && !(ok = converged()))
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const auto convergence_ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - last_start).count();

  std::uint64_t sent_at_convergence = 0;
  std::vector<std::uint64_t> before;
  for (auto& node : nodes) before.push_back(datagrams_sent(node));
  for (auto v : before) sent_at_convergence += v;
  std::this_thread::sleep_for(window);
  std::uint64_t sent_in_window = 0;
  for (int i = 0; i < hosts; ++i) sent_in_window += datagrams_sent(nodes[i]) - before[i];
  const double per_node_per_minute =
      static_cast<double>(sent_in_window) / hosts * 60.0 / static_cast<double>(window.count());

  for (auto& node : nodes) node.kill(SIGTERM);
  lan.reset();
  std::filesystem::remove_all(dir);
  return {{"hosts", hosts},
          {"converged", ok},
          {"convergence_ms_after_last_start", convergence_ms},
          {"datagrams_sent_until_converged_per_node", static_cast<double>(sent_at_convergence) / hosts},
          {"steady_window_seconds", window.count()},
          {"datagrams_per_node_per_minute", per_node_per_minute},
          {"announcement_interval_ms", options.announce_interval.count()}};
}

// The p-th quantile (0..1) of `samples`, nearest rank; 0 if there are none.
double quantile(std::vector<double> samples, double p) {
  if (samples.empty()) return 0;
  std::sort(samples.begin(), samples.end());
  const auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(samples.size())));
  return samples[std::min(samples.size(), std::max<std::size_t>(rank, 1)) - 1];
}

// The p-th quantile of a Prometheus histogram summed over several nodes' /metrics:
// the upper bound of the first bucket holding it. nullopt if no node has it.
std::optional<double> histogram_quantile(const std::vector<std::string>& metrics, const std::string& name, double p) {
  std::map<double, double> cumulative;  // le -> count, over every node
  for (const auto& text : metrics) {
    std::istringstream lines(text);
    const std::string prefix = name + "_bucket{le=\"";
    for (std::string line; std::getline(lines, line);) {
      if (line.compare(0, prefix.size(), prefix) != 0) continue;
      const auto end = line.find('"', prefix.size());
      const std::string le = line.substr(prefix.size(), end - prefix.size());
      const double bound = le == "+Inf" ? std::numeric_limits<double>::infinity() : std::stod(le);
      cumulative[bound] += std::stod(line.substr(line.rfind(' ') + 1));
    }
  }
  if (cumulative.empty() || cumulative.rbegin()->second == 0) return std::nullopt;
  const double wanted = p * cumulative.rbegin()->second;
  for (const auto& [bound, count] : cumulative)
    if (count >= wanted) return bound;
  return std::nullopt;
}

Json measure_dht(int hosts, std::chrono::seconds window) {
  std::string why_not;
  std::vector<SubnetSpec> subnets;
  for (int k = 0; k < 3; ++k) subnets.push_back({hosts / 3 + (k < hosts % 3 ? 1 : 0), true, false});
  auto net = RoutedNetwork::create(subnets, why_not);
  if (!net) return {{"hosts", hosts}, {"error", why_not}};
  char pattern[] = "/tmp/datafold-convergence-XXXXXX";
  const std::string dir = ::mkdtemp(pattern);
  // Removed however this run ends; the nodes (killed with `net`) go first.
  struct Cleanup {
    std::unique_ptr<RoutedNetwork>& net;
    const std::string& dir;
    ~Cleanup() {
      net.reset();
      std::filesystem::remove_all(dir);
    }
  } cleanup{net, dir};
  DhtFleet fleet(*net, dir, "convergence-" + std::to_string(::getpid()), 0);
  std::vector<int> all;
  for (int h = 0; h < hosts; ++h) all.push_back(h);
  if (!fleet.start(all, why_not)) return {{"hosts", hosts}, {"error", why_not}};

  // Every node queries every other by id alone: the first query of a pair needs
  // the DHT lookup, so "answered" is "resolved through the DHT".
  const auto pairs = fleet.query_all(all, all, std::chrono::seconds(120));
  const std::string failures = describe_failures(pairs);
  std::chrono::milliseconds converged_after{0};
  std::vector<double> first_query_ms;
  for (const auto& p : pairs) {
    converged_after = std::max(converged_after, p.until_answered);
    if (p.answered) first_query_ms.push_back(static_cast<double>(p.answer_took.count()));
  }
  // The same queries again, over the connections now open: what a query costs
  // without the lookup and the dial.
  std::vector<double> connected_query_ms;
  for (const auto& p : fleet.query_all(all, all, std::chrono::seconds(60)))
    if (p.answered) connected_query_ms.push_back(static_cast<double>(p.answer_took.count()));
  // An id nobody has: how long a node takes to say so.
  std::vector<double> unknown_id_ms;
  std::vector<std::thread> askers;
  std::mutex mutex;
  for (int h : all)
    askers.emplace_back([&, h] {
      auto unknown = Identity::generate();
      if (!unknown) return;
      const auto asked = Clock::now();
      const auto reply = fleet.node(h).api().query(unknown->node_id().to_string(), "UserProfile", {"username"},
                                                   std::chrono::seconds(60));
      const double ms = std::chrono::duration<double, std::milli>(Clock::now() - asked).count();
      std::lock_guard lock(mutex);
      if (reply.status) unknown_id_ms.push_back(ms);
    });
  for (auto& t : askers) t.join();

  auto all_metrics = [&] {
    std::vector<std::string> out;
    for (int h : all) out.push_back(fleet.node(h).api().metrics().value_or(""));
    return out;
  };
  const auto before = all_metrics();
  std::this_thread::sleep_for(window);
  const auto after = all_metrics();
  double datagrams = 0;
  for (std::size_t i = 0; i < before.size(); ++i)
    datagrams += dht_metrics::datagrams(after[i]) - dht_metrics::datagrams(before[i]);
  const double per_node_per_minute = datagrams / hosts * 60.0 / static_cast<double>(window.count());

  Json result{{"hosts", hosts},
              {"subnets", 3},
              {"pairs", pairs.size()},
              {"all_resolved", failures.empty()},
              {"resolved_all_ms_after_last_start", converged_after.count()},
              {"first_query_ms_p50", quantile(first_query_ms, 0.5)},
              {"first_query_ms_p99", quantile(first_query_ms, 0.99)},
              {"connected_query_ms_p50", quantile(connected_query_ms, 0.5)},
              {"connected_query_ms_p99", quantile(connected_query_ms, 0.99)},
              {"unknown_id_answer_ms_p50", quantile(unknown_id_ms, 0.5)},
              {"unknown_id_answer_ms_p99", quantile(unknown_id_ms, 0.99)},
              {"steady_window_seconds", window.count()},
              {"dht_datagrams_per_node_per_minute", per_node_per_minute}};
  for (double p : {0.5, 0.99})
    if (auto q = histogram_quantile(after, dht_metrics::kLookupHistogram, p))
      result[p == 0.5 ? "lookup_seconds_p50_from_metrics" : "lookup_seconds_p99_from_metrics"] = *q;
  if (!failures.empty()) result["failures"] = failures.substr(0, 2000);
  return result;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> sizes;
  std::chrono::seconds window{60};
  bool dht = false;
  for (int i = 1; i < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--dht") {
      dht = true;
      --i;  // takes no value
    } else if (i + 1 >= argc) {
      std::cerr << "usage: netsim_convergence [--dht] [--hosts 5,10,20] [--window-seconds 60]\n";
      return 2;
    } else if (flag == "--hosts") {
      sizes.clear();
      std::stringstream list(argv[i + 1]);
      for (std::string item; std::getline(list, item, ',');) sizes.push_back(std::stoi(item));
    } else if (flag == "--window-seconds") {
      window = std::chrono::seconds(std::stoi(argv[i + 1]));
    } else {
      std::cerr << "usage: netsim_convergence [--dht] [--hosts 5,10,20] [--window-seconds 60]\n";
      return 2;
    }
  }
  if (sizes.empty()) sizes = dht ? std::vector<int>{12, 24} : std::vector<int>{5, 10, 20};
  Json runs = Json::array();
  for (int hosts : sizes) {
    std::cerr << "measuring " << hosts << " hosts..." << std::endl;
    runs.push_back(dht ? measure_dht(hosts, window) : measure(hosts, window));
    std::cerr << runs.back().dump() << std::endl;
  }
  std::cout << Json{{"mode", dht ? "dht" : "lan"}, {"runs", runs}}.dump(2) << std::endl;
  return 0;
}
