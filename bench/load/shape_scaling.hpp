// How throughput holds from one load shape to another: `datafold bench --shapes
// 16x16,100x4` puts each later shape's q/s over the first shape's, for the node and
// for everything measured beside it (the store, the floors, gRPC). Whether the node
// holds up as connections grow then reads against how the cheapest correct
// implementation holds up on the same machine in the same invocation: with fewer
// queries in flight per connection, every stack pays its per-round-trip costs (a
// recv, a send, a wake-up on each side) over fewer queries.
#pragma once

#include <nlohmann/json.hpp>

namespace datafold::bench {

// `runs`: the bench's runs in order, each {"shape": "CxM", key: {"qps": n, ...}, ...}
// (key "node", "tls_floor", ...). Null with fewer than two runs. Otherwise
// {"against": first shape, "qps_ratios": {shape: {key: ratio, ...}, ...}} for every
// later run, holding each key that has a numeric q/s in both runs, the first's above 0.
nlohmann::ordered_json shape_scaling(const nlohmann::ordered_json& runs);

}  // namespace datafold::bench
