// datafold-grpc-peer: what `datafold bench --peer grpc` runs beside the node. One
// process, as the node's bench is one: a gRPC mutual-TLS unary echo server on
// 127.0.0.1 and the clients that load it, then one line of JSON (a LoadReport named
// "grpc") on stdout.
//
//   datafold-grpc-peer --connections C --in-flight M --duration-ms D --warmup-ms W
//                      --request-bytes R --response-bytes S [--timeout-ms T]
//
// --timeout-ms (default 5000) bounds the setup and each call; a run under valgrind
// needs more.
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <map>
#include <string>
#include <string_view>

#include "grpc/echo_load.hpp"
#include "grpc/echo_server.hpp"
#include "grpc/mtls_identity.hpp"

namespace {

using datafold::bench::LoadSpec;

// Generous bounds: the caller (`datafold bench`) checks its own, stricter ones.
constexpr unsigned long long kMaxCount = 100'000;
constexpr unsigned long long kMaxDurationMs = 3'600'000;
constexpr unsigned long long kMaxBytes = 64ull << 20;

int usage(const std::string& why) {
  std::cerr << "datafold-grpc-peer: " << why
            << "\nusage: datafold-grpc-peer --connections C --in-flight M --duration-ms D --warmup-ms W "
               "--request-bytes R --response-bytes S [--timeout-ms T]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, unsigned long long, std::less<>> values = {
      {"--connections", 0}, {"--in-flight", 0},     {"--duration-ms", 0},
      {"--warmup-ms", 0},   {"--request-bytes", 0}, {"--response-bytes", 0}, {"--timeout-ms", 5000}};
  std::map<std::string, bool, std::less<>> seen;
  for (int i = 1; i < argc; i += 2) {
    const std::string_view flag = argv[i];
    auto it = values.find(flag);
    if (it == values.end()) return usage("unknown option '" + std::string(flag) + "'");
    if (i + 1 >= argc) return usage(std::string(flag) + " needs a value");
    char* end = nullptr;
    const unsigned long long value = std::strtoull(argv[i + 1], &end, 10);
    if (end == argv[i + 1] || *end != '\0') return usage(std::string(flag) + ": '" + argv[i + 1] + "' is not a number");
    it->second = value;
    seen[it->first] = true;
  }
  for (const auto& [flag, value] : values)
    if (!seen[flag] && flag != "--timeout-ms") return usage(flag + " is required");
  if (values["--timeout-ms"] == 0 || values["--timeout-ms"] > kMaxDurationMs)
    return usage("--timeout-ms must be 1.." + std::to_string(kMaxDurationMs));
  if (values["--connections"] == 0 || values["--connections"] > kMaxCount || values["--in-flight"] == 0 ||
      values["--in-flight"] > kMaxCount)
    return usage("--connections and --in-flight must be 1.." + std::to_string(kMaxCount));
  if (values["--duration-ms"] == 0 || values["--duration-ms"] > kMaxDurationMs ||
      values["--warmup-ms"] > kMaxDurationMs)
    return usage("--duration-ms must be 1.." + std::to_string(kMaxDurationMs) + " and --warmup-ms at most that");
  if (values["--request-bytes"] > kMaxBytes || values["--response-bytes"] > kMaxBytes)
    return usage("payloads must be at most " + std::to_string(kMaxBytes) + " bytes");

  LoadSpec spec;
  spec.connections = values["--connections"];
  spec.in_flight = values["--in-flight"];
  spec.duration = std::chrono::milliseconds(values["--duration-ms"]);
  spec.request_bytes = values["--request-bytes"];
  spec.response_bytes = values["--response-bytes"];
  try {
    const auto identity = datafold::bench::grpc_peer::make_mtls_identity();
    datafold::bench::grpc_peer::EchoServer server(identity);
    const auto report = datafold::bench::grpc_peer::run_echo_load(
        spec, std::chrono::milliseconds(values["--warmup-ms"]), std::chrono::milliseconds(values["--timeout-ms"]),
        server.port(), identity);
    std::cout << report.to_json().dump() << std::endl;
    return report.errors == 0 ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << "datafold-grpc-peer: " << e.what() << '\n';
    return 1;
  }
}
