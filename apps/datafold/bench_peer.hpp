// The peer `datafold bench --peer grpc` measures the node against: the optional
// datafold-grpc-peer program (bench/grpc), run as a child process with the same shape
// and payload sizes as the node's run, reporting one LoadReport line on its stdout.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>

#include "load/load_report.hpp"

namespace datafold::app {

// Where datafold-grpc-peer is expected: beside this executable, where the build puts
// it. nullopt when there is no such file (gRPC was not installed when it was built).
std::optional<std::filesystem::path> find_grpc_peer();

// What to tell an operator who asked for --peer grpc on a build without the peer.
std::string grpc_peer_missing_hint();

// Runs the peer at `program` for `spec` after `warmup`, and waits for its report at
// most warmup + duration + 20 s (its setup and tail included); a peer that does not
// report by then is killed. Never throws: a failed run has errors > 0 and `error` set.
bench::LoadReport run_grpc_peer(const std::filesystem::path& program, const bench::LoadSpec& spec,
                                std::chrono::milliseconds warmup);

}  // namespace datafold::app
