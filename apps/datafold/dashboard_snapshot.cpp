#include "dashboard_snapshot.hpp"

#include <cmath>

#include "json_views.hpp"

namespace datafold::app {

net::Json known_nodes_view(net::NetworkCore& core) {
  std::vector<net::NodeInfo> nodes;
  for (auto& [id, info] : core.known_nodes()) nodes.push_back(std::move(info));
  auto listed = to_json(nodes);
  // What this node thinks of each (its key's score, with its address's penalty when connected).
  for (auto& node : listed) {
    if (auto id = net::NodeId::from_string(node.value("node_id", std::string()))) {
      const auto standing = core.reputation_of(*id);
      node["reputation"] = {{"score", std::round(standing.score * 10) / 10},
                            {"state", std::string(net::to_string(standing.state))}};
    }
  }
  return listed;
}

namespace {

net::Json node_view(net::NetworkCore& core, std::chrono::steady_clock::time_point started) {
  net::Json addresses = net::Json::array();
  for (const auto& address : core.advertised_addresses())
    addresses.push_back({{"address", address.address}, {"source", std::string(net::to_string(address.source))}});
  return {{"node_id", core.local_node_id().to_string()},
          {"public_key", core.public_key().to_string()},
          {"listen_port", core.listen_port()},
          {"running", core.running()},
          {"uptime_s", std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started).count()},
          {"addresses", std::move(addresses)},
          {"reachability", to_json(core.reachability())},
          {"port_mapping", to_json(core.port_mapping())}};
}

net::Json counters_view(net::NetworkCore& core) {
  const auto stats = core.stats();
  net::Json bounds = net::Json::array();
  for (const auto us : net::NetworkStats::kLatencyBucketsUs) bounds.push_back(static_cast<double>(us) / 1e6);
  net::Json out{{"stats", to_json(stats)},
                {"queries_answered", stats.queries_answered},
                {"queries_refused", stats.queries_refused},
                {"connections", connections_by_path(core.known_nodes())},  // as /metrics counts them
                {"latency",
                 {{"bounds_s", std::move(bounds)},
                  {"buckets", stats.request_latency_buckets},
                  {"count", stats.request_latency_count}}},
                {"discovery", nullptr},
                {"dht", nullptr}};
  if (auto discovery = core.discovery_stats()) out["discovery"] = to_json(*discovery);
  if (auto dht = core.dht_stats()) out["dht"] = to_json(*dht);
  return out;
}

}  // namespace

net::Json dashboard_snapshot(net::NetworkCore& core, std::chrono::steady_clock::time_point started) {
  net::Json trust = net::Json::array();
  for (const auto& entry : core.trust_store().entries()) trust.push_back(to_json(entry));
  const auto now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  return {{"time_ms", now_ms},
          {"node", node_view(core, started)},
          {"peers", known_nodes_view(core)},
          {"trust", std::move(trust)},
          {"counters", counters_view(core)}};
}

}  // namespace datafold::app
