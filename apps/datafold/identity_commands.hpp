// `datafold id` and `datafold keygen`: the node's key pair in its data dir.
#pragma once

#include <CLI/CLI.hpp>

#include "global_options.hpp"

namespace datafold::app {

// `datafold id`: prints the node id of the data dir's identity, creating the key
// (mode 0600) if there is none yet. --json adds the public key.
class IdCommand {
 public:
  IdCommand(CLI::App& app, const GlobalOptions& global);
  bool selected() const { return command_->parsed(); }
  int run() const;

 private:
  const GlobalOptions& global_;
  CLI::App* command_;
};

// `datafold keygen [--force]`: makes a new identity; an existing one is only
// replaced with --force (the node id changes, and peers that trusted it stop).
class KeygenCommand {
 public:
  KeygenCommand(CLI::App& app, const GlobalOptions& global);
  bool selected() const { return command_->parsed(); }
  int run() const;

 private:
  const GlobalOptions& global_;
  CLI::App* command_;
  bool force_ = false;
};

}  // namespace datafold::app
