// The client sub-commands: `discover`, `schemas NODE`, `query NODE SCHEMA FIELD…` act on
// the network with the data dir's identity (so the serving node's trust store decides what
// they see); `peers` and `status` ask the local running node over its HTTP API.
//
// Also here, because the trust and store commands print and look things up the same way:
// aligned text tables, and requests to the local node's HTTP API.
#pragma once

#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <datafold/net/error.hpp>
#include <datafold/net/json.hpp>

#include "global_options.hpp"
#include "local_api_option.hpp"

namespace datafold::app {

// One line of JSON. Invalid UTF-8 (a peer's string, a command-line argument) becomes
// U+FFFD instead of making nlohmann's dump() throw.
std::string json_text(const net::Json& value);

// Prints `rows` under `header` in columns aligned with two spaces between them; the last
// column is not padded, so lines carry no trailing blanks.
void print_table(std::ostream& out, const std::vector<std::string>& header,
                 const std::vector<std::vector<std::string>>& rows);
// The same in two steps, for rows printed as they come: the column widths of `header`
// and `rows`, and one line of cells in those widths.
std::vector<std::size_t> column_widths(const std::vector<std::string>& header,
                                       const std::vector<std::vector<std::string>>& rows);
void print_row(std::ostream& out, const std::vector<std::size_t>& widths, const std::vector<std::string>& cells);

// GET `path` from the HTTP API of the node at `address` ("host:port") and return the
// body's "data". Config error for "off" (no API to ask); Connection error (naming the
// address, suggesting --http) when nothing answers; Protocol error when the answer is not
// the API's {"data": …}; an {"error": …} answer comes back as its message with the kind
// in its "details" (Discovery if absent).
net::NetworkResult<net::Json> local_api_get(const std::string& address, const std::string& path,
                                            std::chrono::milliseconds timeout = std::chrono::seconds(10));
// As above with POST and a JSON body.
net::NetworkResult<net::Json> local_api_post(const std::string& address, const std::string& path,
                                             const net::Json& body,
                                             std::chrono::milliseconds timeout = std::chrono::seconds(10));

// How a client command reaches other nodes: its own short-lived NetworkCore made from the
// data dir's identity, which dials out and never accepts.
struct ClientNetworkOptions {
  std::vector<std::string> bootstrap;
  std::string network;
  bool no_discovery = false;
  std::uint16_t discovery_port = 0;
  std::vector<std::string> discovery_interfaces;
  long wait_ms = 300;
  double timeout_seconds = 10;
  // The local node's HTTP API, asked for the address of a node the client cannot find:
  // `http_option` resolved for the data dir when the command runs.
  std::string http = kDefaultHttpAddress;
  LocalApiOption http_option;
  // Progress lines on stderr ("probing for 300 ms…"); off with --log-level warn or quieter.
  bool show_progress = true;

  void add_to(CLI::App& command);
};

// `datafold discover`: sends a LAN probe (and dials --bootstrap peers) and lists the
// nodes that answered.
class DiscoverCommand {
 public:
  DiscoverCommand(CLI::App& app, const GlobalOptions& global);
  bool selected() const { return command_->parsed(); }
  int run() const;

 private:
  const GlobalOptions& global_;
  CLI::App* command_;
  ClientNetworkOptions network_;
};

// `datafold schemas NODE`: the schemas NODE lets this identity read something of.
class SchemasCommand {
 public:
  SchemasCommand(CLI::App& app, const GlobalOptions& global);
  bool selected() const { return command_->parsed(); }
  int run() const;

 private:
  const GlobalOptions& global_;
  CLI::App* command_;
  ClientNetworkOptions network_;
  std::string node_;
};

// `datafold query NODE SCHEMA FIELD… [--filter JSON]`. Exits 0 whenever NODE answered:
// a field this identity may not read is part of the answer (InvalidPermission), not a
// failure of the command.
class QueryCommand {
 public:
  QueryCommand(CLI::App& app, const GlobalOptions& global);
  bool selected() const { return command_->parsed(); }
  int run() const;

 private:
  const GlobalOptions& global_;
  CLI::App* command_;
  ClientNetworkOptions network_;
  std::string node_;
  std::string schema_;
  std::vector<std::string> fields_;
  std::string filter_;
  std::uint32_t limit_ = 0;
  std::string cursor_;
};

// `datafold peers`: the nodes the local running node knows, from its HTTP API.
class PeersCommand {
 public:
  PeersCommand(CLI::App& app, const GlobalOptions& global);
  bool selected() const { return command_->parsed(); }
  int run() const;

 private:
  const GlobalOptions& global_;
  CLI::App* command_;
  LocalApiOption http_;
};

// `datafold status`: the local running node's id, listener, peers and counters.
class StatusCommand {
 public:
  StatusCommand(CLI::App& app, const GlobalOptions& global);
  bool selected() const { return command_->parsed(); }
  int run() const;

 private:
  const GlobalOptions& global_;
  CLI::App* command_;
  LocalApiOption http_;
};

}  // namespace datafold::app
