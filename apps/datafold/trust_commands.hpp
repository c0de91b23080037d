// `datafold trust set|remove|list`: the data dir's trust store (trust.json), which maps
// public keys to trust distances. set and remove write the file, then ask the node running
// on the data dir (found there: running_node.hpp) to re-read it over its HTTP API before
// they return, so a change applies to the node's very next query, without a restart.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "global_options.hpp"
#include "local_api_option.hpp"

namespace datafold::app {

class TrustCommand {
 public:
  TrustCommand(CLI::App& app, const GlobalOptions& global);
  bool selected() const { return command_->parsed(); }
  int run() const;

 private:
  int run_set() const;
  int run_remove() const;
  int run_list() const;

  const GlobalOptions& global_;
  CLI::App* command_;
  CLI::App* set_;
  CLI::App* remove_;
  CLI::App* list_;
  // NODE_ID (full or a unique prefix) or PUBKEY (base64, as `datafold --json id` prints it).
  std::string target_;
  std::string distance_;
  std::string note_;
  std::string name_;
  // A node id becomes a key by asking the local node (its HTTP API) which key it proved.
  LocalApiOption http_;
};

}  // namespace datafold::app
