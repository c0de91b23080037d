#include "datafold/net/config.hpp"

#include <string>

#include "datafold/net/host_port.hpp"

namespace datafold::net {

namespace {
NetworkError bad(const std::string& setting, const std::string& why) {
  return make_error(ErrorKind::Config, "invalid " + setting + ": " + why);
}
}  // namespace

NetworkResult<void> NetworkConfig::validate() const {
  if (listen_address.empty()) return bad("listen_address", "empty");
  if (network_name.empty()) return bad("network_name", "empty");
  if (network_name.size() > 64) return bad("network_name", "longer than 64 bytes");
  if (max_connections == 0) return bad("max_connections", "must be at least 1");
  if (max_connections_per_ip == 0) return bad("max_connections_per_ip", "must be at least 1");
  if (connect_timeout.count() <= 0) return bad("connect_timeout", "must be positive");
  if (handshake_timeout.count() <= 0) return bad("handshake_timeout", "must be positive");
  if (request_timeout.count() <= 0) return bad("request_timeout", "must be positive");
  if (ping_interval.count() <= 0) return bad("ping_interval", "must be positive");
  if (idle_timeout.count() <= 0) return bad("idle_timeout", "must be positive");
  if (happy_eyeballs_delay.count() < 0) return bad("happy_eyeballs_delay", "must not be negative");
  if (announcement_interval.count() < 100) return bad("announcement_interval", "must be at least 100 ms");
  if (discovery_wait.count() < 0 || discovery_wait > std::chrono::seconds(30))
    return bad("discovery_wait", "must be 0..30 s");
  if (enable_discovery && discovery_port == 0) return bad("discovery_port", "must not be 0");
  for (const auto& node : dht_bootstrap)
    if (!parse_host_port(node)) return bad("dht_bootstrap", "'" + node + "' is not host:port");
  if (dht_lookup_timeout.count() <= 0) return bad("dht_lookup_timeout", "must be positive");
  if (dht_republish_interval < std::chrono::seconds(1)) return bad("dht_republish_interval", "must be at least 1 s");
  for (const auto& relay_address : relays)
    if (!parse_host_port(relay_address)) return bad("relays", "'" + relay_address + "' is not host:port");
  if (max_relay_reservations > 16) return bad("max_relay_reservations", "must be at most 16");
  if (relay_limits.max_circuit_duration.count() <= 0) return bad("relay_limits.max_circuit_duration", "must be positive");
  if (relay_limits.join_timeout.count() <= 0) return bad("relay_limits.join_timeout", "must be positive");
  if (relay_limits.max_circuit_bytes == 0) return bad("relay_limits.max_circuit_bytes", "must be at least 1");
  if (reputation.half_life.count() <= 0) return bad("reputation.half_life", "must be positive");
  if (reputation.ban_duration.count() <= 0) return bad("reputation.ban_duration", "must be positive");
  if (!(reputation.ban_below < reputation.avoid_below && reputation.avoid_below < 0))
    return bad("reputation thresholds", "need ban_below < avoid_below < 0");
  if (!(dial_back_rate_per_ip >= 0) || dial_back_rate_per_ip > 1000)
    return bad("dial_back_rate_per_ip", "must be 0 (answer none) .. 1000");
  if (reachability_interval < std::chrono::seconds(1)) return bad("reachability_interval", "must be at least 1 s");
  if (max_frame_bytes < 1024) return bad("max_frame_bytes", "must be at least 1024");
  if (max_frame_bytes > (1u << 30)) return bad("max_frame_bytes", "must be at most 1 GiB");
  if (max_in_flight_per_connection == 0) return bad("max_in_flight_per_connection", "must be at least 1");
  if (max_write_queue_bytes < max_frame_bytes)
    return bad("max_write_queue_bytes", "must be at least max_frame_bytes");
  if (memory_budget_bytes < (1u << 20)) return bad("memory_budget_bytes", "must be at least 1 MiB");
  if (memory_budget_bytes > (std::size_t{1} << 40)) return bad("memory_budget_bytes", "must be at most 1 TiB");
  if (backpressure_stall_timeout.count() <= 0) return bad("backpressure_stall_timeout", "must be positive");
  if (!(max_requests_per_second_per_peer >= 0) || max_requests_per_second_per_peer > 1e9)
    return bad("max_requests_per_second_per_peer", "must be 0 (no limit) .. 1e9");
  if (max_requests_per_second_per_peer > 0 && request_burst_per_peer == 0)
    return bad("request_burst_per_peer", "must be at least 1 when the rate is limited");
  if (redial_initial_delay.count() <= 0) return bad("redial_initial_delay", "must be positive");
  if (redial_max_delay < redial_initial_delay)
    return bad("redial_max_delay", "must be at least redial_initial_delay");
  if (io_threads == 0 || io_threads > 64) return bad("io_threads", "must be 1..64");
  if (handler_threads == 0 || handler_threads > 256) return bad("handler_threads", "must be 1..256");
  return {};
}

}  // namespace datafold::net
