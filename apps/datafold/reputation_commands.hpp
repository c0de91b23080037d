// `datafold reputation show|ban|unban|reset`: what the local running node thinks of
// its peers, and the operator's hand on it, over the node's HTTP API
// (/api/v1/reputation). A subject is a whole node id or an IP address.
#pragma once

#include <cstdint>
#include <string>

#include <CLI/CLI.hpp>

#include "client_commands.hpp"
#include "global_options.hpp"

namespace datafold::app {

class ReputationCommand {
 public:
  ReputationCommand(CLI::App& app, const GlobalOptions& global);
  bool selected() const { return command_->parsed(); }
  int run() const;

 private:
  int run_show() const;
  int run_ban() const;
  int run_lift(bool reset) const;

  const GlobalOptions& global_;
  CLI::App* command_;
  CLI::App* show_;
  CLI::App* ban_;
  CLI::App* unban_;
  CLI::App* reset_;
  std::string subject_;
  std::int64_t seconds_ = 3600;
  LocalApiOption http_;
};

}  // namespace datafold::app
