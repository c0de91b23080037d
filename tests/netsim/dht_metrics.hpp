// What the wide-area tests and the bench read from a node's /metrics about its DHT.
// The one place that names the node's DHT metrics (apps/datafold/http_api.cpp writes them).
#pragma once

#include <string>

#include "netsim/node_api.hpp"

namespace datafold::net::testing::dht_metrics {

// DHT values the node ignored (forged, replayed, foreign, oversize, malformed),
// over every reason label.
inline double values_rejected(const std::string& metrics) {
  return metric_sum(metrics, "datafold_dht_values_rejected_total");
}

// UDP datagrams the node's DHT sent and received.
inline double datagrams(const std::string& metrics) {
  return metric_sum(metrics, "datafold_dht_datagrams_sent_total") +
         metric_sum(metrics, "datafold_dht_datagrams_received_total");
}

// Name of the histogram of the node's DHT lookups (Prometheus buckets, seconds).
inline const std::string kLookupHistogram = "datafold_dht_lookup_duration_seconds";

}  // namespace datafold::net::testing::dht_metrics
