// netsim_convergence: for N hosts in network namespaces (default 5, 10, 20), how
// long until every node knows every other, and how many discovery datagrams each
// node sends per minute once converged. Prints JSON. Needs root.
//
//   netsim_convergence [--hosts 5,10,20] [--window-seconds 60]
#include <signal.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <thread>

#include "netsim/node_process.hpp"
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

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> sizes = {5, 10, 20};
  std::chrono::seconds window{60};
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--hosts") {
      sizes.clear();
      std::stringstream list(argv[i + 1]);
      for (std::string item; std::getline(list, item, ',');) sizes.push_back(std::stoi(item));
    } else if (flag == "--window-seconds") {
      window = std::chrono::seconds(std::stoi(argv[i + 1]));
    } else {
      std::cerr << "usage: netsim_convergence [--hosts 5,10,20] [--window-seconds 60]\n";
      return 2;
    }
  }
  Json runs = Json::array();
  for (int hosts : sizes) {
    std::cerr << "measuring " << hosts << " hosts..." << std::endl;
    runs.push_back(measure(hosts, window));
    std::cerr << runs.back().dump() << std::endl;
  }
  std::cout << Json{{"runs", runs}}.dump(2) << std::endl;
  return 0;
}
