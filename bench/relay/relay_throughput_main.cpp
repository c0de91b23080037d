// Throughput through one relay against a direct connection, in the same run, on
// loopback: queries per second (small answers, 16 in flight) and MB/s (answers of
// 256 KiB, 4 in flight), each over a direct connection and over a relayed circuit
// (hole punching off, so the circuit stays). Prints JSON with the ratios.
//
//   relay_throughput_bench [SECONDS per measurement, default 3]
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "datafold/net/network_core.hpp"

using namespace datafold::net;
using namespace std::chrono_literals;

namespace {

NetworkConfig base_config() {
  NetworkConfig config;
  config.listen_address = "127.0.0.1";
  config.listen_port = 0;
  config.network_name = "relay-bench";
  config.hole_punching = false;
  config.use_relays = NetworkConfig::RelayUse::Never;
  config.max_requests_per_second_per_peer = 0;  // measure the path, not the rate limit
  config.io_threads = 1;
  return config;
}

std::unique_ptr<NetworkCore> start(NetworkConfig config) {
  auto core = NetworkCore::create(std::move(config), NodeId{}, std::nullopt);
  if (!core) {
    std::fprintf(stderr, "create: %s\n", core.error().to_string().c_str());
    std::exit(1);
  }
  auto node = std::make_unique<NetworkCore>(std::move(*core));
  if (auto started = node->start(); !started) {
    std::fprintf(stderr, "start: %s\n", started.error().to_string().c_str());
    std::exit(1);
  }
  return node;
}

std::string address_of(const NetworkCore& node) { return "127.0.0.1:" + std::to_string(node.listen_port()); }

struct Result {
  double per_second = 0;
  double mb_per_second = 0;
  std::uint64_t failed = 0;
};

// `in_flight` queries outstanding for `seconds`; each answer's bytes counted.
Result measure(NetworkCore& caller, const NodeId& target, const std::string& field, int in_flight,
               std::chrono::seconds seconds) {
  std::mutex mutex;
  std::condition_variable cv;
  int outstanding = 0;
  std::uint64_t answered = 0, failed = 0, bytes = 0;
  const auto start = std::chrono::steady_clock::now();
  const auto until = start + seconds;
  while (std::chrono::steady_clock::now() < until) {
    {
      std::unique_lock lock(mutex);
      cv.wait(lock, [&] { return outstanding < in_flight; });
      ++outstanding;
    }
    Query query;
    query.schema_name = "Bench";
    query.fields = {field};
    caller.async_query_node(target, query, [&](NetworkResult<QueryResult> result) {
      std::lock_guard lock(mutex);
      if (result.ok()) {
        ++answered;
        for (const auto& r : result->results)
          if (const auto* value = std::get_if<Json>(&r.outcome); value && value->is_string())
            bytes += value->get_ref<const std::string&>().size();
      } else {
        ++failed;
      }
      --outstanding;
      cv.notify_all();
    });
  }
  std::unique_lock lock(mutex);
  cv.wait_for(lock, 60s, [&] { return outstanding == 0; });
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return {answered / elapsed, bytes / elapsed / 1e6, failed};
}

}  // namespace

int main(int argc, char** argv) {
  const auto seconds = std::chrono::seconds(argc > 1 ? std::max(1, std::atoi(argv[1])) : 3);
  auto relay_config = base_config();
  relay_config.relay = true;
  // The default cut at 256 MiB per circuit would end the circuit mid-measurement.
  relay_config.relay_limits.max_circuit_bytes = 1ull << 40;
  auto relay = start(relay_config);

  const std::string big(256 * 1024, 'x');
  auto answer = [&big](Query query) {
    QueryResult result;
    for (const auto& field : query.fields) result.results.push_back({field, Json(field == "big" ? big : "small")});
    return result;
  };
  auto hidden_config = base_config();
  hidden_config.use_relays = NetworkConfig::RelayUse::Always;
  hidden_config.relays = {address_of(*relay)};
  auto hidden = start(hidden_config);
  hidden->set_query_callback(answer);

  std::string relayed;
  for (int i = 0; i < 1500 && relayed.empty(); ++i) {
    auto report = hidden->reachability();
    if (!report.relayed_addresses.empty()) relayed = report.relayed_addresses.front();
    std::this_thread::sleep_for(10ms);
  }
  if (relayed.empty()) {
    std::fprintf(stderr, "no reservation at the relay\n");
    return 1;
  }

  // Two callers: one knows the hidden node's direct address, one only its relayed one.
  auto direct_caller = start(base_config());
  NodeInfo direct_info;
  direct_info.node_id = hidden->local_node_id();
  direct_info.address = address_of(*hidden);
  direct_caller->add_known_node(direct_info);
  auto relayed_caller = start(base_config());
  NodeInfo relayed_info;
  relayed_info.node_id = hidden->local_node_id();
  relayed_info.address = relayed;
  relayed_info.addresses.push_back(NodeAddress{relayed, AddressSource::Relay, {}, {}});
  relayed_caller->add_known_node(relayed_info);

  const auto& id = hidden->local_node_id();
  const auto direct_q = measure(*direct_caller, id, "small", 16, seconds);
  const auto relayed_q = measure(*relayed_caller, id, "small", 16, seconds);
  const auto direct_mb = measure(*direct_caller, id, "big", 4, seconds);
  const auto relayed_mb = measure(*relayed_caller, id, "big", 4, seconds);
  const bool went_relayed = relayed_caller->known_nodes().at(id).relayed_via.has_value();

  nlohmann::json out{
      {"bench", "relay_throughput"},
      {"seconds_per_measurement", seconds.count()},
      {"path_checked_relayed", went_relayed},
      {"queries_per_second", {{"direct", direct_q.per_second}, {"relayed", relayed_q.per_second},
                              {"relayed_over_direct", direct_q.per_second > 0 ? relayed_q.per_second / direct_q.per_second : 0}}},
      {"mb_per_second_256k_answers",
       {{"direct", direct_mb.mb_per_second}, {"relayed", relayed_mb.mb_per_second},
        {"relayed_over_direct", direct_mb.mb_per_second > 0 ? relayed_mb.mb_per_second / direct_mb.mb_per_second : 0}}},
      {"failed", {{"direct", direct_q.failed + direct_mb.failed}, {"relayed", relayed_q.failed + relayed_mb.failed}}},
      {"relay_bytes", relay->reachability().relay.bytes_relayed},
  };
  std::printf("%s\n", out.dump(2).c_str());
  (void)relayed_caller->stop();
  (void)direct_caller->stop();
  (void)hidden->stop();
  (void)relay->stop();
  return went_relayed ? 0 : 1;
}
