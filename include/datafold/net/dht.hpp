// What a node's wide-area discovery (the DHT, DESIGN.md section 10.2) reports.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "datafold/net/node_id.hpp"

namespace datafold::net {

// Counters of the node's DHT since it started.
struct DhtStats {
  std::uint16_t port = 0;  // the UDP port it runs on
  // Values read from the DHT: believed, or ignored and why.
  std::uint64_t values_read = 0;
  std::uint64_t values_accepted = 0;
  std::uint64_t values_superseded = 0;  // genuine, but the node has a newer one
  std::uint64_t values_forged = 0;      // bad signature, key not the id's, or under another node's key
  std::uint64_t values_replayed = 0;
  std::uint64_t values_refused = 0;  // of banned nodes, dropped before their signature was checked
  std::uint64_t values_foreign = 0;     // another network's
  std::uint64_t values_stale = 0;       // past their lifetime, or from the future
  std::uint64_t values_malformed = 0;   // includes oversize
  std::uint64_t lookups = 0;
  std::uint64_t lookups_found = 0;
  std::uint64_t lookups_failed = 0;
  std::uint64_t publications = 0;
  std::uint64_t datagrams_in = 0;
  std::uint64_t datagrams_out = 0;
  std::uint32_t routing_table_nodes = 0;  // good nodes in OpenDHT's routing table
  // How long lookups of node ids took (found or not): lookup_latency_buckets[i]
  // counts those that took at most kLookupBucketsMs[i] milliseconds.
  static constexpr std::array<std::uint64_t, 12> kLookupBucketsMs = {5,   10,    25,    50,     100,    250,
                                                                      500, 1'000, 2'500, 10'000, 30'000, 60'000};
  std::array<std::uint64_t, kLookupBucketsMs.size()> lookup_latency_buckets{};
  std::uint64_t lookup_latency_count = 0;
  std::uint64_t lookup_latency_sum_ms = 0;
};

// One value the DHT holds under a node's key, as `datafold lookup` shows it.
struct DhtRecord {
  bool verified = false;
  std::string why_not;                  // "" when verified
  NodeId node_id;                       // who signed it, when the signature verified
  std::vector<std::string> addresses;   // as announced
  std::uint16_t tcp_port = 0;
  std::uint64_t sequence = 0;
  std::chrono::milliseconds age{0};     // how long ago it was signed
  std::size_t bytes = 0;
};

}  // namespace datafold::net
