// What the dashboard shows of the node at one moment, as one JSON object (each event of
// GET /api/v1/events is one):
//   {"time_ms": unix ms,
//    "node": {"node_id", "public_key", "listen_port", "running", "uptime_s", "addresses": [{"address", "source"}],
//             "reachability": {…}, "port_mapping": {…}},
//    "peers": what GET /api/v1/network/nodes answers (known_nodes_view),
//    "trust": what GET /api/v1/trust answers,
//    "counters": {"stats": {…}, "queries_answered", "queries_refused", "connections": {"direct", "relayed"},
//                 "latency": {"bounds_s": [...], "buckets": [...], "count"}, "discovery": {…}|null, "dht": {…}|null}}
// The counters are the ones /metrics prints, read from the same calls; the page turns
// them into rates and percentiles between two snapshots. No private key is in it.
#pragma once

#include <chrono>

#include <datafold/net/json.hpp>
#include <datafold/net/network_core.hpp>

namespace datafold::app {

// The nodes this node knows, sorted by id, each with its connection's path ("direct",
// "relayed" or null) and what this node thinks of it ("reputation": {"score", "state"}).
net::Json known_nodes_view(net::NetworkCore& core);

net::Json dashboard_snapshot(net::NetworkCore& core, std::chrono::steady_clock::time_point started);

}  // namespace datafold::app
