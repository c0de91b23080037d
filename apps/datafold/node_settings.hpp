// The settings `datafold node` runs with, and the reader of its --config FILE (TOML).
// Apart from node_command.cpp so that fuzz/config_fuzzer.cpp drives this same parser
// without linking the rest of the executable.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace datafold::app {

// Bounds of the limits an operator may set (flags and file alike).
inline constexpr long kMaxConnectionsLimit = 1'000'000;
inline constexpr long kMaxRequestRateLimit = 1'000'000'000;
// Ban durations and the reputation half-life: at most a year, in seconds.
inline constexpr long kMaxReputationSeconds = 365L * 24 * 3600;
// --memory-budget-mib: 1 MiB .. 1 TiB, NetworkConfig::memory_budget_bytes' range.
inline constexpr long kMinMemoryBudgetMib = 1;
inline constexpr long kMaxMemoryBudgetMib = 1L << 20;
inline constexpr long kMaxCircuitBytesLimit = 1L << 50;
inline constexpr long kMaxCircuitSecondsLimit = 7L * 24 * 3600;

// The limits a relay (--relay) holds the nodes it serves to (net::RelayLimits), one
// flag and one TOML key each; see relay_limit_options().
struct RelayLimitSettings {
  long max_reservations = 0;
  long max_reservations_per_ip = 0;
  long max_circuits = 0;
  long max_circuits_per_peer = 0;
  long max_circuit_bytes = 0;
  long max_circuit_seconds = 0;

  static RelayLimitSettings defaults();  // net::RelayLimits'
};

// One relay limit: its TOML key, its flag, where it lives, its bounds and what it means.
struct RelayLimitOption {
  const char* key;   // "relay_max_circuits"
  const char* flag;  // "--relay-max-circuits"
  long RelayLimitSettings::*member;
  long min;
  long max;
  const char* help;
};
const std::vector<RelayLimitOption>& relay_limit_options();

// What the node runs with: the flags' values, overlaid by --config FILE's value for every
// setting whose flag was not given on the command line.
struct NodeSettings {
  std::string listen;
  std::vector<std::string> bootstrap;
  std::string network;
  std::string http;
  bool discovery = true;
  std::uint16_t discovery_port = 0;
  std::vector<std::string> discovery_interfaces;
  long announce_interval_ms = 0;
  long ping_interval_ms = 0;
  long max_connections = 0;
  long max_connections_per_ip = 0;
  long max_requests_per_second_per_peer = 0;  // 0: no limit
  long request_burst_per_peer = 0;
  long memory_budget_mib = 0;  // NetworkConfig::memory_budget_bytes in MiB
  bool sample = false;
  // Wide-area discovery on the DHT: on when `dht` or any `dht_bootstrap` is given.
  bool dht = false;
  std::uint16_t dht_port = 0;
  std::vector<std::string> dht_bootstrap;
  // Map the listen port on the gateway (UPnP IGD / NAT-PMP); --no-port-mapping, TOML port_mapping = false.
  bool port_mapping = true;
  // Relays (DESIGN.md section 10.3): relay for others (--relay, TOML relay); when to hold
  // reservations ("never", "unreachable", "always": --use-relays, TOML use_relays); relays
  // to try first (--relay-via, TOML relays); hole punching (--no-hole-punching, TOML hole_punching).
  bool relay = false;
  std::string use_relays = "unreachable";
  std::vector<std::string> relays;
  bool hole_punching = true;
  RelayLimitSettings relay_limits = RelayLimitSettings::defaults();
  // Reputation (DESIGN.md section 10.4): on unless --no-reputation (TOML reputation = false);
  // how long an automatic ban lasts (--ban-seconds, TOML ban_seconds) and how fast scores
  // return to neutral (--reputation-half-life, TOML reputation_half_life, seconds).
  bool reputation = true;
  long ban_seconds = 3600;
  long reputation_half_life = 3600;

  // The config file, and which keys took their value from it.
  std::string file;
  std::set<std::string> from_file;

  // How an error names a setting: the flag, or the file's key when the value came from there.
  std::string origin(const std::string& key, const std::string& flag) const {
    return from_file.contains(key) ? file + ": key '" + key + "'" : flag;
  }
};

// Reads `settings.file` (TOML) into `settings`, leaving alone every setting whose flag
// `command` was given. The error line to print (exit code 2) if the file is unusable.
std::optional<std::string> load_config_file(const CLI::App& command, NodeSettings& settings);

}  // namespace datafold::app
