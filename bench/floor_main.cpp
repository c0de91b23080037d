// Runs the raw TCP and TLS 1.3 ping-pong floors for a few load shapes and prints the
// reports as one JSON array on stdout (progress goes to stderr).
//
//   floor_bench [--duration-ms N] [--request-bytes N] [--response-bytes N]
//               [--server-threads N] [--client-threads N]

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "load/load_report.hpp"
#include "load/pingpong_floor.hpp"

namespace {

using datafold::bench::FloorOptions;
using datafold::bench::LoadSpec;

bool parse_size(const char* text, std::size_t& out) {
  char* end = nullptr;
  const unsigned long long v = std::strtoull(text, &end, 10);
  if (end == text || *end != '\0') return false;
  out = static_cast<std::size_t>(v);
  return true;
}

int usage(const char* argv0) {
  std::fprintf(stderr,
               "usage: %s [--duration-ms N] [--request-bytes N] [--response-bytes N]"
               " [--server-threads N] [--client-threads N]\n",
               argv0);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t duration_ms = 2000;
  std::size_t request_bytes = LoadSpec{}.request_bytes;
  std::size_t response_bytes = LoadSpec{}.response_bytes;
  FloorOptions options;

  for (int i = 1; i < argc; ++i) {
    const char* flag = argv[i];
    std::size_t* target = nullptr;
    if (std::strcmp(flag, "--duration-ms") == 0) target = &duration_ms;
    else if (std::strcmp(flag, "--request-bytes") == 0) target = &request_bytes;
    else if (std::strcmp(flag, "--response-bytes") == 0) target = &response_bytes;
    else if (std::strcmp(flag, "--server-threads") == 0) target = &options.server_threads;
    else if (std::strcmp(flag, "--client-threads") == 0) target = &options.client_threads;
    if (target == nullptr || i + 1 >= argc || !parse_size(argv[i + 1], *target)) {
      return usage(argv[0]);
    }
    ++i;
  }

  // connections x in_flight: latency-bound, one pipelined connection, many connections.
  const std::vector<std::pair<std::size_t, std::size_t>> shapes = {{1, 1}, {1, 64}, {16, 16}};

  nlohmann::json out = nlohmann::json::array();
  bool any_errors = false;
  for (const auto& [connections, in_flight] : shapes) {
    LoadSpec spec;
    spec.connections = connections;
    spec.in_flight = in_flight;
    spec.duration = std::chrono::milliseconds(duration_ms);
    spec.request_bytes = request_bytes;
    spec.response_bytes = response_bytes;
    for (auto run : {&datafold::bench::run_tcp_floor, &datafold::bench::run_tls_floor}) {
      const auto report = run(spec, options);
      std::cerr << report.name << ' ' << connections << 'x' << in_flight << ": "
                << static_cast<std::uint64_t>(report.qps) << " q/s, p50 " << report.p50_us
                << " us, errors " << report.errors << '\n';
      any_errors = any_errors || report.errors > 0;
      out.push_back(report.to_json());
    }
  }
  std::cout << out.dump(2) << '\n';
  return any_errors ? 1 : 0;
}
