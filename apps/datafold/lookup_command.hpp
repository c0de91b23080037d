// `datafold lookup NODE_ID`: what the DHT holds for a node, asked of the local running
// node (its DHT) over its HTTP API: each value's addresses, age, and whether it verified
// (signature, key, network, freshness, replay) or why not.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "client_commands.hpp"
#include "global_options.hpp"

namespace datafold::app {

class LookupCommand {
 public:
  LookupCommand(CLI::App& app, const GlobalOptions& global);
  bool selected() const { return command_->parsed(); }
  int run() const;

 private:
  const GlobalOptions& global_;
  CLI::App* command_;
  std::string node_;
  LocalApiOption http_;
  double timeout_seconds_ = 15;
};

}  // namespace datafold::app
