// What the wide-area tests and the bench read from a node's /metrics about its DHT.
// THE ONE PLACE THAT NAMES THE NODE'S DHT METRICS: the names were not settled when
// this was written (src/discovery/dht/ was in progress); adjust them here.
#pragma once

#include <string>

#include "netsim/node_api.hpp"

namespace datafold::net::testing::dht_metrics {

// DHT values the node ignored (forged, replayed, foreign, oversize, malformed),
// over every reason label.
inline double values_rejected(const std::string& metrics) {
  return metric_sum(metrics, "datafold_dht_values_ignored_total");
}

// UDP datagrams the node's DHT sent and received.
inline double datagrams(const std::string& metrics) {
  return metric_sum(metrics, "datafold_dht_datagrams_sent_total") +
         metric_sum(metrics, "datafold_dht_datagrams_received_total");
}

// Name of the histogram of the node's DHT lookups (Prometheus buckets, seconds).
inline const std::string kLookupHistogram = "datafold_dht_lookup_duration_seconds";

}  // namespace datafold::net::testing::dht_metrics
