// `datafold node`: runs a node in the foreground until SIGINT / SIGTERM or --duration.
// Settings come from flags and, with --config FILE, from a TOML file (docs/OPERATIONS.md
// lists its keys); a flag given on the command line wins over the file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "global_options.hpp"
#include "node_settings.hpp"

namespace datafold::app {

class NodeCommand {
 public:
  NodeCommand(CLI::App& app, const GlobalOptions& global);
  bool selected() const { return command_->parsed(); }
  int run() const;

 private:
  const GlobalOptions& global_;
  CLI::App* command_;
  CLI::Option* duration_option_ = nullptr;
  std::string config_file_;
  std::string listen_;
  std::vector<std::string> bootstrap_;
  std::string network_;
  double duration_seconds_ = 0;
  std::string http_;
  bool no_discovery_ = false;
  std::uint16_t discovery_port_ = 0;
  std::vector<std::string> discovery_interfaces_;
  long announce_interval_ms_ = 0;
  long ping_interval_ms_ = 0;
  long max_connections_ = 0;
  long max_connections_per_ip_ = 0;
  long max_requests_per_second_ = 0;
  long request_burst_ = 0;
  long memory_budget_mib_ = 0;
  bool sample_ = false;
  bool dht_ = false;
  bool no_port_mapping_ = false;
  bool relay_ = false;
  std::string use_relays_ = "unreachable";
  std::vector<std::string> relays_;
  bool no_hole_punching_ = false;
  bool no_reputation_ = false;
  long ban_seconds_ = 3600;
  long reputation_half_life_ = 3600;
  RelayLimitSettings relay_limits_ = RelayLimitSettings::defaults();
  std::uint16_t dht_port_ = 0;
  std::vector<std::string> dht_bootstrap_;
};

}  // namespace datafold::app
