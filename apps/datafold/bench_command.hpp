// `datafold bench`: a load generator. C client connections x M queries in flight for D
// seconds against a node on loopback (its own, in this process, or --target), printing
// JSON with queries/s, latency percentiles, errors, CPU and peak RSS; with --floor, raw
// TCP and raw TLS ping-pong floors of the same shape and sizes, and the ratios; with
// --store, a node answering from a SQLite store as `datafold node --sample` does; with
// --rounds N, each shape N times over, the runs taking turns, and each figure's median.
#pragma once

#include <cstddef>
#include <string>

#include <CLI/CLI.hpp>

namespace datafold::app {

class BenchCommand {
 public:
  explicit BenchCommand(CLI::App& app);
  bool selected() const { return command_->parsed(); }
  int run() const;

 private:
  CLI::App* command_;
  CLI::Option* payload_option_ = nullptr;
  std::size_t connections_ = 1;
  std::size_t in_flight_ = 1;
  double duration_seconds_ = 3;
  std::size_t payload_bytes_ = 128;
  std::string target_;
  std::string network_;
  std::string shapes_;
  std::size_t rounds_ = 1;
  bool floor_ = false;
  bool store_ = false;
  std::string peer_;
};

}  // namespace datafold::app
