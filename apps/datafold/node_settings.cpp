#include "node_settings.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

#include <toml++/toml.h>

#include "datafold/net/config.hpp"
#include "toml_text_check.hpp"

namespace datafold::app {

namespace {

// Far more than any config file needs; a bigger file is a mistake (or an attack on the fuzzer).
constexpr std::size_t kMaxConfigFileBytes = 1 << 20;

std::string line_suffix(const toml::source_region& where) {
  return where.begin.line > 0 ? " (line " + std::to_string(where.begin.line) + ")" : "";
}

}  // namespace

RelayLimitSettings RelayLimitSettings::defaults() {
  const net::RelayLimits limits;
  return {.max_reservations = static_cast<long>(limits.max_reservations),
          .max_reservations_per_ip = static_cast<long>(limits.max_reservations_per_ip),
          .max_circuits = static_cast<long>(limits.max_circuits),
          .max_circuits_per_peer = static_cast<long>(limits.max_circuits_per_peer),
          .max_circuit_bytes = static_cast<long>(limits.max_circuit_bytes),
          .max_circuit_seconds = static_cast<long>(limits.max_circuit_duration.count())};
}

const std::vector<RelayLimitOption>& relay_limit_options() {
  static const std::vector<RelayLimitOption> options{
      {"relay_max_reservations", "--relay-max-reservations", &RelayLimitSettings::max_reservations, 1,
       kMaxConnectionsLimit, "Reservations this relay holds at once"},
      {"relay_max_reservations_per_ip", "--relay-max-reservations-per-ip",
       &RelayLimitSettings::max_reservations_per_ip, 1, kMaxConnectionsLimit,
       "Reservations this relay holds for nodes at one IP address"},
      {"relay_max_circuits", "--relay-max-circuits", &RelayLimitSettings::max_circuits, 1, kMaxConnectionsLimit,
       "Circuits this relay carries (or is joining) at once"},
      {"relay_max_circuits_per_peer", "--relay-max-circuits-per-peer", &RelayLimitSettings::max_circuits_per_peer, 1,
       kMaxConnectionsLimit, "Circuits one node may have through this relay at once, as caller or target"},
      {"relay_max_circuit_bytes", "--relay-max-circuit-bytes", &RelayLimitSettings::max_circuit_bytes, 1,
       kMaxCircuitBytesLimit, "Bytes one circuit may carry (both directions); then it is cut"},
      {"relay_max_circuit_seconds", "--relay-max-circuit-seconds", &RelayLimitSettings::max_circuit_seconds, 1,
       kMaxCircuitSecondsLimit, "How long one circuit may last; then it is cut"},
  };
  return options;
}

std::optional<std::string> load_config_file(const CLI::App& command, NodeSettings& settings) {
  const std::string& file = settings.file;
  // Read here rather than by toml++, which says only "file could not be opened"
  // where errno says why.
  std::ifstream in(file, std::ios::binary);
  if (!in) return file + ": cannot read: " + std::strerror(errno);
  std::string text;
  char chunk[4096];
  while (text.size() <= kMaxConfigFileBytes && in.read(chunk, sizeof chunk).gcount() > 0)
    text.append(chunk, static_cast<std::size_t>(in.gcount()));
  if (in.bad()) return file + ": cannot read: " + std::strerror(errno);
  if (text.size() > kMaxConfigFileBytes)
    return file + ": larger than " + std::to_string(kMaxConfigFileBytes / 1024) + " KiB: not a config file";
  if (const auto line = first_non_ascii_outside_comments(text))
    return file + ": non-ASCII character (line " + std::to_string(*line) +
           "): accepted only in comments; in a string, write it as \\uXXXX";

  toml::table table;
  try {
    table = toml::parse(text, std::string(file));
  } catch (const toml::parse_error& e) {
    return file + ": invalid TOML" + line_suffix(e.source()) + ": " + std::string(e.description());
  }

  // Named references rather than a structured binding: clang 14 (the fuzz build)
  // cannot capture structured bindings in the lambdas below.
  for (auto&& entry : table) {
    const toml::key& key = entry.first;
    toml::node& node = entry.second;
    const std::string name(key.str());
    const std::string at = line_suffix(key.source());
    auto wrong = [&](const std::string& expected) -> std::optional<std::string> {
      return file + ": key '" + name + "' must be " + expected + at;
    };
    // A flag the command does not have counts as not given (count() would throw).
    auto flag_given = [&](const char* flag) {
      const auto* option = command.get_option_no_throw(flag);
      return option != nullptr && option->count() > 0;
    };
    auto take = [&](const char* flag) {
      if (flag_given(flag)) return false;
      settings.from_file.insert(name);
      return true;
    };
    auto strings = [&](std::vector<std::string>& out, const char* flag) -> std::optional<std::string> {
      const auto* array = node.as_array();
      if (array == nullptr) return wrong("an array of strings");
      std::vector<std::string> values;
      for (const auto& element : *array) {
        if (!element.is_string()) return wrong("an array of strings");
        values.push_back(*element.value<std::string>());
      }
      if (take(flag)) out = std::move(values);
      return std::nullopt;
    };
    auto integer = [&](long& out, long min, long max, const char* flag) -> std::optional<std::string> {
      if (!node.is_integer()) return wrong("an integer");
      const auto value = node.as_integer()->get();
      if (value < min || value > max) return wrong("in " + std::to_string(min) + ".." + std::to_string(max));
      if (take(flag)) out = static_cast<long>(value);
      return std::nullopt;
    };

    std::optional<std::string> problem;
    if (name == "listen" || name == "network" || name == "http") {
      if (!node.is_string()) return wrong("a string");
      auto& target = name == "listen" ? settings.listen : name == "network" ? settings.network : settings.http;
      if (take(name == "listen" ? "--listen" : name == "network" ? "--network" : "--http"))
        target = *node.value<std::string>();
    } else if (name == "bootstrap") {
      problem = strings(settings.bootstrap, "--bootstrap");
    } else if (name == "discovery_interfaces") {
      problem = strings(settings.discovery_interfaces, "--discovery-interface");
    } else if (name == "dht_bootstrap") {
      problem = strings(settings.dht_bootstrap, "--dht-bootstrap");
    } else if (name == "relays") {
      problem = strings(settings.relays, "--relay-via");
    } else if (name == "use_relays") {
      if (!node.is_string()) return wrong("\"never\", \"unreachable\" or \"always\"");
      const auto value = *node.value<std::string>();
      if (value != "never" && value != "unreachable" && value != "always")
        return wrong("\"never\", \"unreachable\" or \"always\"");
      if (take("--use-relays")) settings.use_relays = value;
    } else if (name == "discovery" || name == "sample" || name == "dht" || name == "port_mapping" || name == "relay" ||
               name == "hole_punching" || name == "reputation") {
      if (!node.is_boolean()) return wrong("true or false");
      const bool value = node.as_boolean()->get();
      if (name == "discovery" && take("--no-discovery")) settings.discovery = value;
      if (name == "sample" && take("--sample")) settings.sample = value;
      if (name == "dht" && take("--dht")) settings.dht = value;
      if (name == "port_mapping" && take("--no-port-mapping")) settings.port_mapping = value;
      if (name == "relay" && take("--relay")) settings.relay = value;
      if (name == "hole_punching" && take("--no-hole-punching")) settings.hole_punching = value;
      if (name == "reputation" && take("--no-reputation")) settings.reputation = value;
    } else if (name == "ban_seconds") {
      problem = integer(settings.ban_seconds, 1, kMaxReputationSeconds, "--ban-seconds");
    } else if (name == "reputation_half_life") {
      problem = integer(settings.reputation_half_life, 1, kMaxReputationSeconds, "--reputation-half-life");
    } else if (name == "discovery_port") {
      long port = settings.discovery_port;
      problem = integer(port, 1, 65535, "--discovery-port");
      settings.discovery_port = static_cast<std::uint16_t>(port);
    } else if (name == "dht_port") {
      long port = settings.dht_port;
      problem = integer(port, 0, 65535, "--dht-port");
      settings.dht_port = static_cast<std::uint16_t>(port);
    } else if (name == "announce_interval_ms") {
      problem = integer(settings.announce_interval_ms, 100, 3'600'000, "--announce-interval-ms");
    } else if (name == "ping_interval_ms") {
      problem = integer(settings.ping_interval_ms, 100, 3'600'000, "--ping-interval-ms");
    } else if (name == "max_connections") {
      problem = integer(settings.max_connections, 1, kMaxConnectionsLimit, "--max-connections");
    } else if (name == "max_connections_per_ip") {
      problem = integer(settings.max_connections_per_ip, 1, kMaxConnectionsLimit, "--max-connections-per-ip");
    } else if (name == "max_requests_per_second_per_peer") {
      problem = integer(settings.max_requests_per_second_per_peer, 0, kMaxRequestRateLimit,
                        "--max-requests-per-second-per-peer");
    } else if (name == "request_burst_per_peer") {
      problem = integer(settings.request_burst_per_peer, 1, kMaxRequestRateLimit, "--request-burst-per-peer");
    } else if (name == "memory_budget_mib") {
      problem = integer(settings.memory_budget_mib, kMinMemoryBudgetMib, kMaxMemoryBudgetMib, "--memory-budget-mib");
    } else if (const auto limit = std::find_if(relay_limit_options().begin(), relay_limit_options().end(),
                                               [&](const RelayLimitOption& option) { return name == option.key; });
               limit != relay_limit_options().end()) {
      problem = integer(settings.relay_limits.*(limit->member), limit->min, limit->max, limit->flag);
    } else {
      return file + ": unknown key '" + name + "'" + at;
    }
    if (problem) return problem;
  }
  return std::nullopt;
}

}  // namespace datafold::app
