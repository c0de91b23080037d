// `datafold node`: runs a node in the foreground until SIGINT / SIGTERM or --duration.
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "global_options.hpp"

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
  std::string listen_;
  std::vector<std::string> bootstrap_;
  std::string network_;
  double duration_seconds_ = 0;
};

}  // namespace datafold::app
