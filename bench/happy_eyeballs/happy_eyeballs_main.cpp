// How long a node takes to connect to and query a peer whose first address is a black
// hole (packets dropped, no reset) and whose second is good, next to a peer with the
// good address alone. Each trial is a new client node, so no address has a success
// to go first by. Runs in a network namespace of its own (needs root):
//
//   happy_eyeballs_bench [TRIALS]      (default 10)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "datafold/net/network_core.hpp"
#include "support/black_hole_netns.hpp"
#include "support/in_netns.hpp"

namespace {

using namespace datafold::net;
using namespace std::chrono_literals;

constexpr const char* kBlackHoleIp = "127.0.0.2";

NetworkConfig node_config(std::string listen) {
  NetworkConfig config;
  config.listen_address = std::move(listen);
  config.listen_port = 0;
  config.connect_timeout = 60s;  // what waiting out the black hole would cost
  return config;
}

// Starts a node on a thread inside `netns`; its I/O threads stay there.
std::unique_ptr<NetworkCore> start_in(const std::string& netns, NetworkConfig config) {
  std::unique_ptr<NetworkCore> node;
  std::string why_not;
  const bool entered = datafold::net::testing::run_in_netns(
      netns,
      [&] {
        auto made = NetworkCore::create(std::move(config), NodeId{}, std::nullopt);
        if (!made || !made->start()) return;
        node = std::make_unique<NetworkCore>(std::move(*made));
      },
      why_not);
  if (!entered) std::fprintf(stderr, "cannot enter %s: %s\n", netns.c_str(), why_not.c_str());
  return node;
}

// Milliseconds for a new client to query `server` knowing it at `addresses`; < 0 on failure.
double one_trial(const std::string& netns, NetworkCore& server, const std::vector<std::string>& addresses) {
  auto client = start_in(netns, node_config("127.0.0.1"));
  if (!client) return -1;
  NodeInfo info;
  info.node_id = server.local_node_id();
  info.public_key = server.public_key();
  for (const auto& address : addresses) info.addresses.push_back({address, AddressSource::Manual});
  client->add_known_node(info);
  const auto started = std::chrono::steady_clock::now();
  auto answer = client->query_node(server.local_node_id(), Query{"Bench", {"x"}, "", 0, std::nullopt});
  const auto took = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  if (!answer) {
    std::fprintf(stderr, "query failed: %s\n", answer.error().to_string().c_str());
    return -1;
  }
  return took;
}

void report(const char* label, std::vector<double> times) {
  std::sort(times.begin(), times.end());
  std::printf("  %-34s p50 %8.1f ms   max %8.1f ms   (%zu trials)\n", label, times[times.size() / 2], times.back(),
              times.size());
}

}  // namespace

int main(int argc, char** argv) {
  const int trials = argc > 1 ? std::max(1, std::atoi(argv[1])) : 10;
  std::string why_not;
  auto netns = datafold::net::testing::BlackHoleNetns::create(kBlackHoleIp, why_not);
  if (!netns) {
    std::fprintf(stderr, "happy_eyeballs_bench: %s\n", why_not.c_str());
    return 2;
  }
  auto server = start_in(netns->name(), node_config("0.0.0.0"));
  if (!server) {
    std::fprintf(stderr, "happy_eyeballs_bench: the server did not start\n");
    return 1;
  }
  server->set_query_callback([](Query query) {
    QueryResult result;
    for (const auto& field : query.fields) result.results.push_back({field, Json(1)});
    return result;
  });
  const std::string port = std::to_string(server->listen_port());
  const std::string good = "127.0.0.1:" + port, black_hole = std::string(kBlackHoleIp) + ":" + port;

  std::vector<double> direct, eyeballs;
  for (int i = 0; i < trials; ++i) {
    const double d = one_trial(netns->name(), *server, {good});
    const double e = one_trial(netns->name(), *server, {black_hole, good});
    if (d < 0 || e < 0) return 1;
    direct.push_back(d);
    eyeballs.push_back(e);
  }
  std::printf("happy eyeballs (connect + TLS + Hello + one query, new client each trial; stagger %lld ms, "
              "connect timeout 60000 ms):\n",
              static_cast<long long>(NetworkConfig{}.happy_eyeballs_delay.count()));
  report("good address alone:", direct);
  report("black-holed first, good second:", eyeballs);
  std::printf("  packets dropped by the black hole: %ld\n", netns->dropped_packets());
  server.reset();
  return 0;
}
