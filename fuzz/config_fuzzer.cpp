// libFuzzer target for `datafold node --config FILE`: each input is the file's
// text. It goes through load_config_file() (toml++ and the key checks, from
// apps/datafold/node_settings.cpp) and then through the address parsers that
// `datafold node` applies to the result, as NodeCommand::run() does.
//
// Each input is read twice: with no flag on the command line, and with every
// flag given (the flags then win). Invariants: both reads reject the same files
// with the same message; with every flag given the file changes no setting; an
// accepted file sets only the settings it names; an address that parses prints
// back to text that parses to the same address.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "datafold/net/host_port.hpp"
#include "node_settings.hpp"
#include "scratch_dir.hpp"

namespace {

using namespace datafold::app;
using datafold::net::HostPort;
using datafold::net::parse_host_port;
using datafold::net::parse_listen_address;

void check(bool ok) {
  if (!ok) std::abort();
}

// The flags load_config_file() asks about, with the values the "every flag
// given" read puts on its command line.
struct Flags {
  std::string listen, network, http;
  std::vector<std::string> bootstrap, discovery_interfaces;
  bool no_discovery = false, sample = false;
  std::uint16_t discovery_port = 0;
  long announce_interval_ms = 0, ping_interval_ms = 0;
  long max_connections = 0, max_connections_per_ip = 0, max_requests_per_second = 0, request_burst = 0,
       memory_budget_mib = 0;
  bool dht = false, no_port_mapping = false, relay = false, no_hole_punching = false, no_reputation = false;
  long ban_seconds = 0, reputation_half_life = 0;
  std::uint16_t dht_port = 0;
  std::vector<std::string> dht_bootstrap, relays;
  std::string use_relays;
  RelayLimitSettings relay_limits;
};

std::unique_ptr<CLI::App> node_command(Flags& flags) {
  auto app = std::make_unique<CLI::App>("datafold node");
  app->add_option("--listen", flags.listen);
  app->add_option("--network", flags.network);
  app->add_option("--http", flags.http);
  app->add_option("--bootstrap", flags.bootstrap);
  app->add_option("--discovery-interface", flags.discovery_interfaces);
  app->add_flag("--no-discovery", flags.no_discovery);
  app->add_flag("--sample", flags.sample);
  app->add_option("--discovery-port", flags.discovery_port);
  app->add_option("--announce-interval-ms", flags.announce_interval_ms);
  app->add_option("--ping-interval-ms", flags.ping_interval_ms);
  app->add_option("--max-connections", flags.max_connections);
  app->add_option("--max-connections-per-ip", flags.max_connections_per_ip);
  app->add_option("--max-requests-per-second-per-peer", flags.max_requests_per_second);
  app->add_option("--request-burst-per-peer", flags.request_burst);
  app->add_option("--memory-budget-mib", flags.memory_budget_mib);
  app->add_flag("--dht", flags.dht);
  app->add_option("--dht-port", flags.dht_port);
  app->add_option("--dht-bootstrap", flags.dht_bootstrap);
  app->add_flag("--no-port-mapping", flags.no_port_mapping);
  app->add_flag("--relay", flags.relay);
  app->add_option("--use-relays", flags.use_relays);
  app->add_option("--relay-via", flags.relays);
  app->add_flag("--no-hole-punching", flags.no_hole_punching);
  app->add_flag("--no-reputation", flags.no_reputation);
  app->add_option("--ban-seconds", flags.ban_seconds);
  app->add_option("--reputation-half-life", flags.reputation_half_life);
  for (const auto& limit : relay_limit_options()) app->add_option(limit.flag, flags.relay_limits.*(limit.member));
  return app;
}

const CLI::App& no_flags_given() {
  static Flags flags;
  static const auto app = [] {
    auto made = node_command(flags);
    made->parse("", false);
    return made;
  }();
  return *app;
}

const CLI::App& every_flag_given() {
  static Flags flags;
  static const auto app = [] {
    auto made = node_command(flags);
    made->parse(
        "--listen 1.2.3.4:9 --network n --http off --bootstrap b:9 --discovery-interface eth9 "
        "--no-discovery --sample --discovery-port 9 --announce-interval-ms 9 --ping-interval-ms 9 "
        "--max-connections 9 --max-connections-per-ip 9 --max-requests-per-second-per-peer 9 "
        "--request-burst-per-peer 9 --memory-budget-mib 9 --dht --dht-port 9 --dht-bootstrap d:9 --no-port-mapping --relay "
        "--use-relays always --relay-via r:9 --no-hole-punching --relay-max-reservations 9 "
        "--relay-max-reservations-per-ip 9 --relay-max-circuits 9 --relay-max-circuits-per-peer 9 "
        "--relay-max-circuit-bytes 9 --relay-max-circuit-seconds 9 --no-reputation --ban-seconds 9 "
        "--reputation-half-life 9",
        false);
    return made;
  }();
  return *app;
}

// Settings as NodeCommand::run() builds them before reading the file.
NodeSettings initial_settings(const std::string& file) {
  return NodeSettings{.listen = "0.0.0.0:9000",
                      .bootstrap = {"seed.example:9000"},
                      .network = "datafold",
                      .http = "127.0.0.1:9080",
                      .discovery = true,
                      .discovery_port = 9001,
                      .discovery_interfaces = {},
                      .announce_interval_ms = 30'000,
                      .ping_interval_ms = 30'000,
                      .max_connections = 128,
                      .max_connections_per_ip = 8,
                      .max_requests_per_second_per_peer = 2'000,
                      .request_burst_per_peer = 4'000,
                      .memory_budget_mib = 256,
                      .sample = false,
                      .dht_bootstrap = {},
                      .relays = {},
                      .file = file,
                      .from_file = {}};
}

bool same_limits(const RelayLimitSettings& a, const RelayLimitSettings& b) {
  for (const auto& limit : relay_limit_options())
    if (a.*(limit.member) != b.*(limit.member)) return false;
  return true;
}

bool same_settings(const NodeSettings& a, const NodeSettings& b) {
  return a.listen == b.listen && a.bootstrap == b.bootstrap && a.network == b.network && a.http == b.http &&
         a.discovery == b.discovery && a.discovery_port == b.discovery_port &&
         a.discovery_interfaces == b.discovery_interfaces && a.announce_interval_ms == b.announce_interval_ms &&
         a.ping_interval_ms == b.ping_interval_ms && a.max_connections == b.max_connections &&
         a.max_connections_per_ip == b.max_connections_per_ip &&
         a.max_requests_per_second_per_peer == b.max_requests_per_second_per_peer &&
         a.request_burst_per_peer == b.request_burst_per_peer && a.memory_budget_mib == b.memory_budget_mib &&
         a.sample == b.sample && a.dht == b.dht &&
         a.dht_port == b.dht_port && a.dht_bootstrap == b.dht_bootstrap && a.port_mapping == b.port_mapping &&
         a.relay == b.relay && a.use_relays == b.use_relays && a.relays == b.relays &&
         a.hole_punching == b.hole_punching && same_limits(a.relay_limits, b.relay_limits) &&
         a.reputation == b.reputation && a.ban_seconds == b.ban_seconds &&
         a.reputation_half_life == b.reputation_half_life;
}

void check_round_trip(const std::optional<HostPort>& parsed, std::optional<HostPort> (*parse)(std::string_view)) {
  if (!parsed) return;
  const auto again = parse(parsed->to_string());
  check(again && again->host == parsed->host && again->port == parsed->port);
}

// What NodeCommand::run() does with the settings next.
void check_addresses(const NodeSettings& s) {
  check_round_trip(parse_listen_address(s.listen), parse_listen_address);
  for (const auto& peer : s.bootstrap) check_round_trip(parse_host_port(peer), parse_host_port);
  for (const auto& node : s.dht_bootstrap) check_round_trip(parse_host_port(node), parse_host_port);
  if (s.http != "off") check_round_trip(parse_listen_address(s.http), parse_listen_address);
}

void write_file(const std::string& path, const std::uint8_t* data, std::size_t size) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  check(f != nullptr);
  check(std::fwrite(data, 1, size, f) == size);
  check(std::fclose(f) == 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string path = (datafold::fuzz::scratch_dir() / "datafold.toml").string();
  write_file(path, data, size);

  NodeSettings from_file = initial_settings(path);
  const auto problem = load_config_file(no_flags_given(), from_file);
  NodeSettings flags_win = initial_settings(path);
  const auto problem_with_flags = load_config_file(every_flag_given(), flags_win);

  check(problem == problem_with_flags);
  check(flags_win.from_file.empty());
  check(same_settings(flags_win, initial_settings(path)));
  if (problem) {
    // Every message names the file, so the operator knows which one to fix.
    check(problem->rfind(path + ": ", 0) == 0);
    return 0;
  }

  // Only the keys the file named changed.
  const NodeSettings before = initial_settings(path);
  auto unchanged_unless = [&](const char* key, bool same) { check(same || from_file.from_file.contains(key)); };
  unchanged_unless("listen", from_file.listen == before.listen);
  unchanged_unless("bootstrap", from_file.bootstrap == before.bootstrap);
  unchanged_unless("network", from_file.network == before.network);
  unchanged_unless("http", from_file.http == before.http);
  unchanged_unless("discovery", from_file.discovery == before.discovery);
  unchanged_unless("discovery_port", from_file.discovery_port == before.discovery_port);
  unchanged_unless("discovery_interfaces", from_file.discovery_interfaces == before.discovery_interfaces);
  unchanged_unless("announce_interval_ms", from_file.announce_interval_ms == before.announce_interval_ms);
  unchanged_unless("ping_interval_ms", from_file.ping_interval_ms == before.ping_interval_ms);
  unchanged_unless("max_connections", from_file.max_connections == before.max_connections);
  unchanged_unless("max_connections_per_ip", from_file.max_connections_per_ip == before.max_connections_per_ip);
  unchanged_unless("max_requests_per_second_per_peer",
                   from_file.max_requests_per_second_per_peer == before.max_requests_per_second_per_peer);
  unchanged_unless("request_burst_per_peer", from_file.request_burst_per_peer == before.request_burst_per_peer);
  unchanged_unless("memory_budget_mib", from_file.memory_budget_mib == before.memory_budget_mib);
  unchanged_unless("sample", from_file.sample == before.sample);
  unchanged_unless("dht", from_file.dht == before.dht);
  unchanged_unless("dht_port", from_file.dht_port == before.dht_port);
  unchanged_unless("dht_bootstrap", from_file.dht_bootstrap == before.dht_bootstrap);
  unchanged_unless("port_mapping", from_file.port_mapping == before.port_mapping);
  unchanged_unless("relay", from_file.relay == before.relay);
  unchanged_unless("use_relays", from_file.use_relays == before.use_relays);
  unchanged_unless("relays", from_file.relays == before.relays);
  unchanged_unless("hole_punching", from_file.hole_punching == before.hole_punching);
  unchanged_unless("reputation", from_file.reputation == before.reputation);
  unchanged_unless("ban_seconds", from_file.ban_seconds == before.ban_seconds);
  unchanged_unless("reputation_half_life", from_file.reputation_half_life == before.reputation_half_life);
  check(from_file.ban_seconds >= 1 && from_file.ban_seconds <= kMaxReputationSeconds);
  check(from_file.reputation_half_life >= 1 && from_file.reputation_half_life <= kMaxReputationSeconds);
  for (const auto& limit : relay_limit_options()) {
    const long value = from_file.relay_limits.*(limit.member);
    unchanged_unless(limit.key, value == before.relay_limits.*(limit.member));
    check(value >= limit.min && value <= limit.max);
  }
  for (const auto& key : from_file.from_file)
    check(from_file.origin(key, "--flag") == path + ": key '" + key + "'");
  check(from_file.discovery_port >= 1);
  check(from_file.announce_interval_ms >= 100 && from_file.announce_interval_ms <= 3'600'000);
  check(from_file.ping_interval_ms >= 100 && from_file.ping_interval_ms <= 3'600'000);
  check(from_file.max_connections >= 1 && from_file.max_connections <= kMaxConnectionsLimit);
  check(from_file.max_connections_per_ip >= 1 && from_file.max_connections_per_ip <= kMaxConnectionsLimit);
  check(from_file.max_requests_per_second_per_peer >= 0 &&
        from_file.max_requests_per_second_per_peer <= kMaxRequestRateLimit);
  check(from_file.request_burst_per_peer >= 1 && from_file.request_burst_per_peer <= kMaxRequestRateLimit);

  check_addresses(from_file);
  return 0;
}
